"""Semantic search and cited answers over Chinese judicial-reform documents.

The public API, used by ``app.py`` and the CLI:

* loading and chunking: :func:`load_document`, :func:`load_corpus`, :func:`chunk_document`;
* the data: :class:`Document`, :class:`Chunk`, :class:`Hit`, :class:`Answer`;
* errors: :class:`IndexerError` and its subclasses.
"""

from __future__ import annotations

from .chunking import chunk_document, segment_document
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

__all__ = [
    "SUPPORTED_SUFFIXES",
    "Answer",
    "AnswerSentence",
    "BadInputError",
    "Chunk",
    "CorpusLoad",
    "Document",
    "Hit",
    "IndexDamagedError",
    "IndexMismatchError",
    "IndexMissingError",
    "IndexerError",
    "ModelUnavailableError",
    "Skipped",
    "UnreadableDocumentError",
    "chunk_document",
    "load_corpus",
    "load_document",
    "segment_document",
]
