"""k-fold cross-validation of the learned fusion and the found/not-found calibrator.

The shipped models are trained on all labelled questions in bench/queries; this
script estimates how they do on questions they did not see: each fold trains on
the other folds and is scored on itself.  The shared dev questions are never
trained on and are reported as they are.

    python bench/crossval.py --index /tmp/idx-shared [--folds 5]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from indexer.evaluation import load_questions  # noqa: E402
from indexer.fusion import NEAREST_QUESTION, train_calibrator, train_ranker  # noqa: E402
from indexer.search import CALIBRATION_FEATURES, FEATURES, Searcher  # noqa: E402
from indexer.training import CALIBRATOR_L2, MONOTONE, RANKER_L2, ranking_lists  # noqa: E402

QUERIES = ROOT / "bench" / "queries"
#: the index's models were fitted on these very questions, so their nearest_question would be 1 here
EVIDENCE = tuple(f for f in CALIBRATION_FEATURES if f != NEAREST_QUESTION)
MONOTONE_EVIDENCE = tuple(f for f in MONOTONE if f in EVIDENCE)


def rank_metrics(ranker, lists) -> dict[str, float]:
    r1 = r5 = mrr = 0.0
    for X, y in lists:
        order = np.argsort(-ranker.score(X), kind="stable")[:10]
        first = next((i for i, j in enumerate(order) if y[j] > 0), None)
        if first is not None:
            r1 += first == 0
            r5 += first < 5
            mrr += 1 / (first + 1)
    n = len(lists)
    return {"R@1": r1 / n, "R@5": r5 / n, "MRR@10": mrr / n}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", required=True)
    ap.add_argument("--folds", type=int, default=5)
    args = ap.parse_args()
    searcher = Searcher.open(args.index)
    answerable = [q for f in ("set_a.tsv", "set_b.tsv") for q in load_questions(QUERIES / f) if q.relevant]
    unanswerable = [q for f in ("unanswerable_a.tsv", "unanswerable_b.tsv") for q in load_questions(QUERIES / f) if not q.relevant]
    lists = ranking_lists(searcher, answerable)
    rng = np.random.default_rng(0)
    pos_folds = np.array_split(rng.permutation(len(answerable)), args.folds)
    neg_folds = np.array_split(rng.permutation(len(unanswerable)), args.folds)
    rank_scores, found, not_found = [], [], []
    for k in range(args.folds):
        test_pos, test_neg = set(pos_folds[k].tolist()), set(neg_folds[k].tolist())
        ranker = train_ranker([lists[i] for i in range(len(lists)) if i not in test_pos], FEATURES, l2=RANKER_L2)
        rank_scores.append(rank_metrics(ranker, [lists[i] for i in sorted(test_pos)]))
        searcher.ranker = ranker
        ev = {}
        for i, q in list(enumerate(answerable)) + [(len(answerable) + j, q) for j, q in enumerate(unanswerable)]:
            ev[i] = [searcher.search(q.query, top_k=5).evidence[f] for f in EVIDENCE]
        train_idx = [i for i in range(len(answerable)) if i not in test_pos] + [
            len(answerable) + j for j in range(len(unanswerable)) if j not in test_neg
        ]
        y = np.array([1 if i < len(answerable) else 0 for i in train_idx])
        cal = train_calibrator(np.array([ev[i] for i in train_idx]), y, EVIDENCE, l2=CALIBRATOR_L2, monotone=MONOTONE_EVIDENCE)
        found += [cal.probability(np.array(ev[i])) >= cal.threshold for i in sorted(test_pos)]
        not_found += [cal.probability(np.array(ev[len(answerable) + j])) < cal.threshold for j in sorted(test_neg)]
    out = {
        "folds": args.folds,
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        **{m: round(float(np.mean([r[m] for r in rank_scores])), 3) for m in ("R@1", "R@5", "MRR@10")},
        "found_when_answerable": round(float(np.mean(found)), 3),
        "not_found_when_unanswerable": round(float(np.mean(not_found)), 3),
    }
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
