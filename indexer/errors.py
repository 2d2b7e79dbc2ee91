"""The package's exception hierarchy.

Every error a user can meet is an :class:`IndexerError`; its message says what
went wrong and what to do about it.  The CLI prints the message on one line and
the Streamlit page shows it with ``st.error``; neither shows a traceback.
"""

from __future__ import annotations


class IndexerError(Exception):
    """Base class of every error this package raises on purpose."""

    #: exit status the CLI uses for this kind of error
    exit_code: int = 1


class BadInputError(IndexerError):
    """The user gave something unusable: an empty query, a missing path, a bad option."""

    exit_code = 2


class UnreadableDocumentError(BadInputError):
    """A document file cannot be read (binary, empty, unknown type, broken encoding...)."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"cannot read {path}: {reason}")


class ModelUnavailableError(IndexerError):
    """The requested embedding model is not installed or cannot be loaded."""


class IndexMissingError(IndexerError):
    """No index exists where one was expected."""


class IndexMismatchError(IndexerError):
    """The index was built with another encoder, dictionary or format version."""


class IndexDamagedError(IndexerError):
    """Index files are missing, truncated or inconsistent with the manifest."""
