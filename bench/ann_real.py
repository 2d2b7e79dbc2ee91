"""HNSW (as built above 200k chunks) against exact search on the real vectors of an index.

    python bench/ann_real.py --index /work/bench-data/idx-11.7k

The synthetic 1M set resamples a few thousand real vectors, so many of its
vectors nearly tie and recall by id says little there; this measures the same
HNSW settings on real measure vectors and real questions.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def main() -> None:
    from run import load_queries

    from indexer.dense import DenseIndex
    from indexer.search import Searcher

    ap = argparse.ArgumentParser()
    ap.add_argument("--index", required=True)
    args = ap.parse_args()
    s = Searcher.open(args.index)
    x = s.data.dense.vectors(np.arange(s.n))
    qv = np.stack([s.embed_query(s.parse(q)) for q in load_queries()])
    exact = np.argsort(-(x @ qv.T), axis=0, kind="stable")[:10].T
    t = time.perf_counter()
    hnsw = DenseIndex.build(x, kind="hnsw")
    build_s = time.perf_counter() - t
    raw = [hnsw.index.search(v.reshape(1, -1), 10)[1][0] for v in qv]
    reranked = [hnsw.search(v, 10)[1] for v in qv]

    def recall(found: list[np.ndarray]) -> float:
        return float(np.mean([len(set(f) & set(e)) / 10 for f, e in zip(found, exact, strict=True)]))

    print(
        json.dumps(
            {
                "chunks": s.n,
                "queries": len(qv),
                "hnsw_build_s": build_s,
                "recall_at_10_hnsw_sq8": recall(raw),
                "recall_at_10_after_exact_rescoring": recall(reranked),
            }
        )
    )


if __name__ == "__main__":
    main()
