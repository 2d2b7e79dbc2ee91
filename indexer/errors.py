"""The package's exception hierarchy.

Every error a user can meet is an :class:`IndexerError`; its message says what
went wrong and what to do about it.  The CLI prints the message on one line and
the Streamlit page shows it with ``st.error``; neither shows a traceback.

Each error also carries a ``kind`` (a key of :data:`indexer.messages.MESSAGES`)
and the ``fields`` its Chinese message is filled with, so the page can show a
Chinese message while the CLI keeps the English one.  Fields never hold an
absolute path: a file is named by its name only.
"""

from __future__ import annotations

from typing import Any


class IndexerError(Exception):
    """Base class of every error this package raises on purpose."""

    #: exit status the CLI uses for this kind of error
    exit_code: int = 1
    #: key of the error's Chinese message in ``indexer.messages.MESSAGES``
    kind: str = "error"

    def __init__(self, message: str = "", *, kind: str | None = None, **fields: Any) -> None:
        super().__init__(message)
        if kind is not None:
            self.kind = kind
        self.fields: dict[str, Any] = fields


class BadInputError(IndexerError):
    """The user gave something unusable: an empty query, a missing path, a bad option."""

    exit_code = 2
    kind = "bad_input"


class UnreadableDocumentError(BadInputError):
    """A document file cannot be read (binary, empty, unknown type, broken encoding...)."""

    kind = "unreadable"

    def __init__(self, path: str, reason: str, *, kind: str | None = None, **fields: Any) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"cannot read {path}: {reason}", kind=kind, **fields)


class DocumentTooLargeError(UnreadableDocumentError):
    """A document is beyond a work limit (characters, sentences, a .docx that unpacks too big...).

    ``kind`` names the limit (one of :data:`indexer.limits.LIMIT_KINDS`) and
    ``limit`` its value, so the page can say 文件过长：超过 N 字，请拆分后上传.
    """

    def __init__(self, path: str, reason: str, *, kind: str, limit: int, shown: str | None = None) -> None:
        self.limit = limit
        # the message field: the limit as the page states it (300,000 字; 50 MB)
        super().__init__(path, reason, kind=kind, limit=shown or f"{limit:,}")


class ModelUnavailableError(IndexerError):
    """The requested embedding model is not installed or cannot be loaded."""

    kind = "model_unavailable"


class IndexMissingError(IndexerError):
    """No index exists where one was expected."""

    kind = "index_missing"


class IndexMismatchError(IndexerError):
    """The index was built with another encoder, dictionary or format version."""

    kind = "index_mismatch"


class IndexDamagedError(IndexerError):
    """Index files are missing, truncated or inconsistent with the manifest."""

    kind = "index_damaged"


class IndexWriteError(IndexerError):
    """The index folder cannot be written: not a folder, no permission, disk full."""

    kind = "index_write"


class IndexBusyError(IndexerError):
    """Another build held the index folder's lock for longer than this build would wait."""

    kind = "build_busy"
