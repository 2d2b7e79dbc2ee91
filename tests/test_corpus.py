"""The document library: samples read-only, uploads into the data folder, removal of exactly the indexed file."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from indexer.corpus import HIDDEN_FILE, Library, add_document, remove_document, sanitize_filename
from indexer.errors import BadInputError, UnreadableDocumentError
from indexer.loading import ignored_name, load_corpus
from indexer.schema import DocumentRecord

from .conftest import DATA

PLAN = (DATA / "reform_plan_fullwidth.txt").read_bytes()
NOTICE = (DATA / "notice_items.md").read_bytes()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def library(tmp_path: Path) -> Library:
    samples = tmp_path / "corpus"
    samples.mkdir()
    (samples / "notice.md").write_bytes(NOTICE)
    return Library(samples, tmp_path / "data")


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("方案.txt", "方案.txt"),
        ("../../etc/passwd.txt", "passwd.txt"),
        ("C:\\Users\\x\\规定.DOCX", "规定.docx"),
        ("a b\x00c.md", "a_b_c.md"),
        (".hidden.md", "hidden.md"),
        ("<script>.html", "script.html"),
    ],
)
def test_sanitize_filename(name: str, safe: str) -> None:
    assert sanitize_filename(name) == safe
    assert not ignored_name(safe)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("noext", "name_no_type"),
        ("x.exe", "unsupported_type"),
        ("...txt", "name_no_type"),
        ("../", "name_no_type"),
        (".txt", "name_no_type"),
    ],
)
def test_sanitize_filename_refuses(name: str, kind: str) -> None:
    with pytest.raises(BadInputError) as info:
        sanitize_filename(name)
    assert info.value.kind == kind


@pytest.mark.parametrize("name", ["~$lock.txt", "~$方案.docx", "SOURCES.md", "readme.md"])
def test_names_the_indexer_ignores_are_refused_as_uploads(library: Library, name: str) -> None:
    """One name rule for upload, indexing and removal (issue 14.7): what the walk ignores is never written."""
    assert ignored_name(name)
    with pytest.raises(BadInputError) as info:
        add_document(library, name, PLAN)
    assert info.value.kind == "name_reserved"
    assert not library.data.exists() or not any(library.data.iterdir())  # type: ignore[union-attr]


def test_uploads_go_to_the_data_folder_and_samples_stay_untouched(library: Library) -> None:
    doc = add_document(library, "../改革方案.txt", PLAN)
    assert library.data is not None
    assert Path(doc.path) == library.data / "改革方案.txt" and doc.doc_id == "改革方案" and doc.title.startswith("2022年")
    assert (library.data / "改革方案.txt").read_bytes() == PLAN
    assert not list(library.data.glob(".upload-*"))
    assert sorted(p.name for p in library.samples.iterdir()) == ["notice.md"]
    assert [d.doc_id for d in load_corpus(library.roots()).documents] == ["notice", "改革方案"]


def test_without_a_data_folder_uploads_go_into_the_corpus(tmp_path: Path) -> None:
    doc = add_document(tmp_path, "方案.txt", PLAN)
    assert Path(doc.path) == tmp_path / "方案.txt"


def test_an_upload_with_the_bytes_of_an_indexed_document_is_refused(library: Library) -> None:
    """Issue 13.1 / 14.8: the copy is refused, naming the original; nothing is written."""
    indexed = {
        "notice": DocumentRecord(
            "notice", "某某人民法院关于进一步规范执行工作的通知", path=str(library.samples / "notice.md"), content_hash=sha(NOTICE)
        )
    }
    with pytest.raises(BadInputError) as info:
        add_document(library, "copy_of_notice.txt", NOTICE, indexed=indexed)
    assert info.value.kind == "duplicate_upload"
    assert info.value.fields == {"title": "某某人民法院关于进一步规范执行工作的通知", "other": "notice.md"}
    assert not library.data.exists()  # type: ignore[union-attr]


def test_an_upload_named_like_a_document_is_refused(library: Library) -> None:
    indexed = {"notice": DocumentRecord("notice", "通知", path=str(library.samples / "notice.md"), content_hash=sha(NOTICE))}
    for name in ("notice.txt", "notice.md"):
        with pytest.raises(BadInputError) as info:
            add_document(library, name, PLAN, indexed=indexed)
        assert info.value.kind == "name_taken" and info.value.fields["other"] == "notice.md"
    add_document(library, "方案.txt", PLAN)
    with pytest.raises(BadInputError, match="already exists"):  # a file on disk the index does not know yet
        add_document(library, "方案.md", PLAN + b"\n")


def test_unreadable_or_oversized_uploads_never_reach_the_folder(library: Library) -> None:
    with pytest.raises(UnreadableDocumentError):
        add_document(library, "fake.pdf", b"not a pdf")
    with pytest.raises(BadInputError, match="limit") as info:
        add_document(library, "big.txt", b"x" * 100, max_bytes=10)
    assert info.value.kind == "too_large"
    assert not library.data.exists() or list(library.data.iterdir()) == []  # type: ignore[union-attr]


def test_removal_deletes_exactly_the_indexed_file(tmp_path: Path) -> None:
    """Issue 14.5: with rules.txt and rules.doc side by side, removing document 'rules' deletes rules.txt."""
    (tmp_path / "rules.txt").write_bytes(PLAN)
    (tmp_path / "rules.doc").write_bytes(b"an old Word file")
    assert remove_document(tmp_path, tmp_path / "rules.txt", sha(PLAN)) == "deleted"
    assert not (tmp_path / "rules.txt").exists() and (tmp_path / "rules.doc").exists()


def test_removal_refuses_a_file_that_changed_since_it_was_indexed(tmp_path: Path) -> None:
    (tmp_path / "rules.txt").write_bytes(PLAN + b"\n")
    with pytest.raises(BadInputError) as info:
        remove_document(tmp_path, tmp_path / "rules.txt", sha(PLAN))
    assert info.value.kind == "file_changed" and (tmp_path / "rules.txt").exists()
    with pytest.raises(BadInputError) as info:
        remove_document(tmp_path, tmp_path / "gone.txt", sha(PLAN))
    assert info.value.kind == "not_found"


def test_removing_a_sample_hides_it_and_restoring_brings_it_back(library: Library) -> None:
    sample = library.samples / "notice.md"
    assert remove_document(library, sample, sha(NOTICE)) == "hidden"
    assert sample.read_bytes() == NOTICE  # the shipped file is never deleted
    assert library.hidden_names() == ["notice.md"] and (library.data / HIDDEN_FILE).is_file()  # type: ignore[operator]
    assert load_corpus(library.roots(), hidden=library.hidden()).documents == ()
    assert library.restore_samples() == ["notice.md"]
    assert [d.doc_id for d in load_corpus(library.roots(), hidden=library.hidden()).documents] == ["notice"]


def test_a_damaged_hidden_list_hides_nothing(library: Library) -> None:
    assert library.data is not None
    library.data.mkdir()
    (library.data / HIDDEN_FILE).write_text("{not json", encoding="utf-8")
    assert library.hidden() == frozenset()
    (library.data / HIDDEN_FILE).write_text('{"hidden": ["../../etc/passwd", 3]}', encoding="utf-8")
    assert library.hidden() == frozenset()


def test_remove_cannot_escape_the_library(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    outside = tmp_path / "secret.txt"
    outside.write_text("标题\n第一条 内容。", encoding="utf-8")
    (corpus / "secret.txt").symlink_to(outside)
    digest = sha(outside.read_bytes())
    for path in (corpus / "secret.txt", corpus / ".." / "secret.txt", outside):
        with pytest.raises(BadInputError):
            remove_document(corpus, path, digest)
    assert outside.exists()
    (corpus / "~$lock.txt").write_bytes(PLAN)
    with pytest.raises(BadInputError):
        remove_document(corpus, corpus / "~$lock.txt", sha(PLAN))


def test_folder_notes_are_not_documents(tmp_path: Path) -> None:
    """corpus/SOURCES.md says where the samples come from; it is never indexed as a document."""
    (tmp_path / "SOURCES.md").write_text("# Sample documents\n\n- a.txt — from somewhere\n", encoding="utf-8")
    (tmp_path / "a.txt").write_bytes(PLAN)
    result = load_corpus(tmp_path)
    assert [d.doc_id for d in result.documents] == ["a"] and result.skipped == ()
