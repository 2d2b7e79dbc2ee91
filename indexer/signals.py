"""Fusion signals: the named evidence the ranker weighs, one function per column.

Each signal is a function from one query's :class:`Candidates` (the query, the
candidate chunks, the index) to one column of values, registered under its
name with :func:`signal`.  A ranker declares the signals it was trained on, by
name and in its own order, and :func:`feature_matrix` builds its columns in
exactly that order, so a column can never be misplaced by position.  Adding a
signal is one function here plus a retrain (``python -m indexer train``);
rankers trained before keep working, since they name the signals they read.

What several signals share (the query's BM25 scores, the candidates' best
sentence cosines…) is computed once per query, on first use, by
:class:`Candidates`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from .associations import SIGNAL as ASSOCIATION_SIGNAL
from .errors import IndexMismatchError
from .fusion import ranks
from .query import Query

if TYPE_CHECKING:
    from .search import Searcher

SignalFn = Callable[["Candidates"], np.ndarray]


@dataclass(frozen=True)
class Signal:
    name: str
    fn: SignalFn
    doc: str


#: every signal, by name, in the order they were defined
SIGNALS: dict[str, Signal] = {}


def signal(name: str) -> Callable[[SignalFn], SignalFn]:
    """Register the decorated function as the signal ``name``."""

    def register(fn: SignalFn) -> SignalFn:
        if name in SIGNALS:
            raise ValueError(f"signal {name!r} is defined twice")
        SIGNALS[name] = Signal(name, fn, (fn.__doc__ or "").strip())
        return fn

    return register


def check_signals(names: Sequence[str], what: str = "the ranker") -> None:
    """Raise :class:`IndexMismatchError` when ``names`` holds a signal this code does not define."""
    unknown = [n for n in names if n not in SIGNALS]
    if unknown:
        raise IndexMismatchError(
            f"{what} reads signals this version does not compute ({', '.join(unknown)}); "
            "retrain it: python -m indexer train --queries TSV --unanswerable TSV --index DIR"
        )


def norm_max(x: np.ndarray) -> np.ndarray:
    """``x`` divided by its maximum (as float32), unchanged when the maximum is not positive."""
    m = float(x.max()) if len(x) else 0.0
    return (x / m).astype(np.float32) if m > 0 else x.astype(np.float32)


class Candidates:
    """One query's candidate chunks and the per-query values their signals share.

    ``ids`` are chunk rows of the index.  ``bm25_all`` is the BM25 score of the
    query against every chunk (zero outside the filters); ``measure_all``,
    when the search computed it, the cosine of every measure vector.
    """

    def __init__(
        self,
        searcher: Searcher,
        query: Query,
        qv: np.ndarray,
        ids: np.ndarray,
        bm25_all: np.ndarray,
        measure_all: np.ndarray | None = None,
    ) -> None:
        self.searcher = searcher
        self.data = searcher.data
        self.query = query
        self.qv = qv
        self.ids = ids
        self.bm25_all = bm25_all
        self._measure_all = measure_all

    def __len__(self) -> int:
        return len(self.ids)

    # ------------------------------------------------------------------ shared values

    @cached_property
    def weights(self) -> dict[str, float]:
        """Lexical query weights: question words 1, everyday phrasing less, thesaurus terms between."""
        return self.searcher.term_weights(self.query)

    @cached_property
    def bm25_norm_all(self) -> np.ndarray:
        return norm_max(self.bm25_all)

    @cached_property
    def bm25(self) -> np.ndarray:
        """Raw BM25 of the candidates."""
        return self.bm25_all[self.ids]

    @cached_property
    def sentence(self) -> np.ndarray:
        """Best sentence cosine of each candidate."""
        return self.searcher.sentence_max(self.ids, self.qv)

    @cached_property
    def measure(self) -> np.ndarray:
        """Cosine of each candidate's measure vector."""
        if self._measure_all is not None:
            return self._measure_all[self.ids]
        flat = self.searcher.measure_vectors
        if flat is not None:
            return flat[self.ids] @ self.qv
        return self.data.dense.vectors(self.ids) @ self.qv

    @cached_property
    def has_title(self) -> np.ndarray:
        return self.data.title_units[self.ids] >= 0

    @cached_property
    def title(self) -> np.ndarray:
        """Cosine of each candidate's title; its measure's where it has no title of its own."""
        tu = self.data.title_units[self.ids]
        out = self.measure.copy()
        if self.has_title.any():
            out[self.has_title] = self.searcher.unit_vectors(tu[self.has_title]) @ self.qv
        return out

    @cached_property
    def core_tokens(self) -> list[str]:
        """The question's words other than everyday phrasing the thesaurus replaced."""
        colloquial = set(self.query.colloquial_tokens)
        return [t for t in self.query.tokens if t not in colloquial]

    @cached_property
    def coverage(self) -> np.ndarray:
        """Share of the question's own words each candidate contains (its legal meaning when all were everyday phrasing)."""
        q = self.query
        return self.data.bm25.coverage_for(self.core_tokens or list(q.expansion_tokens) or list(q.tokens), self.ids)

    @cached_property
    def coverage_x(self) -> np.ndarray:
        """Share of the question's words and implied legal terms each candidate contains."""
        return self.data.bm25.coverage_for(self.core_tokens + list(self.query.expansion_tokens), self.ids)

    @cached_property
    def doc_of(self) -> np.ndarray:
        return self.data.chunk_doc[self.ids]

    @cached_property
    def doc_title_bm25(self) -> np.ndarray:
        """Normalised BM25 of every document's title."""
        bm = self.searcher.doc_title_bm25
        return norm_max(bm.scores(self.weights)) if bm is not None else np.zeros(len(self.data.doc_ids))

    @cached_property
    def doc_title_cosine(self) -> np.ndarray:
        """Cosine of every document's title, relative to the best one."""
        vecs = self.searcher.doc_title_vectors
        if vecs is None:
            return np.zeros(len(self.data.doc_ids))
        c = vecs @ self.qv
        return c - c.max()

    @cached_property
    def doc_best_bm25(self) -> np.ndarray:
        """Every document's best normalised BM25 over its measures."""
        out = np.zeros(len(self.data.doc_ids), dtype=np.float32)
        starts, docs = self.searcher.doc_starts
        if len(starts):
            out[docs] = np.maximum.reduceat(self.bm25_norm_all, starts)
        return out


