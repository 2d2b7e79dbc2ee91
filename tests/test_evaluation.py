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
    # measured 0.864 / 0.909 with the general thesaurus and models trained on training data only
    # (issue 11); the dev-fitted thesaurus had given 0.932 / 0.954
    assert hybrid["R@1"] >= 0.84 and hybrid["MRR@10"] >= 0.88
    assert hybrid["R@1"] > results["bm25"]["R@1"] and hybrid["R@1"] > results["dense"]["R@1"]


def test_the_default_encoder_on_the_dev_questions(default_index: Path) -> None:
    """The shipped default (e5-legal and its ranker) on the dev questions; its statute gains are in the README (too slow here)."""
    if not (SHARED / "eval").is_dir():
        pytest.skip("../shared is absent: the dev questions sit beside the project checkout (CI has them)")
    searcher = Searcher.open(default_index)
    questions = load_questions(SHARED / "eval" / "queries_dev.tsv")
    hybrid = evaluate(searcher, questions, modes=("hybrid",))["hybrid"]
    # measured 0.818 / 0.892 with the shipped delta (v3) and its ranker reading the mined associations (0.795 / 0.884
    # without them), 0.864 / 0.920 with v2 and 0.841 / 0.902 with e5-small: v3 was chosen on training cross-validation,
    # where it is better (README *Adapting the encoder*); dev moved the other way, which is reported, not tuned away
    assert hybrid["R@1"] >= 0.77 and hybrid["MRR@10"] >= 0.86
    answers = evaluate_answers(searcher, questions)
    assert answers["found_when_answerable"] >= 0.7 and answers["first_relevant_when_found"] >= 0.8 and answers["ece"] <= 0.15


def test_found_decision_on_dev_and_labelled_unanswerable(shared_index: Path) -> None:
    searcher = Searcher.open(shared_index)
    dev = evaluate_answers(searcher, load_questions(SHARED / "eval" / "queries_dev.tsv"))
    # questions the calibrator never saw (it was fitted on bench/queries/unanswerable_*.tsv)
    unanswerable = evaluate_answers(searcher, load_questions(ROOT / "tests" / "questions" / "unanswerable_unseen.tsv"))
    # found only at calibrated confidence ≥ 0.6: fewer answers, and those mostly right. Measured: 35 of 41 found answers
    # right (0.854) with e5-small's models reading the mined associations, 0.9+ before them: the models were chosen on
    # training cross-validation (bench/queries ECE 0.076 → 0.041, MRR@10 0.861 → 0.862); two dev answers moved the
    # other way, which is reported (README *Retrieval quality*), not tuned away
    assert dev["found_when_answerable"] >= 0.7 and dev["cited_when_found"] == 1.0
    assert dev["first_relevant_when_found"] >= 0.8 and dev["ece"] <= 0.25
    assert 0.0 <= dev["ece"] <= 1.0 and sum(b["n"] for b in dev["calibration_bins"]) == 44
    assert unanswerable["not_found_when_unanswerable"] >= 0.75


def test_inserted_articles_are_labels_filters_and_similar_measures(tmp_path: Path) -> None:
    """刑法#133之一 in an eval TSV, a search filter and similar measures: chunk ids with 之N work everywhere."""
    from indexer.build import build_index
    from indexer.search import Filters

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "law.md").write_text(
        "# 某某法\n\n第一条 为了测试，制定本法。\n\n第二条 醉酒驾驶机动车的，依法处罚。\n\n"
        "第二条之一 在道路上追逐竞驶，情节恶劣的，处拘役，并处罚金。\n\n第三条 本法自公布之日起施行。\n",
        encoding="utf-8",
    )
    (corpus / "other.md").write_text(
        "# 另一规定\n\n第一条 道路交通管理应当依法进行。\n\n第二条 本规定自公布之日起施行。\n", encoding="utf-8"
    )
    build_index(corpus, tmp_path / "index", model="hash")
    searcher = Searcher.open(tmp_path / "index")
    tsv = tmp_path / "q.tsv"
    tsv.write_text("query\trelevant\n在道路上追逐竞驶情节恶劣\tlaw#2之一\n", encoding="utf-8")
    questions = load_questions(tsv)
    assert questions[0].relevant == frozenset({"law#2之一"})
    assert evaluate(searcher, questions, modes=["bm25"])["bm25"]["R@1"] == 1.0
    hits = searcher.search("追逐竞驶", top_k=3, mode="bm25", filters=Filters.make(doc_ids=["law"])).hits
    assert hits[0].chunk.chunk_id == "law#2之一" and hits[0].to_dict()["measure_suffix"] == "之一"
    assert hits[0].chunk.citation == "《某某法》第二条之一"
    assert searcher.data.chunks[searcher.position("law#2之一")].label == "第二条之一"
    assert {h.chunk.doc_id for h in searcher.similar("law#2之一", top_k=2)} == {"other"}
