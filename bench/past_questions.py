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

import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from train_default import extra_signal_experiment, extra_signal_metrics  # noqa: E402


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
    _, prepared, folds = extra_signal_experiment(__doc__)
    every = [(g, i, p) for g, ps in prepared.items() for i, p in enumerate(ps)]
    vectors = np.stack([np.asarray(p.candidates.qv, np.float32).ravel() for _, _, p in every])
    sims = vectors @ vectors.T
    labels = [p.question.relevant for _, _, p in every]
    keys = [[p.searcher.data.chunks[int(c)].key for c in p.candidates.ids] for _, _, p in every]
    report = {}
    for mode in ("without", "max", "count"):
        # training questions against the others (own label left out), held-out ones against the training folds
        def matrix(n: int, memory: list[int], mode: str = mode) -> np.ndarray:
            extra = np.zeros(len(keys[n])) if mode == "without" else column(sims[n], memory, labels, keys[n], mode)
            return np.column_stack([every[n][2].X, extra])

        report[mode] = extra_signal_metrics(every, folds, ("past_question",), matrix)
        print(mode, json.dumps(report[mode], ensure_ascii=False), file=sys.stderr)
    print(json.dumps(report, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
