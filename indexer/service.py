"""One index folder served to many users: load once, rebuild, swap in atomically.

:class:`IndexService` owns the live :class:`Searcher` of an index folder.
Searches take the current searcher (one immutable index version) and keep it
for the whole request, so a rebuild that publishes a new version mid-request
never mixes two versions.  Only one build runs at a time; readers are never
blocked by it.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .answer import answer as _answer
from .build import BuildReport, ProgressFn, build_index, is_stale
from .corpus import Library, add_document, remove_document
from .errors import BadInputError
from .schema import Answer, Document
from .search import Filters, Searcher, SearchResult
from .store import current_version

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServiceStatus:
    index_dir: str
    corpus_dir: str
    version: str | None
    stale: bool


class IndexService:
    """The live index of ``corpus_dir`` (shipped samples) and ``data_dir`` (the user's documents) stored in ``index_dir``.

    Without ``data_dir``, uploads go into ``corpus_dir`` and removals delete from it.
    """

    def __init__(self, corpus_dir: str | Path, index_dir: str | Path, model: str | None = None, data_dir: str | Path | None = None) -> None:
        self.corpus_dir = Path(corpus_dir)
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.library = Library(self.corpus_dir, self.data_dir)
        self.index_dir = Path(index_dir)
        self.model = model
        self._searcher: Searcher | None = None
        self._load_lock = threading.Lock()
        self._build_lock = threading.Lock()

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

    def search(self, query: str, top_k: int = 10, mode: str = "hybrid", filters: Filters | None = None) -> SearchResult:
        return self.searcher().search(query, top_k=top_k, mode=mode, filters=filters)

    def ask(self, question: str, top_k: int = 5, filters: Filters | None = None) -> Answer:
        return _answer(self.searcher(), question, top_k=top_k, filters=filters)

    # ------------------------------------------------------------------ writing

    def is_stale(self) -> bool:
        return is_stale(self.corpus_dir, self.index_dir, self.model, data_dir=self.data_dir)

    def status(self) -> ServiceStatus:
        return ServiceStatus(str(self.index_dir), str(self.corpus_dir), current_version(self.index_dir), self.is_stale())

    def rebuild(self, on_progress: ProgressFn | None = None, force: bool = False) -> BuildReport:
        """Bring the index up to date with the library's folders and swap it in."""
        with self._build_lock:
            return self._rebuild_locked(on_progress, force)

    def _rebuild_locked(self, on_progress: ProgressFn | None = None, force: bool = False) -> BuildReport:
        report = build_index(
            self.corpus_dir, self.index_dir, model=self.model, on_progress=on_progress, force=force, data_dir=self.data_dir
        )
        if not report.up_to_date or self._searcher is None:
            with self._load_lock:
                self._searcher = Searcher.open(self.index_dir, model=self.model)
        return report

    def ensure_built(self, on_progress: ProgressFn | None = None) -> BuildReport | None:
        """Build when the index is missing or stale; None when it was already current."""
        if current_version(self.index_dir) is not None and not self.is_stale():
            return None
        return self.rebuild(on_progress)

    def _indexed(self) -> dict[str, dict[str, Any]]:
        """The live index's record of each document (doc_id → title, path, content_hash…); {} without an index."""
        if current_version(self.index_dir) is None:
            return {}
        return dict(self.searcher().data.manifest.get("documents", {}))

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
            meta = self._indexed().get(doc_id)
            if meta is None:
                raise BadInputError(f"no document '{doc_id}' in the index", kind="not_found")
            remove_document(self.library, self.library.path_of(meta), meta["content_hash"])
            return self._rebuild_locked(on_progress)

    def restore_samples(self, on_progress: ProgressFn | None = None) -> tuple[list[str], BuildReport]:
        """Index every sample a user removed again."""
        with self._build_lock:
            names = self.library.restore_samples()
            return names, self._rebuild_locked(on_progress)

    def hidden_samples(self) -> list[str]:
        """The samples a user removed (paths below the samples folder)."""
        return self.library.hidden_names()
