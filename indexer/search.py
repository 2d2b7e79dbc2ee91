"""Hybrid retrieval: lexical and dense candidates, features, learned fusion, ranked hits.

A search runs in three steps:

1. **Candidates** — the best chunks by BM25, by measure vector (FAISS) and by
   sentence vector, within the filters.
2. **Features** for each candidate — BM25 of words (question words weigh 1,
   thesaurus terms 0.75, everyday phrasing 0.25), of character pairs and of the measure title;
   the share of the question's words the measure contains; the cosine of its
   best sentence, of the measure and of its title; how well its document
   (title and best measure) matches; its rank under each signal; how laws are
   built (:mod:`indexer.structure`); and the BM25 of the terms mined as
   associated with the question's words (:mod:`indexer.associations`).
3. **Fusion** — a linear model trained listwise on labelled questions
   (:mod:`indexer.fusion`) scores the candidates; ties break by position.

``mode="bm25"`` and ``mode="dense"`` rank by one side only, for comparison.
"""

from __future__ import annotations

import logging
import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .associations import check_fitted_with, package_associations, table_for
from .bm25 import BM25Index
from .dense import HalfScan, serve_single_threaded
from .encoders import Encoder, get_encoder
from .errors import BadInputError, IndexMismatchError
from .fusion import Calibrator, FusionModels, LinearRanker, nearest_question, rrf, stable_order
from .query import Query, Thesaurus, parse_query
from .schema import Chunk, Hit
from .segmentation import Segmenter, default_segmenter
from .signals import SIGNALS, Candidates, check_signals, feature_matrix, norm_max
from .store import IndexData, load_index, read_manifest
from .structure import LawStructure
from .units import char_bigrams, embedded_sentences

log = logging.getLogger(__name__)

MODES = ("hybrid", "bm25", "dense")
#: the fusion signals, in the order they are defined (:mod:`indexer.signals`); a ranker declares its own
FEATURES = tuple(SIGNALS)
#: query-level evidence the found/not-found calibrator reads
CALIBRATION_FEATURES = (
    "top_score",
    "margin",
    "top_sentence",
    "top_coverage",
    "top_coverage_x",
    "known_share",
    "top_bm25_per_token",
    "sentence_z",
    "background",
    "top_softmax",
    "nearest_question",
)
#: sentences sampled to measure how similar a query is to the corpus in general
BACKGROUND_SAMPLE = 512
EXPANSION_WEIGHT = 0.75
COLLOQUIAL_WEIGHT = 0.25
#: candidates taken from each retriever
POOL = 100
#: up to this many distinct embedded texts (~150 MB as float32) are held in memory
UNITS_IN_MEMORY = 100_000
MAX_TOP_K = 100


@dataclass(frozen=True)
class Filters:
    """Restrict results by document, publication year, issuer or section (empty = no restriction)."""

    doc_ids: frozenset[str] = frozenset()
    years: frozenset[int] = frozenset()
    sources: frozenset[str] = frozenset()
    sections: frozenset[str] = frozenset()

    @classmethod
    def make(
        cls,
        doc_ids: Iterable[str] = (),
        years: Iterable[int] = (),
        sources: Iterable[str] = (),
        sections: Iterable[str] = (),
    ) -> Filters:
        return cls(frozenset(doc_ids), frozenset(int(y) for y in years), frozenset(sources), frozenset(sections))

    def __bool__(self) -> bool:
        return bool(self.doc_ids or self.years or self.sources or self.sections)


@dataclass(frozen=True)
class SearchResult:
    """Ranked hits for one query, with timing and the evidence the answer step needs."""

    query: Query
    hits: tuple[Hit, ...]
    latency_ms: float
    mode: str
    index_version: str
    #: query-level evidence (CALIBRATION_FEATURES) for the found/not-found decision
    evidence: dict[str, float] = field(default_factory=dict)
    #: per hit: [(sentence index, score)] best first, for answers and highlighting
    sentence_scores: tuple[tuple[tuple[int, float], ...], ...] = ()
    #: what ranked the hits (:meth:`Searcher.describe_ranking`), so a result can be traced to its ranker
    ranker: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query.raw,
            "latency_ms": round(self.latency_ms, 3),
            "hits": [h.to_dict() for h in self.hits],
            "ranker": self.ranker,
        }


