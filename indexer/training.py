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
from .associations import SIGNAL, Associations, Example, merged, mine, package_associations, to_text
from .evaluation import Question, ranking_metrics
from .fusion import NEAREST_QUESTION, Calibrator, FusionModels, LinearRanker, nearest_question, train_calibrator, train_ranker
from .search import CALIBRATION_FEATURES, FEATURES, Searcher
from .signals import Candidates
from .units import chunk_tokens

log = logging.getLogger(__name__)

RANKER_L2 = 10.0
CALIBRATOR_L2 = 1.0
#: folds of the cross-fitting that keeps a mined table's own labels out of the signals the ranker is fitted on
MINING_FOLDS = 5
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
    with searcher._qlock:
        # those already cached (an earlier call, or vectors loaded by a bench script) are not embedded again
        texts = [t for t in dict.fromkeys(searcher.parse(q.query).dense_text for q in questions) if t not in searcher._qcache]
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
    """Fit the ranker on the answerable questions of ``prepared``, to serve with their searcher's associations table."""
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


def question_vectors(prepared: Sequence[Prepared]) -> np.ndarray:
    """The questions' vectors as the models store them (float16): a calibrator's ``nearest_question`` reference."""
    if not prepared:
        return np.zeros((0, 0), np.float16)
    return np.stack([np.asarray(p.candidates.qv, dtype=np.float32).ravel() for p in prepared]).astype(np.float16)


