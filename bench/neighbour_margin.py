"""Would "stands above its neighbours" help the ranker?  5-fold CV of the shipped signals plus margin columns.

Reform misses are mostly the measure next to the right one, and with weights ≥ 0
the ranker cannot count a neighbour's match against a candidate.  These columns
can: ``margin_bm25`` is the candidate's BM25 minus its better neighbour's
(``bm25`` − ``neighbour_bm25``, clipped at 0), ``margin_measure`` the same for the
measure cosine.  Same questions, folds and ranker as bench/train_default.py; the
README (*Retrieval quality*, "Tried … not kept") gives the figures; never run on
../shared/eval.

    python bench/neighbour_margin.py --reform-index DIR --laws-index DIR [--vector-cache NPZ]
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

from train_default import extra_signal_experiment, first_metrics, first_relevant, sources  # noqa: E402

from indexer.fusion import train_ranker  # noqa: E402
from indexer.search import FEATURES  # noqa: E402
from indexer.training import RANKER_L2, RANKER_MONOTONE  # noqa: E402

COLUMNS = {"margin_bm25": ("bm25", "neighbour_bm25"), "margin_measure": ("measure", "neighbour_measure")}
VARIANTS = {"without": (), "bm25": ("margin_bm25",), "measure": ("margin_measure",), "both": tuple(COLUMNS)}


def with_margins(X: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """``X`` (the shipped signals' columns) with the margin columns ``names`` appended."""
    col = {n: X[:, i] for i, n in enumerate(FEATURES)}
    extra = [np.maximum(0.0, col[COLUMNS[n][0]] - col[COLUMNS[n][1]]) for n in names]
    return np.column_stack([X, *extra]) if extra else X


def main() -> None:
    args, prepared, folds = extra_signal_experiment(__doc__)
    every = [(g, i, p) for g, ps in prepared.items() for i, p in enumerate(ps)]
    source_of = sources()
    report = {}
    for variant, names in VARIANTS.items():
        features, monotone = (*FEATURES, *names), (*RANKER_MONOTONE, *names)
        firsts: dict[str, list[int | None]] = defaultdict(list)
        for k in range(args.folds):
            held = {g: set(folds[g][k].tolist()) for g in prepared}
            train = [p for g, i, p in every if i not in held[g]]
            ranker = train_ranker([(with_margins(p.X, names), p.y) for p in train], features, l2=RANKER_L2, monotone=monotone)
            for g, i, p in every:
                if i not in held[g] or not p.question.relevant:
                    continue
                first = first_relevant(ranker.score(with_margins(p.X, names)), p.y)
                firsts[g].append(first)
                if g == "pairs":
                    firsts[source_of.get(p.question.query, "?")].append(first)
        report[variant] = first_metrics(firsts)
        print(variant, json.dumps(report[variant], ensure_ascii=False), file=sys.stderr)
    print(json.dumps(report, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
