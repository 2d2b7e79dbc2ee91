"""The evaluation harness: R@1, Hit@5, Hit@10, MRR@10 and nDCG@10 for BM25, dense and hybrid.

Questions come from a TSV with columns ``query`` and ``relevant`` (comma-
separated ``doc_id#measure_no``; any of them counts as a hit).  Rows with an
empty ``relevant`` are unanswerable questions: they measure the found /
not-found decision instead.

Hit@k is the share of questions with at least one relevant measure in the
first k (``R@5`` is kept under its old name and equals ``Hit@5``).  The
answer check also measures whether ``confidence`` means what it says: the
expected calibration error (ECE) of the confidence against "the first answer
sentence cites a relevant measure".
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import BadInputError
from .search import MODES, Searcher


@dataclass(frozen=True)
class Question:
    query: str
    relevant: frozenset[str]


def load_questions(path: str | Path) -> list[Question]:
    """Read a ``query<TAB>relevant`` file."""
    p = Path(path)
    try:
        with p.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh, delimiter="\t"))
    except FileNotFoundError:
        raise BadInputError(f"no such question file: {path}") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise BadInputError(f"cannot read question file {path}: {exc}") from None
    if rows and ("query" not in rows[0] or "relevant" not in rows[0]):
        raise BadInputError(f"{path} needs a header line with the columns 'query' and 'relevant'")
    out = []
    for r in rows:
        q = (r.get("query") or "").strip()
        if q:
            rel = frozenset(x.strip() for x in (r.get("relevant") or "").split(",") if x.strip())
            out.append(Question(q, rel))
    return out


RANKING_METRICS = ("R@1", "R@5", "Hit@5", "Hit@10", "MRR@10", "nDCG@10")


def ranking_metrics(ranked: Sequence[Sequence[str]], relevant: Sequence[frozenset[str]], k: int = 10) -> dict[str, float]:
    """R@1, Hit@5, Hit@k, MRR@k and nDCG@k (binary gains) over questions with at least one relevant item.

    ``R@5`` is the same figure as ``Hit@5`` (any relevant item counts), kept for
    readers of the older output.
    """
    n = r1 = r5 = hit = 0
    mrr = ndcg = 0.0
    for keys, rel in zip(ranked, relevant, strict=True):
        if not rel:
            continue
        n += 1
        top = list(keys[:k])
        first = next((i for i, key in enumerate(top) if key in rel), None)
        if first is not None:
            r1 += first == 0
            r5 += first < 5
            hit += 1
            mrr += 1.0 / (first + 1)
        dcg = sum(1.0 / math.log2(i + 2) for i, key in enumerate(top) if key in rel)
        ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(rel), k)))
        ndcg += dcg / ideal
    if n == 0:
        return {"questions": 0, **dict.fromkeys(RANKING_METRICS, 0.0)}
    return {
        "questions": n,
        "R@1": r1 / n,
        "R@5": r5 / n,
        "Hit@5": r5 / n,
        "Hit@10": hit / n,
        "MRR@10": mrr / n,
        "nDCG@10": ndcg / n,
    }


def calibration_error(confidences: Sequence[float], outcomes: Sequence[bool], bins: int = 10) -> tuple[float, list[dict[str, float]]]:
    """Expected calibration error over equal-width confidence bins, and the bins.

    ECE = Σ_b (n_b / n) · |mean confidence_b − share of outcomes true_b|; empty
    bins are left out.  Each bin reports its range, count, mean confidence and
    observed share.
    """
    conf = np.asarray(confidences, dtype=float)
    hit = np.asarray(outcomes, dtype=float)
    if len(conf) == 0:
        return 0.0, []
    which = np.minimum((np.clip(conf, 0.0, 1.0) * bins).astype(int), bins - 1)
    ece = 0.0
    table = []
    for b in range(bins):
        sel = which == b
        if not sel.any():
            continue
        mean_conf, share = float(conf[sel].mean()), float(hit[sel].mean())
        ece += sel.sum() / len(conf) * abs(mean_conf - share)
        table.append({"low": b / bins, "high": (b + 1) / bins, "n": int(sel.sum()), "confidence": mean_conf, "share": share})
    return float(ece), table


def evaluate(searcher: Searcher, questions: Sequence[Question], modes: Sequence[str] = MODES, k: int = 10) -> dict[str, dict[str, float]]:
    """Ranking metrics of each mode, side by side, plus per-mode median latency."""
    out: dict[str, dict[str, float]] = {}
    answerable = [q for q in questions if q.relevant]
    for mode in modes:
        searcher.clear_cache()  # each mode pays for its own query embeddings
        ranked, latencies = [], []
        for q in answerable:
            res = searcher.search(q.query, top_k=k, mode=mode)
            ranked.append([h.chunk.key for h in res.hits])
            latencies.append(res.latency_ms)
        metrics = ranking_metrics(ranked, [q.relevant for q in answerable], k)
        metrics["p50_ms"] = sorted(latencies)[len(latencies) // 2] if latencies else 0.0
        out[mode] = metrics
    return out


def evaluate_answers(searcher: Searcher, questions: Sequence[Question]) -> dict[str, Any]:
    """How ``ask`` does: found / not found, whether its first sentence cites a relevant measure, calibration.

    ``first_relevant`` is the share of answerable questions whose first answer
    sentence (the one ``ask`` quotes first, or would quote if it were confident)
    cites a relevant measure; ``first_relevant_when_found`` is the same among
    answers given as found.  ``ece`` compares ``confidence`` with that outcome
    over all questions (an unanswerable question's outcome is always false).
    """
    from .answer import answer, first_answer_chunk

    tp = fn = tn = fp = cited = right_found = 0
    confidences: list[float] = []
    outcomes: list[bool] = []
    for q in questions:
        a = answer(searcher, q.query)
        first = first_answer_chunk(a)
        right = first is not None and first in q.relevant
        confidences.append(a.confidence)
        outcomes.append(right)
        if q.relevant:
            if a.found:
                tp += 1
                cited += bool(a.sentences) and all(s.citation for s in a.sentences)
                right_found += right
            else:
                fn += 1
        else:
            tn += not a.found
            fp += a.found
    ece, bins = calibration_error(confidences, outcomes)
    return {
        "answerable": tp + fn,
        "found_when_answerable": tp / max(1, tp + fn),
        "cited_when_found": cited / max(1, tp),
        "unanswerable": tn + fp,
        "not_found_when_unanswerable": tn / max(1, tn + fp),
        "first_relevant": sum(o for o, q in zip(outcomes, questions, strict=True) if q.relevant) / max(1, tp + fn),
        "first_relevant_when_found": right_found / max(1, tp),
        "mean_confidence": float(np.mean(confidences)) if confidences else 0.0,
        "ece": ece,
        "calibration_bins": bins,
    }


def format_table(results: dict[str, dict[str, float]]) -> str:
    cols = ["R@1", "Hit@5", "Hit@10", "MRR@10", "nDCG@10", "p50_ms"]
    lines = [f"{'ranking':<8} " + " ".join(f"{c:>8}" for c in cols)]
    for mode, m in results.items():
        lines.append(f"{mode:<8} " + " ".join(f"{m[c]:>8.1f}" if c == "p50_ms" else f"{m[c]:>8.3f}" for c in cols))
    n = next(iter(results.values()))["questions"] if results else 0
    lines.append(f"({int(n)} answerable questions)")
    return "\n".join(lines)
