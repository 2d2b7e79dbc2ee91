"""The package's one public API: an index folder and its corpus, served to the page and the CLI.

:class:`IndexService` is what ``app.py`` and the command line use, and all
they use: search, ask, similar measures, the documents, theme comparison,
adding/removing/rescanning documents, building, training, status and the
supported formats.

It owns the live :class:`Searcher` of an index folder and loads it once per
process.  A request takes one :class:`IndexView` (one immutable index
version) and keeps it for the whole request, so a rebuild that publishes a
new version mid-request never mixes two versions.  Only one build runs at a
time; readers are never blocked by it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .answer import answer as _answer
from .build import BuildReport, ProgressFn, build_index, is_stale
from .catalog import DocumentInfo, FilterOptions, SkippedFile, filter_options, list_documents, skipped_files
from .chunking import Coverage, Layout, segment_document
from .compare import Comparison, GroupBy, compare_theme
from .corpus import MAX_UPLOAD_BYTES, Library, add_document, remove_document
from .errors import BadInputError
from .evaluation import Question, evaluate, evaluate_answers
from .export import Clause, clause_from_hit
from .feedback import NOTHING, Choice, Collected, FeedbackLog, aggregate
from .fusion import FusionModels
from .highlight import query_terms
from .loading import READERS, SUPPORTED_SUFFIXES, Reader, formats_label, load_corpus, load_document, upload_types
from .schema import Answer, Document, DocumentRecord, Hit
from .search import MODES, Filters, Searcher, SearchResult
from .similar import similar_measures
from .store import LOCK_TIMEOUT, current_version, publish_models

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServiceStatus:
    index_dir: str
    corpus_dir: str
    version: str | None
    stale: bool


@dataclass(frozen=True)
class Formats:
    """The document formats the library reads, all taken from the table of readers (:data:`indexer.loading.READERS`)."""

    readers: tuple[Reader, ...]
    #: every suffix a document may have (``.txt``, ``.markdown``, …)
    suffixes: tuple[str, ...]
    #: the suffixes without their dot, as a file picker takes them
    upload_types: tuple[str, ...]
    #: the usual suffix of each format, for help texts: ``.txt / .md / .html / .docx / .pdf``
    label: str
    #: the largest upload the page accepts
    max_upload_bytes: int


FORMATS = Formats(READERS, SUPPORTED_SUFFIXES, upload_types(), formats_label(), MAX_UPLOAD_BYTES)


@dataclass(frozen=True)
class IndexView:
    """One index version, for the length of one request: everything that reads the index."""

    searcher: Searcher

    @property
    def version(self) -> str:
        return self.searcher.version

    @property
    def encoder(self) -> str:
        """The encoder the index was built with."""
        return self.searcher.encoder.model_id

    @property
    def chunks(self) -> int:
        """Chunks in the index: measures and the passages beside them."""
        return self.searcher.n

    @property
    def ranker(self) -> dict[str, Any]:
        """What ranks the results (:meth:`Searcher.describe_ranking`)."""
        return self.searcher.describe_ranking()

    def search(self, query: str, top_k: int = 10, mode: str = "hybrid", filters: Filters | None = None) -> SearchResult:
        return self.searcher.search(query, top_k=top_k, mode=mode, filters=filters)

    def ask(self, question: str, top_k: int = 5, filters: Filters | None = None) -> Answer:
        return _answer(self.searcher, question, top_k=top_k, filters=filters)

    def similar(self, chunk_id: str, top_k: int = 3) -> list[Hit]:
        """The measures of other documents most like ``chunk_id`` (:func:`indexer.similar.similar_measures`)."""
        return similar_measures(self.searcher, chunk_id, top_k=top_k)

    def compare(self, theme: str, by: GroupBy = "document", per_group: int = 3) -> Comparison:
        return compare_theme(self.searcher, theme, by, per_group)

    def records(self) -> dict[str, DocumentRecord]:
        """The indexed documents as the manifest records them, by doc_id."""
        return dict(self.searcher.data.documents)

    def documents(self) -> tuple[DocumentInfo, ...]:
        """Every indexed document as the page lists it, newest first."""
        return list_documents(self.searcher)

    def skipped_files(self) -> tuple[SkippedFile, ...]:
        return skipped_files(self.searcher)

    def filter_options(self, doc_ids: Iterable[str] = ()) -> FilterOptions:
        return filter_options(self.searcher, doc_ids)

    def clause(self, hit: Hit) -> Clause:
        """The clause of a hit, with its citation and document date, as the page copies and exports it."""
        return clause_from_hit(hit, self.searcher.data.documents)

    def query_terms(self, text: str) -> tuple[str, ...]:
        """The words of ``text`` to highlight in results."""
        return query_terms(self.searcher.parse(text))

    def label_of(self, chunk_id: str) -> str | None:
        """The label training and evaluation files use for ``chunk_id`` (``doc_id#measure_no``); None when not in this version."""
        try:
            return self.searcher.data.chunks[self.searcher.position(chunk_id)].key
        except BadInputError:
            return None

    def evaluate(self, questions: Sequence[Question], modes: Sequence[str] = MODES) -> dict[str, dict[str, float]]:
        """Ranking metrics of each mode on labelled ``questions`` (:func:`indexer.evaluation.evaluate`)."""
        return evaluate(self.searcher, questions, modes=modes)

    def evaluate_answers(self, questions: Sequence[Question]) -> dict[str, float]:
        """How often the found/not-found decision is right on ``questions``."""
        return evaluate_answers(self.searcher, questions)


class IndexService:
    """The live index of ``corpus_dir`` (shipped samples) and ``data_dir`` (the user's documents) stored in ``index_dir``.

    Without ``data_dir``, uploads go into ``corpus_dir`` and removals delete
    from it.  ``corpus_dir`` may be None for reading only (search, ask, eval,
    train); building and changing documents then raise :class:`BadInputError`.
    """

    formats = FORMATS

    def __init__(
        self, corpus_dir: str | Path | None, index_dir: str | Path, model: str | None = None, data_dir: str | Path | None = None
    ) -> None:
        self._corpus_dir = Path(corpus_dir) if corpus_dir is not None else None
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self._library = Library(self._corpus_dir, self.data_dir) if self._corpus_dir is not None else None
        self.index_dir = Path(index_dir)
        self.model = model
        self._searcher: Searcher | None = None
        self._load_lock = threading.Lock()
        self._build_lock = threading.Lock()

    @property
    def corpus_dir(self) -> Path:
        if self._corpus_dir is None:
            raise BadInputError("no corpus folder given: pass --corpus DIR")
        return self._corpus_dir

    @property
    def library(self) -> Library:
        if self._library is None:
            raise BadInputError("no corpus folder given: pass --corpus DIR")
        return self._library

    # ------------------------------------------------------------------ reading

    def searcher(self) -> Searcher:
        """The searcher of the live version, reloaded when another process published a new one."""
        s = self._searcher
        live = current_version(self.index_dir)
        if s is not None and s.version == live:
            return s
        with self._load_lock:
            s = self._searcher
            live = current_version(self.index_dir)
            if s is None or s.version != live:
                s = Searcher.open(self.index_dir, model=self.model)
                self._searcher = s
            return s

    def view(self) -> IndexView:
        """The live index version, to be kept for one whole request."""
        return IndexView(self.searcher())

    def search(self, query: str, top_k: int = 10, mode: str = "hybrid", filters: Filters | None = None) -> SearchResult:
        return self.view().search(query, top_k=top_k, mode=mode, filters=filters)

    def ask(self, question: str, top_k: int = 5, filters: Filters | None = None) -> Answer:
        return self.view().ask(question, top_k=top_k, filters=filters)

    def similar(self, chunk_id: str, top_k: int = 3) -> list[Hit]:
        return self.view().similar(chunk_id, top_k=top_k)

    def documents(self) -> tuple[DocumentInfo, ...]:
        return self.view().documents()

    def compare(self, theme: str, by: GroupBy = "document", per_group: int = 3) -> Comparison:
        return self.view().compare(theme, by, per_group)

    # ------------------------------------------------------------------ writing

    def is_stale(self) -> bool:
        return is_stale(self.corpus_dir, self.index_dir, self.model, data_dir=self.data_dir)

    def status(self) -> ServiceStatus:
        return ServiceStatus(str(self.index_dir), str(self.corpus_dir), current_version(self.index_dir), self.is_stale())

    def build(
        self,
        on_progress: ProgressFn | None = None,
        force: bool = False,
        *,
        progress: bool = False,
        lock_timeout: float = LOCK_TIMEOUT,
    ) -> BuildReport:
        """Bring the index up to date with the library's folders and swap it in (``progress``: a terminal progress bar)."""
        with self._build_lock:
            return self._build_locked(on_progress, force, progress=progress, lock_timeout=lock_timeout)

    def _build_locked(
        self, on_progress: ProgressFn | None = None, force: bool = False, *, progress: bool = False, lock_timeout: float = LOCK_TIMEOUT
    ) -> BuildReport:
        report = build_index(
            self.corpus_dir,
            self.index_dir,
            model=self.model,
            on_progress=on_progress,
            force=force,
            progress=progress,
            lock_timeout=lock_timeout,
            data_dir=self.data_dir,
        )
        if self._searcher is not None and (not report.up_to_date or self._searcher.version != report.version):
            with self._load_lock:
                self._searcher = Searcher.open(self.index_dir, model=self.model)
        return report

    def _rebuild_locked(self, on_progress: ProgressFn | None = None, force: bool = False) -> BuildReport:
        report = self._build_locked(on_progress, force)
        if self._searcher is None:
            self.searcher()
        return report

    def rebuild(self, on_progress: ProgressFn | None = None, force: bool = False) -> BuildReport:
        """:meth:`build`, then load the new version at once (the page shows it next)."""
        with self._build_lock:
            return self._rebuild_locked(on_progress, force)

    def rescan(self, on_progress: ProgressFn | None = None) -> BuildReport:
        """Pick up files copied into (or removed from) the library's folders by hand."""
        return self.rebuild(on_progress)

    def ensure_built(self, on_progress: ProgressFn | None = None) -> BuildReport | None:
        """Build when the index is missing or stale; None when it was already current."""
        if current_version(self.index_dir) is not None and not self.is_stale():
            return None
        return self.rebuild(on_progress)

    def _indexed(self) -> dict[str, DocumentRecord]:
        """The live index's record of each document; {} without an index."""
        if current_version(self.index_dir) is None:
            return {}
        return self.view().records()

    def add(self, filename: str, data: bytes, on_progress: ProgressFn | None = None) -> tuple[Document, BuildReport]:
        """Add an uploaded document to the user's folder and update the index.

        Refused (:class:`BadInputError`) when its bytes or its name are already
        a document's: the existing document, its id and its citations stay.
        """
        with self._build_lock:  # two uploads of the same bytes at once: the second sees the first
            doc = add_document(self.library, filename, data, indexed=self._indexed())
            return doc, self._rebuild_locked(on_progress)

    def remove(self, doc_id: str, on_progress: ProgressFn | None = None) -> BuildReport:
        """Remove a document (hide a sample, delete a user's file) and update the index.

        Acts on the exact file the index recorded for ``doc_id``: its path and
        its content hash must still match, else nothing is touched.
        """
        with self._build_lock:
            record = self._indexed().get(doc_id)
            if record is None:
                raise BadInputError(f"no document '{doc_id}' in the index", kind="not_found")
            remove_document(self.library, self.library.path_of(record), record.content_hash)
            return self._rebuild_locked(on_progress)

    def restore_samples(self, on_progress: ProgressFn | None = None) -> tuple[list[str], BuildReport]:
        """Index every sample a user removed again."""
        with self._build_lock:
            names = self.library.restore_samples()
            return names, self._rebuild_locked(on_progress)

    def hidden_samples(self) -> list[str]:
        """The samples a user removed (paths below the samples folder)."""
        return self.library.hidden_names()

    def train(
        self, answerable: Sequence[Question], unanswerable: Sequence[Question] = (), mine_associations: bool = False
    ) -> tuple[str, FusionModels]:
        """Fit the ranker and calibrator on this index and publish a version served with them: (version, models).

        ``mine_associations``: see :func:`indexer.training.train`.
        """
        from .training import train

        # the version's own models play no part in fitting new ones, and may be the reason to retrain
        searcher = Searcher.open(self.index_dir, model=self.model, with_models=False)
        models = train(searcher, answerable, unanswerable, mine_associations=mine_associations)
        version = publish_models(self.index_dir, models)
        return version, models

    # ------------------------------------------------------------------ the users' choices (:mod:`indexer.feedback`)

    def record_choice(self, question: str, chunk_id: str) -> Choice:
        """Log that ``chunk_id`` was chosen for ``question`` (the page does, with ``INDEXER_FEEDBACK=1``)."""
        return FeedbackLog(self.index_dir).record(question, chunk_id)

    def record_nothing(self, question: str) -> Choice:
        """Log that none of the measures shown answers ``question`` (the page's 以上都不相关)."""
        return FeedbackLog(self.index_dir).record(question, NOTHING)

    def feedback_questions(self) -> Collected:
        """The logged choices as training questions on the live version; a choice of a measure it no longer holds is dropped."""
        return aggregate(FeedbackLog(self.index_dir).choices(), self.view().label_of)

    # ------------------------------------------------------------------ documents on their own

    @staticmethod
    def chunk(path: str | Path) -> list[tuple[Document, Layout, Coverage]]:
        """How a document (or every document of a folder) is read and cut into measures, and what no chunk holds; no index needed."""
        p = Path(path)
        if p.is_dir():
            docs = list(load_corpus(p).documents)
        elif p.exists():
            docs = [load_document(p)]
        else:
            raise BadInputError(f"no such file or folder: {path}")
        out = []
        for doc in docs:
            layout = segment_document(doc)
            out.append((doc, layout, Coverage.of(doc, layout)))
        return out


__all__ = ["FORMATS", "Formats", "IndexService", "IndexView", "ServiceStatus"]
