"""Would spreading the ten results over more laws find more labelled articles?  5-fold CV, training data only.

A question that names no law can rank ten articles of the wrong one.  Each variant
keeps rank 1 and re-orders ranks 2-10 of the shipped ranker's list: ``capM`` lets at
most M results come from one document (the rest fill in after), ``mmrL`` takes the
next result by its standardised score minus L per result already taken from its
document.  Same questions, folds and ranker as bench/train_default.py, plus the
1,200 written questions of bench/consult/ measured only.  The rule fixed before the
first run: adopt a variant only with pairs and written-question Hit@10 +0.02 or more,
and no set losing more than 0.005 of MRR@10 (bench/queries also no more than 0.005 of
Hit@10).  The README (*Retrieval quality*, "Tried … not kept") gives the figures;
never run on ../shared/eval.

    python bench/law_diversity.py --reform-index DIR --laws-index DIR [--vector-cache NPZ]
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from train_default import MEASURED_ONLY, extra_signal_experiment, first_metrics  # noqa: E402

from indexer.training import fit_ranker, scored  # noqa: E402

Order = Callable[[np.ndarray, np.ndarray], np.ndarray]
CONSULT = sorted((ROOT / "bench" / "consult").glob("*.tsv")) + sorted((ROOT / "bench" / "consult" / "set2").glob("*.tsv"))


def plain(scores: np.ndarray, docs: np.ndarray) -> np.ndarray:
    return np.argsort(-scores, kind="stable")[:10]


def capped(m: int) -> Order:
    """At most ``m`` of the ten from one document; the candidates passed over fill any places left, in order."""

    def order(scores: np.ndarray, docs: np.ndarray) -> np.ndarray:
        ranked = np.argsort(-scores, kind="stable")
        taken, passed, count = [int(ranked[0])], [], defaultdict(int)
        count[docs[ranked[0]]] += 1
        for j in ranked[1:]:
            if len(taken) == 10:
                break
            if count[docs[j]] < m:
                taken.append(int(j))
                count[docs[j]] += 1
            else:
                passed.append(int(j))
        return np.array(taken + passed[: 10 - len(taken)])

    return order


def mmr(penalty: float) -> Order:
    """Greedy: the next result maximises its standardised score minus ``penalty`` per result already taken from its document."""

    def order(scores: np.ndarray, docs: np.ndarray) -> np.ndarray:
        z = (scores - scores.mean()) / (scores.std() + 1e-9)
        pool = [int(j) for j in np.argsort(-z, kind="stable")[:50]]
        taken, count = [pool.pop(0)], defaultdict(int)
        count[docs[taken[0]]] += 1
        while len(taken) < 10 and pool:
            best = max(pool, key=lambda j: z[j] - penalty * count[docs[j]])
            pool.remove(best)
            taken.append(best)
            count[docs[best]] += 1
        return np.array(taken)

    return order


VARIANTS: dict[str, Order] = {"plain": plain, **{f"cap{m}": capped(m) for m in (2, 3, 5)}, **{f"mmr{p}": mmr(p) for p in (0.1, 0.25, 0.5)}}


def main() -> None:
    args, prepared, folds = extra_signal_experiment(__doc__, measure=[str(f) for f in CONSULT])
    firsts: dict[str, dict[str, list[int | None]]] = {v: defaultdict(list) for v in VARIANTS}
    for k in range(args.folds):
        held = {g: set(folds[g][k].tolist()) for g in folds}
        # trained as the shipped ranker is: bench/queries and the pairs, never the written questions
        ranker = fit_ranker([p for g in ("reform", "pairs") for i, p in enumerate(prepared[g]) if i not in held[g]])
        for g, ps in prepared.items():
            for i, p in enumerate(ps):
                if i not in held[g] or not p.question.relevant:
                    continue
                scores, docs = scored(p, ranker), p.candidates.doc_of
                for name, order in VARIANTS.items():
                    firsts[name][g].append(next((r for r, j in enumerate(order(scores, docs)) if p.y[j] > 0), None))
    report = {name: first_metrics({g: fs[g] for g in ("reform", "pairs", MEASURED_ONLY)}) for name, fs in firsts.items()}
    print(json.dumps(report, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