def feature_matrix(names: Sequence[str], c: Candidates) -> np.ndarray:
    """The candidates' signals ``names`` as columns, in that order (float64)."""
    check_signals(names)
    if not len(c):
        return np.zeros((0, len(names)), np.float64)
    return np.column_stack([SIGNALS[n].fn(c) for n in names]).astype(np.float64)


# --------------------------------------------------------------------------- the signals


@signal("bm25")
def _bm25(c: Candidates) -> np.ndarray:
    """BM25 of the measure's words (question words 1, thesaurus terms 0.75, everyday phrasing 0.25), over the best."""
    return c.bm25_norm_all[c.ids]


@signal("bm25_bigram")
def _bm25_bigram(c: Candidates) -> np.ndarray:
    """BM25 of the measure's character pairs, over the best candidate's."""
    return norm_max(c.data.bm25_bigram.scores_for(c.searcher.bigram_weights(c.query), c.ids))


@signal("coverage")
def _coverage(c: Candidates) -> np.ndarray:
    """Share of the question's own words the measure contains."""
    return c.coverage


@signal("coverage_x")
def _coverage_x(c: Candidates) -> np.ndarray:
    """Share of the question's words and implied legal terms the measure contains."""
    return c.coverage_x


@signal("sentence")
def _sentence(c: Candidates) -> np.ndarray:
    """Cosine of the measure's best sentence, relative to the best candidate's."""
    return c.sentence - c.sentence.max()


@signal("measure")
def _measure(c: Candidates) -> np.ndarray:
    """Cosine of the measure vector, relative to the best candidate's."""
    return c.measure - c.measure.max()


@signal("title")
def _title(c: Candidates) -> np.ndarray:
    """Cosine of the measure title, relative to the best candidate's."""
    return c.title - c.title.max()


@signal("has_title")
def _has_title(c: Candidates) -> np.ndarray:
    """1 where the measure has a title of its own."""
    return c.has_title.astype(np.float32)


@signal("title_bm25")
def _title_bm25(c: Candidates) -> np.ndarray:
    """BM25 of the measure title's words, over the best candidate's."""
    return norm_max(c.data.bm25_title.scores_for(c.weights, c.ids))


@signal("doc_title_bm25")
def _doc_title_bm25(c: Candidates) -> np.ndarray:
    """BM25 of the document title's words, over the best document's."""
    return c.doc_title_bm25[c.doc_of]


@signal("doc_title")
def _doc_title(c: Candidates) -> np.ndarray:
    """Cosine of the document title, relative to the best document's."""
    return c.doc_title_cosine[c.doc_of]


@signal("doc_bm25")
def _doc_bm25(c: Candidates) -> np.ndarray:
    """The document's best measure BM25: how well the document as a whole matches."""
    return c.doc_best_bm25[c.doc_of]


@signal("rank_bm25")
def _rank_bm25(c: Candidates) -> np.ndarray:
    """1 / (10 + rank by BM25)."""
    return 1.0 / (10.0 + ranks(c.bm25_norm_all[c.ids]))


@signal("rank_sentence")
def _rank_sentence(c: Candidates) -> np.ndarray:
    """1 / (10 + rank by best sentence cosine)."""
    return 1.0 / (10.0 + ranks(c.sentence))


@signal("rank_measure")
def _rank_measure(c: Candidates) -> np.ndarray:
    """1 / (10 + rank by measure cosine)."""
    return 1.0 / (10.0 + ranks(c.measure))


