"""Fusing lexical and dense evidence into one ranking.

Two fusions are available:

* :func:`rrf` — reciprocal rank fusion, needs no training; kept as a baseline;
* :class:`LinearRanker` — a linear model over standardised features (BM25 of
  words, titles and character pairs, query-term coverage, sentence/measure/
  title cosines, document-level evidence, ranks), trained listwise on labelled
  questions (``python -m indexer train``).  This is the default.

:class:`Calibrator` is a logistic model over query-level evidence that decides
whether anything relevant was found at all.

Both are plain JSON (``data/ranker.json``) so a deployment can be audited and
re-trained without code changes.  Ties are broken by chunk position, so every
ranking is deterministic.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .segmentation import DATA_DIR

RANKER_PATH = DATA_DIR / "ranker.json"


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


def load_models(path: Path = RANKER_PATH) -> tuple[LinearRanker | None, Calibrator | None]:
    """The trained ranker and calibrator shipped with the package (None where absent)."""
    if not path.is_file():
        return None, None
    d = json.loads(path.read_text(encoding="utf-8"))
    ranker = LinearRanker.from_dict(d["ranker"]) if "ranker" in d else None
    calibrator = Calibrator.from_dict(d["calibrator"]) if "calibrator" in d else None
    return ranker, calibrator


def save_models(ranker: LinearRanker, calibrator: Calibrator | None, path: Path = RANKER_PATH) -> None:
    d: dict[str, Any] = {"ranker": ranker.to_dict()}
    if calibrator is not None:
        d["calibrator"] = calibrator.to_dict()
    path.write_text(json.dumps(d, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------- training


def train_ranker(
    lists: Sequence[tuple[np.ndarray, np.ndarray]], features: Sequence[str], l2: float = 10.0, info: dict[str, Any] | None = None
) -> LinearRanker:
    """Fit a listwise (softmax) linear ranker.

    ``lists`` holds one ``(X, y)`` per question: the candidates' feature rows
    and 1 for relevant candidates.  The loss is the negative log of the
    probability mass the softmax over candidates puts on the relevant ones,
    plus an L2 penalty on standardised weights.
    """
    from scipy.optimize import minimize

    usable = [(X, y) for X, y in lists if y.sum() > 0 and len(y) > 1]
    allX = np.concatenate([X for X, _ in usable])
    mean, std = allX.mean(0), allX.std(0)
    std[std < 1e-9] = 1.0
    Z = [((X - mean) / std, y.astype(float)) for X, y in usable]
    d = allX.shape[1]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = 0.0, np.zeros(d)
        for X, y in Z:
            s = X @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            mass = float(p @ y)
            total -= np.log(mass + 1e-12)
            grad -= (X.T @ (p * y)) / (mass + 1e-12) - X.T @ p
        return total + l2 * float(w @ w) / 2, grad + l2 * w

    result = minimize(loss, np.zeros(d), jac=True, method="L-BFGS-B")
    return LinearRanker(tuple(features), mean, std, result.x, {**(info or {}), "l2": l2, "questions": len(Z)})


def train_calibrator(
    X: np.ndarray,
    y: np.ndarray,
    features: Sequence[str],
    l2: float = 1.0,
    info: dict[str, Any] | None = None,
    monotone: Sequence[str] = (),
) -> Calibrator:
    """Fit a class-balanced logistic model of found (1) vs not found (0); threshold 0.5.

    Both classes carry the same total weight, so 0.5 is the point where an
    answerable question wrongly refused and an unanswerable one wrongly
    answered are equally likely, whatever the mix of the training questions.
    Features in ``monotone`` may only raise the probability (weight ≥ 0): more
    evidence must never make "found" less likely, however the training
    questions happen to correlate.
    """
    from scipy.optimize import minimize

    mean, std = X.mean(0), X.std(0)
    std[std < 1e-9] = 1.0
    Z = (X - mean) / std
    y = y.astype(float)
    n_pos, n_neg = max(1.0, y.sum()), max(1.0, (1 - y).sum())
    sw = np.where(y > 0, len(y) / (2 * n_pos), len(y) / (2 * n_neg))

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
    pred = (1 / (1 + np.exp(-(Z @ w + b)))) >= 0.5
    tpr = float((pred & (y > 0)).sum() / n_pos)
    tnr = float((~pred & (y == 0)).sum() / n_neg)
    return Calibrator(
        tuple(features),
        mean,
        std,
        w,
        b,
        0.5,
        {**(info or {}), "l2": l2, "train_found_rate": round(tpr, 4), "train_not_found_rate": round(tnr, 4)},
    )