def outcome_rows(prepared: Sequence[Prepared], ranker: LinearRanker, reference: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Evidence of each question's top-ranked measure under ``ranker``, and whether that measure is relevant.

    ``nearest_question`` is measured against ``reference`` (the vectors of the questions a calibrator
    was fitted on), or, without one, against the other questions of ``prepared``: the questions a
    calibrator is fitted on, each seen as a new question would be.
    """
    vectors = question_vectors(prepared)
    nearest = nearest_question(vectors, vectors if reference is None else reference, leave_one_out=reference is None)
    rows, labels = [], []
    for p, near in zip(prepared, nearest, strict=True):
        if not len(p.candidates):
            continue
        fused = scored(p, ranker)
        _, evidence, _ = p.searcher.evidence(p.candidates, p.X, FEATURES, fused, 1)
        if not evidence:
            continue
        rows.append([float(near) if f == NEAREST_QUESTION else evidence[f] for f in CALIBRATION_FEATURES])
        labels.append(float(p.y[int(np.argsort(-fused, kind="stable")[0])] > 0))
    return np.array(rows, dtype=float).reshape(-1, len(CALIBRATION_FEATURES)), np.array(labels)


def fit_calibrator(
    rows: np.ndarray, labels: np.ndarray, info: dict | None = None, features: Sequence[str] = CALIBRATION_FEATURES
) -> Calibrator:
    """P(the top-ranked measure is relevant) from the evidence (rows of :func:`outcome_rows`, read for ``features``); found at FOUND_THRESHOLD."""
    cols = [CALIBRATION_FEATURES.index(f) for f in features]
    return train_calibrator(
        rows[:, cols], labels, tuple(features), l2=CALIBRATOR_L2, info=info, monotone=MONOTONE, balanced=False, threshold=FOUND_THRESHOLD
    )


def _examples_of(searcher: Searcher, questions: Sequence[Question]) -> list[Example | None]:
    """Each question as a mining example, in order: its tokens and the BM25 tokens of each measure it is answered by (None when the index holds none)."""
    rows: dict[str, list[int]] = {}
    for i, c in enumerate(searcher.data.chunks):
        rows.setdefault(c.key, []).append(i)
    out: list[Example | None] = []
    for q in questions:
        arts = tuple(
            tuple(chunk_tokens(searcher.segmenter, searcher.data.chunks[i])[0]) for key in sorted(q.relevant) for i in rows.get(key, ())
        )
        out.append(Example(tuple(searcher.parse(q.query).tokens), arts) if arts else None)
    return out


def _with_mined(exs: Sequence[Example], questions: int, base: Associations) -> Associations:
    own = mine(exs)
    header = [
        f"Mined by python -m indexer train --mine-associations from {questions} questions ({len(own)} words),",
        f"added to the table {base.path.name} (sha256 {base.sha256[:12]}): a term's strengths summed.",
    ]
    return Associations.from_text(to_text(merged(own, base.table), header)) if own else base


def mined_table(
    searcher: Searcher, questions: Sequence[Question], base: Associations, exs: Sequence[Example | None] | None = None
) -> Associations:
    """``base`` with the associations mined from ``questions`` on this index added (:func:`indexer.associations.merged`).

    ``exs`` are the questions' mining examples (:func:`_examples_of`) when the caller has them.
    """
    exs = _examples_of(searcher, questions) if exs is None else exs
    return _with_mined([e for e in exs if e is not None], len(questions), base)


def _folds(n: int, k: int) -> list[np.ndarray]:
    # deterministic, and interleaved so that a file sorted by topic spreads over the folds
    return [np.arange(f, n, k) for f in range(k)]


def prepare_cross_fitted(
    searcher: Searcher,
    answerable: Sequence[Question],
    base: Associations,
    k: int = MINING_FOLDS,
    exs: Sequence[Example | None] | None = None,
) -> list[Prepared]:
    """:func:`prepare`, each question's signals computed with a table mined from the other folds' questions.

    A table mined from the questions the ranker is fitted on would hand each of
    them the associations of its own label, and the ranker would learn to trust
    the signal far more than it deserves on new questions.  ``exs`` are the
    questions' mining examples (:func:`_examples_of`) when the caller has them.
    """
    out: list[Prepared | None] = [None] * len(answerable)
    # tokenised once: each fold mines a different subset of the same examples
    exs = _examples_of(searcher, answerable) if exs is None else exs
    try:
        for fold in _folds(len(answerable), k):
            inside = set(fold.tolist())
            rest = [e for i, e in enumerate(exs) if i not in inside and e is not None]
            searcher.associations = _with_mined(rest, len(answerable) - len(fold), base)
            for i, p in zip(fold, prepare(searcher, [answerable[i] for i in fold]), strict=True):
                out[int(i)] = p
    finally:
        searcher.associations = base
    return [p for p in out if p is not None]


def cv_mrr(prepared: Sequence[Prepared], features: Sequence[str] = FEATURES, k: int = MINING_FOLDS) -> float:
    """MRR@10 of rankers fitted on ``k - 1`` folds of the answerable questions, on the fold left out."""
    answerable = [p for p in prepared if p.question.relevant]
    ranked: list[list[str]] = []
    relevant: list[frozenset[str]] = []
    for fold in _folds(len(answerable), k):
        inside = set(fold.tolist())
        rest = [p for i, p in enumerate(answerable) if i not in inside]
        if not fold.size or not any(p.y.any() for p in rest):
            continue
        ranker = fit_ranker(rest, features)
        for i in fold:
            p = answerable[int(i)]
            order = np.argsort(-scored(p, ranker), kind="stable")[:10]
            ranked.append([p.searcher.data.chunks[int(p.candidates.ids[j])].key for j in order])
            relevant.append(p.question.relevant)
    return round(ranking_metrics(ranked, relevant)["MRR@10"] * len(ranked) / len(answerable), 4) if answerable else 0.0


def _digest(questions: Sequence[Question]) -> str:
    return hashlib.sha256("\n".join(f"{q.query}\t{','.join(sorted(q.relevant))}" for q in questions).encode()).hexdigest()[:12]


def train(
    searcher: Searcher,
    answerable: Sequence[Question],
    unanswerable: Sequence[Question] = (),
    features: Sequence[str] = FEATURES,
    mine_associations: bool = False,
) -> FusionModels:
    """Fit the ranker on ``answerable`` and the calibrator on both sets; the searcher serves with them from now on.

    ``mine_associations`` also mines word associations from ``answerable``
    and adds them to the searcher's table (:func:`mined_table`).  The result
    is kept only if it ranks better in cross-validation on ``answerable``
    (:func:`cv_mrr`, both figures in the ranker's ``info``); then the models
    carry the table and the ranker is fitted on signals cross-fitted by
    :func:`prepare_cross_fitted`.  Publishing them with the index is
    :func:`indexer.store.publish_models`.
    """
    embed_all(searcher, [*answerable, *unanswerable])
    base = searcher.associations
    # the measures' tokens, once for the table and the cross-fitting alike
    exs = _examples_of(searcher, answerable) if mine_associations else []
    table = mined_table(searcher, answerable, base, exs) if mine_associations else base
    info: dict = {"questions_sha": _digest(answerable), "index_chunks": searcher.n, "encoder": searcher.encoder.model_id}
    if table is base:
        prepared = prepare(searcher, answerable)
    else:
        # kept only where it ranks the questions' own labels better, measured by cross-validation
        # on them: with a few hundred questions of one kind it helps that kind, with fewer it may not
        without = prepare(searcher, answerable)
        mined = prepare_cross_fitted(searcher, answerable, base, exs=exs)
        cv = {"without": cv_mrr(without, features), "with": cv_mrr(mined, features)}
        info["associations_cv_mrr10"] = cv
        log.info(
            "associations mined from %d questions: cross-validated MRR@10 %.3f without, %.3f with",
            len(answerable),
            cv["without"],
            cv["with"],
        )
        if cv["with"] > cv["without"]:
            prepared = mined
            searcher.associations = table
        else:
            prepared = without
    prepared += prepare(searcher, unanswerable)
    ranker = fit_ranker(prepared, features, info=info)
    rows, labels = outcome_rows(prepared, ranker)
    calibrator = fit_calibrator(rows, labels, info={"unanswerable_sha": _digest(unanswerable)}) if len(set(labels.tolist())) == 2 else None
    # the package's table ships with the code; any other travels with the models
    carried = "" if searcher.associations is package_associations() else searcher.associations.text
    # the calibrator's nearest_question evidence is read against the questions it was fitted on
    questions = question_vectors(prepared) if calibrator is not None else None
    models = FusionModels.make(searcher.encoder.model_id, ranker, calibrator, origin="trained", associations=carried, questions=questions)
    searcher.models = models
    return models


__all__ = [
    "Prepared",
    "cv_mrr",
    "decide",
    "embed_all",
    "fit_calibrator",
    "fit_ranker",
    "mined_table",
    "outcome_rows",
    "prepare",
    "prepare_cross_fitted",
    "question_vectors",
    "ranking_lists",
    "train",
]
