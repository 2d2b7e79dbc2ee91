from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from indexer.cli import main

from .conftest import DATA, REFORM_PLAN, ROOT

CHUNK_FIELDS = {"chunk_id", "doc_id", "doc_title", "section", "measure_no", "measure_title", "text", "sentences", "citation"}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_chunks_json_contract(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "chunks", str(REFORM_PLAN), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert set(data) >= {"doc", "chunks", "scheme", "coverage", "unchunked"}
    assert set(data["doc"]) >= {"doc_id", "title", "source", "date", "path"}
    assert data["doc"]["title"] == "2021年全省法院司法改革工作要点"
    # 24 measures and the preamble as a passage
    assert [c["kind"] for c in data["chunks"]] == ["passage"] + ["measure"] * 24
    first = data["chunks"][1]
    assert set(first) >= CHUNK_FIELDS | {"measure_suffix", "kind"}
    assert isinstance(first["measure_no"], int) and isinstance(first["sentences"], list) and first["measure_suffix"] == ""
    # every paragraph in no chunk, with its role; none of them is lost body text
    assert data["scheme"] == "numbered"
    assert data["coverage"]["measures"] == 24 and data["coverage"]["passages"] == 1 and data["coverage"]["lost_paragraphs"] == 0
    assert {u["role"] for u in data["unchunked"]} == {"heading", "closing"}
    assert data["coverage"]["unchunked_by_role"] == {"heading": 5, "closing": 1}
    assert any(u["text"] == "一、完善服务中心大局工作机制" and u["role"] == "heading" for u in data["unchunked"])


def test_chunks_folder_prints_one_object_per_document(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "chunks", str(DATA), "--json")
    assert code == 0
    docs = [json.loads(line) for line in out.splitlines()]
    assert sorted(d["doc"]["doc_id"] for d in docs) == ["notice_items", "reform_plan_fullwidth", "rules_articles"]


def test_chunks_human_listing(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "chunks", str(REFORM_PLAN))
    assert code == 0
    assert "完善市场主体救治和退出机制" in out and "24 measures" in out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["chunks"], "required"),
        (["chunks", "/no/such/file.txt", "--json"], "no such file"),
        (["nonsense"], "invalid choice"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str], needle: str) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and needle in err


def test_unreadable_file_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"not a pdf at all")
    code, _, err = run(capsys, "chunks", str(bad), "--json")
    assert code == 2
    assert err.strip().startswith("error: cannot read") and "bad.pdf" in err and err.count("\n") == 1


def test_module_entry_point_runs() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "indexer", "chunks", str(REFORM_PLAN), "--json"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["doc"]["doc_id"] == "gd_courts_judicial_reform_2021"


# ------------------------------------------------------------------ build / search / ask / eval

HIT_FIELDS = {"rank", "score", "chunk_id", "doc_id", "doc_title", "section", "measure_no", "measure_title", "text", "citation"}


def test_build_then_up_to_date(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "build", "--corpus", str(DATA), "--index", str(tmp_path / "idx"), "--model", "hash", "--json", "--quiet")
    assert code == 0
    report = json.loads(out)
    assert report["documents"] == 3 and report["chunks"] == 11 + 3 and not report["up_to_date"]
    code, out, _ = run(capsys, "build", "--corpus", str(DATA), "--index", str(tmp_path / "idx"), "--quiet")
    assert code == 0 and "up to date" in out


def test_build_names_documents_with_text_in_no_chunk(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses

    import indexer.build as build
    from indexer.chunking import segment_document

    def misread(doc):  # a chunker that loses every paragraph of one document
        layout = segment_document(doc)
        if doc.doc_id != "notice_items":
            return layout
        return dataclasses.replace(layout, owner=(-1,) * len(layout.owner), chunks=())

    monkeypatch.setattr(build, "segment_document", misread)
    code, out, err = run(capsys, "build", "--corpus", str(DATA), "--index", str(tmp_path / "idx"), "--model", "hash", "--quiet")
    assert code == 0 and "built" in out
    assert "notice_items: 7 段未归入任何条款" in err and "python -m indexer chunks" in err


def test_build_with_missing_corpus_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "build", "--corpus", str(tmp_path / "nope"), "--index", str(tmp_path / "idx"), "--model", "hash")
    assert code == 2 and err.count("\n") == 1 and "corpus folder not found" in err


