from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from indexer.answer import FOUND_THRESHOLD
from indexer.evaluation import Question
from indexer.fusion import FusionModels
from indexer.search import CALIBRATION_FEATURES, FEATURES, Searcher
from indexer.store import publish_models
from indexer.training import mined_table, prepare, prepare_cross_fitted, ranking_lists, train

ANSWERABLE = [
    Question("个人破产制度", frozenset({"gd_courts_judicial_reform_2021#5"})),
    Question("网上立案", frozenset({"rules_articles#2", "gd_courts_judicial_reform_2021#18"})),
    Question("执行款发放期限", frozenset({"notice_items#3"})),
    Question("院庭长阅核", frozenset({"reform_plan_fullwidth#1"})),
]
UNANSWERABLE = [Question("明天天气怎么样", frozenset()), Question("红烧肉怎么做", frozenset())]


def test_training_fits_models_over_the_search_signals(hash_index: Path, tmp_path: Path) -> None:
    searcher = Searcher.open(hash_index)
    lists = ranking_lists(searcher, ANSWERABLE)
    assert all(X.shape[1] == len(FEATURES) and X.shape[0] == len(y) for X, y in lists)
    models = train(searcher, ANSWERABLE, UNANSWERABLE)
    assert searcher.models is models and models.origin == "trained" and models.encoder == "hash-64"
    assert models.ranker is not None and models.ranker.features == FEATURES
    assert models.calibrator is not None and models.calibrator.features == CALIBRATION_FEATURES
    assert models.ranker.info["questions"] == 4 and models.calibrator.threshold == FOUND_THRESHOLD
    # the weight on the mined associations holds for the package's table, which it records
    assert models.ranker.info["associations"] == searcher.associations.sha256
    assert models.calibrator.info["balanced"] is False  # confidence = P(top-ranked measure relevant)
    models.save(tmp_path / "m.json")
    assert json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))["ranker"]["features"] == list(FEATURES)


def test_a_ranker_over_some_signals_reads_them_by_name(hash_index: Path) -> None:
    searcher = Searcher.open(hash_index)
    names = ("sentence", "bm25", "coverage_x")
    models = train(searcher, ANSWERABLE, (), features=names)
    assert models.ranker is not None and models.ranker.features == names
    pq = searcher.parse("网上立案")
    cand = searcher.candidates(pq, searcher.embed_query(pq))
    full = searcher.features(cand, FEATURES)
    # the ranker's columns are picked by name from the full matrix, never by position
    cols = [FEATURES.index(n) for n in names]
    np.testing.assert_allclose(searcher.rank(cand, full, FEATURES), models.ranker.score(full[:, cols]))
    np.testing.assert_allclose(searcher.features(cand), full[:, cols])


def test_published_models_serve_the_next_searcher(hash_index: Path, tmp_path: Path) -> None:
    import shutil

    index = tmp_path / "index"
    shutil.copytree(hash_index, index)
    searcher = Searcher.open(index)
    assert searcher.describe_ranking()["kind"] == "rrf"
    models = train(searcher, ANSWERABLE, UNANSWERABLE)
    version = publish_models(index, models)
    again = Searcher.open(index)
    assert again.version == version != searcher.version
    assert again.models is not None and again.models.sha256 == models.sha256
    assert again.describe_ranking() == {**models.describe(), "kind": "linear", "origin": "trained"}
    assert again.search("网上立案", top_k=3).ranker["id"] == models.id
    assert isinstance(again.models, FusionModels)


def test_an_index_whose_models_are_refused_can_still_be_retrained(hash_index: Path, tmp_path: Path) -> None:
    import shutil

    import pytest

    from indexer.errors import IndexMismatchError
    from indexer.fusion import LinearRanker
    from indexer.service import IndexService

    index = tmp_path / "index"
    shutil.copytree(hash_index, index)
    stale = LinearRanker(("bm25", "assoc_bm25"), np.zeros(2), np.ones(2), np.ones(2), {"associations": "0" * 64})
    publish_models(index, FusionModels.make("hash-64", stale, None))
    with pytest.raises(IndexMismatchError, match="another associations table"):
        Searcher.open(index)
    assert Searcher.open(index, with_models=False).models is None
    _, models = IndexService(None, index).train(ANSWERABLE, UNANSWERABLE)
    assert Searcher.open(index).models.sha256 == models.sha256


def test_the_shipped_models_were_fitted_with_the_shipped_associations() -> None:
    from indexer.associations import package_associations
    from indexer.fusion import default_models

    for encoder in ("e5-small", "e5-legal@e8961cf13809"):
        models = default_models(encoder)
        assert models is not None and "assoc_bm25" in models.ranker.features
        assert models.ranker.info["associations"] == package_associations().sha256, encoder


# made-up words (no table knows them), each in three questions answered by one measure
COINED = [Question(q, frozenset({key})) for q, key in [("zzqx", "gd_courts_judicial_reform_2021#5"), ("yyqx", "notice_items#3")] * 3]


def _assoc(prepared: list) -> np.ndarray:
    return np.concatenate([p.X[:, FEATURES.index("assoc_bm25")] for p in prepared])


