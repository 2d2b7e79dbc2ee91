"""What ``python -m indexer train --mine-associations`` buys a court, measured on training pairs only.

A court has labelled questions of its own (its logs) and gets new ones of the same kind.  This
plays that out with the ranker's fifth of ../shared/train/pairs.tsv (bench/pairs_split.py; the
package's table was mined from the other part, so these questions are new to it) over an index of
../shared/corpus-laws: the questions are split in half at random (seed 1), one half trains
(``indexer.training.train``, once without mining and once with it, the package's table underneath),
the other half is searched with the result, and then the halves swap.  Reported: R@1, Hit@10 and
MRR@10 on the searched halves by source, whether the mined table was kept, its size, and the
cross-validated figures ``train`` decided by.  Never ../shared/eval.

    python bench/court_associations.py --laws-index DIR [--cail 700] [--vector-cache FILE]

``--cail 0`` leaves out the CAIL2018 criminal cases: a court with ~120 consultation questions.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from pairs_split import rows as pair_rows  # noqa: E402
from train_default import _load_vectors, _save_vectors, pairs_sample, rank_metrics  # noqa: E402

from indexer.search import Searcher  # noqa: E402
from indexer.training import embed_all, prepare, train  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--laws-index", required=True, help="an index of ../shared/corpus-laws")
    ap.add_argument("--cail", type=int, default=700, help="CAIL2018 criminal cases sampled from the ranker's fifth (seed 0)")
    ap.add_argument("--vector-cache", help="question vectors saved by an earlier run (same encoder)")
    args = ap.parse_args()

    questions = pairs_sample(args.cail, ranker_part_only=True)
    source = {r["query"]: r["source"] for r in pair_rows()}
    order = np.random.default_rng(1).permutation(len(questions))
    halves = [[questions[i] for i in order[: len(order) // 2]], [questions[i] for i in order[len(order) // 2 :]]]
    shared = Searcher.open(args.laws_index, with_models=False)
    _load_vectors(args.vector_cache, shared)
    embed_all(shared, questions)
    _save_vectors(args.vector_cache, shared)

    totals: dict[str, dict[str, np.ndarray]] = defaultdict(lambda: defaultdict(lambda: np.zeros(4)))
    for h in (0, 1):
        logs, new = halves[h], halves[1 - h]
        for mode in ("without", "with"):
            searcher = Searcher.open(args.laws_index, with_models=False)
            searcher._qcache = shared._qcache  # the same vectors: only the ranking differs
            t0 = time.perf_counter()
            models = train(searcher, logs, mine_associations=mode == "with")
            seconds = time.perf_counter() - t0
            cv = models.ranker.info.get("associations_cv_mrr10") if models.ranker else None
            kept = "kept" if models.associations else "package's table"
            print(f"half {h} trains {mode} mining: {seconds:.0f} s, {len(searcher.associations)} words ({kept}), CV {cv}", flush=True)
            for p in prepare(searcher, new):
                m = rank_metrics([p], searcher.ranker)
                for key in ("all", source.get(p.question.query, "?")):
                    totals[mode][key] += [*m, 1]
    print(f"\n{'searched half':<22} {'n':>4} | {'R@1':>13} | {'Hit@10':>13} | {'MRR@10':>13}   (without → with mining)")
    for key in sorted(totals["without"], key=lambda k: (k != "all", k)):
        a, b = totals["without"][key], totals["with"][key]
        cells = " | ".join(f"{a[i] / a[3]:.3f} → {b[i] / b[3]:.3f}" for i in range(3))
        print(f"{key:<22} {int(a[3]):>4} | {cells}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
