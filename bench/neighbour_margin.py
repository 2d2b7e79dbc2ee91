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
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from train_default import extra_signal_experiment, extra_signal_metrics  # noqa: E402

from indexer.search import FEATURES  # noqa: E402

COLUMNS = {"margin_bm25": ("bm25", "neighbour_bm25"), "margin_measure": ("measure", "neighbour_measure")}
VARIANTS = {"without": (), "bm25": ("margin_bm25",), "measure": ("margin_measure",), "both": tuple(COLUMNS)}


def with_margins(X: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """``X`` (the shipped signals' columns) with the margin columns ``names`` appended."""
    col = {n: X[:, i] for i, n in enumerate(FEATURES)}
    extra = [np.maximum(0.0, col[COLUMNS[n][0]] - col[COLUMNS[n][1]]) for n in names]
    return np.column_stack([X, *extra]) if extra else X


def main() -> None:
    _, prepared, folds = extra_signal_experiment(__doc__)
    every = [(g, i, p) for g, ps in prepared.items() for i, p in enumerate(ps)]
    report = {}
    for variant, names in VARIANTS.items():
        report[variant] = extra_signal_metrics(every, folds, names, lambda n, _memory, names=names: with_margins(every[n][2].X, names))
        print(variant, json.dumps(report[variant], ensure_ascii=False), file=sys.stderr)
    print(json.dumps(report, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