class Searcher:
    """Searches one loaded index.  Thread-safe; load once and share.

    The index version carries the ranker and calibrator it serves with
    (:class:`FusionModels`); models fitted to another encoder, or reading
    signals this code does not compute, are refused, never silently replaced.
    """

    def __init__(
        self,
        data: IndexData,
        encoder: Encoder,
        segmenter: Segmenter | None = None,
        thesaurus: Thesaurus | None = None,
    ) -> None:
        if encoder.model_id != data.model_id:
            raise IndexMismatchError(
                f"index was built with encoder '{data.model_id}', not '{encoder.model_id}'; rebuild it or use its encoder"
            )
        serve_single_threaded()
        self.data = data
        self.encoder = encoder
        self.segmenter = segmenter or default_segmenter()
        if thesaurus is None:
            thesaurus = Thesaurus()
            built_with = data.manifest.get("thesaurus", {}).get("sha256")
            if built_with != thesaurus.sha256:
                raise IndexMismatchError(
                    f"index {data.path} was built with another thesaurus than {thesaurus.path.name}; rebuild it "
                    f"(nothing is embedded again): python -m indexer build --corpus CORPUS_DIR --index {data.path}"
                )
        self.thesaurus = thesaurus
        self.models = data.models
        self.n = len(data.chunks)
        # chunks are stored document by document: the first row of each document, and that document
        starts = np.flatnonzero(np.r_[True, data.chunk_doc[1:] != data.chunk_doc[:-1]]) if self.n else np.zeros(0, np.int64)
        self.doc_starts: tuple[np.ndarray, np.ndarray] = (starts, data.chunk_doc[starts] if self.n else np.zeros(0, np.int64))
        docs = data.documents
        self.doc_title_bm25 = BM25Index.build([self.segmenter.tokens(docs[d].title) for d in data.doc_ids]) if data.doc_ids else None
        self.doc_title_vectors = np.asarray(data.units[data.doc_title_units], dtype=np.float32) if len(data.doc_title_units) else None
        self._doc_year = np.array([docs[d].year or 0 for d in data.doc_ids], dtype=np.int32)
        self._doc_source = np.array([docs[d].source for d in data.doc_ids], dtype=object)
        self._doc_index = {d: i for i, d in enumerate(data.doc_ids)}
        #: the measure vectors as a numpy view (flat indexes only)
        self.measure_vectors = data.dense.flat_vectors()
        # measure-vector candidates come from a float16 scan; their signals use the exact vectors
        self._measure_scan = HalfScan(self.measure_vectors) if self.measure_vectors is not None and len(self.measure_vectors) else None
        # the distinct sentence vectors as float32 in memory while that is cheap; larger
        # indexes read the candidates' rows from the memory-mapped file
        self._units32 = np.asarray(data.units, dtype=np.float32) if len(data.units) <= UNITS_IN_MEMORY else None
        # e5 puts every pair of Chinese texts at a high cosine; a sentence is a real match
        # only if it stands out from the query's similarity to sentences in general
        n_sent = len(data.sentence_units)
        picks = np.unique(np.linspace(0, n_sent - 1, min(n_sent, BACKGROUND_SAMPLE)).astype(np.int64)) if n_sent else np.zeros(0, np.int64)
        self._background = np.asarray(data.units[data.sentence_units[picks]], dtype=np.float32) if n_sent else None
        self._qcache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._qlock = threading.Lock()
        #: section headings and section / document directions, for the law-structure signals
        self.structure = LawStructure.build(data, self.segmenter, self.measure_vectors)

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(cls, index_dir: str | Path, model: str | None = None, with_models: bool = True) -> Searcher:
        """Load the index in ``index_dir`` with the encoder it was built with.

        ``model``, when given, must be that encoder; a different one raises
        :class:`IndexMismatchError` (an index cannot be searched with vectors of
        another model), as do ranking models fitted to another encoder.
        ``with_models=False`` leaves the version's ranking models out (rank
        fusion): training fits new ones, and must work on an index whose models
        are refused.
        """
        manifest = read_manifest(Path(index_dir))
        spec = model or manifest["encoder"].get("spec") or manifest["encoder"]["model_id"]
        encoder = get_encoder(spec)
        data = load_index(index_dir, model_id=encoder.model_id, segmenter_fingerprint=default_segmenter().fingerprint)
        return cls(data if with_models else replace(data, models=None), encoder)

    @property
    def version(self) -> str:
        return self.data.version

    # ------------------------------------------------------------------ the models

    @property
    def models(self) -> FusionModels | None:
        """The ranker and calibrator this searcher serves with."""
        return self._models

    @models.setter
    def models(self, models: FusionModels | None) -> None:
        # the associations table the ranker reads: the one its models carry, else the package's
        table = table_for(models.associations) if models is not None else package_associations()
        if models is not None:
            if models.encoder != self.data.model_id:
                raise IndexMismatchError(
                    f"the ranking models of index {self.data.path} were fitted to encoder '{models.encoder}', "
                    f"not '{self.data.model_id}'; rebuild the index or retrain them: python -m indexer train … --index {self.data.path}"
                )
            if models.ranker is not None:
                check_signals(models.ranker.features, f"the ranker of index {self.data.path}")
                check_fitted_with(models.ranker.features, models.ranker.info, table, f"the ranker of index {self.data.path}")
            if models.calibrator is not None:
                unknown = [f for f in models.calibrator.features if f not in CALIBRATION_FEATURES]
                if unknown:
                    raise IndexMismatchError(
                        f"the calibrator of index {self.data.path} reads evidence this version does not compute "
                        f"({', '.join(unknown)}); retrain it: python -m indexer train … --index {self.data.path}"
                    )
            if models.questions is not None and models.questions.shape[1] != self.data.units.shape[1]:
                raise IndexMismatchError(
                    f"the calibrator of index {self.data.path} was fitted on questions of {models.questions.shape[1]} "
                    f"dimensions, the index has {self.data.units.shape[1]}; retrain it: python -m indexer train … --index {self.data.path}"
                )
        self.associations = table
        self._models = models

    @property
    def ranker(self) -> LinearRanker | None:
        return self._models.ranker if self._models is not None else None

    @ranker.setter
    def ranker(self, ranker: LinearRanker | None) -> None:
        self.models = FusionModels.make(
            self.data.model_id, ranker, self.calibrator, associations=self._carried(), questions=self._questions()
        )

    @property
    def calibrator(self) -> Calibrator | None:
        return self._models.calibrator if self._models is not None else None

    @calibrator.setter
    def calibrator(self, calibrator: Calibrator | None) -> None:
        self.models = FusionModels.make(
            self.data.model_id, self.ranker, calibrator, associations=self._carried(), questions=self._questions()
        )

    def _carried(self) -> str:
        return self._models.associations if self._models is not None else ""

    def _questions(self) -> np.ndarray | None:
        return self._models.questions if self._models is not None else None

    def describe_ranking(self, mode: str = "hybrid") -> dict[str, Any]:
        """What ranks the results of ``mode``: the models' id, kind, encoder, origin and signals."""
        if mode != "hybrid":
            return {"id": mode, "kind": mode, "encoder": self.data.model_id, "origin": "", "features": [], "calibrated": False}
        if self._models is None:
            return {"id": "rrf", "kind": "rrf", "encoder": self.data.model_id, "origin": "", "features": [], "calibrated": False}
        return self._models.describe()

    # ------------------------------------------------------------------ public

    def parse(self, query: str | Query) -> Query:
        return query if isinstance(query, Query) else parse_query(query, self.segmenter, self.thesaurus)

    def embed_query(self, q: Query) -> np.ndarray:
        key = q.dense_text
        with self._qlock:
            v = self._qcache.get(key)
            if v is not None:
                self._qcache.move_to_end(key)
                return v
        v = self.encoder.encode_queries([key])[0]
        with self._qlock:
            self._qcache[key] = v
            while len(self._qcache) > 512:
                self._qcache.popitem(last=False)
        return v

    def clear_cache(self) -> None:
        """Forget cached query embeddings (for honest latency measurements)."""
        with self._qlock:
            self._qcache.clear()

    def search(self, query: str | Query, top_k: int = 10, mode: str = "hybrid", filters: Filters | None = None) -> SearchResult:
        """The ``top_k`` best measures for ``query``."""
        t0 = time.perf_counter()
        if mode not in MODES:
            raise BadInputError(f"unknown search mode '{mode}' (use one of {', '.join(MODES)})")
        if not 1 <= int(top_k) <= MAX_TOP_K:
            raise BadInputError(f"top-k must be between 1 and {MAX_TOP_K}", kind="top_k_range", limit=MAX_TOP_K)
        q = self.parse(query)
        ranking = self.describe_ranking(mode)

        def result(hits: tuple[Hit, ...], *more: Any) -> SearchResult:
            return SearchResult(q, hits, (time.perf_counter() - t0) * 1000, mode, self.version, *more, ranker=ranking)

        mask = self._mask(filters) if filters else None
        if self.n == 0 or (mask is not None and not mask.any()):
            return result(())
        if mode == "bm25":
            scores = self.data.bm25.scores(self.term_weights(q))
            if mask is not None:
                scores = np.where(mask, scores, -np.inf)
            order = stable_order(scores)[:top_k]
            order = order[np.isfinite(scores[order]) & (scores[order] > 0)]
            return result(
                tuple(
                    Hit(rank=i + 1, score=float(scores[c]), chunk=self.data.chunks[c], signals={"bm25": float(scores[c])})
                    for i, c in enumerate(order)
                )
            )
        qv = self.embed_query(q)
        cand = self.candidates(q, qv, mask, dense_only=mode == "dense")
        names = tuple(SIGNALS)
        feats = self.features(cand, names)
        fused = self.rank(cand, feats, names, mode)
        hits, evidence, sent_scores = self.evidence(cand, feats, names, fused, top_k)
        return result(hits, evidence, sent_scores)

    def candidates(self, q: Query, qv: np.ndarray, mask: np.ndarray | None = None, dense_only: bool = False) -> Candidates:
        """The chunks worth scoring for ``q``: the best by BM25, by measure vector and by sentence vector, within ``mask``."""
        d = self.data
        bm = d.bm25.scores(self.term_weights(q))
        if mask is not None:
            bm = np.where(mask, bm, 0.0)
        pools: list[np.ndarray] = []
        if not dense_only:
            pools.append(_top(norm_max(bm), POOL, positive=True))
        measure_all = None
        if self._measure_scan is not None and mask is None:
            pools.append(self._measure_scan.search(qv, POOL))
        elif self.measure_vectors is not None:
            measure_all = self.measure_vectors @ qv
            ms = measure_all if mask is None else np.where(mask, measure_all, -np.inf)
            pools.append(_top(ms, POOL))
        else:
            k = POOL if mask is None else min(self.n, POOL * 8)
            _, ids = d.dense.search(qv, k)
            ids = ids[ids >= 0]
            pools.append(ids if mask is None else ids[mask[ids]][:POOL])
        cand = np.unique(np.concatenate(pools)).astype(np.int64) if pools else np.zeros(0, np.int64)
        if mask is not None:
            cand = cand[mask[cand]]
        if len(cand) == 0:
            cand = np.flatnonzero(mask if mask is not None else np.ones(self.n, bool))[:POOL]
        # sentences are scored for the candidates only: a pool of the chunks with the best
        # sentence anywhere added no relevant candidate on any labelled set (measured)
        return Candidates(self, q, qv, cand, bm, measure_all)

    def features(self, cand: Candidates, names: Sequence[str] | None = None) -> np.ndarray:
        """The candidates' signals as columns: ``names``, else those the ranker declares, in that order."""
        if names is None:
            names = self.ranker.features if self.ranker is not None else FEATURES
        return feature_matrix(names, cand)

    def rank(self, cand: Candidates, feats: np.ndarray, names: Sequence[str], mode: str = "hybrid") -> np.ndarray:
        """One score per candidate: the ranker's (columns picked by name), rank fusion without one, cosines for ``dense``."""
        if mode == "dense":
            return np.maximum(cand.sentence, cand.measure)
        col = {n: j for j, n in enumerate(names)}
        if self.ranker is not None:
            return self.ranker.score(feats[:, [col[f] for f in self.ranker.features]])
        return rrf([feats[:, col[f]] for f in ("bm25", "sentence", "measure")])

    def evidence(
        self, cand: Candidates, feats: np.ndarray, names: Sequence[str], fused: np.ndarray, top_k: int
    ) -> tuple[tuple[Hit, ...], dict[str, float], tuple[tuple[tuple[int, float], ...], ...]]:
        """The ``top_k`` hits with their signals, relevance and best sentences, and the query-level evidence."""
        q, qv = cand.query, cand.qv
        order = stable_order(fused)
        top = order[:top_k]
        hits = []
        sent_scores = []
        background = self._background_stats(qv)
        nearest = float(nearest_question(qv, self._models.question_matrix if self._models is not None else None)[0])
        # per-query constants, computed once for all hits
        terms = [(t, max(self.data.bm25.idf(t), 0.1)) for t in dict.fromkeys(q.tokens + q.expansion_tokens)]
        known = sum(1 for t in dict.fromkeys(q.tokens) if self.data.bm25.idf(t) > 0)
        known_share = known / max(1, len(q.tokens)) if q.tokens else 0.0
        evidence: dict[str, float] = {}
        for rank, i in enumerate(top, start=1):
            c = int(cand.ids[i])
            chunk = self.data.chunks[c]
            ss = self._sentence_scores(chunk, c, qv, terms)
            best_sentences = tuple(sorted(p for p, _ in ss[:2])) if ss else ()
            signals = {f: float(feats[i, j]) for j, f in enumerate(names)}
            hit_evidence = self._calibration_evidence(cand, fused, order, rank - 1, known_share, background, nearest)
            if rank == 1:
                evidence = hit_evidence
            # the calibrator's P(relevant) of this measure, read as if it were the best one
            signals["relevance"] = self._relevance(hit_evidence, float(fused[i]) - float(fused[order[0]]))
            hits.append(Hit(rank=rank, score=float(fused[i]), chunk=chunk, evidence=best_sentences, signals=signals))
            sent_scores.append(tuple(ss))
        return tuple(hits), evidence, tuple(sent_scores)

    def similar(self, chunk_id: str, top_k: int = 5, other_documents: bool = True) -> list[Hit]:
        """Measures closest to ``chunk_id`` by measure vector (for "similar measures")."""
        idx = self.position(chunk_id)
        v = self.data.dense.vectors(np.array([idx]))[0]
        scores, ids = self.data.dense.search(v, min(self.n, top_k * 8 + 1))
        own = self.data.chunks[idx].doc_id
        out = []
        for s, i in zip(scores, ids, strict=True):
            if i < 0 or i == idx or (other_documents and self.data.chunks[i].doc_id == own):
                continue
            out.append(Hit(rank=len(out) + 1, score=float(s), chunk=self.data.chunks[int(i)], signals={"measure": float(s)}))
            if len(out) == top_k:
                break
        return out

    def position(self, chunk_id: str) -> int:
        """Row of ``chunk_id`` in the index (its document's rows are searched, not all)."""
        doc = self._doc_index.get(chunk_id.rsplit("#", 1)[0])
        doc_starts, doc_of_start = self.doc_starts
        if doc is not None:
            starts = np.flatnonzero(doc_of_start == doc)
            if len(starts):
                j = int(starts[0])
                start = int(doc_starts[j])
                end = int(doc_starts[j + 1]) if j + 1 < len(doc_starts) else self.n
                for i in range(start, end):
                    if self.data.chunks[i].chunk_id == chunk_id:
                        return i
        raise BadInputError(f"no measure {chunk_id} in the index", kind="unknown_measure")

    # ------------------------------------------------------------------ what the signals read

    def term_weights(self, q: Query) -> dict[str, float]:
        """Lexical query weights: question words 1, everyday phrasing less, thesaurus terms between."""
        colloquial = set(q.colloquial_tokens)
        w = {t: COLLOQUIAL_WEIGHT if t in colloquial else 1.0 for t in q.tokens}
        for t in q.expansion_tokens:
            w.setdefault(t, EXPANSION_WEIGHT)
        return w

    def bigram_weights(self, q: Query) -> dict[str, float]:
        """Character-pair query weights, in the same spirit as :meth:`term_weights`."""
        w: dict[str, float] = {}
        for term in q.expansions:
            for b in char_bigrams(term):
                w[b] = EXPANSION_WEIGHT
        for b in char_bigrams(q.text):
            w.setdefault(b, COLLOQUIAL_WEIGHT)
        for part in (q.core_text or q.text).split():
            for b in char_bigrams(part):
                w[b] = 1.0
        return w

    def unit_vectors(self, rows: np.ndarray) -> np.ndarray:
        """Vectors of embedded texts ``rows``: from memory when held there, else from the file in row order."""
        if self._units32 is not None:
            return self._units32[rows]
        order = np.argsort(rows, kind="stable")
        out = np.empty((len(rows), self.data.units.shape[1]), np.float32)
        out[order] = self.data.units[rows[order]]
        return out

    def sentence_max(self, cand: np.ndarray, qv: np.ndarray) -> np.ndarray:
        """Best sentence cosine of each candidate."""
        d = self.data
        if len(cand) == 0:
            return np.zeros(0, np.float32)
        starts = d.sentence_offsets[cand]
        lengths = d.sentence_offsets[cand + 1] - starts
        firsts = np.r_[0, np.cumsum(lengths)[:-1]]
        pos = np.repeat(starts - firsts, lengths) + np.arange(int(lengths.sum()))
        sims = self.unit_vectors(d.sentence_units[pos]) @ qv
        return np.maximum.reduceat(sims, firsts).astype(np.float32)

    # ------------------------------------------------------------------ internals

    def _mask(self, f: Filters) -> np.ndarray:
        m = np.ones(self.n, dtype=bool)
        if f.doc_ids:
            unknown = [d for d in f.doc_ids if d not in self._doc_index]
            if unknown and len(unknown) == len(f.doc_ids):
                raise BadInputError(
                    f"no document {', '.join(sorted(unknown))} in the index (see the documents list)", kind="unknown_document"
                )
            wanted = np.array([self._doc_index[d] for d in f.doc_ids if d in self._doc_index])
            m &= np.isin(self.data.chunk_doc, wanted)
        if f.years:
            m &= np.isin(self.data.chunk_doc, np.flatnonzero(np.isin(self._doc_year, np.array(sorted(f.years)))))
        if f.sources:
            m &= np.isin(self.data.chunk_doc, np.flatnonzero(np.isin(self._doc_source, np.array(sorted(f.sources), dtype=object))))
        if f.sections:
            wanted = [i for i, s in enumerate(self.data.sections) if any(s == sec or s.startswith(sec + " / ") for sec in f.sections)]
            m &= np.isin(self.data.chunk_section, np.array(wanted, dtype=np.int64))
        return m

    def _sentence_scores(self, chunk: Chunk, c: int, qv: np.ndarray, toks: list[tuple[str, float]]) -> list[tuple[int, float]]:
        """[(sentence index, score)] of chunk ``c``, best first: cosine plus the idf share of ``toks`` it contains."""
        d = self.data
        positions = [p for p, _ in embedded_sentences(chunk)]
        rows = d.sentence_units[d.sentence_offsets[c] : d.sentence_offsets[c + 1]]
        sims = self.unit_vectors(rows) @ qv
        total = sum(w for _, w in toks) or 1.0
        out = []
        for p, sim in zip(positions, sims, strict=False):
            # documents are in simplified Chinese already; folding width and case is enough here
            text = unicodedata.normalize("NFKC", chunk.sentences[p]).lower()
            lex = sum(w for t, w in toks if t in text) / total
            out.append((p, float(sim) + 0.5 * lex))
        out.sort(key=lambda x: (-x[1], x[0]))
        return out

    def _background_stats(self, qv: np.ndarray) -> tuple[float, float]:
        """Mean and spread of the query's similarity to sentences in general."""
        if self._background is None or len(self._background) < 2:
            return 0.0, 1.0
        bg = self._background @ qv
        return float(bg.mean()), max(float(bg.std()), 1e-6)

    def _calibration_evidence(
        self,
        cand: Candidates,
        fused: np.ndarray,
        order: np.ndarray,
        pos: int,
        known_share: float,
        background: tuple[float, float],
        nearest: float,
    ) -> dict[str, float]:
        """Evidence that the measure ranked ``pos`` (0 = first) answers the query."""
        i = order[pos]
        sentence = float(cand.sentence[i])
        nxt = float(fused[order[pos + 1]]) if pos + 1 < len(order) else float(fused[i]) - 1.0
        n_tok = max(1, len(cand.query.tokens))
        # the listwise ranker's own probability that this candidate is the relevant one
        share = np.exp(np.asarray(fused, dtype=np.float64) - float(fused[order[0]]))
        return {
            "top_score": float(fused[i]),
            "margin": float(fused[i]) - nxt,
            "top_sentence": sentence,
            "top_coverage": float(cand.coverage[i]),
            "top_coverage_x": float(cand.coverage_x[i]),
            "known_share": float(known_share),
            "top_bm25_per_token": float(cand.bm25[i]) / n_tok,
            "sentence_z": (sentence - background[0]) / background[1],
            "background": background[0],
            "top_softmax": float(share[i] / share.sum()),
            # how close the question is to those the calibrator was fitted on (0 when the models carry none)
            "nearest_question": nearest,
        }

    def _relevance(self, evidence: dict[str, float], gap: float) -> float:
        if self.calibrator is None:
            return float(np.exp(min(0.0, gap)))
        return self.calibrator.probability(np.array([evidence[f] for f in self.calibrator.features]))


def _top(scores: np.ndarray, k: int, positive: bool = False) -> np.ndarray:
    if len(scores) == 0:
        return np.zeros(0, np.int64)
    k = min(k, len(scores))
    idx = np.argpartition(-scores, k - 1)[:k]
    if positive:
        idx = idx[scores[idx] > 0]
    else:
        idx = idx[np.isfinite(scores[idx])]
    return idx.astype(np.int64)
