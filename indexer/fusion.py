"""Fusing lexical and dense evidence into one ranking.

Two fusions are available:

* :func:`rrf` — reciprocal rank fusion, needs no training; kept as a baseline;
* :class:`LinearRanker` — a linear model over standardised features (BM25 of
  words, titles and character pairs, query-term coverage, sentence/measure/
  title cosines, document-level evidence, ranks), trained listwise on labelled
  questions (``python -m indexer train``).  This is the default.

:class:`Calibrator` is a logistic model over query-level evidence that decides
whether anything relevant was found at all.

Both are plain JSON (:class:`FusionModels`), stored in each index version
(``ranker.json``) so an index carries what ranks it; the package ships default
models per encoder (``data/models/<encoder>.json``) that a build copies in.  Ties are broken by chunk position, so every
ranking is deterministic.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from .segmentation import DATA_DIR

#: the default models shipped with the package, one file per encoder
MODELS_DIR = DATA_DIR / "models"


def rrf(score_lists: Sequence[np.ndarray], k: float = 60.0) -> np.ndarray:
    """Reciprocal rank fusion of several score arrays over the same items."""
    if not score_lists:
        return np.zeros(0)
    total = np.zeros(len(score_lists[0]), dtype=np.float64)
    for s in score_lists:
        total += 1.0 / (k + 1.0 + ranks(s))
    return total


def ranks(scores: np.ndarray) -> np.ndarray:
    """0-based rank of each item by descending score; ties keep item order."""
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    r = np.empty(len(order), dtype=np.float64)
    r[order] = np.arange(len(order))
    return r


def stable_order(scores: np.ndarray) -> np.ndarray:
    """Indices by descending score, ties by position (deterministic)."""
    return np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")


@dataclass(frozen=True)
class LinearRanker:
    """score = ((x - mean) / std) · weights."""

    features: tuple[str, ...]
    mean: np.ndarray
    std: np.ndarray
    weights: np.ndarray
    info: dict[str, Any]

    def score(self, X: np.ndarray) -> np.ndarray:
        return ((X - self.mean) / self.std) @ self.weights

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "mean": self.mean.tolist(),
            "std": self.std.tolist(),
            "weights": self.weights.tolist(),
            "info": self.info,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LinearRanker:
        return cls(
            tuple(d["features"]),
            np.asarray(d["mean"], float),
            np.asarray(d["std"], float),
            np.asarray(d["weights"], float),
            d.get("info", {}),
        )


@dataclass(frozen=True)
class Calibrator:
    """P(found) = sigmoid(((x - mean) / std) · weights + bias); found when P ≥ threshold."""

    features: tuple[str, ...]
    mean: np.ndarray
    std: np.ndarray
    weights: np.ndarray
    bias: float
    threshold: float
    info: dict[str, Any]

    def probability(self, x: np.ndarray) -> float:
        z = float(((x - self.mean) / self.std) @ self.weights + self.bias)
        return float(1.0 / (1.0 + np.exp(-np.clip(z, -50, 50))))

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "mean": self.mean.tolist(),
            "std": self.std.tolist(),
            "weights": self.weights.tolist(),
            "bias": self.bias,
            "threshold": self.threshold,
            "info": self.info,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Calibrator:
        return cls(
            tuple(d["features"]),
            np.asarray(d["mean"], float),
            np.asarray(d["std"], float),
            np.asarray(d["weights"], float),
            float(d["bias"]),
            float(d["threshold"]),
            d.get("info", {}),
        )


#: the calibrator's evidence of how close a question is to the questions it was fitted on
NEAREST_QUESTION = "nearest_question"


@dataclass(frozen=True)
class FusionModels:
    """The ranker and calibrator an index version serves with, and the encoder they were fitted to.

    Stored in each index version (``ranker.json``); the manifest records its
    SHA-256.  Feature scales depend on the encoder (cosines of e5 sit in a
    narrow band, other models spread wider), so models fitted to one encoder
    never serve an index of another.
    """

    encoder: str
    ranker: LinearRanker | None
    calibrator: Calibrator | None
    #: "default" (shipped with the package for this encoder) or "trained" (``python -m indexer train``)
    origin: str = "default"
    #: SHA-256 of the stored JSON
    sha256: str = ""
    #: the associations table (:mod:`indexer.associations`, as text) the ranker was fitted with, when it is not
    #: the package's: ``python -m indexer train --mine-associations`` mines one from the court's own questions
    associations: str = ""
    #: unit vectors (float16, one row per question) of the questions the calibrator was fitted on: its
    #: ``nearest_question`` evidence is a new question's highest cosine to them (:func:`nearest_question`)
    questions: np.ndarray | None = field(default=None, compare=False, repr=False)

    @cached_property
    def question_matrix(self) -> np.ndarray | None:
        """``questions`` as float32, converted once: the float16 rows would be converted on every query."""
        return None if self.questions is None else np.asarray(self.questions, dtype=np.float32)

    @property
    def id(self) -> str:
        """A short name of these models, for tracing a result to the ranker that made it."""
        return self.sha256[:12]

    def describe(self) -> dict[str, Any]:
        """The models as ``search --json`` names them."""
        return {
            "id": self.id,
            "kind": "linear" if self.ranker is not None else "rrf",
            "encoder": self.encoder,
            "origin": self.origin,
            "features": list(self.ranker.features) if self.ranker is not None else [],
            "calibrated": self.calibrator is not None,
        }

    def to_json(self) -> bytes:
        d: dict[str, Any] = {"encoder": self.encoder, "origin": self.origin}
        if self.ranker is not None:
            d["ranker"] = self.ranker.to_dict()
        if self.calibrator is not None:
            d["calibrator"] = self.calibrator.to_dict()
        if self.associations:
            d["associations"] = self.associations
        if self.questions is not None:
            q = np.ascontiguousarray(self.questions, dtype="<f2")
            d["questions"] = {"dtype": "float16", "shape": list(q.shape), "base64": base64.b64encode(q.tobytes()).decode("ascii")}
        return (json.dumps(d, ensure_ascii=False, indent=1) + "\n").encode("utf-8")

    def with_origin(self, origin: str) -> FusionModels:
        m = FusionModels(self.encoder, self.ranker, self.calibrator, origin, associations=self.associations, questions=self.questions)
        return replace(m, sha256=hashlib.sha256(m.to_json()).hexdigest())

    @classmethod
    def make(
        cls,
        encoder: str,
        ranker: LinearRanker | None,
        calibrator: Calibrator | None,
        origin: str = "trained",
        associations: str = "",
        questions: np.ndarray | None = None,
    ) -> FusionModels:
        vectors = None if questions is None else np.asarray(questions, dtype=np.float16)
        return cls(encoder, ranker, calibrator, origin, associations=associations, questions=vectors).with_origin(origin)

    @classmethod
    def from_json(cls, data: bytes) -> FusionModels:
        """Parse stored models; raises ValueError when they are not models."""
        try:
            d = json.loads(data)
            ranker = LinearRanker.from_dict(d["ranker"]) if "ranker" in d else None
            calibrator = Calibrator.from_dict(d["calibrator"]) if "calibrator" in d else None
            encoder = d.get("encoder") or (ranker.info.get("encoder") if ranker is not None else None)
            associations = d.get("associations", "")
            questions = _vectors(d["questions"]) if "questions" in d else None
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"not fusion models ({exc.__class__.__name__})") from None
        if not isinstance(encoder, str) or not encoder:
            raise ValueError("fusion models do not name their encoder")
        if not isinstance(associations, str):
            raise ValueError("fusion models with associations that are not a table")
        for model in (ranker, calibrator):
            if model is not None:
                n = len(model.features)
                if (
                    not (model.mean.shape == model.std.shape == model.weights.shape == (n,))
                    or not (model.std > 0).all()
                    or not all(np.isfinite(a).all() for a in (model.mean, model.std, model.weights))
                ):
                    raise ValueError("fusion models with arrays that do not match their features")
        if calibrator is not None and NEAREST_QUESTION in calibrator.features and questions is None:
            raise ValueError(f"a calibrator that reads {NEAREST_QUESTION} without the questions it was fitted on")
        return cls(encoder, ranker, calibrator, str(d.get("origin", "default")), hashlib.sha256(data).hexdigest(), associations, questions)

    @classmethod
    def load(cls, path: Path) -> FusionModels:
        return cls.from_json(path.read_bytes())

    def save(self, path: Path) -> None:
        path.write_bytes(self.to_json())


def _vectors(d: dict[str, Any]) -> np.ndarray:
    """Stored question vectors back as a [questions, dim] float16 array (ValueError when they do not fit)."""
    shape = tuple(int(n) for n in d["shape"])
    if d.get("dtype") != "float16" or len(shape) != 2:
        raise ValueError("question vectors that are not a float16 matrix")
    q = np.frombuffer(base64.b64decode(d["base64"], validate=True), dtype="<f2")
    if q.size != shape[0] * shape[1] or not np.isfinite(q).all():
        raise ValueError("question vectors that do not match their shape")
    return q.reshape(shape).astype(np.float16)


def nearest_question(vectors: np.ndarray, reference: np.ndarray | None, leave_one_out: bool = False) -> np.ndarray:
    """Each of ``vectors``' highest cosine to the rows of ``reference`` (unit vectors; 0 without any).

    How close a question is to those a calibrator was fitted on says how far its
    evidence can be trusted: questions unlike every training question (a new kind
    of question, a new subject) are answered right less often than their scores
    suggest.  ``leave_one_out`` (``reference`` is ``vectors`` itself) leaves each
    row's own cosine out, so that training questions are measured as new ones will be.
    """
    vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
    if reference is None or len(reference) == 0 or (leave_one_out and len(reference) < 2):
        return np.zeros(len(vectors))
    sims = vectors @ np.asarray(reference, dtype=np.float32).T
    if leave_one_out:
        np.fill_diagonal(sims, -np.inf)
    return sims.max(axis=1).astype(float)


def _slug(model_id: str) -> str:
    return re.sub(r"[^0-9A-Za-z._-]+", "_", model_id).strip("_")


def default_models_path(model_id: str) -> Path:
    """Where the package keeps the default models for encoder ``model_id``."""
    return MODELS_DIR / f"{_slug(model_id)}.json"


def default_models(model_id: str) -> FusionModels | None:
    """The models shipped with the package for encoder ``model_id``, or None when there are none."""
    path = default_models_path(model_id)
    if not path.is_file():
        return None
    models = FusionModels.load(path)
    if models.encoder != model_id:
        raise ValueError(f"{path} holds models for encoder '{models.encoder}', not '{model_id}'")
    return models


# --------------------------------------------------------------------------- training


def train_ranker(
    lists: Sequence[tuple[np.ndarray, np.ndarray]],
    features: Sequence[str],
    l2: float = 10.0,
    info: dict[str, Any] | None = None,
    monotone: Sequence[str] = (),
) -> LinearRanker:
    """Fit a listwise (softmax) linear ranker.

    ``lists`` holds one ``(X, y)`` per question: the candidates' feature rows
    and 1 for relevant candidates.  The loss is the negative log of the
    probability mass the softmax over candidates puts on the relevant ones,
    plus an L2 penalty on standardised weights.  Features in ``monotone`` may
    only raise a candidate's score (weight ≥ 0).
    """
    from scipy.optimize import minimize

    usable = [(X, y) for X, y in lists if y.sum() > 0 and len(y) > 1]
    allX = np.concatenate([X for X, _ in usable])
    mean, std = allX.mean(0), allX.std(0)
    std[std < 1e-9] = 1.0
    # all lists in one matrix, each a run of rows: the loss is a few passes over it, whatever the
    # number of questions (a loop over thousands of lists made each fit take minutes)
    Z = (allX - mean) / std
    y = np.concatenate([y for _, y in usable]).astype(float)
    starts = np.cumsum([0] + [len(y_) for _, y_ in usable[:-1]])
    owner = np.repeat(np.arange(len(usable)), [len(y_) for _, y_ in usable])
    d = allX.shape[1]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        s = Z @ w
        e = np.exp(s - np.maximum.reduceat(s, starts)[owner])
        p = e / np.add.reduceat(e, starts)[owner]
        mass = np.add.reduceat(p * y, starts)
        total = -float(np.log(mass + 1e-12).sum())
        # d(-log mass)/dw = Σ_i p_i x_i − Σ_i (p_i y_i / mass) x_i, per list
        coef = p - p * y / (mass[owner] + 1e-12)
        return total + l2 * float(w @ w) / 2, Z.T @ coef + l2 * w

    bounds = [(0.0, None) if f in monotone else (None, None) for f in features]
    result = minimize(loss, np.zeros(d), jac=True, method="L-BFGS-B", bounds=bounds)
    extra = {"monotone": sorted(set(monotone) & set(features))} if monotone else {}
    return LinearRanker(tuple(features), mean, std, result.x, {**(info or {}), "l2": l2, "questions": len(usable), **extra})


def train_calibrator(
    X: np.ndarray,
    y: np.ndarray,
    features: Sequence[str],
    l2: float = 1.0,
    info: dict[str, Any] | None = None,
    monotone: Sequence[str] = (),
    balanced: bool = True,
    threshold: float = 0.5,
) -> Calibrator:
    """Fit a logistic model of a binary outcome from query-level evidence; "found" when P ≥ ``threshold``.

    With ``balanced`` both classes carry the same total weight, so 0.5 is the
    point where an answerable question wrongly refused and an unanswerable one
    wrongly answered are equally likely, whatever the mix of the training
    questions.  Without it the model is an ordinary (maximum-likelihood)
    logistic regression, whose probability is calibrated on questions like the
    training ones: that is how ``confidence`` is fitted (outcome: the first
    answer cites a relevant measure).  Features in ``monotone`` may only raise
    the probability (weight ≥ 0): more evidence must never make "found" less
    likely, however the training questions happen to correlate.
    """
    from scipy.optimize import minimize

    mean, std = X.mean(0), X.std(0)
    std[std < 1e-9] = 1.0
    Z = (X - mean) / std
    y = y.astype(float)
    n_pos, n_neg = max(1.0, y.sum()), max(1.0, (1 - y).sum())
    sw = np.where(y > 0, len(y) / (2 * n_pos), len(y) / (2 * n_neg)) if balanced else np.ones(len(y))

    def loss(wb: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = wb[:-1], wb[-1]
        z = Z @ w + b
        p = 1 / (1 + np.exp(-np.clip(z, -50, 50)))
        eps = 1e-12
        total = -float(np.sum(sw * (y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps)))) + l2 * float(w @ w) / 2
        g = sw * (p - y)
        return total, np.concatenate([Z.T @ g + l2 * w, [g.sum()]])

    bounds = [(0.0, None) if f in monotone else (None, None) for f in features] + [(None, None)]
    result = minimize(loss, np.zeros(Z.shape[1] + 1), jac=True, method="L-BFGS-B", bounds=bounds)
    w, b = result.x[:-1], float(result.x[-1])
    pred = (1 / (1 + np.exp(-(Z @ w + b)))) >= threshold
    tpr = float((pred & (y > 0)).sum() / n_pos)
    tnr = float((~pred & (y == 0)).sum() / n_neg)
    return Calibrator(
        tuple(features),
        mean,
        std,
        w,
        b,
        threshold,
        {
            **(info or {}),
            "l2": l2,
            "balanced": balanced,
            "train_found_rate": round(tpr, 4),
            "train_not_found_rate": round(tnr, 4),
        },
    )
