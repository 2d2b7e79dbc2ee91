from __future__ import annotations

from pathlib import Path

import pytest

from indexer.errors import BadInputError
from indexer.evaluation import calibration_error, evaluate, evaluate_answers, format_table, load_questions, ranking_metrics
from indexer.search import Searcher

from .conftest import ROOT, SHARED


def test_ranking_metrics_by_hand() -> None:
    ranked = [["a", "b", "c"], ["x", "y", "z"], ["p", "q", "r"]]
    relevant = [frozenset({"a"}), frozenset({"z", "y"}), frozenset({"nope"})]
    m = ranking_metrics(ranked, relevant)
    assert m["questions"] == 3
    assert m["R@1"] == pytest.approx(1 / 3)
    assert m["R@5"] == pytest.approx(2 / 3)
    assert m["MRR@10"] == pytest.approx((1 + 1 / 2) / 3)
    ideal2 = 1 + 1 / 1.5849625007211563
    assert m["nDCG@10"] == pytest.approx((1 + (1 / 1.5849625007211563 + 0.5) / ideal2) / 3)
    assert m["Hit@5"] == m["R@5"] and m["Hit@10"] == pytest.approx(2 / 3)


def test_hit_at_10_counts_ranks_six_to_ten_only_there() -> None:
    ranked = [[f"x{i}" for i in range(7)] + ["a"], ["b"] + [f"y{i}" for i in range(12)], ["z"] * 10 + ["c"]]
    relevant = [frozenset({"a"}), frozenset({"b"}), frozenset({"c"})]
    m = ranking_metrics(ranked, relevant)
    assert m["Hit@5"] == pytest.approx(1 / 3)  # only "b"
    assert m["Hit@10"] == pytest.approx(2 / 3)  # "a" at rank 8 too; "c" at 11 is beyond the cut
    assert m["MRR@10"] == pytest.approx((1 / 8 + 1) / 3)


def test_calibration_error_by_hand() -> None:
    # bin 0.8–0.9: confidences 0.8, 0.8 with one of two right → |0.8 − 0.5| = 0.3, weight 2/4
    # bin 0.1–0.2: confidences 0.1, 0.1 with none right → |0.1 − 0| = 0.1, weight 2/4
    ece, bins = calibration_error([0.8, 0.8, 0.1, 0.1], [True, False, False, False])
    assert ece == pytest.approx(0.5 * 0.3 + 0.5 * 0.1)
    assert [(b["n"], b["share"]) for b in bins] == [(2, 0.0), (2, 0.5)]
    perfect, _ = calibration_error([1.0, 0.0], [True, False])
    assert perfect == 0.0
    assert calibration_error([], []) == (0.0, [])


def test_unanswerable_rows_do_not_count_for_ranking() -> None:
    assert ranking_metrics([["a"]], [frozenset()])["questions"] == 0


def test_load_questions(tmp_path: Path) -> None:
    f = tmp_path / "q.tsv"
    f.write_text("query\trelevant\n个人破产\td#5,d#6\n你好\t\n", encoding="utf-8")
    qs = load_questions(f)
    assert qs[0].relevant == frozenset({"d#5", "d#6"}) and qs[1].relevant == frozenset()
    bad = tmp_path / "bad.tsv"
    bad.write_text("question\tanswer\nx\ty\n", encoding="utf-8")
    with pytest.raises(BadInputError, match="header"):
        load_questions(bad)
    with pytest.raises(BadInputError, match="no such"):
        load_questions(tmp_path / "missing.tsv")


def test_dev_questions_meet_the_quality_bar(shared_index: Path) -> None:
    """Regression guard on the labelled dev questions (never used for training)."""
    searcher = Searcher.open(shared_index)
    questions = load_questions(SHARED / "eval" / "queries_dev.tsv")
    results = evaluate(searcher, questions)
    print(format_table(results))
    hybrid = results["hybrid"]
    assert hybrid["questions"] == 44
    assert hybrid["R@1"] >= 0.88 and hybrid["MRR@10"] >= 0.92
    assert hybrid["R@1"] > results["bm25"]["R@1"] and hybrid["R@1"] > results["dense"]["R@1"]


def test_found_decision_on_dev_and_labelled_unanswerable(shared_index: Path) -> None:
    searcher = Searcher.open(shared_index)
    dev = evaluate_answers(searcher, load_questions(SHARED / "eval" / "queries_dev.tsv"))
    unanswerable = evaluate_answers(searcher, load_questions(ROOT / "bench" / "queries" / "unanswerable_b.tsv"))
    assert dev["found_when_answerable"] >= 0.9 and dev["cited_when_found"] == 1.0
    assert 0.0 <= dev["ece"] <= 1.0 and sum(b["n"] for b in dev["calibration_bins"]) == 44
    assert unanswerable["not_found_when_unanswerable"] >= 0.75
