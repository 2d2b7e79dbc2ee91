"""Would "questions asked before" help the ranker?  5-fold CV of the shipped signals plus one more column.

The column, ``past_question``: for each candidate, the highest cosine between the question
and a training question labelled with that candidate (0 where none is) — a new question
close to one asked before is likely answered by what answered that one.  Training
questions are measured against the other training questions (their own label left out),
held-out ones against the training folds, as served.  ``count`` sums the cosines above
0.85 instead of taking the best.  Same questions, folds and ranker as
bench/train_default.py; the README (*Retrieval quality*, "Tried … not kept") gives the
figures; never run on ../shared/eval.

    python bench/past_questions.py --reform-index DIR --laws-index DIR [--vector-cache NPZ]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from train_default import pairs_sample, prepared_sets, sources  # noqa: E402

from indexer.fusion import train_ranker  # noqa: E402
from indexer.search import FEATURES, Searcher  # noqa: E402
from indexer.training import RANKER_L2, RANKER_MONOTONE  # noqa: E402


def column(sims: np.ndarray, memory: list[int], labels: list[frozenset[str]], keys: list[str], mode: str) -> np.ndarray:
    """The past_question value of each candidate (``keys``), from one question's cosines to the ``memory`` questions."""
    best: dict[str, float] = defaultdict(float)
    mass: dict[str, float] = defaultdict(float)
    for t in memory:
        for k in labels[t]:
            best[k] = max(best[k], float(sims[t]))
            if sims[t] > 0.85:
                mass[k] += float(sims[t])
    table = best if mode == "max" else mass
    return np.array([table.get(k, 0.0) for k in keys])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reform-index", required=True)
    ap.add_argument("--laws-index", required=True)
    ap.add_argument("--vector-cache", default=None, metavar="NPZ")
    ap.add_argument("--folds", type=int, default=5)
    args = ap.parse_args()
    reform, laws = Searcher.open(args.reform_index, with_models=False), Searcher.open(args.laws_index, with_models=False)
    # bench/queries' unanswerable questions too, so that the folds are bench/train_default.py's (they train nothing here)
    prepared = prepared_sets(reform, laws, pairs_sample(700, ranker_part_only=True), args.vector_cache)
    every = [(g, i, p) for g, ps in prepared.items() for i, p in enumerate(ps)]
    vectors = np.stack([np.asarray(p.candidates.qv, np.float32).ravel() for _, _, p in every])
    sims = vectors @ vectors.T
    labels = [p.question.relevant for _, _, p in every]
    keys = [[p.searcher.data.chunks[int(c)].key for c in p.candidates.ids] for _, _, p in every]
    source_of = sources()
    rng = np.random.default_rng(0)
    folds = {g: np.array_split(rng.permutation(len(ps)), args.folds) for g, ps in prepared.items()}
    features, monotone = (*FEATURES, "past_question"), (*RANKER_MONOTONE, "past_question")
    report = {}
    for mode in ("without", "max", "count"):
        firsts: dict[str, list[int | None]] = defaultdict(list)
        for k in range(args.folds):
            held = {g: set(folds[g][k].tolist()) for g in prepared}
            train = [n for n, (g, i, _) in enumerate(every) if i not in held[g]]

            def matrix(n: int, memory: list[int], mode: str = mode) -> np.ndarray:
                extra = np.zeros(len(keys[n])) if mode == "without" else column(sims[n], memory, labels, keys[n], mode)
                return np.column_stack([every[n][2].X, extra])

            # training questions against the others (own label left out), held-out ones against the training folds
            lists = [(matrix(n, [t for t in train if t != n]), every[n][2].y) for n in train]
            ranker = train_ranker(lists, features, l2=RANKER_L2, monotone=monotone)
            for n, (g, i, p) in enumerate(every):
                if i not in held[g] or not p.question.relevant:
                    continue
                order = np.argsort(-ranker.score(matrix(n, train)), kind="stable")[:10]
                first = next((a for a, j in enumerate(order) if p.y[j] > 0), None)
                firsts[g].append(first)
                if g == "pairs":
                    firsts[source_of.get(p.question.query, "?")].append(first)
        report[mode] = {
            g: {
                "questions": len(fs),
                "R@1": round(float(np.mean([f == 0 for f in fs])), 3),
                "Hit@10": round(float(np.mean([f is not None for f in fs])), 3),
                "MRR@10": round(float(np.mean([0.0 if f is None else 1 / (f + 1) for f in fs])), 3),
            }
            for g, fs in firsts.items()
        }
        print(mode, json.dumps(report[mode], ensure_ascii=False), file=sys.stderr)
    print(json.dumps(report, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
