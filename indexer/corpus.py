"""The document library: shipped samples, the user's documents, adding uploads safely, removing documents.

A :class:`Library` is two folders.  ``samples`` holds the documents shipped
with the project (``corpus/``, tracked by git): read-only, never written to.
``data`` holds the documents users add (``INDEXER_DATA``, default ``data/``
beside the samples, ignored by git).  Both are indexed.  Removing a sample
hides it (its path is listed in ``data/.hidden-samples.json``); removing a
user's document deletes its file.

Uploaded files are checked before anything touches the folder: a name the
indexer would not ignore, a supported type, under the size limit, bytes not
already in the library, and actually readable as a document.  The name is
sanitised (no folders, no ``..``, no control characters) and the file is
written under a temporary name, then renamed, so a half-written upload is
never indexed.

Removal acts on the exact file the index recorded for the document (its path
and its SHA-256), never on a name match.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import BadInputError, UnreadableDocumentError
from .loading import MAX_FILE_BYTES, SUPPORTED_SUFFIXES, ignored_name, iter_corpus_files, parse_document
from .schema import Document, DocumentRecord
from .store import file_sha256

#: uploads from the page are smaller than what a build accepts from disk
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
#: in the data folder: the samples a user removed (a dot file, so never indexed)
HIDDEN_FILE = ".hidden-samples.json"
_UNSAFE = re.compile(r"[\x00-\x1f\x7f<>:\"/\\|?*\u200b-\u200f\u202a-\u202e]")


@dataclass(frozen=True)
class Library:
    """The folders whose documents are indexed: shipped samples (read-only) and the user's documents."""

    samples: Path
    data: Path | None = None

    @classmethod
    def of(cls, samples: str | os.PathLike[str], data: str | os.PathLike[str] | None = None) -> Library:
        return cls(Path(samples), Path(data) if data is not None else None)

    @property
    def writable(self) -> Path:
        """Where uploads go: the data folder, or the corpus folder itself when there is no data folder."""
        return self.data if self.data is not None else self.samples

    def roots(self) -> list[Path]:
        """The folders to index, samples first; a data folder that does not exist yet holds nothing."""
        out = [self.samples]
        if self.data is not None and self.data.is_dir() and self.data.resolve() != self.samples.resolve():
            out.append(self.data)
        return out

    def locate(self, path: str | os.PathLike[str]) -> tuple[int, str] | None:
        """(position among :meth:`roots`, path below that folder) of a file found by a walk of the library."""
        p = Path(path)
        for pos, root in reversed(list(enumerate(self.roots()))):  # the data folder first: it is the more specific one
            if p.is_relative_to(root):
                return pos, p.relative_to(root).as_posix()
        return None

    def path_of(self, record: DocumentRecord) -> Path:
        """The file of an index record (``root`` and ``file``, as the build writes them; else its ``path``)."""
        if record.file and record.root in ("corpus", "data"):
            base = self.samples if record.root == "corpus" else self.writable
            return base / record.file
        return Path(record.path)

    def is_sample(self, path: str | os.PathLike[str]) -> bool:
        """True for a file in the samples folder (when there is a separate data folder)."""
        return self.data is not None and _inside(Path(path), self.samples) and not _inside(Path(path), self.data)

    # ------------------------------------------------------------------ hidden samples

    def _hidden_file(self) -> Path | None:
        return self.data / HIDDEN_FILE if self.data is not None else None

    def hidden(self) -> frozenset[str]:
        """Resolved paths of the samples a user removed."""
        f = self._hidden_file()
        if f is None or not f.is_file():
            return frozenset()
        try:
            names = json.loads(f.read_text(encoding="utf-8")).get("hidden", [])
        except (OSError, ValueError, AttributeError):
            return frozenset()  # a damaged list hides nothing: the samples reappear, no document is lost
        return frozenset(str((self.samples / n).resolve()) for n in names if isinstance(n, str) and ".." not in Path(n).parts)

    def _write_hidden(self, names: list[str]) -> None:
        f = self._hidden_file()
        assert f is not None and self.data is not None
        self.data.mkdir(parents=True, exist_ok=True)
        tmp = f.with_name(f".{f.name}.{uuid.uuid4().hex}")
        tmp.write_text(json.dumps({"hidden": sorted(set(names))}, ensure_ascii=False, indent=1), encoding="utf-8")
        tmp.replace(f)

    def hidden_names(self) -> list[str]:
        """The removed samples, as paths below the samples folder."""
        root = self.samples.resolve()
        return sorted(Path(p).relative_to(root).as_posix() for p in self.hidden())

    def hide(self, path: Path) -> None:
        """Leave the sample ``path`` out of the index from now on (its file stays)."""
        self._write_hidden([*self.hidden_names(), path.resolve().relative_to(self.samples.resolve()).as_posix()])

    def restore_samples(self) -> list[str]:
        """Index every removed sample again; returns their names."""
        names = self.hidden_names()
        if names:
            self._write_hidden([])
        return names