def test_build_with_unavailable_model_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "build", "--corpus", str(DATA), "--index", str(tmp_path / "idx"), "--model", "st:/no/such/model")
    assert code == 1 and err.count("\n") == 1 and "not available offline" in err


def test_search_json_contract(hash_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "search", "个人破产", "--index", str(hash_index), "--top-k", "3", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert set(d) == {"query", "latency_ms", "hits", "ranker"} and d["query"] == "个人破产"
    assert d["ranker"]["kind"] == "rrf"  # no models ship for the test encoder
    assert len(d["hits"]) == 3 and set(d["hits"][0]) >= HIT_FIELDS
    assert d["hits"][0]["chunk_id"] == "gd_courts_judicial_reform_2021#5"


def test_search_doc_filter(hash_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "search", "立案", "--index", str(hash_index), "--doc", "rules_articles", "--json")
    assert code == 0
    assert {h["doc_id"] for h in json.loads(out)["hits"]} == {"rules_articles"}


def test_search_queries_file_prints_json_lines(hash_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "q.txt"
    f.write_text("个人破产\n\n网上立案\n执行款\n", encoding="utf-8")
    code, out, _ = run(capsys, "search", "--queries", str(f), "--index", str(hash_index), "--top-k", "2", "--json")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["query"] for r in rows] == ["个人破产", "网上立案", "执行款"]
    assert all(r["latency_ms"] > 0 and len(r["hits"]) <= 2 for r in rows)


@pytest.mark.parametrize("query", ["", "   "])
def test_empty_query_is_exit_2(hash_index: Path, capsys: pytest.CaptureFixture[str], query: str) -> None:
    for cmd in ("search", "ask"):
        code, out, err = run(capsys, cmd, query, "--index", str(hash_index), "--json")
        assert code == 2 and out == "" and err.count("\n") == 1 and "empty" in err


def test_search_missing_index_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "search", "改革", "--index", str(tmp_path / "none"), "--json")
    assert code == 1 and err.count("\n") == 1 and "build" in err


def test_ask_json_contract(e5_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "ask", "个人破产相关改革", "--index", str(e5_index), "--json")
    assert code == 0
    d = json.loads(out)
    assert set(d) >= {"question", "found", "answer", "hits"}
    assert d["found"] is True and d["answer"]
    assert set(d["answer"][0]) == {"sentence", "citation", "chunk_id"}
    code, out, _ = run(capsys, "ask", "明天天气怎么样", "--index", str(e5_index), "--json")
    d = json.loads(out)
    assert d["found"] is False and d["answer"] == []


