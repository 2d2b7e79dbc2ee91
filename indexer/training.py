"""Training the fusion ranker and the found/not-found calibrator from labelled questions.

``python -m indexer train --queries bench/queries/set_a.tsv --queries
bench/queries/set_b.tsv --unanswerable bench/queries/unanswerable_a.tsv
--unanswerable bench/queries/unanswerable_b.tsv --index DIR`` fits the models
on the index in DIR and publishes a new version of that index served with
them; the package is never written.  The ranker reads every signal of
:mod:`indexer.signals` and records their names, so a signal added later does
not disturb it.  The shared dev questions are never trained on: they, and
k-fold cross-validation over the training sets (``bench/crossval.py``), are
how generalisation is measured.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence

import numpy as np

from .answer import decide
from .evaluation import Question
from .fusion import FusionModels, train_calibrator, train_ranker
from .search import CALIBRATION_FEATURES, FEATURES, Searcher

log = logging.getLogger(__name__)

RANKER_L2 = 10.0
CALIBRATOR_L2 = 1.0
#: evidence that can only make "found" more likely (the general similarity level, "background", may go either way)
MONOTONE = tuple(f for f in CALIBRATION_FEATURES if f != "background")


def ranking_lists(
    searcher: Searcher, questions: Sequence[Question], features: Sequence[str] = FEATURES
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(signals ``features``, labels) of every question's candidates."""
    lists = []
    for q in questions:
        pq = searcher.parse(q.query)
        cand = searcher.candidates(pq, searcher.embed_query(pq))
        X = searcher.features(cand, features)
        keys = [searcher.data.chunks[int(c)].key for c in cand.ids]
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
    features: Sequence[str] = FEATURES,
) -> FusionModels:
    """Fit the ranker on ``answerable`` and the calibrator on both sets; the searcher serves with them from now on.

    Publishing them with the index is :func:`indexer.store.publish_models`.
    """
    lists = ranking_lists(searcher, answerable, features)
    info = {"questions_sha": _digest(answerable), "index_chunks": searcher.n, "encoder": searcher.encoder.model_id}
    ranker = train_ranker(lists, tuple(features), l2=RANKER_L2, info=info)
    # the calibrator reads the evidence of searches ranked by the new ranker
    searcher.models = FusionModels.make(searcher.encoder.model_id, ranker, None)
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
    models = FusionModels.make(searcher.encoder.model_id, ranker, calibrator, origin="trained")
    searcher.models = models
    return models


__all__ = ["decide", "ranking_lists", "train"]