def sanitize_filename(name: str) -> str:
    """A safe file name from an uploaded name: last path part, no control or shell characters.

    Chinese characters are kept.  Raises :class:`BadInputError` when nothing
    usable is left, the type is not supported, or the indexer would ignore the
    name (an Office lock file ``~$x``, a folder note such as ``SOURCES.md``).
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
    if ignored_name(stem + suffix):
        raise BadInputError(
            f"{stem + suffix} is a name the indexer ignores (lock file or folder note); rename the file", kind="name_reserved"
        )
    return stem + suffix


def _inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):
        return False


def add_document(
    library: Library | str | os.PathLike[str],
    filename: str,
    data: bytes,
    *,
    indexed: Mapping[str, DocumentRecord] | None = None,
    max_bytes: int = MAX_UPLOAD_BYTES,
) -> Document:
    """Check an uploaded document and write it into the library's data folder; returns it as loaded.

    ``indexed`` is the index's record of each document (``doc_id`` → title,
    path, content_hash): an upload whose bytes are already in the library is
    refused, and so is one whose name (without suffix) is already a document's
    id, so no existing document, id or citation changes.

    Raises :class:`BadInputError` (bad name, type or size, same bytes or name
    as a document already there) or :class:`UnreadableDocumentError` (the
    content is not a readable document).
    """
    lib = library if isinstance(library, Library) else Library(Path(library))
    indexed = indexed or {}
    root = lib.writable
    name = sanitize_filename(filename)
    limit = min(max_bytes, MAX_FILE_BYTES)
    if len(data) > limit:
        raise BadInputError(
            f"{name} is {len(data) / 1e6:.1f} MB; the limit is {limit / 2**20:.0f} MiB",
            kind="too_large",
            size_mb=f"{len(data) / 2**20:.1f}",
            limit_mb=f"{limit / 2**20:.0f}",
        )
    digest = hashlib.sha256(data).hexdigest()
    for doc_id, record in indexed.items():
        if record.content_hash == digest:
            raise BadInputError(
                f"{name} has the same content as document '{doc_id}' ({record.file_name}); not added",
                kind="duplicate_upload",
                title=record.title,
                other=record.file_name,
            )
    stem = Path(name).stem
    if stem in indexed:
        other = indexed[stem].file_name
        raise BadInputError(
            f"a document named '{stem}' already exists ({other}); rename the file or remove that document first",
            kind="name_taken",
            title=indexed[stem].title,
            other=other,
        )
    root.mkdir(parents=True, exist_ok=True)
    target = root / name
    if not _inside(target, root):
        raise BadInputError(f"{name} would be written outside the documents folder", kind="name_empty")
    clash = [p for base in lib.roots() for p, problem in iter_corpus_files(base) if problem is None and p.stem == stem]
    if clash or target.exists():
        other = clash[0].name if clash else name
        raise BadInputError(
            f"a file named '{stem}' already exists ({other}); rename the file or remove that document first",
            kind="name_taken",
            title=stem,
            other=other,
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


def remove_document(library: Library | str | os.PathLike[str], path: str | os.PathLike[str], content_hash: str) -> str:
    """Remove the document the index recorded as ``path`` with ``content_hash``; returns "hidden" or "deleted".

    A sample is hidden, a user's document deleted.  Nothing happens unless
    ``path`` is inside the library, is not ignored by the indexer and still
    holds exactly the bytes that were indexed (:class:`BadInputError`
    otherwise: another file that merely shares the name is never touched).
    """
    lib = library if isinstance(library, Library) else Library(Path(library))
    p = Path(path)
    name = p.name
    if not any(_inside(p, root) for root in (lib.samples, lib.writable)) or ignored_name(name) or p.is_symlink():
        raise BadInputError(f"{name} is not a document of this library", kind="not_found")
    try:
        same = p.is_file() and file_sha256(p) == content_hash
    except OSError as exc:
        raise BadInputError(f"cannot read {name}: {exc.strerror}", kind="remove_failed", error=exc.strerror) from None
    if not p.exists():
        raise BadInputError(f"{name} is no longer in the library", kind="not_found")
    if not same:
        raise BadInputError(f"{name} changed since it was indexed; rescan the folder first", kind="file_changed", other=name)
    if lib.is_sample(p):
        lib.hide(p)
        return "hidden"
    try:
        p.unlink()
    except OSError as exc:
        raise BadInputError(f"cannot remove {name}: {exc.strerror}", kind="remove_failed", error=exc.strerror) from None
    return "deleted"


__all__ = [
    "HIDDEN_FILE",
    "MAX_UPLOAD_BYTES",
    "Library",
    "UnreadableDocumentError",
    "add_document",
    "remove_document",
    "sanitize_filename",
]
