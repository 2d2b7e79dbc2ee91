"""Semantic search and cited answers over Chinese judicial-reform documents.

The public API, used by ``app.py`` and the CLI:

* documents: :func:`load_document`, :func:`load_corpus`, :func:`chunk_document`;
* the index: :func:`build_index`, :func:`is_stale`, :class:`IndexService` (load once,
  rebuild, swap), :func:`add_document`, :func:`remove_document`;
* retrieval: :class:`Searcher`, :class:`Filters`, :func:`answer`;
* the data: :class:`Document`, :class:`Chunk`, :class:`Hit`, :class:`Answer`;
* errors: :class:`IndexerError` and its subclasses.
"""

from __future__ import annotations

from .answer import answer
from .build import BuildReport, build_index, is_stale
from .chunking import chunk_document, segment_document
from .corpus import MAX_UPLOAD_BYTES, add_document, remove_document, sanitize_filename
from .encoders import DEFAULT_MODEL, get_encoder
from .errors import (
    BadInputError,
    IndexDamagedError,
    IndexerError,
    IndexMismatchError,
    IndexMissingError,
    ModelUnavailableError,
    UnreadableDocumentError,
)
from .loading import SUPPORTED_SUFFIXES, CorpusLoad, Skipped, load_corpus, load_document
from .schema import Answer, AnswerSentence, Chunk, Document, Hit
from .search import Filters, Searcher, SearchResult
from .service import IndexService

__all__ = [
    "DEFAULT_MODEL",
    "MAX_UPLOAD_BYTES",
    "SUPPORTED_SUFFIXES",
    "Answer",
    "AnswerSentence",
    "BadInputError",
    "BuildReport",
    "Chunk",
    "CorpusLoad",
    "Document",
    "Filters",
    "Hit",
    "IndexDamagedError",
    "IndexMismatchError",
    "IndexMissingError",
    "IndexService",
    "IndexerError",
    "ModelUnavailableError",
    "SearchResult",
    "Searcher",
    "Skipped",
    "UnreadableDocumentError",
    "add_document",
    "answer",
    "build_index",
    "chunk_document",
    "get_encoder",
    "is_stale",
    "load_corpus",
    "load_document",
    "remove_document",
    "sanitize_filename",
    "segment_document",
]
