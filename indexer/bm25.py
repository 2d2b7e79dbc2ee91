"""Okapi BM25 over jieba tokens (bm25s), with weighted query terms.

bm25s computes and stores the BM25 weight of every (term, chunk) pair in a
sparse column matrix; scoring a query is then a sum of a few columns.  We sum
them ourselves so that each query term can carry a weight (question words 1.0,
thesaurus expansions less).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


def _bm25s():  # noqa: ANN202
    import bm25s

    # bm25s sets its logger to DEBUG on import, which would print through any root handler
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


#: saturation and length normalisation; measured on the dev questions (see README)
K1 = 1.2
B = 0.75


class BM25Index:
    """A BM25 index over pre-tokenised chunks."""

    def __init__(self, retriever) -> None:  # noqa: ANN001 - bm25s.BM25
        self._r = retriever
        self._vocab: dict[str, int] = retriever.vocab_dict
        scores = retriever.scores
        self._data = scores["data"]
        self._indices = scores["indices"]
        self._indptr = scores["indptr"]
        self.n_docs = int(scores["num_docs"])

    @classmethod
    def build(cls, token_lists: Sequence[Sequence[str]], k1: float = K1, b: float = B) -> BM25Index:
        retriever = _bm25s().BM25(k1=k1, b=b, method="lucene")
        # an empty chunk still needs a row, so every chunk keeps its position
        retriever.index([list(t) if t else [""] for t in token_lists], show_progress=False)
        return cls(retriever)

    def scores(self, weighted_tokens: Mapping[str, float]) -> np.ndarray:
        """BM25 score of every chunk for a query given as ``{token: weight}``."""
        out = np.zeros(self.n_docs, dtype=np.float32)
        for tok, w in weighted_tokens.items():
            j = self._vocab.get(tok)
            if j is None or w == 0 or tok == "":
                continue
            s, e = self._indptr[j], self._indptr[j + 1]
            out[self._indices[s:e]] += np.float32(w) * self._data[s:e]
        return out

    def _postings(self, token: str) -> tuple[np.ndarray, np.ndarray] | None:
        j = self._vocab.get(token)
        if j is None or token == "":
            return None
        s, e = self._indptr[j], self._indptr[j + 1]
        return self._indices[s:e], self._data[s:e]

    def scores_for(self, weighted_tokens: Mapping[str, float], docs: np.ndarray) -> np.ndarray:
        """BM25 scores of the chunks ``docs`` only (sorted ids): binary search in each posting list.

        Costs O(len(docs) · log(df)) per term instead of O(df), which is what
        keeps feature computation flat as the collection grows.
        """
        out = np.zeros(len(docs), dtype=np.float32)
        for tok, w in weighted_tokens.items():
            hit = self._locate(tok, docs) if w else None
            if hit is not None:
                rows, values = hit
                out[rows] += np.float32(w) * values
        return out

    def _locate(self, token: str, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """(positions in ``docs``, BM25 values) of the ``docs`` that contain ``token``."""
        p = self._postings(token)
        if p is None or len(docs) == 0:
            return None
        idx, data = p
        pos = np.searchsorted(idx, docs)
        inside = pos < len(idx)
        rows = np.flatnonzero(inside)
        rows = rows[idx[pos[rows]] == docs[rows]]
        return rows, data[pos[rows]]

    def coverage_for(self, tokens: Sequence[str], docs: np.ndarray) -> np.ndarray:
        """:meth:`coverage` of the chunks ``docs`` only (sorted ids)."""
        out = np.zeros(len(docs), dtype=np.float32)
        for t, share in self._idf_shares(tokens):
            hit = self._locate(t, docs)
            if hit is not None:
                out[hit[0]] += np.float32(share)
        return out

    def _idf_shares(self, tokens: Sequence[str]) -> list[tuple[str, float]]:
        """Each known token's share of the query's idf mass (unknown tokens count as the rarest)."""
        uniq = list(dict.fromkeys(t for t in tokens if t))
        if not uniq:
            return []
        known = [(t, self.idf(t)) for t in uniq]
        rare = float(np.log(1.0 + (self.n_docs - 0.5) / 1.5))
        total = sum(w if w > 0 else rare for _, w in known)
        return [(t, w / total) for t, w in known if w > 0]

    def idf(self, token: str) -> float:
        """Lucene's BM25 idf: log(1 + (N - df + 0.5) / (df + 0.5)); 0 for unknown tokens."""
        df = self.document_frequency(token)
        return 0.0 if df == 0 else float(np.log(1.0 + (self.n_docs - df + 0.5) / (df + 0.5)))

    def coverage(self, tokens: Sequence[str]) -> np.ndarray:
        """Share of the query's idf mass each chunk contains (a soft AND, unlike BM25's sum).

        Tokens the corpus does not know still count in the denominator: a question
        about something absent is poorly covered everywhere.
        """
        out = np.zeros(self.n_docs, dtype=np.float32)
        for t, share in self._idf_shares(tokens):
            idx, _ = self._postings(t)
            out[idx] += np.float32(share)
        return out

    def document_frequency(self, token: str) -> int:
        j = self._vocab.get(token)
        return 0 if j is None else int(self._indptr[j + 1] - self._indptr[j])

    def save(self, directory: Path) -> None:
        self._r.save(str(directory), show_progress=False)

    @classmethod
    def load(cls, directory: Path, mmap: bool = False) -> BM25Index:
        return cls(_bm25s().BM25.load(str(directory), mmap=mmap, show_progress=False, verbosity=0))

    @property
    def nbytes(self) -> int:
        return int(self._data.nbytes + self._indices.nbytes + self._indptr.nbytes)
