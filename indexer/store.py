"""The index on disk: versioned, atomic, verified.

Layout of an index folder (``embeddings/`` by default)::

    CURRENT                  name of the live version, replaced atomically
    v-<time>-<id>/           one complete index version
        manifest.json        encoder, dimension, dictionary, documents and their
                             content hashes, file sizes and SHA-256 sums
        chunks.jsonl         chunk metadata, one JSON object a line (read on demand)
        chunk_index.npz      byte offset of each line, document, section and content hash of each chunk
        sections.json        the distinct section headings
        tokens.tsv           BM25 tokens of each chunk: words, title words, character pairs, tab-separated
                             fields of space-separated tokens (reused by later builds)
        units.npy            every embedded text's vector (float16)
        unit_keys.npy        SHA-1 of each embedded text (the embedding cache key)
        chunk_units.npz      which units belong to each chunk (sentences, title)
        dense.faiss          FAISS index of the measure vectors (+ dense.f16.npy for HNSW)
        ranker.json          the fusion ranker and calibrator this version serves with (when there are any)
        bm25/                bm25s index of the measures' words
        bm25_title/          … of the measure titles
        bm25_bigram/         … of the measures' character pairs
    .tmp-*/                  a build in progress (cleaned by the next build)
    .lock                    held while a build writes

A build writes a new version into a temporary folder, fsyncs it, renames it to
``v-…`` and only then points ``CURRENT`` at it, so a crash at any moment leaves
the previous index intact and loadable.  Readers resolve ``CURRENT`` once and
read one version.  The previous version is kept for readers still loading it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import logging
import mmap
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .associations import table_for
from .bm25 import BM25Index
from .dense import DenseIndex
from .errors import BadInputError, IndexBusyError, IndexDamagedError, IndexerError, IndexMismatchError, IndexMissingError, IndexWriteError
from .fusion import FusionModels
from .schema import Chunk, DocumentRecord

log = logging.getLogger(__name__)

FORMAT_VERSION = 5
MODELS_FILE = "ranker.json"
CURRENT = "CURRENT"
MANIFEST = "manifest.json"
#: files whose SHA-256 is checked on every load; larger ones are checked by size
#: (hashing a multi-GB vector file would add seconds to every start)
VERIFY_HASH_MAX_BYTES = 256 * 1024 * 1024

REBUILD_HINT = "rebuild it: python -m indexer build --corpus CORPUS_DIR --index {index}"


class ChunkStore(Sequence[Chunk]):
    """The chunks of an index, parsed from ``chunks.jsonl`` only when asked for.

    A million measures would take gigabytes as Python objects; the search
    needs a handful per query, so lines are located by offset in a
    memory-mapped file and parsed on access.
    """

    def __init__(self, path: Path, offsets: np.ndarray) -> None:
        self._offsets = offsets
        self._file = path.open("rb")
        size = path.stat().st_size
        self._map = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ) if size else b""

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, i):  # noqa: ANN001, ANN204 - int or slice, as Sequence allows
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        n = len(self)
        i = int(i)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(i)
        line = self._map[int(self._offsets[i]) : int(self._offsets[i + 1])]
        return Chunk.from_dict(json.loads(line))

    def __iter__(self) -> Iterator[Chunk]:
        return (self[i] for i in range(len(self)))


@dataclass(frozen=True)
class IndexData:
    """One loaded, verified index version (immutable once loaded)."""

    path: Path
    version: str
    manifest: dict[str, Any]
    chunks: Sequence[Chunk]
    dense: DenseIndex
    bm25: BM25Index
    bm25_title: BM25Index
    bm25_bigram: BM25Index
    #: vectors of every embedded text, float16 [n_units, dim]
    units: np.ndarray
    #: sentence unit ids of chunk i are sentence_units[sentence_offsets[i]:sentence_offsets[i+1]]
    sentence_units: np.ndarray
    sentence_offsets: np.ndarray
    #: unit id of chunk i's title, -1 where the title is only a label (第三条)
    title_units: np.ndarray
    #: index of the document of each chunk in ``doc_ids``
    chunk_doc: np.ndarray
    doc_ids: tuple[str, ...]
    #: index of each chunk's section heading in ``sections``
    chunk_section: np.ndarray
    sections: tuple[str, ...]
    #: unit id of each document's title, aligned with ``doc_ids``
    doc_title_units: np.ndarray
    #: the indexed documents, by doc_id, in index order
    documents: Mapping[str, DocumentRecord] = field(default_factory=dict)
    #: the ranker and calibrator stored with this version (None: rank fusion, no calibration)
    models: FusionModels | None = None

    @property
    def model_id(self) -> str:
        return str(self.manifest["encoder"]["model_id"])

    def nbytes(self) -> int:
        """Approximate memory held by the loaded arrays."""
        dense = self.dense.nbytes
        arrays = (
            self.units.nbytes + self.sentence_units.nbytes + self.sentence_offsets.nbytes + self.title_units.nbytes + self.chunk_doc.nbytes
        )
        return int(dense + arrays + self.bm25.nbytes + self.bm25_title.nbytes + self.bm25_bigram.nbytes)


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, read in blocks (index files, documents, model files)."""
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _fsync_tree(root: Path) -> None:
    for p in sorted(root.rglob("*")):
        if p.is_file():
            with p.open("rb") as fh:
                os.fsync(fh.fileno())
    fd = os.open(root, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_VERSION_NAME = re.compile(r"v-[0-9A-Za-z][0-9A-Za-z_-]{0,100}")


def current_version(index_dir: Path) -> str | None:
    """Name of the live version folder, or None when there is no index."""
    try:
        with (index_dir / CURRENT).open("rb") as fh:
            raw = fh.read(256)  # a version name is short; a huge or binary pointer is damage
        name = raw.decode("utf-8").strip()
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        name = ""
    except OSError as exc:
        raise IndexDamagedError(f"cannot read {index_dir / CURRENT} ({exc.strerror}); " + REBUILD_HINT.format(index=index_dir)) from None
    if not _VERSION_NAME.fullmatch(name):
        raise IndexDamagedError(f"{index_dir / CURRENT} is damaged; " + REBUILD_HINT.format(index=index_dir))
    return name


#: how long a build waits for another build of the same index folder before giving up
LOCK_TIMEOUT = 900.0
WAITING_MESSAGE = "另一个建索引进程正在运行，等待中…"


@contextlib.contextmanager
def build_lock(
    index_dir: Path, wait: bool = True, *, timeout: float = LOCK_TIMEOUT, on_wait: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold the index folder's build lock (one writer at a time).

    When another build holds it, say so (a warning, and ``on_wait`` with the
    message) and wait up to ``timeout`` seconds, then give up with
    :class:`IndexBusyError`.  ``wait=False`` gives up at once.
    """
    index_dir.mkdir(parents=True, exist_ok=True)
    with (index_dir / ".lock").open("a+") as fh:
        if not _try_lock(fh.fileno()):
            if not wait:
                raise IndexBusyError(f"another build is writing {index_dir} ({WAITING_MESSAGE.rstrip('…')}); wait for it to finish")
            message = f"{WAITING_MESSAGE}（{index_dir}，最多 {timeout:g} 秒）"
            log.warning("%s", message)
            if on_wait is not None:
                on_wait(WAITING_MESSAGE)  # shown to users: no server path in it
            deadline = time.monotonic() + timeout
            while not _try_lock(fh.fileno()):
                if time.monotonic() >= deadline:
                    raise IndexBusyError(
                        f"another build has been writing {index_dir} for over {timeout:g} s, so this one gave up "
                        "(另一个建索引进程仍在运行); wait until it has finished, then build again"
                    )
                time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextlib.contextmanager
def index_write_errors(index_dir: Path) -> Iterator[None]:
    """Turn an OSError while writing ``index_dir`` into a message saying what to do (:func:`write_error`)."""
    try:
        yield
    except OSError as exc:
        raise write_error(index_dir, exc) from None


def write_error(index_dir: Path, exc: OSError) -> IndexerError:
    """What to tell the user when the index folder cannot be written (instead of a bare OSError)."""
    code = exc.errno
    if code in (errno.ENOTDIR, errno.EEXIST) or (index_dir.exists() and not index_dir.is_dir()):
        return BadInputError(
            f"the index folder {index_dir} is a file (or inside one), not a folder; give a folder with --index", kind="index_not_folder"
        )
    if code in (errno.EACCES, errno.EPERM, errno.EROFS):
        why = "the file system is read-only" if code == errno.EROFS else "permission denied"
        return IndexWriteError(
            f"cannot write the index folder {index_dir} ({why}); choose a folder you can write with --index, or fix its permissions",
            kind="index_permission",
        )
    if code in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return IndexWriteError(
            f"the disk is full: the index in {index_dir} could not be written; free some space and build again "
            "(the previous index, if any, is unchanged)",
            kind="disk_full",
        )
    return IndexWriteError(
        f"cannot write the index in {index_dir} ({exc.strerror or exc.__class__.__name__}); check the folder and build again"
    )


def clean_leftovers(index_dir: Path, keep: int = 2) -> list[str]:
    """Remove temporary folders of interrupted builds and versions older than the last ``keep``.

    Call it with the build lock held.
    """
    removed = []
    try:
        live = current_version(index_dir)
    except IndexDamagedError:  # the build under way replaces the damaged pointer
        live = None
    for p in index_dir.glob(".tmp-*"):
        shutil.rmtree(p, ignore_errors=True)
        removed.append(p.name)
    with contextlib.suppress(FileNotFoundError):
        (index_dir / f"{CURRENT}.tmp").unlink()
    versions = sorted((p for p in index_dir.glob("v-*") if p.is_dir()), key=lambda p: p.name)
    stale = [p for p in versions if p.name != live][: max(0, len(versions) - keep)]
    for p in stale:
        shutil.rmtree(p, ignore_errors=True)
        removed.append(p.name)
    return removed


def models_record(models: FusionModels) -> dict[str, Any]:
    """What the manifest says about the models a version serves with."""
    return {
        "file": MODELS_FILE,
        "sha256": models.sha256 or hashlib.sha256(models.to_json()).hexdigest(),
        "encoder": models.encoder,
        "origin": models.origin,
        "features": list(models.ranker.features) if models.ranker is not None else [],
        "calibrator_features": list(models.calibrator.features) if models.calibrator is not None else [],
        # the associations table the ranker reads: "package" (indexer/data/associations.tsv) or the SHA-256 of its own
        "associations": table_for(models.associations).sha256 if models.associations else "package",
    }


class IndexWriter:
    """Writes one new index version into a temporary folder, then publishes it atomically."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        self.version = f"v-{stamp}-{uuid.uuid4().hex[:8]}"
        self.tmp = index_dir / f".tmp-{self.version}"
        self.tmp.mkdir(parents=True)

    def write(
        self,
        manifest: dict[str, Any],
        chunks: list[Chunk],
        tokens: list[list[list[str]]],
        units: np.ndarray,
        unit_keys: np.ndarray,
        sentence_units: np.ndarray,
        sentence_offsets: np.ndarray,
        title_units: np.ndarray,
        fingerprints: list[str],
        dense: DenseIndex,
        bm25: BM25Index,
        bm25_title: BM25Index,
        bm25_bigram: BM25Index,
        chunk_lines: Sequence[bytes | None] | None = None,
        models: FusionModels | None = None,
    ) -> None:
        """Write a complete version into the temporary folder.

        ``chunk_lines`` may give, for chunks taken over unchanged from the live
        index, their line of ``chunks.jsonl`` as it was written then.
        ``models`` are the ranker and calibrator the version serves with.
        """
        t = self.tmp
        offsets = [0]
        with (t / "chunks.jsonl").open("wb") as fh:
            for i, c in enumerate(chunks):
                line = chunk_lines[i] if chunk_lines is not None else None
                if line is None:
                    line = (json.dumps(c.to_dict(), ensure_ascii=False) + "\n").encode("utf-8")
                offsets.append(offsets[-1] + fh.write(line))
        doc_pos = {d: i for i, d in enumerate(manifest["documents"])}
        section_pos: dict[str, int] = {}
        section_id = [section_pos.setdefault(c.section, len(section_pos)) for c in chunks]
        np.savez(
            t / "chunk_index.npz",
            offsets=np.asarray(offsets, dtype=np.int64),
            chunk_doc=np.asarray([doc_pos[c.doc_id] for c in chunks], dtype=np.int32),
            chunk_section=np.asarray(section_id, dtype=np.int32),
            fingerprints=np.asarray(fingerprints, dtype="S40"),
        )
        (t / "sections.json").write_text(json.dumps(list(section_pos), ensure_ascii=False), encoding="utf-8")
        with (t / TOKENS_FILE).open("w", encoding="utf-8") as fh:
            fh.writelines(_token_line(fields) for fields in tokens)
        np.save(t / "units.npy", units.astype(np.float16))
        np.save(t / "unit_keys.npy", unit_keys)
        np.savez(t / "chunk_units.npz", sentence_units=sentence_units, sentence_offsets=sentence_offsets, title_units=title_units)
        dense.save(t / "dense.faiss")
        for name, bm in (("bm25", bm25), ("bm25_title", bm25_title), ("bm25_bigram", bm25_bigram)):
            (t / name).mkdir()
            bm.save(t / name)
        self._finish(manifest, models)

    def write_models(self, source: Path, manifest: dict[str, Any], models: FusionModels) -> None:
        """Write a version that is ``source`` (a version folder) served with other ``models``.

        The other files are hard-linked where the file system allows (versions
        are never modified once written), copied otherwise.
        """
        for p in sorted(source.rglob("*")):
            rel = p.relative_to(source)
            if rel.name in (MANIFEST, MODELS_FILE) and len(rel.parts) == 1:
                continue
            if p.is_dir():
                (self.tmp / rel).mkdir(parents=True, exist_ok=True)
                continue
            (self.tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(p, self.tmp / rel)
            except OSError:
                shutil.copy2(p, self.tmp / rel)
        self._finish({k: v for k, v in manifest.items() if k not in ("files", "version", "format_version")}, models)

    def _finish(self, manifest: dict[str, Any], models: FusionModels | None) -> None:
        t = self.tmp
        if models is not None:
            (t / MODELS_FILE).write_bytes(models.to_json())
        files = {}
        for p in sorted(t.rglob("*")):
            if p.is_file():
                files[str(p.relative_to(t))] = {"size": p.stat().st_size, "sha256": file_sha256(p)}
        manifest = {
            **manifest,
            "ranker": models_record(models) if models is not None else None,
            "format_version": FORMAT_VERSION,
            "version": self.version,
            "files": files,
        }
        (t / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")

    def publish(self) -> str:
        """Make the written version the live one; returns its name."""
        _fsync_tree(self.tmp)
        final = self.index_dir / self.version
        self.tmp.rename(final)
        pointer = self.index_dir / f"{CURRENT}.tmp"
        with pointer.open("w", encoding="utf-8") as fh:
            fh.write(self.version + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        pointer.replace(self.index_dir / CURRENT)
        fd = os.open(self.index_dir, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return self.version

    def abort(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def publish_models(index_dir: str | os.PathLike[str], models: FusionModels) -> str:
    """Publish a new version of the live index served with ``models``; returns its name.

    Everything but the models is the live version's, so a build that finished
    meanwhile is not undone.  Models fitted to another encoder are refused.
    """
    index_dir = Path(index_dir)
    with build_lock(index_dir):
        clean_leftovers(index_dir)
        version = current_version(index_dir)
        manifest = read_manifest(index_dir, version)
        assert version is not None
        built_with = manifest["encoder"].get("model_id")
        if models.encoder != built_with:
            raise IndexMismatchError(
                f"these ranking models were fitted to encoder '{models.encoder}', index {index_dir} was built with '{built_with}'; "
                "train them on this index"
            )
        verify_files(index_dir, version, manifest)
        writer = IndexWriter(index_dir)
        try:
            writer.write_models(index_dir / version, manifest, models)
            return writer.publish()
        except BaseException:
            writer.abort()
            raise


def read_manifest(index_dir: Path, version: str | None = None) -> dict[str, Any]:
    """The manifest of the live (or given) version, checked for format."""
    version = version or current_version(index_dir)
    if version is None:
        raise IndexMissingError(f"no index in {index_dir}; build one: python -m indexer build --corpus CORPUS_DIR --index {index_dir}")
    path = index_dir / version / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexDamagedError(
            f"index {index_dir} has no manifest ({path.name} missing); " + REBUILD_HINT.format(index=index_dir)
        ) from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):  # JSONDecodeError is a ValueError
        raise IndexDamagedError(f"index manifest {path} is damaged; " + REBUILD_HINT.format(index=index_dir)) from None
    if not isinstance(manifest, dict):
        raise IndexDamagedError(f"index manifest {path} is damaged (not a JSON object); " + REBUILD_HINT.format(index=index_dir))
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexMismatchError(
            f"index {index_dir} has format {manifest.get('format_version')!r}, "
            f"this version reads format {FORMAT_VERSION}; " + REBUILD_HINT.format(index=index_dir)
        )
    validate_manifest(manifest, path, index_dir)
    return manifest


def verify_files(index_dir: Path, version: str, manifest: dict[str, Any]) -> None:
    """Check every file the manifest lists: present, same size, same SHA-256 (small files)."""
    root = index_dir / version
    for name, meta in manifest["files"].items():
        p = root / name
        try:
            size = p.stat().st_size
        except FileNotFoundError:
            raise IndexDamagedError(f"index file {name} is missing from {root}; " + REBUILD_HINT.format(index=index_dir)) from None
        if size != meta["size"]:
            raise IndexDamagedError(
                f"index file {name} is damaged ({size} bytes, expected {meta['size']}); " + REBUILD_HINT.format(index=index_dir)
            )
        if size <= VERIFY_HASH_MAX_BYTES and file_sha256(p) != meta["sha256"]:
            raise IndexDamagedError(f"index file {name} is damaged (checksum differs); " + REBUILD_HINT.format(index=index_dir))


def load_index(index_dir: str | os.PathLike[str], *, model_id: str | None = None, segmenter_fingerprint: str | None = None) -> IndexData:
    """Load and verify the live index version.

    ``model_id`` / ``segmenter_fingerprint``, when given, must match what the
    index was built with; otherwise :class:`IndexMismatchError` says to rebuild.
    Damaged or missing files raise :class:`IndexDamagedError`.
    """
    index_dir = Path(index_dir)
    if not index_dir.is_dir():
        raise IndexMissingError(f"no index folder {index_dir}; build one: python -m indexer build --corpus CORPUS_DIR --index {index_dir}")
    version = current_version(index_dir)
    manifest = read_manifest(index_dir, version)
    assert version is not None
    built_with = manifest["encoder"].get("model_id")
    if model_id is not None and built_with != model_id:
        raise IndexMismatchError(
            f"index {index_dir} was built with encoder '{built_with}', not '{model_id}'; "
            f"search with --model {built_with}, or rebuild it with --model {model_id}"
        )
    if segmenter_fingerprint is not None and manifest["segmenter"].get("fingerprint") != segmenter_fingerprint:
        raise IndexMismatchError(f"index {index_dir} was built with another word dictionary; " + REBUILD_HINT.format(index=index_dir))
    verify_files(index_dir, version, manifest)
    root = index_dir / version
    try:
        ci = np.load(root / "chunk_index.npz")
        offsets, chunk_doc, chunk_section = ci["offsets"], ci["chunk_doc"], ci["chunk_section"]
        sections = tuple(json.loads((root / "sections.json").read_text(encoding="utf-8")))
        chunks = ChunkStore(root / "chunks.jsonl", offsets)
        units = np.load(root / "units.npy", mmap_mode="r")
        cu = np.load(root / "chunk_units.npz")
        sentence_units, sentence_offsets, title_units = cu["sentence_units"], cu["sentence_offsets"], cu["title_units"]
        dense = DenseIndex.load(root / "dense.faiss")
        bm25 = BM25Index.load(root / "bm25", mmap=True)
        bm25_title = BM25Index.load(root / "bm25_title", mmap=True)
        bm25_bigram = BM25Index.load(root / "bm25_bigram", mmap=True)
    except IndexerError:
        raise
    except Exception as exc:  # any parse failure of a file that passed the size check
        raise IndexDamagedError(
            f"index {root} cannot be read ({exc.__class__.__name__}); " + REBUILD_HINT.format(index=index_dir)
        ) from None
    n = len(chunks)
    dim = int(manifest["encoder"]["dim"])
    if (
        dense.ntotal != n
        or bm25.n_docs != n
        or bm25_title.n_docs != n
        or bm25_bigram.n_docs != n
        or (len(sentence_units) and int(sentence_offsets[-1]) != len(sentence_units))
        or (n and bool(np.any(np.diff(sentence_offsets) <= 0)))
        or (len(sentence_units) and int(sentence_units.max()) >= len(units))
        or len(title_units) != n
        or len(sentence_offsets) != n + 1
        or units.ndim != 2
        or units.shape[1] != dim
        or dense.dim != dim
        or manifest["counts"]["chunks"] != n
        or manifest["counts"]["units"] != len(units)
        or manifest["counts"]["sentences"] != len(sentence_units)
        or len(chunk_doc) != n
        or len(chunk_section) != n
        or (n and int(chunk_section.max()) >= len(sections))
        # values that index other arrays must point inside them (a negative one would silently wrap)
        or (len(sentence_units) and int(sentence_units.min()) < 0)
        or (n and (int(chunk_section.min()) < 0 or int(chunk_doc.min()) < 0))
        or (n and (int(title_units.min()) < -1 or int(title_units.max()) >= len(units)))
        or (n and int(sentence_offsets[0]) != 0)
        or (n and int(offsets[-1]) != manifest["files"]["chunks.jsonl"]["size"])
    ):
        raise IndexDamagedError(
            f"index {root} is inconsistent (parts disagree on the number of chunks); " + REBUILD_HINT.format(index=index_dir)
        )
    models = _load_models(index_dir, root, manifest)
    doc_ids = tuple(manifest["documents"])
    try:
        if n and int(chunk_doc.max()) >= len(doc_ids):
            raise KeyError("chunk of an unlisted document")
        doc_title_units = np.array([int(manifest["doc_title_units"][d]) for d in doc_ids], dtype=np.int64)
    except (KeyError, TypeError, ValueError):
        raise IndexDamagedError(f"index {root} has chunks of an unlisted document; " + REBUILD_HINT.format(index=index_dir)) from None
    return IndexData(
        path=index_dir,
        version=version,
        manifest=manifest,
        chunks=chunks,
        dense=dense,
        bm25=bm25,
        bm25_title=bm25_title,
        bm25_bigram=bm25_bigram,
        units=units,
        sentence_units=sentence_units,
        sentence_offsets=sentence_offsets,
        title_units=title_units,
        chunk_doc=chunk_doc,
        doc_ids=doc_ids,
        chunk_section=chunk_section,
        sections=sections,
        doc_title_units=doc_title_units,
        documents={d: DocumentRecord.from_manifest(d, m) for d, m in manifest["documents"].items()},
        models=models,
    )


def _load_models(index_dir: Path, root: Path, manifest: dict[str, Any]) -> FusionModels | None:
    """The models a version serves with, checked against the manifest and its encoder."""
    record = manifest.get("ranker")
    if record is None:
        return None
    try:
        models = FusionModels.load(root / str(record["file"]))
    except (OSError, KeyError, TypeError, ValueError):
        raise IndexDamagedError(f"the ranking models of index {root} cannot be read; " + REBUILD_HINT.format(index=index_dir)) from None
    if models.sha256 != record.get("sha256"):
        raise IndexDamagedError(
            f"the ranking models of index {root} are damaged (checksum differs); " + REBUILD_HINT.format(index=index_dir)
        )
    built_with = manifest["encoder"].get("model_id")
    if models.encoder != built_with:
        raise IndexMismatchError(
            f"index {index_dir} was built with encoder '{built_with}' but its ranking models were fitted to '{models.encoder}'; "
            f"rebuild it, or retrain them: python -m indexer train --queries TSV --unanswerable TSV --index {index_dir}"
        )
    return models


TOKENS_FILE = "tokens.tsv"
_NO_CACHE = "\x00\n"


def _token_line(fields: Sequence[Sequence[str]]) -> str:
    """One chunk's token lists as a line.

    Tokens never hold whitespace (the segmenter drops it); should one ever, or
    be empty, the line could not be split back exactly, so that chunk is just
    not cached.
    """
    joined = [" ".join(f) for f in fields]
    for j, f in zip(joined, fields, strict=True):
        if f and (j.count(" ") != len(f) - 1 or "" in f or "\t" in j or "\n" in j):
            return _NO_CACHE
    return "\t".join(joined) + "\n"


def _read_tokens(root: Path) -> list[list[list[str]] | None]:
    if not (root / TOKENS_FILE).exists():  # written before tokens.tsv: JSON lines
        with (root / "tokens.jsonl").open(encoding="utf-8") as fh:
            return [json.loads(line) for line in fh]
    out: list[list[list[str]] | None] = []
    with (root / TOKENS_FILE).open(encoding="utf-8") as fh:
        for line in fh:
            out.append(None if line == _NO_CACHE else [f.split(" ") if f else [] for f in line.rstrip("\n").split("\t")])
    return out


@dataclass(frozen=True)
class Reusable:
    """What a build can take over from the live index instead of recomputing it."""

    #: embeddings by text key
    vectors: dict[bytes, np.ndarray] = field(default_factory=dict)
    #: BM25 tokens by "segmenter fingerprint:chunk fingerprint"
    tokens: dict[str, list[Any]] = field(default_factory=dict)
    #: the live version's manifest ({} when there is none)
    manifest: dict[str, Any] = field(default_factory=dict)
    #: the live version's chunks with their lines of chunks.jsonl, by document (only when its format is this one)
    chunks: dict[str, list[tuple[Chunk, bytes]]] = field(default_factory=dict)


def _intact(root: Path, manifest: dict[str, Any], names: Iterable[str]) -> bool:
    """True when each of ``names`` is listed in the manifest and has the recorded size and SHA-256.

    As in :func:`verify_files`, files above ``VERIFY_HASH_MAX_BYTES`` are checked by size only.
    """
    files = manifest.get("files")
    if not isinstance(files, dict):
        return False
    for name in names:
        meta = files.get(name)
        try:
            if not isinstance(meta, dict) or (size := (root / name).stat().st_size) != meta["size"]:
                return False
            if size <= VERIFY_HASH_MAX_BYTES and file_sha256(root / name) != meta["sha256"]:
                return False
        except (OSError, KeyError, TypeError):
            return False
    return True


def _versions_newest_first(index_dir: Path, live: str | None) -> list[str]:
    others = sorted((p.name for p in index_dir.glob("v-*") if p.is_dir() and p.name != live), reverse=True)
    return ([live] if live else []) + others


def load_reusable(index_dir: Path, model_id: str, dim: int) -> Reusable:
    """Embeddings, BM25 tokens and chunks of earlier index versions, for reuse.

    Every file is verified on its own against its version's manifest (size
    and SHA-256), so one damaged file (say ``dense.faiss``) costs only what
    it holds: embeddings come from every version built with the same encoder
    whose vector files are intact (the live one first, then older ones), also
    from an earlier format version (a format change must not cost a full
    re-embedding); tokens and chunks from the live version when their files
    are intact and of this format.  Returns empty maps when there is nothing
    usable: a build then simply embeds everything.
    """
    try:
        live = current_version(index_dir)
    except IndexerError:
        live = None  # a damaged pointer: the versions themselves may still be intact
    vectors: dict[bytes, np.ndarray] = {}
    tokens: dict[str, list[Any]] = {}
    chunks: dict[str, list[tuple[Chunk, bytes]]] = {}
    live_manifest: dict[str, Any] = {}
    for version in _versions_newest_first(index_dir, live) if index_dir.is_dir() else []:
        root = index_dir / version
        try:
            manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
            validate_manifest(manifest, root / MANIFEST, index_dir, require_current_format=False)
            if manifest["encoder"].get("model_id") != model_id or int(manifest["encoder"].get("dim", -1)) != dim:
                continue
            if version == live:
                live_manifest = manifest
            if _intact(root, manifest, ("units.npy", "unit_keys.npy")):
                keys = np.load(root / "unit_keys.npy")
                units = np.load(root / "units.npy")
                if units.ndim != 2 or units.shape[1] != dim or len(keys) != len(units):
                    raise ValueError("vector files do not match")
                # numpy's S20 drops trailing NUL bytes on read: pad back to the 20-byte SHA-1, or
                # one key in 256 would never match and its text would be embedded on every build
                for i, k in enumerate(keys):
                    vectors.setdefault(bytes(k).ljust(20, b"\x00"), units[i])
            else:
                log.warning("vectors of index version %s are damaged; not reused", version)
            fingerprint = manifest.get("segmenter", {}).get("fingerprint")
            token_file = TOKENS_FILE if TOKENS_FILE in manifest.get("files", {}) else "tokens.jsonl"
            if (
                version == live
                and manifest.get("format_version") == FORMAT_VERSION
                and fingerprint
                and _intact(root, manifest, ("chunk_index.npz", "chunks.jsonl", token_file))
            ):
                validate_manifest(manifest, root / MANIFEST, index_dir)  # its documents are read with the chunks
                fps = [f.decode() for f in np.load(root / "chunk_index.npz")["fingerprints"]]
                for fp, toks in zip(fps, _read_tokens(root), strict=False):
                    if toks is not None:
                        tokens[f"{fingerprint}:{fp}"] = toks
                with (root / "chunks.jsonl").open("rb") as fb:
                    for raw in fb:
                        c = Chunk.from_dict(json.loads(raw))
                        chunks.setdefault(c.doc_id, []).append((c, raw))
        except (IndexerError, OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            log.warning("index version %s in %s not reused (%s)", version, index_dir, exc)
    return Reusable(vectors, tokens, live_manifest, chunks)


# --------------------------------------------------------------------------- manifest schema
#
# A manifest is checked field by field before any value is used: a wrong type
# or an out-of-range number must be "damaged, rebuild", never an IndexError or
# OverflowError deep inside a search.  Keys this code does not know are allowed
# (later versions add some); the ones it reads must be right.

_MAX_COUNT = 2**40
_SHA256 = re.compile(r"[0-9a-f]{64}")


class _Invalid(Exception):
    pass


def _int(value: Any, where: str, low: int = 0, high: int = _MAX_COUNT) -> int:
    if type(value) is not int or not low <= value <= high:  # bool, float, huge numbers all refused
        raise _Invalid(f"{where} must be a whole number from {low} to {high}, not {str(value)[:40]!r}")
    return value


def _str(value: Any, where: str, empty: bool = True) -> str:
    if not isinstance(value, str) or (not empty and not value):
        raise _Invalid(f"{where} must be {'a' if empty else 'a non-empty'} string")
    return value


def _dict(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Invalid(f"{where} must be an object")
    return value


def _file_name(name: str) -> bool:
    parts = name.split("/")
    return bool(name) and "\x00" not in name and "\\" not in name and not name.startswith("/") and ".." not in parts and "" not in parts


def validate_manifest(manifest: Any, path: Path, index_dir: Path, *, require_current_format: bool = True) -> None:
    """Check every manifest field this code reads: types, ranges and that the counts agree.

    Raises :class:`IndexDamagedError` with the message to rebuild.  The array
    lengths are compared with the files themselves in :func:`load_index`.
    """
    try:
        _check_manifest(_dict(manifest, "the manifest"), require_current_format)
    except _Invalid as exc:
        raise IndexDamagedError(f"index manifest {path} is damaged ({exc}); " + REBUILD_HINT.format(index=index_dir)) from None


def _check_manifest(m: dict[str, Any], require_current_format: bool) -> None:
    # an older format is only read for its vectors: encoder and files
    for key in ("encoder", "segmenter", "documents", "files", "counts") if require_current_format else ("encoder", "files"):
        if key not in m:
            raise _Invalid(f"it lacks '{key}'")
    encoder = _dict(m["encoder"], "encoder")
    _str(encoder.get("model_id"), "encoder.model_id", empty=False)
    _int(encoder.get("dim"), "encoder.dim", 1, 65536)
    if "spec" in encoder and encoder["spec"] is not None:
        _str(encoder["spec"], "encoder.spec")
    _check_files(_dict(m["files"], "files"))
    if not require_current_format:
        return
    _str(m.get("version"), "version", empty=False)
    segmenter = _dict(m["segmenter"], "segmenter")
    if "fingerprint" in segmenter:
        _str(segmenter["fingerprint"], "segmenter.fingerprint")
    for key in ("parser", "dense"):
        if key in m:
            for k, v in _dict(m[key], key).items():
                _str(v, f"{key}.{k}")
    counts = _dict(m["counts"], "counts")
    for key in ("documents", "chunks", "sentences", "units"):
        _int(counts.get(key), f"counts.{key}")
    documents = _dict(m["documents"], "documents")
    chunks = 0
    for doc_id, doc in documents.items():
        doc = _dict(doc, f"documents[{doc_id}]")
        for key in ("title", "source", "date", "path", "fmt", "content_hash", "scheme"):
            if key in doc:
                _str(doc[key], f"documents[{doc_id}].{key}")
        for key in ("warnings", "load_warnings"):
            if key in doc and not (isinstance(doc[key], list) and all(isinstance(w, str) for w in doc[key])):
                raise _Invalid(f"documents[{doc_id}].{key} must be a list of strings")
        if "chunks" in doc:
            chunks += _int(doc["chunks"], f"documents[{doc_id}].chunks")
    if counts["documents"] != len(documents):
        raise _Invalid(f"counts.documents is {counts['documents']} but {len(documents)} documents are listed")
    if all("chunks" in d for d in documents.values()) and chunks != counts["chunks"]:
        raise _Invalid(f"counts.chunks is {counts['chunks']} but the documents hold {chunks}")
    titles = _dict(m.get("doc_title_units"), "doc_title_units")
    if set(titles) != set(documents):
        raise _Invalid("doc_title_units does not list the same documents")
    for doc_id, unit in titles.items():
        _int(unit, f"doc_title_units[{doc_id}]", 0, max(0, counts["units"] - 1))
    if "skipped" in m and not (isinstance(m["skipped"], list) and all(isinstance(x, dict) for x in m["skipped"])):
        raise _Invalid("skipped must be a list of objects")
    for key in ("thesaurus", "dictionary"):
        if key in m:
            _sha256_field(_dict(m[key], key).get("sha256"), f"{key}.sha256")
    if m.get("ranker") is not None:
        ranker = _dict(m["ranker"], "ranker")
        if ranker.get("file") != MODELS_FILE or MODELS_FILE not in m["files"]:
            raise _Invalid(f"ranker.file must be {MODELS_FILE}, listed in files")
        _sha256_field(ranker.get("sha256"), "ranker.sha256")
        _str(ranker.get("encoder"), "ranker.encoder", empty=False)
        _str(ranker.get("origin"), "ranker.origin")


def _sha256_field(value: Any, where: str) -> None:
    if not isinstance(value, str) or not _SHA256.fullmatch(value):
        raise _Invalid(f"{where} must be a SHA-256 in hex")


def _check_files(files: dict[str, Any]) -> None:
    for name, meta in files.items():
        if not _file_name(name):
            raise _Invalid(f"file name {name[:60]!r} is not inside the index")
        meta = _dict(meta, f"files[{name}]")
        _int(meta.get("size"), f"files[{name}].size")
        if not isinstance(meta.get("sha256"), str) or not _SHA256.fullmatch(meta["sha256"]):
            raise _Invalid(f"files[{name}].sha256 must be a SHA-256 in hex")
