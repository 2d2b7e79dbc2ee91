from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.fusion import MODELS_DIR, FusionModels, default_models, ranks, rrf, stable_order, train_calibrator, train_ranker
from indexer.search import CALIBRATION_FEATURES, FEATURES

scores = st.lists(st.floats(min_value=-5, max_value=5, allow_nan=False), min_size=1, max_size=40)


@settings(max_examples=200, deadline=None)
@given(st.lists(scores, min_size=1, max_size=4).filter(lambda ls: len({len(x) for x in ls}) == 1))
def test_rrf_is_deterministic_and_rank_based(lists: list[list[float]]) -> None:
    arrays = [np.array(x) for x in lists]
    a = rrf(arrays)
    assert np.array_equal(a, rrf([x.copy() for x in arrays]))
    # a monotone transform of a signal does not change its fusion
    assert np.allclose(a, rrf([x * 2.0 for x in arrays]))
    order = stable_order(a)
    assert np.array_equal(order, stable_order(a))


def test_ranks_break_ties_by_position() -> None:
    assert list(ranks(np.array([1.0, 3.0, 3.0, 0.0]))) == [2, 0, 1, 3]
    assert list(stable_order(np.array([2.0, 2.0, 2.0]))) == [0, 1, 2]


def test_listwise_ranker_learns_the_informative_feature() -> None:
    rng = np.random.default_rng(0)
    lists = []
    for _ in range(40):
        X = rng.standard_normal((30, 3))
        y = np.zeros(30)
        best = int(np.argmax(X[:, 1]))
        y[best] = 1
        lists.append((X, y))
    ranker = train_ranker(lists, ("noise", "signal", "noise2"), l2=1.0)
    assert np.argmax(np.abs(ranker.weights)) == 1 and ranker.weights[1] > 0
    hits = sum(int(np.argmax(ranker.score(X)) == np.argmax(y)) for X, y in lists)
    assert hits >= 36


def test_monotone_features_never_take_a_negative_weight() -> None:
    # "echo" is a near copy of "signal" with the opposite sign of noise: unconstrained, the fit uses it
    # with a negative weight to cancel that noise; constrained, it may only help or stay out
    rng = np.random.default_rng(2)
    lists = []
    for _ in range(60):
        signal = rng.standard_normal(20)
        echo = signal - 0.5 * rng.standard_normal(20)
        y = np.zeros(20)
        y[int(np.argmax(signal - (echo - signal)))] = 1
        lists.append((np.c_[signal, echo], y))
    free = train_ranker(lists, ("signal", "echo"), l2=0.1)
    bounded = train_ranker(lists, ("signal", "echo"), l2=0.1, monotone=("signal", "echo"))
    assert free.weights[1] < 0
    assert bounded.weights[1] >= 0 and bounded.weights[0] > 0
    assert bounded.info["monotone"] == ["echo", "signal"]


