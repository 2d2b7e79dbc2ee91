"""Semantic search and cited answers over Chinese judicial-reform documents.

The public API is :class:`IndexService` (``indexer/service.py``): ``app.py``
and the CLI use it, and nothing else of the index.  A request takes one
:class:`IndexView` (one index version) for search, ask, similar measures,
documents, comparison and citations; the service adds documents, rescans,
builds, trains and reports its status and the supported :data:`FORMATS`.

Beside it, the values those calls take and return (:class:`Filters`,
:class:`Hit`, :class:`Answer`, :class:`Clause`, :class:`DocumentRecord`…),
the page's rendering helpers (:func:`highlight_html`, :func:`escape`,
:func:`to_docx`, :func:`to_markdown`, the Chinese :data:`MESSAGES`) and the
errors (:class:`IndexerError` and its subclasses).  The lower-level functions
(:func:`build_index`, :class:`Searcher`, :func:`load_corpus`…) stay exported
for the benchmarks.
"""

from __future__ import annotations

from .answer import answer
from .build import BuildReport, build_index, is_stale
from .catalog import (
    DocumentInfo,
    FilterOptions,
    SkippedFile,
    describe_report,
    filter_options,
    library_csv,
    list_documents,
    make_filters,
    skipped_files,
)
from .chunking import chunk_document, segment_document
from .compare import Comparison, GroupCoverage, compare_theme
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
from .export import DOCX_MIME, MARKDOWN_MIME, Clause, clause_from_hit, copy_text, export_filename, to_docx, to_markdown
from .fusion import FusionModels
from .highlight import STYLE as HIGHLIGHT_STYLE
from .highlight import escape, escape_block, highlight_html, query_terms, relevance_meter
from .loading import SUPPORTED_SUFFIXES, CorpusLoad, Skipped, load_corpus, load_document
from .messages import MESSAGES, error_text, file_name, strip_paths, text, warning_text
from .schema import Answer, AnswerSentence, Chunk, Document, DocumentRecord, Hit
from .search import Filters, Searcher, SearchResult
from .service import FORMATS, Formats, IndexService, IndexView
from .similar import measure_query, similar_measures

__all__ = [
    "DEFAULT_MODEL",
    "DOCX_MIME",
    "FORMATS",
    "HIGHLIGHT_STYLE",
    "MARKDOWN_MIME",
    "MAX_UPLOAD_BYTES",
    "MESSAGES",
    "SUPPORTED_SUFFIXES",
    "Answer",
    "AnswerSentence",
    "BadInputError",
    "BuildReport",
    "Chunk",
    "Clause",
    "Comparison",
    "CorpusLoad",
    "Document",
    "DocumentInfo",
    "DocumentRecord",
    "FilterOptions",
    "Filters",
    "Formats",
    "FusionModels",
    "GroupCoverage",
    "Hit",
    "IndexDamagedError",
    "IndexMismatchError",
    "IndexMissingError",
    "IndexService",
    "IndexView",
    "IndexerError",
    "ModelUnavailableError",
    "SearchResult",
    "Searcher",
    "Skipped",
    "SkippedFile",
    "UnreadableDocumentError",
    "add_document",
    "answer",
    "build_index",
    "chunk_document",
    "clause_from_hit",
    "compare_theme",
    "copy_text",
    "describe_report",
    "error_text",
    "escape",
    "escape_block",
    "export_filename",
    "file_name",
    "filter_options",
    "get_encoder",
    "highlight_html",
    "is_stale",
    "library_csv",
    "list_documents",
    "load_corpus",
    "load_document",
    "make_filters",
    "measure_query",
    "query_terms",
    "relevance_meter",
    "remove_document",
    "sanitize_filename",
    "segment_document",
    "similar_measures",
    "skipped_files",
    "strip_paths",
    "text",
    "to_docx",
    "to_markdown",
    "warning_text",
]
