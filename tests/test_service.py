from __future__ import annotations

import shutil
from pathlib import Path

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
