"""Okapi BM25 over jieba tokens (bm25s), with weighted query terms.

bm25s computes and stores the BM25 weight of every (term, chunk) pair in a
sparse column matrix; scoring a query is then a sum of a few columns.  We sum
them ourselves so that each query term can carry a weight (question words 1.0,
thesaurus expansions less).

Features of a few hundred candidates are read from a row-major copy of the
same matrix (one contiguous row per chunk) instead of binary searches in long
posting lists: at a million chunks that touches kilobytes per query rather than
most of the file.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from .mapped import advise_random

log = logging.getLogger(__name__)


def _bm25s():  # noqa: ANN202
    import bm25s

    # bm25s sets its logger to DEBUG on import, which would print through any root handler
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


#: saturation and length normalisation: the usual Okapi/Lucene defaults, not tuned on the
#: evaluation questions.  bench/bm25_params.py sweeps them on training questions: there BM25
#: alone would prefer k1 2.0, b 0.3 (CV MRR@10 0.243 against 0.204, mostly long case
#: descriptions); not adopted until it is measured through the fused ranking
K1 = 1.2
B = 0.75


ROW_FILES = ("rows_indptr.npy", "rows_cols.npy", "rows_data.npy")


def _fast_retriever(k1: float, b: float):  # noqa: ANN202 - a bm25s.BM25
    """bm25s's BM25 with its index build done in a few numpy passes.

    bm25s counts terms document by document in Python (about 1 s per 12k
    chunks for each of our three indexes); that was most of an incremental
    rebuild.  bm25s documents ``build_index_from_tokens`` as the method to
    override; this one computes the same Lucene weights (idf in float32, the
    term-frequency part in float64, as bm25s does) for all (term, chunk)
    pairs at once.  The vocabulary is numbered in first-seen order, which
    also makes builds reproducible (bm25s numbers it in set order).
    """
    bm25s = _bm25s()

    class FastBM25(bm25s.BM25):
        def build_index_from_tokens(self, corpus_tokens, show_progress=True, leave_progress=False):  # noqa: ANN001, ANN202
            self.nonoccurrence_array = None  # only BM25L and BM25+ use it
            n_docs = len(corpus_tokens)
            lengths = np.fromiter(map(len, corpus_tokens), dtype=np.int64, count=n_docs)
            vocab = {tok: i for i, tok in enumerate(dict.fromkeys(itertools.chain.from_iterable(corpus_tokens)))}
            flat = np.fromiter(
                map(vocab.__getitem__, itertools.chain.from_iterable(corpus_tokens)), dtype=np.int64, count=int(lengths.sum())
            )
            n_vocab = len(vocab)
            docs = np.repeat(np.arange(n_docs, dtype=np.int64), lengths)
            # one key per (term, chunk): sorting them orders the pairs column by column
            pairs, tf = np.unique(flat * max(n_docs, 1) + docs, return_counts=True)
            term, doc = np.divmod(pairs, max(n_docs, 1))
            df = np.bincount(term, minlength=n_vocab)
            idf = np.log(1 + (n_docs - df + 0.5) / (df + 0.5)).astype(self.dtype)
            avg = lengths.mean() if n_docs else 1.0
            tf = tf.astype(self.dtype)
            tfc = tf / (self.k1 * ((1 - self.b) + self.b * lengths[doc] / avg) + tf)
            data = (idf[term] * tfc).astype(self.dtype)
            indptr = np.concatenate([[0], np.cumsum(df)]).astype(np.int64)
            scores = {"data": data, "indices": doc.astype(self.int_dtype), "indptr": indptr, "num_docs": n_docs}
            return scores, vocab

    return FastBM25(k1=k1, b=b, method="lucene")


class BM25Index:
    """A BM25 index over pre-tokenised chunks."""

    def __init__(self, retriever, rows: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> None:  # noqa: ANN001 - bm25s.BM25
        self._r = retriever
        self._vocab: dict[str, int] = retriever.vocab_dict
        scores = retriever.scores
        self._data = scores["data"]
        self._indices = scores["indices"]
        self._indptr = scores["indptr"]
        self.n_docs = int(scores["num_docs"])
        self._rows = rows if rows is not None else self._transpose()

    def _transpose(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The row-major (chunk → terms) copy of the column matrix."""
        import scipy.sparse as sp

        n_terms = len(self._indptr) - 1
        csr = sp.csc_matrix(
            (np.asarray(self._data), np.asarray(self._indices), np.asarray(self._indptr)), shape=(self.n_docs, n_terms)
        ).tocsr()
        csr.sort_indices()
        return csr.indptr.astype(np.int64), csr.indices.astype(np.int32), csr.data.astype(np.float32)

    @classmethod
    def build(cls, token_lists: Sequence[Sequence[str]], k1: float = K1, b: float = B) -> BM25Index:
        retriever = _fast_retriever(k1, b)
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
        """BM25 scores of the chunks ``docs`` only, read from their rows.

        Costs O(terms in those chunks), independent of the collection size.
        """
        terms = {self._vocab[t]: float(w) for t, w in weighted_tokens.items() if w and t and t in self._vocab}
        return self._row_sums(terms, docs)

    def _row_sums(self, term_weights: Mapping[int, float], docs: np.ndarray, use_values: bool = True) -> np.ndarray:
        """Σ over each doc's row of weight(term) · value (or · 1 when ``use_values`` is false)."""
        out = np.zeros(len(docs), dtype=np.float32)
        if not term_weights or len(docs) == 0:
            return out
        indptr, cols, data = self._rows
        docs = np.asarray(docs, dtype=np.int64)
        starts, ends = indptr[docs], indptr[docs + 1]
        lengths = ends - starts
        total = int(lengths.sum())
        if total == 0:
            return out
        # positions of every entry of the selected rows, without a Python loop
        offsets = np.repeat(starts - np.r_[0, np.cumsum(lengths)[:-1]], lengths)
        pos = offsets + np.arange(total)
        row_cols = cols[pos]
        q_cols = np.array(sorted(term_weights), dtype=np.int64)
        q_w = np.array([term_weights[c] for c in q_cols], dtype=np.float32)
        at = np.minimum(np.searchsorted(q_cols, row_cols), len(q_cols) - 1)
        hit = q_cols[at] == row_cols
        contrib = np.where(hit, q_w[at] * (data[pos] if use_values else 1.0), 0.0).astype(np.float32)
        owner = np.repeat(np.arange(len(docs)), lengths)
        return np.bincount(owner, weights=contrib, minlength=len(docs)).astype(np.float32)

    def coverage_for(self, tokens: Sequence[str], docs: np.ndarray) -> np.ndarray:
        """:meth:`coverage` of the chunks ``docs`` only, read from their rows."""
        shares = {self._vocab[t]: share for t, share in self._idf_shares(tokens)}
        return self._row_sums(shares, docs, use_values=False)

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
        for name, array in zip(ROW_FILES, self._rows, strict=True):
            np.save(directory / name, array)

    @classmethod
    def load(cls, directory: Path, mmap: bool = False) -> BM25Index:
        retriever = _bm25s().BM25.load(str(directory), mmap=mmap, show_progress=False, verbosity=0)
        rows = tuple(np.asarray(np.load(directory / name, mmap_mode="r" if mmap else None)) for name in ROW_FILES)
        for array in rows:  # candidates' rows are read at random
            advise_random(array)
        index = cls(retriever, rows)  # type: ignore[arg-type]
        if len(index._rows[0]) != index.n_docs + 1:
            raise ValueError("BM25 rows do not match the index")
        return index

    @property
    def nbytes(self) -> int:
        return int(self._data.nbytes + self._indices.nbytes + self._indptr.nbytes + sum(a.nbytes for a in self._rows))
