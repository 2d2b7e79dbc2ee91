"""Would penalising generic measures help the ranker?  5-fold CV of the shipped signals plus "specificity" columns.

A few broad measures (a reform plan's "加强互联网司法建设…", "健全法官惩戒…") come first for
many unrelated training questions: they touch every topic a little.  ``specific`` is minus the
cosine of the measure vector to the index's mean measure vector (how far it stands from the
corpus's centre), ``short`` minus log(1 + its length in characters); with weights ≥ 0 they
can only lower generic or long measures.  Same questions, folds and ranker as
bench/train_default.py; the README (*Retrieval quality*, "Tried … not kept") gives the
figures; never run on ../shared/eval.

    python bench/generic_measures.py --reform-index DIR --laws-index DIR [--vector-cache NPZ]
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

from indexer.search import Searcher  # noqa: E402

VARIANTS = {"without": (), "specific": ("specific",), "short": ("short",), "both": ("specific", "short")}


def columns(searcher: Searcher) -> dict[str, np.ndarray]:
    """The two columns for every chunk of the index."""
    n = len(searcher.data.chunks)
    vectors = searcher.data.dense.vectors(np.arange(n)).astype(np.float32)
    centre = vectors.mean(0)
    centre /= np.linalg.norm(centre)
    lengths = np.array([len(c.body) for c in searcher.data.chunks], dtype=np.float64)
    return {"specific": -(vectors @ centre), "short": -np.log1p(lengths)}


def main() -> None:
    _, prepared, folds = extra_signal_experiment(__doc__)
    every = [(g, i, p) for g, ps in prepared.items() for i, p in enumerate(ps)]
    by_index = {id(ps[0].searcher): columns(ps[0].searcher) for ps in prepared.values()}

    def matrix(n: int, names: tuple[str, ...]) -> np.ndarray:
        p = every[n][2]
        cols = by_index[id(p.searcher)]
        return np.column_stack([p.X, *(cols[name][p.candidates.ids] for name in names)])

    report = {}
    for variant, names in VARIANTS.items():
        report[variant] = extra_signal_metrics(every, folds, names, lambda n, _memory, names=names: matrix(n, names))
        print(variant, json.dumps(report[variant], ensure_ascii=False), file=sys.stderr)
    print(json.dumps(report, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