def test_calibrator_separates_and_round_trips(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    X = np.r_[rng.normal(1, 0.3, (60, 2)), rng.normal(-1, 0.3, (60, 2))]
    y = np.r_[np.ones(60), np.zeros(60)]
    cal = train_calibrator(X, y, ("a", "b"))
    assert cal.probability(np.array([1.0, 1.0])) > cal.threshold > cal.probability(np.array([-1.0, -1.0]))
    ranker = train_ranker([(X[:10], y[:10])], ("a", "b"))
    models = FusionModels.make("hash-64", ranker, cal)
    models.save(tmp_path / "m.json")
    loaded = FusionModels.load(tmp_path / "m.json")
    assert loaded.ranker is not None and loaded.calibrator is not None
    np.testing.assert_allclose(loaded.ranker.score(X), ranker.score(X))
    assert loaded.calibrator.threshold == cal.threshold
    assert (loaded.encoder, loaded.origin, loaded.sha256) == ("hash-64", "trained", models.sha256)
    assert loaded.describe()["id"] == models.id and len(models.id) == 12
    assert loaded.associations == ""
    carrying = FusionModels.make("hash-64", ranker, cal, associations="老赖\t执行:1\n")
    again = FusionModels.from_json(carrying.to_json())
    assert again.associations == "老赖\t执行:1\n" and again.sha256 == carrying.sha256 != models.sha256
    assert carrying.with_origin("default").associations == carrying.associations


def test_an_unbalanced_calibrator_is_calibrated() -> None:
    """Fitted to the outcome itself (no class weights), P matches the observed share in every bin."""
    from indexer.evaluation import calibration_error

    rng = np.random.default_rng(2)
    x = rng.normal(0, 1.5, (4000, 1))
    y = (rng.random(4000) < 1 / (1 + np.exp(-(2 * x[:, 0] - 1)))).astype(float)  # only about a third are 1
    cal = train_calibrator(x, y, ("x",), balanced=False, threshold=0.6)
    p = np.array([cal.probability(v) for v in x])
    ece, _ = calibration_error(p, y > 0)
    assert ece < 0.03 and abs(p.mean() - y.mean()) < 0.01 and cal.threshold == 0.6
    balanced = train_calibrator(x, y, ("x",))
    # class weights push the rarer outcome up: that calibrator overstates it
    assert np.mean([balanced.probability(v) for v in x]) > y.mean() + 0.03


def test_models_must_name_their_encoder(tmp_path: Path) -> None:
    import pytest

    with pytest.raises(ValueError, match="encoder"):
        FusionModels.from_json(b'{"ranker": {"features": [], "mean": [], "std": [], "weights": []}}')
    with pytest.raises(ValueError):
        FusionModels.from_json(b"not json")
    with pytest.raises(ValueError, match="associations"):
        FusionModels.from_json(b'{"encoder": "hash-64", "associations": ["not", "a", "table"]}')
    bad = b'{"encoder": "e5-small", "ranker": {"features": ["bm25", "sentence"], "mean": [0, 0], "std": [1, 0], "weights": [1, 1]}}'
    with pytest.raises(ValueError, match="do not match"):
        FusionModels.from_json(bad)
    with pytest.raises(ValueError, match="do not match"):
        FusionModels.from_json(bad.replace(b'"weights": [1, 1]', b'"weights": [1]').replace(b"[1, 0]", b"[1, 1]"))


def test_shipped_models_match_their_encoder_and_the_search_signals() -> None:
    files = sorted(MODELS_DIR.glob("*.json"))
    assert files, "the package ships default models for its default encoder"
    for path in files:
        models = FusionModels.load(path)
        assert models.origin == "default" and default_models(models.encoder).sha256 == models.sha256  # type: ignore[union-attr]
        assert models.ranker is not None and set(models.ranker.features) <= set(FEATURES)
        assert models.calibrator is not None and set(models.calibrator.features) <= set(CALIBRATION_FEATURES)
        # a calibrator reading the closeness to its training questions carries them, in the encoder's dimension
        assert ("nearest_question" in models.calibrator.features) == (models.questions is not None)
        if models.questions is not None:
            assert models.questions.shape[1] == 384 and len(models.questions) >= models.ranker.info["questions"]
    assert "nearest_question" in default_models("e5-legal@e8961cf13809").calibrator.features  # type: ignore[union-attr]
    assert default_models("e5-small") is not None
    assert default_models("st:some/unknown-model") is None


def test_models_carry_the_questions_their_calibrator_was_fitted_on() -> None:
    import pytest

    from indexer.fusion import NEAREST_QUESTION

    rng = np.random.default_rng(3)
    q = rng.standard_normal((5, 8))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    X = rng.standard_normal((40, 2))
    cal = train_calibrator(X, (X[:, 0] > 0).astype(float), ("a", NEAREST_QUESTION))
    models = FusionModels.make("hash-64", None, cal, questions=q)
    again = FusionModels.from_json(models.to_json())
    assert again.sha256 == models.sha256 and again.questions.dtype == np.float16
    np.testing.assert_array_equal(again.questions, q.astype(np.float16))
    # the vectors are part of what the hash names: other questions, other models
    assert FusionModels.make("hash-64", None, cal, questions=q[:4]).sha256 != models.sha256
    assert models.with_origin("default").questions is models.questions
    # a calibrator that reads nearest_question cannot be served without them
    with pytest.raises(ValueError, match=NEAREST_QUESTION):
        FusionModels.from_json(FusionModels.make("hash-64", None, cal).to_json())
    stored = json.loads(models.to_json())
    stored["questions"]["shape"] = [4, 8]
    with pytest.raises(ValueError, match="not fusion models"):
        FusionModels.from_json(json.dumps(stored).encode())


def test_nearest_question_is_the_best_cosine_and_leaves_a_question_itself_out() -> None:
    from indexer.fusion import nearest_question

    v = np.eye(3)[[0, 0, 1]] * 1.0
    v[1] = [0.6, 0.8, 0.0]
    # against a reference: the highest cosine to any of its rows
    np.testing.assert_allclose(nearest_question(v, np.eye(3)[[0]]), [1.0, 0.6, 0.0])
    # leave one out: each training question is measured against the others only
    np.testing.assert_allclose(nearest_question(v, v, leave_one_out=True), [0.6, 0.8, 0.8])
    assert nearest_question(v, None).tolist() == [0.0, 0.0, 0.0]
    assert nearest_question(v[:1], v[:1], leave_one_out=True).tolist() == [0.0]