# --------------------------------------------------------------------------- how laws are built
# Headings above an article, the law as a whole and the article's neighbours
# (indexer/structure.py holds what they share per index).  Measured by 5-fold
# cross-validation on the training questions (bench/crossval.py).

#: how many of the best candidates vote for their document
VOTERS = 20


@signal("section_bm25")
def _section_bm25(c: Candidates) -> np.ndarray:
    """BM25 of the words of the measure's section headings (人格权 / 生命权、身体权和健康权), over the best section's."""
    st = c.searcher.structure
    if st.section_bm25 is None:
        return np.zeros(len(c), np.float32)
    return norm_max(st.section_bm25.scores(c.weights))[c.data.chunk_section[c.ids]]


@signal("section_centroid")
def _section_centroid(c: Candidates) -> np.ndarray:
    """Cosine of the measure's section as a whole (its measures' mean direction), relative to the best candidate's."""
    st = c.searcher.structure
    if st.section_vectors is None:
        return np.zeros(len(c), np.float32)
    cos = st.section_vectors[c.data.chunk_section[c.ids]] @ c.qv
    return cos - cos.max()


@signal("doc_centroid")
def _doc_centroid(c: Candidates) -> np.ndarray:
    """Cosine of the measure's document as a whole (a prior on which law the question is about), relative to the best document's."""
    st = c.searcher.structure
    if st.doc_vectors is None:
        return np.zeros(len(c), np.float32)
    cos = st.doc_vectors @ c.qv
    return (cos - cos.max())[c.doc_of]


@signal("doc_vote_dense")
def _doc_vote_dense(c: Candidates) -> np.ndarray:
    """Share of the candidates with the best sentence cosines that come from the measure's document."""
    top = np.argsort(-c.sentence, kind="stable")[:VOTERS]
    votes = np.bincount(c.doc_of[top], minlength=len(c.data.doc_ids))
    return (votes / max(1, len(top)))[c.doc_of].astype(np.float32)


@signal("doc_vote_bm25")
def _doc_vote_bm25(c: Candidates) -> np.ndarray:
    """Share of the best BM25 measures (of all, not only candidates) that come from the measure's document."""
    bm = c.bm25_all
    k = min(VOTERS, len(bm))
    if k == 0:
        return np.zeros(len(c), np.float32)
    top = np.argpartition(-bm, k - 1)[:k]
    top = top[bm[top] > 0]
    votes = np.bincount(c.data.chunk_doc[top], minlength=len(c.data.doc_ids))
    return (votes / max(1, len(top)))[c.doc_of].astype(np.float32)


def _neighbours(c: Candidates) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rows before and after each candidate, and whether each is in the same document."""
    n = len(c.data.chunks)
    prev, nxt = np.maximum(c.ids - 1, 0), np.minimum(c.ids + 1, n - 1)
    doc = c.data.chunk_doc
    return prev, nxt, (prev != c.ids) & (doc[prev] == c.doc_of), (nxt != c.ids) & (doc[nxt] == c.doc_of)


@signal("neighbour_bm25")
def _neighbour_bm25(c: Candidates) -> np.ndarray:
    """The better BM25 of the articles just before and after the measure in its document, over the best."""
    prev, nxt, has_prev, has_next = _neighbours(c)
    bm = c.bm25_norm_all
    return np.maximum(np.where(has_prev, bm[prev], 0.0), np.where(has_next, bm[nxt], 0.0)).astype(np.float32)


@signal("neighbour_measure")
def _neighbour_measure(c: Candidates) -> np.ndarray:
    """The better measure cosine of the articles just before and after, relative to the best candidate's measure."""
    flat = c.searcher.measure_vectors
    if flat is None or not len(c):
        return np.zeros(len(c), np.float32)
    prev, nxt, has_prev, has_next = _neighbours(c)
    low = float(c.measure.min())
    best = np.maximum(np.where(has_prev, flat[prev] @ c.qv, low), np.where(has_next, flat[nxt] @ c.qv, low))
    return (best - c.measure.max()).astype(np.float32)


# --------------------------------------------------------------------------- mined associations


@signal(ASSOCIATION_SIGNAL)
def _assoc_bm25(c: Candidates) -> np.ndarray:
    """BM25 of the terms mined as associated with the question's words (:mod:`indexer.associations`), unscaled.

    Not divided by the best candidate's: how strongly the question's words point
    at any article is itself evidence, and scaled per query the signal lifted
    weak associations to full strength (training CV on bench/queries: MRR@10
    0.861 raw, 0.828 scaled).
    """
    weights = c.searcher.associations.weights(c.query.tokens)
    if not weights or not len(c):
        return np.zeros(len(c), np.float32)
    return c.data.bm25.scores_for(weights, c.ids).astype(np.float32)


__all__ = ["SIGNALS", "Candidates", "Signal", "check_signals", "feature_matrix", "norm_max", "signal"]
