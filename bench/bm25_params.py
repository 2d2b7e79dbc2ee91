"""BM25's k1 and b, checked on training questions only (never on ../shared/eval).

For each (k1, b) on a small grid, BM25 alone ranks the training questions: the
answerable ones in bench/queries over an index of the 21 shared documents, and
a sample of ../shared/train/pairs.tsv over an index of ../shared/corpus-laws.
5-fold cross-validation then asks whether choosing (k1, b) on four folds beats
the standard values (1.2, 0.75) on the fifth.

    python bench/bm25_params.py --reform-index DIR --laws-index DIR [--pairs N]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from indexer.bm25 import K1, B, BM25Index  # noqa: E402
from indexer.evaluation import load_questions  # noqa: E402
from indexer.search import Searcher  # noqa: E402
from indexer.units import chunk_tokens  # noqa: E402

K1S = (0.6, 0.9, 1.2, 1.5, 2.0)
BS = (0.3, 0.5, 0.75, 0.9)


def reciprocal_ranks(searcher: Searcher, tokens, weights, questions, k1: float, b: float) -> np.ndarray:
    """1/rank of the first relevant measure in BM25's top 10 (0 when absent), per question."""
    index = BM25Index.build(tokens, k1=k1, b=b)
    keys = [c.key for c in searcher.data.chunks]
    out = np.zeros(len(questions))
    for i, q in enumerate(questions):
        scores = index.scores(weights[i])
        top = np.argsort(-scores, kind="stable")[:10]
        first = next((r for r, j in enumerate(top) if scores[j] > 0 and keys[j] in q.relevant), None)
        out[i] = 0.0 if first is None else 1.0 / (first + 1)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reform-index", required=True)
    ap.add_argument("--laws-index", required=True)
    ap.add_argument("--pairs", type=int, default=1500, help="pairs sampled from train/pairs.tsv (seed 0)")
    args = ap.parse_args()
    reform = [q for f in ("set_a.tsv", "set_b.tsv") for q in load_questions(ROOT / "bench" / "queries" / f) if q.relevant]
    pairs = load_questions(ROOT.parent / "shared" / "train" / "pairs.tsv")
    pairs = [pairs[i] for i in sorted(np.random.default_rng(0).permutation(len(pairs))[: args.pairs])]
    sets = []
    for path, qs in ((args.reform_index, reform), (args.laws_index, pairs)):
        s = Searcher.open(path)
        tokens = [chunk_tokens(s.segmenter, c)[0] for c in s.data.chunks]
        sets.append((s, tokens, [s.term_weights(s.parse(q.query)) for q in qs], qs))
    grid = [(k1, b) for k1 in K1S for b in BS]
    # rr[g] = reciprocal ranks of all training questions under grid point g
    rr = {g: np.concatenate([reciprocal_ranks(*st, *g) for st in sets]) for g in grid}
    n = len(next(iter(rr.values())))
    folds = np.array_split(np.random.default_rng(0).permutation(n), 5)
    chosen, cv_chosen, cv_default = [], [], []
    for k in range(5):
        train = np.setdiff1d(np.arange(n), folds[k])
        best = max(grid, key=lambda g: (rr[g][train].mean(), g == (K1, B)))
        chosen.append(best)
        cv_chosen.append(rr[best][folds[k]].mean())
        cv_default.append(rr[(K1, B)][folds[k]].mean())
    print(
        json.dumps(
            {
                "questions": {"reform": len(reform), "pairs": len(pairs)},
                "MRR@10 by (k1, b), all training questions": {f"{k1},{b}": round(float(rr[(k1, b)].mean()), 4) for k1, b in grid},
                "chosen per fold": [f"{k1},{b}" for k1, b in chosen],
                "CV MRR@10 of the per-fold choice": round(float(np.mean(cv_chosen)), 4),
                f"CV MRR@10 of the standard {K1},{B}": round(float(np.mean(cv_default)), 4),
            },
            ensure_ascii=False,
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
