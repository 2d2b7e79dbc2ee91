"""One deterministic split of ../shared/train/pairs.tsv: the encoder is tuned on one part, the ranker trained on the other.

A fusion ranker trained on questions the encoder was tuned on would see dense
scores far better than on new questions and lean on them too much; so every
pair is assigned, by a hash of its question, either to tuning (80%) or to the
ranker (20%), the same way in bench/tune_default.py and bench/train_default.py.
Labels judgments cite in nearly every civil case are dropped (see the pairs' README).
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAIRS = ROOT.parent / "shared" / "train" / "pairs.tsv"
#: articles civil judgments cite in nearly every case (interest for late payment, default judgment, burden of proof)
BOILERPLATE = frozenset({"民事诉讼法#264", "民事诉讼法#147", "民事诉讼法#67", "民事诉讼法解释#90"})
RANKER_SHARE = 5  #: one pair in five is kept for the ranker


def for_ranker(query: str) -> bool:
    """Whether this question belongs to the ranker's part (else the encoder's)."""
    return int(hashlib.sha256(query.strip().encode("utf-8")).hexdigest(), 16) % RANKER_SHARE == 0


def rows(path: Path = PAIRS) -> list[dict[str, str]]:
    """The pairs with boilerplate labels removed (a pair left with no label is dropped)."""
    with path.open(encoding="utf-8", newline="") as fh:
        out = []
        for r in csv.DictReader(fh, delimiter="\t"):
            rel = [x.strip() for x in r["relevant"].split(",") if x.strip() and x.strip() not in BOILERPLATE]
            if rel:
                out.append({"query": r["query"].strip(), "relevant": ",".join(rel), "source": r["source"]})
        return out


def write_part(out: Path, ranker: bool, path: Path = PAIRS) -> int:
    """Write the tuning (``ranker=False``) or ranker part as a query/relevant TSV; returns its size."""
    part = [r for r in rows(path) if for_ranker(r["query"]) == ranker]
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, delimiter="\t", lineterminator="\n")
        w.writerow(["query", "relevant"])
        for r in part:
            w.writerow([r["query"], r["relevant"]])
    return len(part)
