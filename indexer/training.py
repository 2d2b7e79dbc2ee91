"""Training the fusion ranker and the confidence calibrator from labelled questions.

``python -m indexer train --queries bench/queries/set_a.tsv --queries
bench/queries/set_b.tsv --unanswerable bench/queries/unanswerable_a.tsv
--unanswerable bench/queries/unanswerable_b.tsv --index DIR`` fits the models
on the index in DIR and publishes a new version of that index served with
them; the package is never written.  The ranker reads every signal of
:mod:`indexer.signals` and records their names, so a signal added later does
not disturb it.

The calibrator turns the evidence of a search into ``confidence``: the
probability that the first answer sentence (the top-ranked measure) is
relevant.  It is an ordinary logistic regression fitted to exactly that
outcome — 1 where the top-ranked measure is labelled relevant, 0 where it is
not or where the question has no answer in the corpus — so its probability is
calibrated on questions like the training ones, and ``found`` is
``confidence ≥ FOUND_THRESHOLD``.

The package's default models are trained on training data only
(``bench/train_default.py``: bench/queries and ../shared/train/pairs.tsv); the
shared evaluation questions are never trained on: they, and k-fold
cross-validation over the training sets, are how generalisation is measured.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .answer import FOUND_THRESHOLD, decide
from .associations import SIGNAL
from .evaluation import Question
from .fusion import Calibrator, FusionModels, LinearRanker, train_calibrator, train_ranker
from .search import CALIBRATION_FEATURES, FEATURES, Searcher
from .signals import Candidates

log = logging.getLogger(__name__)

RANKER_L2 = 10.0
CALIBRATOR_L2 = 1.0
#: signals that may only raise a candidate's score.  Unconstrained, correlated signals (a law's title
#: cosine, its title BM25, its BM25 vote) took large negative weights that cancel each other on the
#: training questions and push whole laws down elsewhere (法官法 below 法院组织法 for 法官惩戒);
#: whether a measure has a title of its own says nothing about direction, so it stays free.
RANKER_MONOTONE = tuple(f for f in FEATURES if f != "has_title")
#: evidence that can only make "found" more likely (the general similarity level, "background", may go either way)
MONOTONE = tuple(f for f in CALIBRATION_FEATURES if f != "background")


@dataclass
class Prepared:
    """One training question on one index: its candidates, their signals (all of FEATURES) and labels."""

    searcher: Searcher
    question: Question
    candidates: Candidates
    X: np.ndarray
    y: np.ndarray


def embed_all(searcher: Searcher, questions: Sequence[Question], batch: int = 32) -> None:
    """Embed the questions in batches into the searcher's query cache (one at a time is several times slower)."""
    texts = list(dict.fromkeys(searcher.parse(q.query).dense_text for q in questions))
    for i in range(0, len(texts), batch):
        part = texts[i : i + batch]
        vecs = searcher.encoder.encode_queries(part)
        with searcher._qlock:
            for t, v in zip(part, vecs, strict=True):
                searcher._qcache[t] = v


def prepare(searcher: Searcher, questions: Sequence[Question]) -> list[Prepared]:
    """Candidates, signals and labels of every question (unanswerable questions get all-zero labels)."""
    out = []
    for q in questions:
        pq = searcher.parse(q.query)
        cand = searcher.candidates(pq, searcher.embed_query(pq))
        X = searcher.features(cand, FEATURES)
        keys = [searcher.data.chunks[int(c)].key for c in cand.ids]
        y = np.array([k in q.relevant for k in keys], dtype=float)
        if q.relevant and y.sum() == 0:
            log.info("no relevant candidate for %r; not used for training the ranker", q.query)
        out.append(Prepared(searcher, q, cand, X, y))
    return out


def ranking_lists(
    searcher: Searcher, questions: Sequence[Question], features: Sequence[str] = FEATURES
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(signals ``features``, labels) of every question's candidates."""
    cols = [FEATURES.index(f) for f in features]
    return [(p.X[:, cols], p.y) for p in prepare(searcher, questions)]


def fit_ranker(prepared: Sequence[Prepared], features: Sequence[str] = FEATURES, info: dict | None = None) -> LinearRanker:
    cols = [FEATURES.index(f) for f in features]
    if SIGNAL in features and prepared:
        # the signal's weight holds for this table only; the searcher refuses the ranker with another
        info = {**(info or {}), "associations": prepared[0].searcher.associations.sha256}
    return train_ranker(
        [(p.X[:, cols], p.y) for p in prepared if p.question.relevant], tuple(features), l2=RANKER_L2, info=info, monotone=RANKER_MONOTONE
    )


def scored(p: Prepared, ranker: LinearRanker) -> np.ndarray:
    """The ranker's score of each of the question's candidates."""
    return ranker.score(p.X[:, [FEATURES.index(f) for f in ranker.features]])


def outcome_rows(prepared: Sequence[Prepared], ranker: LinearRanker) -> tuple[np.ndarray, np.ndarray]:
    """Evidence of each question's top-ranked measure under ``ranker``, and whether that measure is relevant."""
    rows, labels = [], []
    for p in prepared:
        if not len(p.candidates):
            continue
        fused = scored(p, ranker)
        _, evidence, _ = p.searcher.evidence(p.candidates, p.X, FEATURES, fused, 1)
        if not evidence:
            continue
        rows.append([evidence[f] for f in CALIBRATION_FEATURES])
        labels.append(float(p.y[int(np.argsort(-fused, kind="stable")[0])] > 0))
    return np.array(rows, dtype=float).reshape(-1, len(CALIBRATION_FEATURES)), np.array(labels)


def fit_calibrator(rows: np.ndarray, labels: np.ndarray, info: dict | None = None) -> Calibrator:
    """P(the top-ranked measure is relevant) from the evidence; found at FOUND_THRESHOLD."""
    return train_calibrator(
        rows, labels, CALIBRATION_FEATURES, l2=CALIBRATOR_L2, info=info, monotone=MONOTONE, balanced=False, threshold=FOUND_THRESHOLD
    )


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
    embed_all(searcher, [*answerable, *unanswerable])
    prepared = prepare(searcher, [*answerable, *unanswerable])
    info = {"questions_sha": _digest(answerable), "index_chunks": searcher.n, "encoder": searcher.encoder.model_id}
    ranker = fit_ranker(prepared, features, info=info)
    rows, labels = outcome_rows(prepared, ranker)
    calibrator = fit_calibrator(rows, labels, info={"unanswerable_sha": _digest(unanswerable)}) if len(set(labels.tolist())) == 2 else None
    models = FusionModels.make(searcher.encoder.model_id, ranker, calibrator, origin="trained")
    searcher.models = models
    return models


__all__ = ["Prepared", "decide", "embed_all", "fit_calibrator", "fit_ranker", "outcome_rows", "prepare", "ranking_lists", "train"]
