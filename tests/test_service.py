from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from indexer.errors import BadInputError
from indexer.service import IndexService
from indexer.store import current_version

from .conftest import DATA, REFORM_PLAN


def test_service_builds_searches_adds_and_removes(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(DATA, corpus)
    svc = IndexService(corpus, tmp_path / "index", model="hash")
    assert svc.is_stale()
    report = svc.ensure_built()
    assert report is not None and report.chunks == 11 + 3  # 11 measures, 3 preambles
    assert svc.ensure_built() is None
    first = svc.searcher()
    assert svc.searcher() is first  # loaded once
    assert svc.search("立案", top_k=3).hits

    doc, report = svc.add("改革要点.txt", REFORM_PLAN.read_bytes())
    assert doc.doc_id == "改革要点" and report.added == ("改革要点",)
    assert svc.searcher() is not first and svc.searcher().version == current_version(tmp_path / "index")
    assert any(h.chunk.doc_id == "改革要点" for h in svc.search("个人破产", top_k=3).hits)

    report = svc.remove("改革要点")
    assert report.removed == ("改革要点",)
    assert all(h.chunk.doc_id != "改革要点" for h in svc.search("个人破产", top_k=10).hits)


def test_service_picks_up_a_version_published_by_another_process(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(DATA, corpus)
    a = IndexService(corpus, tmp_path / "index", model="hash")
    b = IndexService(corpus, tmp_path / "index", model="hash")
    a.ensure_built()
    old = b.searcher().version
    shutil.copy(REFORM_PLAN, corpus)
    a.rebuild()
    assert b.searcher().version != old
    assert b.search("个人破产", top_k=1).hits[0].chunk.doc_id == "gd_courts_judicial_reform_2021"


def test_concurrent_searches_during_rebuilds_see_one_consistent_version(tmp_path: Path) -> None:
    import threading

    corpus = tmp_path / "corpus"
    shutil.copytree(DATA, corpus)
    svc = IndexService(corpus, tmp_path / "index", model="hash")
    svc.ensure_built()
    errors: list[BaseException] = []
    inconsistent: list[str] = []
    versions: set[str] = set()
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                s = svc.searcher()
                res = s.search("诉讼服务 立案", top_k=5)
                ids = {c.chunk_id for c in s.data.chunks}
                versions.add(res.index_version)
                if res.index_version != s.version or any(h.chunk.chunk_id not in ids for h in res.hits):
                    inconsistent.append(res.index_version)
            except BaseException as exc:  # any exception is a failure here
                errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(8)]
    for t in threads:
        t.start()
    for i in range(3):
        (corpus / f"added{i}.txt").write_text(f"新增规定{i}\n第一条 新增第{i}项诉讼服务措施。\n", encoding="utf-8")
        svc.rebuild()
    stop.set()
    for t in threads:
        t.join()
    assert errors == [] and inconsistent == []
    assert len(versions) >= 2


def _doc(title: str, body: str = "一、严格立案审查。对于申请立案的材料，应当当场登记立案。") -> bytes:
    return f"{title}\n发布时间：2023-05-01 来源：测试法院\n\n{body}\n".encode()


def _ids(svc: IndexService) -> dict[str, str]:
    return {d: Path(m["path"]).name for d, m in svc.searcher().data.manifest["documents"].items()}


def test_samples_and_uploads_are_both_indexed_and_removal_hides_a_sample(tmp_path: Path) -> None:
    """Issue 13.4: uploads go to the data folder; removing a shipped sample hides it, its file stays."""
    corpus, data = tmp_path / "corpus", tmp_path / "data"
    corpus.mkdir()
    (corpus / "plan.txt").write_bytes(REFORM_PLAN.read_bytes())
    svc = IndexService(corpus, tmp_path / "index", model="hash", data_dir=data)
    svc.ensure_built()
    doc, report = svc.add("通知.txt", _doc("关于立案的通知"))
    assert Path(doc.path).parent == data and report.added == ("通知",)
    assert sorted(_ids(svc)) == ["plan", "通知"]
    report = svc.remove("plan")
    assert report.removed == ("plan",) and (corpus / "plan.txt").is_file()
    assert svc.hidden_samples() == ["plan.txt"] and sorted(_ids(svc)) == ["通知"]
    assert not svc.is_stale()  # a hidden sample is not "new" on the next start
    names, report = svc.restore_samples()
    assert names == ["plan.txt"] and report.added == ("plan",)
    svc.remove("通知")
    assert not (data / "通知.txt").exists()


def test_removal_acts_on_the_indexed_file_and_ids_stay_stable(tmp_path: Path) -> None:
    """Issue 14.5/14.6: same stems in two formats or subfolders get distinct ids that survive a removal."""
    corpus = tmp_path / "corpus"
    (corpus / "sub").mkdir(parents=True)
    (corpus / "rules.txt").write_bytes(_doc("规则甲"))
    (corpus / "rules.md").write_bytes(_doc("规则乙", "一、推进网上立案。"))
    (corpus / "rules.doc").write_bytes(b"an old Word file")
    (corpus / "sub" / "rules.txt").write_bytes(_doc("规则丙", "一、加强诉讼服务。"))
    svc = IndexService(corpus, tmp_path / "index", model="hash")
    svc.ensure_built()
    ids = _ids(svc)
    assert ids == {"rules": "rules.md", "rules.txt": "rules.txt", "sub/rules": "rules.txt"}
    titles = {d: m["title"] for d, m in svc.searcher().data.manifest["documents"].items()}
    report = svc.remove("rules")
    assert report.removed == ("rules",) and not report.added and not report.changed
    assert not (corpus / "rules.md").exists() and (corpus / "rules.txt").is_file() and (corpus / "rules.doc").is_file()
    after = {d: m["title"] for d, m in svc.searcher().data.manifest["documents"].items()}
    assert after == {d: t for d, t in titles.items() if d != "rules"}  # nobody took over the removed id


def test_a_hand_copied_duplicate_never_evicts_the_indexed_original(tmp_path: Path) -> None:
    """Issue 13.1: the document already indexed keeps its id; the copy is listed as a duplicate."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "notice_bankruptcy.txt").write_bytes(_doc("关于个人破产的通知"))
    svc = IndexService(corpus, tmp_path / "index", model="hash")
    svc.ensure_built()
    (corpus / "a_copy_of_notice.txt").write_bytes(_doc("关于个人破产的通知"))  # sorts first
    report = svc.rebuild()
    assert not (report.added or report.removed or report.changed)
    assert _ids(svc) == {"notice_bankruptcy": "notice_bankruptcy.txt"}
    (skip,) = svc.searcher().data.manifest["skipped"]
    assert Path(skip["path"]).name == "a_copy_of_notice.txt" and skip["kind"] == "duplicate"
    with pytest.raises(BadInputError) as info:  # and the same bytes uploaded are refused
        svc.add("copy_of_notice.txt", _doc("关于个人破产的通知"))
    assert info.value.kind == "duplicate_upload" and info.value.fields["other"] == "notice_bankruptcy.txt"


def test_a_rescan_reports_newly_added_bad_files(tmp_path: Path) -> None:
    """Issue 13.3: bad files dropped into the folder are listed with their reasons on the next rescan or start."""
    corpus = tmp_path / "corpus"
    shutil.copytree(DATA, corpus)
    svc = IndexService(corpus, tmp_path / "index", model="hash")
    svc.ensure_built()
    (corpus / "broken2.txt").write_bytes(b"\x00\x01\x02" * 100)
    (corpus / "zero.md").write_bytes(b"")
    assert svc.is_stale()  # so the next start lists them too
    report = svc.rebuild()
    assert not report.up_to_date and report.texts_embedded == 0
    kinds = {Path(s["path"]).name: s["kind"] for s in svc.searcher().data.manifest["skipped"]}
    assert kinds == {"broken2.txt": "binary", "zero.md": "empty"}
    assert svc.rebuild().up_to_date and not svc.is_stale()


def test_searches_are_served_while_another_session_indexes(tmp_path: Path) -> None:
    """Issue 14.4: a long index update in one session does not block searching in the others."""
    import threading

    corpus = tmp_path / "corpus"
    shutil.copytree(DATA, corpus)
    svc = IndexService(corpus, tmp_path / "index", model="hash")
    svc.ensure_built()
    indexing, release = threading.Event(), threading.Event()
    seen: list[tuple[int, int]] = []

    def slow_progress(done: int, total: int, _message: str) -> None:
        seen.append((done, total))
        indexing.set()
        release.wait(30)

    worker = threading.Thread(target=svc.add, args=("大文件.txt", REFORM_PLAN.read_bytes()), kwargs={"on_progress": slow_progress})
    worker.start()
    try:
        assert indexing.wait(30)
        hits = svc.search("立案", top_k=3).hits
        # answered from the live version while the build is still held up: a search queued behind the
        # build would only return after the build gave up waiting (30 s) and finished
        assert hits and worker.is_alive() and not release.is_set()
    finally:
        release.set()
        worker.join()
    assert seen and seen[-1][0] == seen[-1][1]  # the progress bar reached its end
    assert "大文件" in _ids(svc)


def test_a_view_serves_every_read_the_page_makes_from_one_version(hash_index: Path) -> None:
    from indexer.schema import DocumentRecord

    svc = IndexService(None, hash_index)
    view = svc.view()
    assert (
        view.version == current_version(hash_index)
        and view.encoder == "hash-64"
        and view.chunks == sum(r.chunks for r in view.records().values()) > 30
    )
    answer = view.ask("网上立案", top_k=3)
    assert answer.hits and len(answer.hits) <= 3
    hit = answer.hits[0]
    clause = view.clause(hit)
    records = view.records()
    assert isinstance(records[hit.chunk.doc_id], DocumentRecord) and clause.date == records[hit.chunk.doc_id].date
    assert clause.citation == hit.chunk.citation
    assert {d.doc_id for d in view.documents()} == set(records) == {d for d, _ in view.filter_options().documents}
    assert view.similar(hit.chunk.chunk_id) == svc.similar(hit.chunk.chunk_id)
    assert {g.key for g in view.compare("立案", "year").groups} >= {"2021"}
    assert view.query_terms("网上立案") and view.skipped_files() == ()
    assert view.ranker == view.search("立案").ranker and view.ranker["kind"] == "rrf"


def test_reading_needs_no_corpus_but_writing_does(hash_index: Path) -> None:
    import pytest

    from indexer.errors import BadInputError

    svc = IndexService(None, hash_index)
    assert svc.search("立案", top_k=1).hits
    with pytest.raises(BadInputError, match="corpus"):
        svc.build()


def test_formats_and_chunking_without_an_index(tmp_path: Path) -> None:
    from indexer.loading import SUPPORTED_SUFFIXES

    assert IndexService.formats.suffixes == SUPPORTED_SUFFIXES and "pdf" in IndexService.formats.upload_types
    assert IndexService.formats.label == ".txt / .md / .html / .docx / .pdf"
    ((doc, layout, coverage),) = IndexService.chunk(shutil.copy(REFORM_PLAN, tmp_path))
    assert doc.title == "2021年全省法院司法改革工作要点" and coverage.measures == 24 and len(layout.chunks) >= 24
    assert len(IndexService.chunk(DATA)) == 3


def test_choices_become_training_questions_of_the_live_version(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(DATA, corpus)
    shutil.copy(REFORM_PLAN, corpus / "改革要点.txt")
    svc = IndexService(corpus, tmp_path / "index", model="hash")
    svc.ensure_built()
    hits = svc.search("个人破产", top_k=2).hits
    for h in hits:
        svc.record_choice("个人破产怎么办", h.chunk.chunk_id)
    svc.record_choice("个人破产怎么办", hits[0].chunk.chunk_id)  # chosen again: one label
    svc.record_choice("网上立案", "no_such_doc#9")
    svc.record_nothing("红烧肉怎么做")
    got = svc.feedback_questions()
    assert got.choices == 5 and got.dropped == 1
    assert [q.query for q in got.answerable] == ["个人破产怎么办"]
    assert got.answerable[0].relevant == {h.chunk.key for h in hits}
    assert [(q.query, q.relevant) for q in got.unanswerable] == [("红烧肉怎么做", frozenset())]
    assert svc.view().label_of("no_such_doc#9") is None
    # a removed document's choices drop out of the next export
    svc.remove("改革要点")
    assert svc.feedback_questions().dropped == 1 + sum(h.chunk.doc_id == "改革要点" for h in [*hits, hits[0]])
