"""Where the relevance meter may say 高: measured on the labelled training questions.

Each result on the page carries a relevance bar: the calibrated probability
that the measure answers the question (0 when the page says 未找到相关条款).
The word beside it must not overstate.  This script asks every question of
``bench/queries`` (the answerable ones, labelled with their measures, and the
unanswerable ones, where every result is a miss) against an index of the
sample corpus, the way the page does (``answer``, 5 results), and finds:

* ``high``   — the lowest relevance down to which results were relevant at
  least 80% of the time, judged on the 30 results just above each point
  (see :func:`threshold`): 高;
* ``medium`` — the same at 50%: 中; below it: 低.

It writes them to ``indexer/data/meter.json`` with the precision they were
measured at.  Run it again after retraining the ranker or calibrator.  The
development questions in ``../shared/eval`` are never used.

    python bench/meter.py --index DIR        # an index of corpus/ (python -m indexer build --corpus corpus --index DIR)
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from indexer.answer import answer  # noqa: E402
from indexer.highlight import METER_FILE  # noqa: E402
from indexer.search import Searcher  # noqa: E402

QUERIES = ROOT / "bench" / "queries"
HIGH_PRECISION = 0.8
MEDIUM_PRECISION = 0.5
MIN_SUPPORT = 30


def read(path: Path) -> list[tuple[str, set[str]]]:
    with path.open(encoding="utf-8") as fh:
        return [(r["query"], set(filter(None, (r.get("relevant") or "").split(",")))) for r in csv.DictReader(fh, delimiter="\t")]


def shown_results(searcher: Searcher) -> list[tuple[float, bool]]:
    """(relevance as the page shows it, whether the measure is labelled relevant) of every result shown."""
    out = []
    for path in sorted(QUERIES.glob("*.tsv")):
        for question, relevant in read(path):
            a = answer(searcher, question, top_k=5)
            for h in a.hits:
                shown = h.signals.get("relevance", 0.0) if a.found else 0.0
                out.append((float(shown), h.chunk.chunk_id in relevant))
    return out


def threshold(results: list[tuple[float, bool]], precision: float) -> tuple[float, float, int]:
    """The lowest relevance t down to which results stay relevant at least ``precision`` of the time, locally.

    Scanning from the highest relevance down, each result is judged with the
    MIN_SUPPORT results just above it (a sliding window), and the scan stops at
    the first window below ``precision``.  A cumulative share (precision of
    everything ≥ t) would let many excellent results at the top carry a band of
    mediocre ones below them, and the meter would say 高 where results are right
    only half of the time.  Returns (t, precision of all results ≥ t, how many).
    """
    ranked = sorted(results, key=lambda r: -r[0])
    best = (1.0, 1.0, 0)
    good = 0
    for n, (rel, ok) in enumerate(ranked, start=1):
        good += ok
        window = ranked[max(0, n - MIN_SUPPORT) : n]
        if sum(w for _, w in window) / len(window) < precision or rel <= 0:
            break
        boundary = n == len(ranked) or ranked[n][0] < rel  # ties are all in or all out
        if boundary and n >= MIN_SUPPORT:
            best = (rel, good / n, n)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", type=Path, required=True, help="an index of the sample corpus (corpus/)")
    parser.add_argument("--out", type=Path, default=METER_FILE)
    args = parser.parse_args()
    results = shown_results(Searcher.open(args.index))
    high, p_high, n_high = threshold(results, HIGH_PRECISION)
    medium, p_medium, n_medium = threshold(results, MEDIUM_PRECISION)
    medium = min(medium, high)
    data = {
        "high": round(high, 4),
        "medium": round(medium, 4),
        "precision_high": round(p_high, 3),
        "results_high": n_high,
        "precision_medium": round(p_medium, 3),
        "results_medium": n_medium,
        "results": len(results),
        "relevant": sum(ok for _, ok in results),
        "questions": "bench/queries/*.tsv (training questions; answerable and unanswerable)",
        "measured": time.strftime("%Y-%m-%d", time.gmtime()),
    }
    args.out.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(data, ensure_ascii=False, indent=1))
    for lo, hi in ((0.0, 0.2), (0.2, 0.5), (0.5, 0.7), (0.7, 0.85), (0.85, 0.95), (0.95, 1.01)):
        bucket = [ok for rel, ok in results if lo <= rel < hi]
        if bucket:
            print(f"relevance {lo:.2f}–{min(hi, 1):.2f}: {len(bucket):4d} results, {sum(bucket) / len(bucket):.0%} relevant")


if __name__ == "__main__":
    main()
