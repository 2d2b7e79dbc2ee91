from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexer.errors import IndexMismatchError
from indexer.search import FEATURES, Searcher
from indexer.signals import SIGNALS, check_signals, feature_matrix, norm_max, signal


@pytest.fixture(scope="module")
def searcher(hash_index: Path) -> Searcher:
    return Searcher.open(hash_index)


def test_every_signal_is_named_once_and_described() -> None:
    assert tuple(SIGNALS) == FEATURES and len(FEATURES) == 15
    assert all(s.doc and s.name == name for name, s in SIGNALS.items())
    with pytest.raises(ValueError, match="twice"):
        signal("bm25")(lambda c: c.bm25)


def test_columns_follow_the_declared_order(searcher: Searcher) -> None:
    q = searcher.parse("网上立案 诉讼服务")
    cand = searcher.candidates(q, searcher.embed_query(q))
    full = feature_matrix(FEATURES, cand)
    assert full.shape == (len(cand), len(FEATURES)) and full.dtype == np.float64 and np.isfinite(full).all()
    backwards = tuple(reversed(FEATURES))
    np.testing.assert_array_equal(feature_matrix(backwards, cand), full[:, ::-1])
    one = feature_matrix(("coverage_x",), cand)
    np.testing.assert_array_equal(one[:, 0], full[:, FEATURES.index("coverage_x")])
    # relative signals put the best candidate at 0
    for name in ("sentence", "measure", "title"):
        assert full[:, FEATURES.index(name)].max() == 0.0


def test_an_unknown_signal_is_a_mismatch(searcher: Searcher) -> None:
    check_signals(FEATURES)
    with pytest.raises(IndexMismatchError, match="retrain"):
        check_signals(("bm25", "tomorrow"))
    q = searcher.parse("立案")
    with pytest.raises(IndexMismatchError):
        feature_matrix(("tomorrow",), searcher.candidates(q, searcher.embed_query(q)))


def test_norm_max() -> None:
    np.testing.assert_allclose(norm_max(np.array([1.0, 2.0, 4.0])), [0.25, 0.5, 1.0])
    np.testing.assert_array_equal(norm_max(np.array([0.0, 0.0])), [0.0, 0.0])
    assert norm_max(np.zeros(0)).shape == (0,)