def test_associations_mined_from_the_training_questions_are_cross_fitted_and_carried(
    hash_index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from indexer.associations import package_associations

    index = tmp_path / "index"
    shutil.copytree(hash_index, index)
    searcher = Searcher.open(index)
    base = searcher.associations
    table = mined_table(searcher, COINED, base)
    assert {"zzqx", "yyqx"} <= set(table.table) and table.sha256 != base.sha256
    assert all(table.table[w] == v for w, v in base.table.items())  # the package's words are kept
    # each question's signal comes from a table mined without it: two other questions are too few to mine a word
    cross = prepare_cross_fitted(searcher, COINED, base)
    assert [p.question for p in cross] == COINED and not _assoc(cross).any()
    assert searcher.associations is base
    searcher.associations = table
    assert _assoc(prepare(searcher, COINED)).any()  # the full table would have leaked each question's own label
    searcher.associations = base

    # kept when cross-validation on the questions says it ranks them better (forced here: the hash encoder's
    # candidates make that a coin toss)
    import indexer.training

    figures = iter([0.25, 0.5])
    monkeypatch.setattr(indexer.training, "cv_mrr", lambda prepared, features: next(figures))
    models = train(searcher, [*COINED, *ANSWERABLE], UNANSWERABLE, mine_associations=True)
    carried = searcher.associations
    assert models.associations == carried.text and "zzqx" in carried.table
    assert models.ranker.info["associations"] == carried.sha256
    assert models.ranker.info["associations_cv_mrr10"] == {"without": 0.25, "with": 0.5}
    publish_models(index, models)
    again = Searcher.open(index)
    assert again.associations.sha256 == carried.sha256 and "zzqx" in again.associations.table
    # retrained without mining, the index serves the package's table again
    plain = train(Searcher.open(index, with_models=False), ANSWERABLE, UNANSWERABLE)
    assert plain.associations == "" and plain.ranker.info["associations"] == package_associations().sha256


def test_mined_associations_that_do_not_rank_better_in_cross_validation_are_not_kept(hash_index: Path) -> None:
    searcher = Searcher.open(hash_index)
    # cross-fitted, no question gets a mined association (see above): the same ranking with and without
    models = train(searcher, [*COINED, *ANSWERABLE], UNANSWERABLE, mine_associations=True)
    cv = models.ranker.info["associations_cv_mrr10"]
    assert cv["with"] == cv["without"] and 0 < cv["with"] <= 1
    assert models.associations == "" and searcher.associations.sha256 == models.ranker.info["associations"]


def test_cross_validated_mrr_of_a_signal_that_names_the_answer_is_one(hash_index: Path) -> None:
    from types import SimpleNamespace

    from indexer.training import Prepared, cv_mrr

    searcher = Searcher.open(hash_index)
    rng = np.random.default_rng(0)
    candidates = SimpleNamespace(ids=np.arange(20))  # the index's first 20 chunks
    prepared = []
    for i in range(10):
        y = np.zeros(20)
        answer = int(rng.integers(20))
        y[answer] = 1
        X = rng.normal(size=(20, len(FEATURES)))
        X[:, FEATURES.index("bm25")] = y * 5
        question = Question(f"q{i}", frozenset({searcher.data.chunks[answer].key}))
        prepared.append(Prepared(searcher, question, candidates, X, y))
    assert cv_mrr(prepared, ("bm25",)) == 1.0
    for p in prepared:
        p.X[:, FEATURES.index("bm25")] = 0.0  # no evidence: ties keep candidate order
    assert cv_mrr(prepared, ("bm25",)) < 0.5


def test_too_few_questions_to_mine_leave_the_package_table(hash_index: Path) -> None:
    searcher = Searcher.open(hash_index)
    models = train(searcher, ANSWERABLE, UNANSWERABLE, mine_associations=True)
    assert models.associations == "" and searcher.associations.sha256 == models.ranker.info["associations"]


def test_the_calibrator_learns_how_close_a_question_is_to_its_training_questions(hash_index: Path) -> None:
    from indexer.fusion import NEAREST_QUESTION
    from indexer.training import fit_ranker, outcome_rows, question_vectors

    searcher = Searcher.open(hash_index)
    questions = [*ANSWERABLE, Question("网上立案", frozenset({"rules_articles#2"})), *UNANSWERABLE]
    prepared = prepare(searcher, questions)
    ranker = fit_ranker(prepared)
    vectors = question_vectors(prepared).astype(np.float32)
    col = CALIBRATION_FEATURES.index(NEAREST_QUESTION)
    # fitted rows: each question against the others, so the twice-asked 网上立案 is the only near-1 pair
    rows, _ = outcome_rows(prepared, ranker)
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -np.inf)
    np.testing.assert_allclose(rows[:, col], sims.max(1), atol=1e-6)
    assert rows[1, col] == pytest.approx(1.0, abs=1e-3) and rows[0, col] < 0.99
    # new questions: against the questions the calibrator was fitted on
    rows, _ = outcome_rows(prepared[:1], ranker, reference=vectors[:1])
    assert rows[0, col] == pytest.approx(1.0, abs=1e-3)

    models = train(searcher, ANSWERABLE, UNANSWERABLE)
    assert models.questions is not None and models.questions.shape == (len(ANSWERABLE) + len(UNANSWERABLE), vectors.shape[1])
    # served: a training question is its own nearest one; a question unlike all of them is far from them
    assert searcher.search(ANSWERABLE[0].query, top_k=1).evidence[NEAREST_QUESTION] == pytest.approx(1.0, abs=1e-3)
    far = searcher.search("红烧肉的做法", top_k=1).evidence[NEAREST_QUESTION]
    assert far < 0.99
    searcher.models = FusionModels.make("hash-64", models.ranker, None)
    assert searcher.search(ANSWERABLE[0].query, top_k=1).evidence[NEAREST_QUESTION] == 0.0
