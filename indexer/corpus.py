"""Managing the documents in a corpus folder: adding uploads safely, removing documents.

Uploaded files are checked before anything touches the folder: a supported
type, under the size limit, and actually readable as a reform document.  The
name is sanitised (no folders, no ``..``, no control characters, no hidden
files) and the file is written under a temporary name, then renamed, so a
half-written upload is never indexed.
"""

from __future__ import annotations

import os
import re
import unicodedata
import uuid
from pathlib import Path

from .errors import BadInputError, UnreadableDocumentError
from .loading import MAX_FILE_BYTES, SUPPORTED_SUFFIXES, iter_corpus_files, parse_document
from .schema import Document

#: uploads from the page are smaller than what a build accepts from disk
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
_UNSAFE = re.compile(r"[\x00-\x1f\x7f<>:\"/\\|?*\u200b-\u200f\u202a-\u202e]")


def sanitize_filename(name: str) -> str:
    """A safe file name from an uploaded name: last path part, no control or shell characters.

    Chinese characters are kept.  Raises :class:`BadInputError` when nothing
    usable is left or the type is not supported.
    """
    name = unicodedata.normalize("NFC", str(name or ""))
    name = re.split(r"[\\/]", name)[-1]
    name = _UNSAFE.sub("_", name).strip(" ._")
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        raise BadInputError(f"file name '{name}' has no type; use one of {', '.join(SUPPORTED_SUFFIXES)}", kind="name_no_type")
    suffix = "." + suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise BadInputError(
            f"unsupported file type '{suffix}' (use {', '.join(SUPPORTED_SUFFIXES)})", kind="unsupported_type", suffix=suffix
        )
    stem = re.sub(r"\s+", "_", stem).strip("._")[:80]
    if not stem or set(stem) <= {"."}:
        raise BadInputError("the file name is empty after removing unsafe characters; rename the file", kind="name_empty")
    return stem + suffix


def _inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):
        return False


def add_document(
    corpus_dir: str | Path, filename: str, data: bytes, *, replace: bool = False, max_bytes: int = MAX_UPLOAD_BYTES
) -> Document:
    """Check an uploaded document and write it into ``corpus_dir``; returns it as loaded.

    Raises :class:`BadInputError` (bad name, type, size, or a file of that
    name exists and ``replace`` is false) or :class:`UnreadableDocumentError`
    (the content is not a readable document).
    """
    root = Path(corpus_dir)
    root.mkdir(parents=True, exist_ok=True)
    name = sanitize_filename(filename)
    if len(data) > min(max_bytes, MAX_FILE_BYTES):
        limit = min(max_bytes, MAX_FILE_BYTES)
        raise BadInputError(
            f"{name} is {len(data) / 1e6:.1f} MB; the limit is {limit / 2**20:.0f} MiB",
            kind="too_large",
            size_mb=f"{len(data) / 2**20:.1f}",
            limit_mb=f"{limit / 2**20:.0f}",
        )
    target = root / name
    if not _inside(target, root):
        raise BadInputError(f"{name} would be written outside the corpus folder", kind="name_empty")
    stem = Path(name).stem
    clash = [p for p, problem in iter_corpus_files(root) if problem is None and p.stem == stem and p.resolve() != target.resolve()]
    if clash:
        raise BadInputError(
            f"a document named '{stem}' already exists ({clash[0].name}); rename the file or remove that document first",
            kind="name_taken",
            title=stem,
            other=clash[0].name,
        )
    if target.exists() and not replace:
        raise BadInputError(
            f"{name} already exists in the corpus; remove it first or replace it", kind="name_taken", title=stem, other=name
        )
    doc = parse_document(data, name, Path(name).suffix.lower(), stem)  # raises UnreadableDocumentError
    tmp = root / f".upload-{uuid.uuid4().hex}{Path(name).suffix}"
    try:
        with tmp.open("xb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise BadInputError(f"cannot write {name} into {root}: {exc.strerror}", kind="write_failed", error=exc.strerror) from None
    return Document(doc.doc_id, doc.title, doc.source, doc.date, str(target), doc.fmt, doc.content_hash, doc.paragraphs, doc.warnings)


def find_document(corpus_dir: str | Path, doc_id: str) -> Path:
    """The file of ``doc_id`` in the corpus folder (never a path outside it)."""
    root = Path(corpus_dir)
    for path, problem in iter_corpus_files(root):
        if problem is None and path.stem == doc_id and _inside(path, root):
            return path
    raise BadInputError(f"no document '{doc_id}' in {root}", kind="not_found")


def remove_document(corpus_dir: str | Path, doc_id: str) -> Path:
    """Delete the file of ``doc_id`` from the corpus folder; returns its path."""
    path = find_document(corpus_dir, doc_id)
    try:
        path.unlink()
    except OSError as exc:
        raise BadInputError(f"cannot remove {path.name}: {exc.strerror}", kind="remove_failed", error=exc.strerror) from None
    return path


__all__ = ["MAX_UPLOAD_BYTES", "UnreadableDocumentError", "add_document", "find_document", "remove_document", "sanitize_filename"]
