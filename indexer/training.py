"""Training the fusion ranker and the found/not-found calibrator from labelled questions.

``python -m indexer train --queries bench/queries/set_a.tsv --queries
bench/queries/set_b.tsv --unanswerable bench/queries/unanswerable_a.tsv
--unanswerable bench/queries/unanswerable_b.tsv --index DIR`` writes
``data/ranker.json``.  The shared dev questions are never trained on: they,
and k-fold cross-validation over the training sets (``bench/crossval.py``),
are how generalisation is measured.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .answer import decide
from .evaluation import Question
from .fusion import RANKER_PATH, Calibrator, LinearRanker, save_models, train_calibrator, train_ranker
from .search import CALIBRATION_FEATURES, FEATURES, Searcher

log = logging.getLogger(__name__)

RANKER_L2 = 10.0
CALIBRATOR_L2 = 1.0
#: evidence that can only make "found" more likely (the general similarity level, "background", may go either way)
MONOTONE = tuple(f for f in CALIBRATION_FEATURES if f != "background")


def ranking_lists(searcher: Searcher, questions: Sequence[Question]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(features, labels) of every question's candidates."""
    lists = []
    for q in questions:
        pq = searcher.parse(q.query)
        cand, X, _ = searcher.features(pq, searcher.embed_query(pq))
        keys = [searcher.data.chunks[int(c)].key for c in cand]
        y = np.array([k in q.relevant for k in keys], dtype=float)
        if y.sum() == 0:
            log.info("no relevant candidate for %r; not used for training", q.query)
        lists.append((X, y))
    return lists


def _digest(questions: Sequence[Question]) -> str:
    return hashlib.sha256("\n".join(f"{q.query}\t{','.join(sorted(q.relevant))}" for q in questions).encode()).hexdigest()[:12]


def train(
    searcher: Searcher,
    answerable: Sequence[Question],
    unanswerable: Sequence[Question] = (),
    out: Path | None = RANKER_PATH,
) -> tuple[LinearRanker, Calibrator | None]:
    """Fit the ranker on ``answerable`` and the calibrator on both sets; save them to ``out``."""
    lists = ranking_lists(searcher, answerable)
    info = {"questions_sha": _digest(answerable), "index_chunks": searcher.n, "encoder": searcher.encoder.model_id}
    ranker = train_ranker(lists, FEATURES, l2=RANKER_L2, info=info)
    searcher.ranker = ranker
    calibrator = None
    if unanswerable:
        rows, labels = [], []
        for q, label in [(q, 1) for q in answerable] + [(q, 0) for q in unanswerable]:
            res = searcher.search(q.query, top_k=5)
            if res.evidence:
                rows.append([res.evidence[f] for f in CALIBRATION_FEATURES])
                labels.append(label)
        calibrator = train_calibrator(
            np.array(rows),
            np.array(labels),
            CALIBRATION_FEATURES,
            l2=CALIBRATOR_L2,
            info={"unanswerable_sha": _digest(unanswerable)},
            monotone=MONOTONE,
        )
        searcher.calibrator = calibrator
    if out is not None:
        save_models(ranker, calibrator, out)
    return ranker, calibrator


__all__ = ["decide", "ranking_lists", "train"]