def test_eval_prints_three_rankings_side_by_side(hash_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "q.tsv"
    f.write_text(
        "query\trelevant\n个人破产制度\tgd_courts_judicial_reform_2021#5\n院庭长阅核\treform_plan_fullwidth#1\n你好\t\n", encoding="utf-8"
    )
    code, out, _ = run(capsys, "eval", "--queries", str(f), "--index", str(hash_index), "--json", "--answers")
    assert code == 0
    d = json.loads(out)
    assert set(d["rankings"]) == {"bm25", "dense", "hybrid"}
    assert set(d["rankings"]["hybrid"]) >= {"R@1", "R@5", "Hit@5", "Hit@10", "MRR@10", "nDCG@10"}
    assert d["answers"]["unanswerable"] == 1 and {"ece", "first_relevant", "calibration_bins"} <= set(d["answers"])
    code, out, _ = run(capsys, "eval", "--queries", str(f), "--index", str(hash_index), "--answers")
    assert code == 0 and "R@1" in out and "Hit@10" in out and "hybrid" in out and "ECE" in out


# ------------------------------------------------------------------ hostile input (issue 14)


@pytest.mark.parametrize("k", ["0", "-5", "101", "x"])
def test_top_k_out_of_range_is_exit_2(hash_index: Path, capsys: pytest.CaptureFixture[str], k: str) -> None:
    for cmd in ("search", "ask"):
        code, out, err = run(capsys, cmd, "个人破产", "--index", str(hash_index), "--top-k", k, "--json")
        assert code == 2 and out == "" and err.count("\n") == 1 and "--top-k" in err


@pytest.mark.parametrize("content", ["", "\n  \n\t\n"])
def test_empty_queries_file_is_exit_2(hash_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str) -> None:
    f = tmp_path / "q.txt"
    f.write_text(content, encoding="utf-8")
    code, out, err = run(capsys, "search", "--queries", str(f), "--index", str(hash_index), "--json")
    assert code == 2 and out == "" and err.count("\n") == 1 and "no queries" in err


def test_nul_only_line_in_queries_file_is_named_before_any_output(
    hash_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "q.txt"
    f.write_text("个人破产\n\n\x00\x00\n网上立案\n", encoding="utf-8")
    code, out, err = run(capsys, "search", "--queries", str(f), "--index", str(hash_index), "--json")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "line 3" in err


def test_build_reports_each_skipped_file_once(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "plan.txt").write_bytes(REFORM_PLAN.read_bytes())
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "fake.pdf").write_text("not a pdf")
    proc = subprocess.run(
        [sys.executable, "-m", "indexer", "build", "--corpus", str(corpus), "--index", str(tmp_path / "idx"), "--model", "hash", "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("empty.txt") == 1 and proc.stderr.count("fake.pdf") == 1


def test_build_into_a_file_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "index").write_text("not a folder")
    code, out, err = run(capsys, "build", "--corpus", str(DATA), "--index", str(tmp_path / "index"), "--model", "hash", "--quiet")
    assert code == 2 and out == "" and err.count("\n") == 1 and "is a file" in err and "--index" in err


def test_build_gives_up_waiting_for_another_build(tmp_path: Path) -> None:
    import fcntl

    index = tmp_path / "index"
    index.mkdir()
    with (index / ".lock").open("a+") as other:
        fcntl.flock(other.fileno(), fcntl.LOCK_EX)
        proc = subprocess.run(
            [sys.executable, "-m", "indexer", "build", "--corpus", str(DATA), "--index", str(index), "--model", "hash", "--wait", "0.2"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
    assert proc.returncode == 1 and proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert "另一个建索引进程正在运行，等待中…" in lines[0] and "gave up" in lines[-1]


def test_train_publishes_a_new_index_version_and_never_writes_the_package(
    hash_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import hashlib
    import shutil

    from indexer.store import current_version, read_manifest

    package_data = ROOT / "indexer" / "data"

    def package_state() -> dict[str, str]:
        return {
            str(p.relative_to(package_data)): hashlib.sha256(p.read_bytes()).hexdigest() for p in package_data.rglob("*") if p.is_file()
        }

    before_package = package_state()
    index = tmp_path / "index"
    shutil.copytree(hash_index, index)
    before = current_version(index)
    q = tmp_path / "q.tsv"
    q.write_text(
        "query\trelevant\n个人破产制度\tgd_courts_judicial_reform_2021#5\n网上立案\trules_articles#2\n院庭长阅核\treform_plan_fullwidth#1\n",
        encoding="utf-8",
    )
    u = tmp_path / "u.tsv"
    u.write_text("query\trelevant\n明天天气怎么样\t\n红烧肉怎么做\t\n", encoding="utf-8")
    code, out, err = run(capsys, "train", "--queries", str(q), "--unanswerable", str(u), "--index", str(index))
    assert code == 0, err
    version = current_version(index)
    assert version != before and version in out
    record = read_manifest(index)["ranker"]
    assert record["origin"] == "trained" and record["encoder"] == "hash-64" and record["sha256"][:12] in out
    assert package_state() == before_package
    code, out, _ = run(capsys, "search", "个人破产", "--index", str(index), "--json")
    ranker = json.loads(out)["ranker"]
    assert code == 0 and ranker["id"] == record["sha256"][:12] and ranker["kind"] == "linear" and ranker["origin"] == "trained"
    code, out, _ = run(capsys, "eval", "--queries", str(q), "--index", str(index), "--json")
    assert code == 0 and json.loads(out)["ranker"]["id"] == ranker["id"]


def test_train_can_mine_associations_from_the_questions(
    hash_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from indexer.search import Searcher
    from indexer.store import read_manifest

    index = tmp_path / "index"
    shutil.copytree(hash_index, index)
    q = tmp_path / "q.tsv"
    # a made-up word in three questions answered by one measure, another in three answered by another
    q.write_text("query\trelevant\n" + "zzqx\tgd_courts_judicial_reform_2021#5\nyyqx\tnotice_items#3\n" * 3, encoding="utf-8")
    code, out, err = run(capsys, "train", "--queries", str(q), "--index", str(index), "--mine-associations")
    # cross-fitted, each question's word is seen in two other questions only: no better ranking, not kept
    assert code == 0, err
    assert "mined associations not kept" in out and "cross-validated MRR@10" in out
    assert read_manifest(index)["ranker"]["associations"] == "package"
    import indexer.training

    figures = iter([0.25, 0.5])
    monkeypatch.setattr(indexer.training, "cv_mrr", lambda prepared, features: next(figures))
    code, out, err = run(capsys, "train", "--queries", str(q), "--index", str(index), "--mine-associations")
    assert code == 0, err
    assert "mined associations kept" in out and "0.250 without, 0.500 with" in out
    searcher = Searcher.open(index)
    assert "zzqx" in searcher.associations.table
    assert read_manifest(index)["ranker"]["associations"] == searcher.associations.sha256
    code, out, err = run(capsys, "train", "--queries", str(q), "--index", str(index))
    assert code == 0 and "associations" not in out and read_manifest(index)["ranker"]["associations"] == "package"
    q.write_text("query\trelevant\n个人破产制度\tgd_courts_judicial_reform_2021#5\n", encoding="utf-8")
    code, out, err = run(capsys, "train", "--queries", str(q), "--index", str(index), "--mine-associations")
    assert code == 0 and "associations: none mined" in out


def test_feedback_exports_the_logged_choices_as_training_questions(
    hash_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    from indexer.feedback import NOTHING, FeedbackLog

    index = tmp_path / "index"
    shutil.copytree(hash_index, index)
    code, out, err = run(capsys, "feedback", "--index", str(index))
    assert code == 0 and out == "query\trelevant\n" and "no choices recorded" in err and "INDEXER_FEEDBACK=1" in err
    log = FeedbackLog(index)
    log.record("个人破产制度", "gd_courts_judicial_reform_2021#5")
    log.record("网上立案", "rules_articles#2")
    log.record("网上立案", "gd_courts_judicial_reform_2021#18")
    log.record("网上立案", "removed_doc#1")
    code, out, err = run(capsys, "feedback", "--index", str(index))
    assert code == 0 and out.splitlines() == [
        "query\trelevant",
        "个人破产制度\tgd_courts_judicial_reform_2021#5",
        "网上立案\tgd_courts_judicial_reform_2021#18,rules_articles#2",
    ]
    assert "2 questions from 4 records; 1 dropped" in err
    log.record("明天天气怎么样", NOTHING)
    code, out, _ = run(capsys, "feedback", "--index", str(index), "--json")
    got = json.loads(out)
    assert got["dropped"] == 1 and got["questions"][0]["relevant"] == ["gd_courts_judicial_reform_2021#5"]
    assert got["unanswerable"] == ["明天天气怎么样"] and got["choices"] == 5
    q, u = tmp_path / "q.tsv", tmp_path / "u.tsv"
    code, out, err = run(capsys, "feedback", "--index", str(index), "--out", str(q), "--unanswerable-out", str(u))
    assert code == 0 and out == "" and str(q) in err and "1 marked as answered by none" in err
    assert u.read_text(encoding="utf-8") == "query\trelevant\n明天天气怎么样\t\n"
    # the court's own logs train its index
    code, out, err = run(capsys, "train", "--queries", str(q), "--unanswerable", str(u), "--index", str(index))
    assert code == 0, err
    code, out, err = run(capsys, "feedback", "--index", str(index), "--out", str(tmp_path / "no" / "q.tsv"))
    assert code == 2 and "cannot write" in err


def test_train_without_answerable_questions_is_exit_2(hash_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    u = tmp_path / "u.tsv"
    u.write_text("query\trelevant\n明天天气怎么样\t\n", encoding="utf-8")
    code, out, err = run(capsys, "train", "--queries", str(u), "--index", str(hash_index))
    assert code == 2 and out == "" and "no answerable questions" in err
