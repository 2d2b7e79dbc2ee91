from __future__ import annotations

from pathlib import Path

import pytest

from indexer.corpus import add_document, find_document, remove_document, sanitize_filename
from indexer.errors import BadInputError, UnreadableDocumentError

from .conftest import DATA

PLAN = (DATA / "reform_plan_fullwidth.txt").read_bytes()


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


@pytest.mark.parametrize("name", ["noext", "x.exe", "...txt", "../", ".txt"])
def test_sanitize_filename_refuses(name: str) -> None:
    with pytest.raises(BadInputError):
        sanitize_filename(name)


def test_add_and_remove_a_document(tmp_path: Path) -> None:
    doc = add_document(tmp_path, "../改革方案.txt", PLAN)
    assert Path(doc.path) == tmp_path / "改革方案.txt" and doc.title.startswith("2022年")
    assert (tmp_path / "改革方案.txt").read_bytes() == PLAN
    assert not list(tmp_path.glob(".upload-*"))
    with pytest.raises(BadInputError, match="already exists"):
        add_document(tmp_path, "改革方案.txt", PLAN)
    with pytest.raises(BadInputError, match="already exists"):
        add_document(tmp_path, "改革方案.md", PLAN)
    assert find_document(tmp_path, "改革方案") == tmp_path / "改革方案.txt"
    assert remove_document(tmp_path, "改革方案") == tmp_path / "改革方案.txt"
    assert not (tmp_path / "改革方案.txt").exists()
    with pytest.raises(BadInputError, match="no document"):
        remove_document(tmp_path, "改革方案")


def test_unreadable_or_oversized_uploads_never_reach_the_folder(tmp_path: Path) -> None:
    with pytest.raises(UnreadableDocumentError):
        add_document(tmp_path, "fake.pdf", b"not a pdf")
    with pytest.raises(BadInputError, match="limit"):
        add_document(tmp_path, "big.txt", b"x" * 100, max_bytes=10)
    assert list(tmp_path.iterdir()) == []


def test_remove_cannot_escape_the_corpus(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    outside = tmp_path / "secret.txt"
    outside.write_text("标题\n第一条 内容。", encoding="utf-8")
    (corpus / "secret.txt").symlink_to(outside)
    with pytest.raises(BadInputError):
        remove_document(corpus, "secret")
    with pytest.raises(BadInputError):
        remove_document(corpus, "../secret")
    assert outside.exists()
