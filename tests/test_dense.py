from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexer.dense import DenseIndex, HalfScan


def _unit(n: int, d: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_search_finds_the_vector_itself(kind: str) -> None:
    x = _unit(500, 24)
    idx = DenseIndex.build(x, kind=kind)
    assert idx.kind == kind and idx.ntotal == 500 and idx.dim == 24
    scores, ids = idx.search(x[42], 5)
    assert ids[0] == 42 and scores[0] == pytest.approx(1.0, abs=0.02)
    assert list(scores) == sorted(scores, reverse=True)


def test_auto_kind_is_flat_for_small_collections() -> None:
    assert DenseIndex.build(_unit(10, 8)).kind == "flat"


def test_hnsw_recall_against_flat() -> None:
    x = _unit(3000, 32, seed=1)
    q = _unit(50, 32, seed=2)
    flat, hnsw = DenseIndex.build(x, "flat"), DenseIndex.build(x, "hnsw")
    recall = np.mean([len(set(flat.search(v, 10)[1]) & set(hnsw.search(v, 10)[1])) / 10 for v in q])
    assert recall >= 0.95


def test_save_load_and_vectors(tmp_path: Path) -> None:
    x = _unit(100, 16)
    idx = DenseIndex.build(x)
    idx.save(tmp_path / "d.faiss")
    again = DenseIndex.load(tmp_path / "d.faiss")
    np.testing.assert_allclose(again.vectors(np.array([3, 7])), x[[3, 7]], rtol=1e-6)
    assert again.search(x[3], 1)[1][0] == 3
    assert DenseIndex.build(np.zeros((0, 16), np.float32)).ntotal == 0


def test_hnsw_rescores_candidates_exactly_and_round_trips(tmp_path: Path) -> None:
    x = _unit(2000, 32, seed=3)
    idx = DenseIndex.build(x, kind="hnsw")
    assert idx.exact is not None and idx.exact.dtype == np.float16
    scores, ids = idx.search(x[5], 10)
    np.testing.assert_allclose(scores, x[ids] @ x[5], atol=2e-3)  # exact (float16) cosines, not 8-bit ones
    idx.save(tmp_path / "h.faiss")
    assert DenseIndex.exact_path(tmp_path / "h.faiss").exists()
    again = DenseIndex.load(tmp_path / "h.faiss")
    assert again.kind == "hnsw" and list(again.search(x[5], 10)[1]) == list(ids)
    np.testing.assert_allclose(again.vectors(np.array([7])), x[[7]], atol=2e-3)


def test_flat_vectors_are_the_stored_vectors_without_a_copy() -> None:
    x = _unit(50, 16)
    flat = DenseIndex.build(x, kind="flat")
    view = flat.flat_vectors()
    assert view is not None and view.shape == (50, 16)
    np.testing.assert_array_equal(view, x)
    assert DenseIndex.build(x, kind="hnsw").flat_vectors() is None
    assert DenseIndex.build(np.zeros((0, 16), np.float32), kind="flat").flat_vectors().shape == (0, 16)  # type: ignore[union-attr]


def test_half_precision_scan_agrees_with_the_exact_scan() -> None:
    x = _unit(400, 32, seed=3)
    scan = HalfScan(x)
    for i in (0, 17, 399):
        ids = scan.search(x[i], 10)
        exact = np.argsort(-(x @ x[i]), kind="stable")[:10]
        assert ids[0] == i and len(set(ids) & set(exact)) >= 9
    assert len(scan.search(x[0], 1000)) == 400
