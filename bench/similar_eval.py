"""How good is 其他文件中的相似条款?  Precision@3 on measures with known counterparts in other documents.

``bench/similar/labels.tsv`` lists 33 measures of the sample corpus (corpus/)
and, for each, the measures of *other* documents that deal with the same
thing (法官惩戒 in the 2021 plan ↔ 法官法 第46–51条; 法官助理 in 法官法 ↔ 人民法院组织法
…).  The labels were written by reading the documents, not from any
evaluation file.

For each labelled measure the page's three similar measures are compared with
its counterparts:

* ``P@3``   — share of the three shown that are counterparts (mean over measures);
* ``Hit@3`` — share of measures with at least one counterpart among the three;
* ``R@3``   — share of each measure's counterparts shown (capped by 3).

Two rankings side by side: ``hybrid`` (indexer.similar: the search machinery
with the measure's text as the question; what the page shows) and ``dense``
(cosine of the measure vectors alone, what the page showed before).

    python bench/similar_eval.py [--index DIR]     # builds an index of corpus/ into bench/out/ when none is given

Not a test: nothing is asserted.  Results also go to bench/out/similar.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from indexer.build import build_index  # noqa: E402
from indexer.search import Searcher  # noqa: E402
from indexer.similar import similar_measures  # noqa: E402

LABELS = ROOT / "bench" / "similar" / "labels.tsv"
K = 3


def read_labels(path: Path = LABELS) -> dict[str, set[str]]:
    with path.open(encoding="utf-8") as fh:
        return {row["chunk_id"]: set(row["counterparts"].split(",")) for row in csv.DictReader(fh, delimiter="\t")}


def score(shown: list[str], relevant: set[str]) -> dict[str, float]:
    hits = sum(1 for c in shown[:K] if c in relevant)
    return {"p": hits / K, "hit": float(hits > 0), "r": hits / min(K, len(relevant))}


def evaluate(searcher: Searcher, labels: dict[str, set[str]]) -> dict[str, object]:
    rankers = {
        "hybrid": lambda cid: [h.chunk.chunk_id for h in similar_measures(searcher, cid, top_k=K)],
        "dense": lambda cid: [h.chunk.chunk_id for h in searcher.similar(cid, top_k=K)],
    }
    out: dict[str, object] = {"measures": len(labels), "k": K}
    for name, rank in rankers.items():
        rows, times = [], []
        for cid, relevant in labels.items():
            t = time.perf_counter()
            shown = rank(cid)
            times.append((time.perf_counter() - t) * 1000)
            rows.append({"chunk_id": cid, "shown": shown, **score(shown, relevant)})
        out[name] = {
            "P@3": round(statistics.mean(r["p"] for r in rows), 3),
            "Hit@3": round(statistics.mean(r["hit"] for r in rows), 3),
            "R@3": round(statistics.mean(r["r"] for r in rows), 3),
            "median_ms": round(statistics.median(times), 1),
            "misses": [r for r in rows if r["hit"] == 0],
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", type=Path, help="an index of corpus/ (built into bench/out/similar-index when absent)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "similar.json")
    args = parser.parse_args()
    index = args.index
    if index is None:
        index = ROOT / "bench" / "out" / "similar-index"
        build_index(ROOT / "corpus", index, progress=True)
    labels = read_labels()
    result = evaluate(Searcher.open(index), labels)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"{len(labels)} labelled measures, top {K} similar measures from other documents")
    print(f"{'ranking':<8} {'P@3':>6} {'Hit@3':>6} {'R@3':>6} {'ms':>7}")
    for name in ("hybrid", "dense"):
        r = result[name]
        print(f"{name:<8} {r['P@3']:>6.3f} {r['Hit@3']:>6.3f} {r['R@3']:>6.3f} {r['median_ms']:>7.1f}")  # type: ignore[index]
    for r in result["hybrid"]["misses"]:  # type: ignore[index]
        print(f"  hybrid miss: {r['chunk_id']} → {', '.join(r['shown'])}")


if __name__ == "__main__":
    main()
