"""Building the index from a corpus folder: load, chunk, embed (reusing), index, publish.

What is embedded, per measure: each sentence (its number label stripped), and
the measure title where it is a real title (reform plans, notices), plus each
document title.  The measure vector is the mean of its sentence vectors, so the
measure text is not embedded a second time; this halves the encoder's work at
no measured loss (see README, "Retrieval quality").

Every embedded text is keyed by its SHA-1: a text already in the previous
index (same encoder) is reused, and a text that occurs twice (本规定自公布之日起
施行。) is embedded once.  Changing one document therefore re-embeds only that
document's new sentences.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .associations import check_fitted_with, table_for
from .bm25 import BM25Index
from .chunking import Coverage, segment_document
from .corpus import Library
from .dense import DenseIndex
from .encoders import DEFAULT_MODEL, Encoder, get_encoder
from .errors import BadInputError, IndexerError
from .fusion import FusionModels, default_models
from .loading import Skipped, file_key, formats_label, load_corpus, load_document
from .query import thesaurus_sha256
from .schema import Chunk, Document, DocumentRecord
from .segmentation import Segmenter, default_segmenter
from .signals import check_signals
from .store import (
    LOCK_TIMEOUT,
    MODELS_FILE,
    IndexWriter,
    build_lock,
    clean_leftovers,
    current_version,
    index_write_errors,
    load_reusable,
    read_manifest,
    write_error,
)
from .units import char_bigrams, chunk_fingerprint, chunk_tokens, sentence_texts, text_key, title_text

log = logging.getLogger(__name__)

#: texts per encoder call: small enough for a smooth progress bar, large enough to keep both cores busy
EMBED_BATCH = 32

ProgressFn = Callable[[int, int, str], None]


@dataclass(frozen=True)
class BuildReport:
    """What a build did."""

    index_dir: str
    version: str
    up_to_date: bool
    documents: int
    chunks: int
    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    texts_embedded: int = 0
    texts_reused: int = 0
    tokens_embedded: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0
    cleaned: tuple[str, ...] = field(default_factory=tuple)
    #: documents with body text in no chunk: (doc_id, paragraphs, characters)
    unchunked: tuple[tuple[str, int, int], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index_dir,
            "version": self.version,
            "up_to_date": self.up_to_date,
            "documents": self.documents,
            "chunks": self.chunks,
            "added": list(self.added),
            "changed": list(self.changed),
            "removed": list(self.removed),
            "skipped": [s.to_dict() for s in self.skipped],
            "texts_embedded": self.texts_embedded,
            "texts_reused": self.texts_reused,
            "tokens_embedded": self.tokens_embedded,
            "seconds": round(self.seconds, 3),
            "embed_seconds": round(self.embed_seconds, 3),
            "unchunked": [{"doc_id": d, "paragraphs": p, "chars": c} for d, p, c in self.unchunked],
        }


def corpus_state(library: Library, manifest: dict[str, Any]) -> tuple[list[Document], list[Skipped]]:
    """The library's documents and skipped files, as the next build would index them after the index ``manifest``.

    Files the index holds keep their doc_ids (see :func:`load_corpus`), and
    unchanged ones are not parsed again.
    """
    result = load_corpus(library.roots(), _known_documents(manifest), ids=_previous_ids(manifest, library), hidden=library.hidden())
    return list(result.documents), list(result.skipped)


def _previous_ids(manifest: dict[str, Any], library: Library) -> dict[str, str]:
    """The file (:func:`file_key`) of each document of an index, to its doc_id."""
    out = {}
    for doc_id, r in _records(manifest).items():
        with contextlib.suppress(TypeError, ValueError, OSError):
            where = _record_key(r) or library.locate(r.path)
            if where is not None:
                out[file_key(*where)] = doc_id
    return out


def _record_key(record: DocumentRecord) -> tuple[int, str] | None:
    if record.file and record.root in ROOT_NAMES:
        return ROOT_NAMES.index(record.root), record.file
    return None


#: how the manifest names the library's folders (Library.roots() order)
ROOT_NAMES = ("corpus", "data")


def _skip_keys(skipped: Iterable[Skipped | dict[str, Any]]) -> set[tuple[str, str]]:
    return {(s.path, s.kind) if isinstance(s, Skipped) else (str(s.get("path")), str(s.get("kind"))) for s in skipped}


@functools.cache
def parser_fingerprint() -> str:
    """Identifies the code that turns files into chunks (loading, chunking, their data types).

    Documents and chunks kept in an index are only reused by a build running
    the same code; any change to it re-reads every file.
    """
    from . import chunking, docxtext, limits, loading, numerals, schema

    h = hashlib.sha256()
    for module in (loading, docxtext, limits, chunking, numerals, schema):
        h.update(Path(module.__file__).read_bytes())
    return h.hexdigest()[:16]


def _known_documents(manifest: dict[str, Any]) -> dict[str, Document]:
    """The documents an index was built from, by content hash, when this code built it.

    They come without their paragraphs: an unchanged file's chunks are taken
    from the index, not cut again.
    """
    if not manifest or manifest.get("parser", {}).get("fingerprint") != parser_fingerprint():
        return {}
    return {r.content_hash: r.document() for r in _records(manifest).values()}


def _records(manifest: dict[str, Any]) -> dict[str, DocumentRecord]:
    return {d: DocumentRecord.from_manifest(d, m) for d, m in manifest.get("documents", {}).items()}


def _previous_manifest(index_dir: Path) -> dict[str, Any]:
    try:
        return read_manifest(index_dir) if current_version(index_dir) else {}
    except Exception:  # damaged or old: nothing to reuse
        return {}


def is_stale(corpus_dir: str | Path, index_dir: str | Path, model: str | None = None, *, data_dir: str | Path | None = None) -> bool:
    """True when the index is missing or does not match the library (documents, their content, files it cannot read)."""
    index_dir = Path(index_dir)
    try:
        manifest = read_manifest(index_dir)
    except Exception:  # missing, damaged or old: all mean "build it"
        return True
    if model is not None and manifest["encoder"].get("model_id") != get_encoder(model).model_id:
        return True
    model_id = manifest["encoder"].get("model_id")
    if not _same_setup(manifest, model_id, default_segmenter(), _choose_models(index_dir, manifest, model_id, force=False)):
        return True
    docs, skipped = corpus_state(Library.of(corpus_dir, data_dir), manifest)
    have = {d: r.content_hash for d, r in _records(manifest).items()}
    return have != {d.doc_id: d.content_hash for d in docs} or _skip_keys(skipped) != _skip_keys(manifest.get("skipped", ()))


def build_index(
    corpus_dir: str | Path,
    index_dir: str | Path,
    model: str | None = None,
    *,
    progress: bool = False,
    on_progress: ProgressFn | None = None,
    force: bool = False,
    encoder: Encoder | None = None,
    lock_timeout: float = LOCK_TIMEOUT,
    data_dir: str | Path | None = None,
) -> BuildReport:
    """Build (or update) the index of ``corpus_dir`` (and the user's documents in ``data_dir``) in ``index_dir``.

    Unchanged texts are not embedded again; when nothing changed at all (the
    same documents, and the same files that cannot be read) the live index is
    kept and the report says ``up_to_date``.  The new version is published
    atomically: readers see the old index or the new one, never a mix.

    While another build writes the same folder this one waits (saying so, also
    through ``on_progress`` as stage 另一个建索引进程正在运行，等待中…) for up to
    ``lock_timeout`` seconds.  An index folder that cannot be written (a file,
    no permission, a full disk) is a one-line error saying what to do.
    """
    t0 = time.perf_counter()
    corpus_dir, index_dir = Path(corpus_dir), Path(index_dir)
    if index_dir.exists() and not index_dir.is_dir():
        raise write_error(index_dir, NotADirectoryError(20, "Not a directory", str(index_dir)))
    segmenter = default_segmenter()
    seen = _previous_manifest(index_dir)
    if encoder is None:
        encoder = get_encoder(model or seen.get("encoder", {}).get("spec") or DEFAULT_MODEL)
    # unchanged files (same bytes, same code) are not parsed again; _build takes their chunks from the index
    library = Library.of(corpus_dir, data_dir)
    docs, skipped = corpus_state(library, seen)
    if not docs:
        reasons = f" ({len(skipped)} files skipped: {skipped[0].path}: {skipped[0].reason}…)" if skipped else ""
        raise BadInputError(f"no readable documents in {corpus_dir}{reasons}; add {formats_label()} files", kind="no_documents")

    def waiting(message: str) -> None:
        if on_progress:
            on_progress(0, 0, message)

    # an OSError from here on is about the index folder (unreadable corpus files were skipped above)
    with index_write_errors(index_dir), build_lock(index_dir, timeout=lock_timeout, on_wait=waiting):
        cleaned = clean_leftovers(index_dir)
        previous: dict[str, Any] = {}
        try:
            previous = read_manifest(index_dir) if current_version(index_dir) else {}
        except Exception as exc:  # a damaged index is simply replaced
            log.warning("existing index in %s is not usable (%s); building a new one", index_dir, exc)
        prev_docs = _records(previous)
        new_hashes = {d.doc_id: d.content_hash for d in docs}
        added = tuple(d for d in new_hashes if d not in prev_docs)
        changed = tuple(d for d in new_hashes if d in prev_docs and prev_docs[d].content_hash != new_hashes[d])
        removed = tuple(d for d in prev_docs if d not in new_hashes)
        models = _choose_models(index_dir, previous, encoder.model_id, force)
        same_skips = _skip_keys(skipped) == _skip_keys(previous.get("skipped", ()))
        if _same_setup(previous, encoder.model_id, segmenter, models) and not (added or changed or removed) and same_skips and not force:
            chunks_n = int(previous["counts"]["chunks"])
            return BuildReport(
                str(index_dir),
                previous["version"],
                True,
                len(docs),
                chunks_n,
                skipped=tuple(skipped),
                cleaned=tuple(cleaned),
                unchunked=_flagged(prev_docs),
            )
        return _build(
            library, index_dir, docs, skipped, encoder, segmenter, models, (added, changed, removed), progress, on_progress, t0, cleaned
        )


def _same_setup(previous: dict[str, Any], model_id: str, segmenter: Segmenter, models: FusionModels | None) -> bool:
    """Whether the index was built with this encoder, dictionary, thesaurus, parsing code and ranking models."""
    if not previous or previous["encoder"].get("model_id") != model_id:
        return False
    if previous["segmenter"].get("fingerprint") != segmenter.fingerprint:
        return False
    if previous.get("thesaurus", {}).get("sha256") != thesaurus_sha256():
        return False
    if previous.get("parser", {}).get("fingerprint") != parser_fingerprint():
        return False  # new loading or chunking code re-reads the files (their embeddings are reused)
    record = previous.get("ranker")
    return (record or {}).get("sha256") == (models.sha256 if models is not None else None)


def _choose_models(index_dir: Path, previous: dict[str, Any], model_id: str, force: bool) -> FusionModels | None:
    """The ranking models a new version serves with.

    Models trained for this index (``python -m indexer train``) are kept by
    later builds as long as they suit the encoder and the signals this code
    computes; otherwise, and on a forced rebuild, the package's default models
    for the encoder.  Without either, results are ranked by rank fusion and the
    found/not-found decision falls back to word coverage.
    """
    record = previous.get("ranker") or {}
    if not force and record.get("origin") == "trained" and record.get("encoder") == model_id:
        try:
            models = FusionModels.load(index_dir / previous["version"] / MODELS_FILE)
            if models.ranker is not None:
                check_signals(models.ranker.features)
                check_fitted_with(models.ranker.features, models.ranker.info, table_for(models.associations), "the trained ranker")
            return models
        except (OSError, ValueError, KeyError, IndexerError) as exc:
            log.warning("the trained ranking models of %s are not kept (%s); using the package's defaults", index_dir, exc)
    return default_models(model_id)


def _build(
    library: Library,
    index_dir: Path,
    docs: list[Document],
    skipped: list[Skipped],
    encoder: Encoder,
    segmenter: Segmenter,
    models: FusionModels | None,
    delta: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]],
    progress: bool,
    on_progress: ProgressFn | None,
    t0: float,
    cleaned: list[str],
) -> BuildReport:
    if models is None:
        log.warning(
            "no ranking models ship for encoder '%s': results are ranked by rank fusion until you train some "
            "(python -m indexer train --queries TSV --unanswerable TSV --index %s)",
            encoder.model_id,
            index_dir,
        )
    reusable = load_reusable(index_dir, encoder.model_id, encoder.dim)
    reuse_vectors, reuse_tokens = reusable.vectors, reusable.tokens
    prev = reusable.manifest
    same_parser = bool(reusable.chunks) and prev.get("parser", {}).get("fingerprint") == parser_fingerprint()
    prev_docs = _records(prev) if same_parser else {}
    chunks: list[Chunk] = []
    chunk_lines: list[bytes | None] = []
    records: dict[str, DocumentRecord] = {}
    for i, doc in enumerate(docs):
        old = prev_docs.get(doc.doc_id)
        kept = reusable.chunks.get(doc.doc_id, [])
        if old is not None and old.content_hash == doc.content_hash and len(kept) == old.chunks and old.coverage:
            doc_chunks, scheme = [c for c, _ in kept], old.scheme
            coverage = Coverage.from_dict(dict(old.coverage))
            chunk_lines.extend(line for _, line in kept)
        else:
            if not doc.paragraphs:  # known when the files were scanned, gone from the live index since
                doc = docs[i] = load_document(doc.path, doc.doc_id)
            layout = segment_document(doc)
            doc_chunks, scheme, coverage = list(layout.chunks), layout.scheme, Coverage.of(doc, layout)
            chunk_lines.extend([None] * len(doc_chunks))
        chunks.extend(doc_chunks)
        where = library.locate(doc.path)
        notes = (coverage.warning,) if coverage.flagged else ()
        record = DocumentRecord.of(doc, scheme, len(doc_chunks), coverage.measures, coverage.to_dict(), notes)
        # where the file is, relative to its folder: removal and stable ids survive moving the library
        records[doc.doc_id] = dataclasses.replace(record, root=ROOT_NAMES[where[0]], file=where[1]) if where else record

    # --- what must be embedded: unique texts, in first-seen order
    unit_index: dict[bytes, int] = {}
    unit_texts: list[str] = []

    def unit(text: str) -> int:
        k = text_key(text)
        if k not in unit_index:
            unit_index[k] = len(unit_texts)
            unit_texts.append(text)
        return unit_index[k]

    sentence_units: list[int] = []
    sentence_offsets = [0]
    title_units: list[int] = []
    for c in chunks:
        sentence_units.extend(unit(s) for s in sentence_texts(c))
        sentence_offsets.append(len(sentence_units))
        t = title_text(c)
        title_units.append(unit(t) if t else -1)
    doc_title_units = {d.doc_id: unit(d.title) for d in docs}
    keys = list(unit_index)
    vectors = np.zeros((len(keys), encoder.dim), dtype=np.float32)
    todo = []
    for i, k in enumerate(keys):
        v = reuse_vectors.get(k)
        if v is not None:
            vectors[i] = v
        else:
            todo.append(i)
    embed_seconds, tokens_embedded = _embed(encoder, unit_texts, todo, vectors, progress, on_progress)
    # vectors are stored as float16; derive everything from the stored values so a
    # rebuild that reuses them produces exactly the same index
    vectors = vectors.astype(np.float16).astype(np.float32)

    # --- lexical
    # words, title words and character pairs of unchanged chunks come from the previous index
    tokens: list[list[str]] = []
    title_tokens: list[list[str]] = []
    bigrams: list[list[str]] = []
    fingerprints = []
    for c in chunks:
        fp = chunk_fingerprint(c)
        fingerprints.append(fp)
        cached = reuse_tokens.get(f"{segmenter.fingerprint}:{fp}")
        if cached and len(cached) == 3:
            body, title, pairs = cached
        elif cached and len(cached) == 2:  # an index written before pairs were cached
            body, title, pairs = cached[0], cached[1], char_bigrams(c.body)
        else:
            (body, title), pairs = chunk_tokens(segmenter, c), char_bigrams(c.body)
        tokens.append(body)
        title_tokens.append(title)
        bigrams.append(pairs)
    bm25 = BM25Index.build(tokens)
    bm25_title = BM25Index.build(title_tokens)
    bm25_bigram = BM25Index.build(bigrams)

    # --- dense: the measure vector is the mean of its sentence vectors
    su = np.asarray(sentence_units, dtype=np.int64)
    so = np.asarray(sentence_offsets, dtype=np.int64)
    measure = np.zeros((len(chunks), encoder.dim), dtype=np.float32)
    if len(chunks):
        import scipy.sparse as sp

        # rows: chunks, columns: embedded texts, one entry per sentence; one sparse product sums
        # each chunk's sentence vectors (np.add.reduceat over a gathered copy took ~0.7 s at 12k chunks)
        members = sp.csr_matrix((np.ones(len(su), dtype=np.float32), su, so), shape=(len(chunks), len(vectors)))
        sums = np.asarray(members @ vectors)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        norms[norms == 0] = 1
        measure = sums / norms
    dense = DenseIndex.build(measure)

    manifest = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "corpus": str(library.samples),
        "data": str(library.data) if library.data is not None else None,
        # the weights' hashes (source model, fine-tuned adapter) where the encoder reports them
        "encoder": {"model_id": encoder.model_id, "spec": _spec_of(encoder), "dim": encoder.dim, **getattr(encoder, "fingerprint", {})},
        "segmenter": {"fingerprint": segmenter.fingerprint},
        "dictionary": {"sha256": segmenter.dictionary_sha256},
        "thesaurus": {"sha256": thesaurus_sha256()},
        "parser": {"fingerprint": parser_fingerprint()},
        "dense": {"kind": dense.kind},
        "counts": {"documents": len(docs), "chunks": len(chunks), "sentences": len(su), "units": len(keys)},
        "documents": {d: r.to_manifest() for d, r in records.items()},
        "doc_title_units": doc_title_units,
        "skipped": [s.to_dict() for s in skipped],
    }
    writer = IndexWriter(index_dir)
    try:
        writer.write(
            manifest=manifest,
            chunks=chunks,
            tokens=[[b, t, g] for b, t, g in zip(tokens, title_tokens, bigrams, strict=True)],
            chunk_lines=chunk_lines,
            units=vectors,
            unit_keys=np.frombuffer(b"".join(keys), dtype="S20") if keys else np.zeros(0, dtype="S20"),
            sentence_units=su.astype(np.int32),
            sentence_offsets=so,
            title_units=np.asarray(title_units, dtype=np.int32),
            fingerprints=fingerprints,
            dense=dense,
            bm25=bm25,
            bm25_title=bm25_title,
            bm25_bigram=bm25_bigram,
            models=models,
        )
        version = writer.publish()
    except BaseException:
        writer.abort()
        raise
    added, changed, removed = delta
    return BuildReport(
        index_dir=str(index_dir),
        version=version,
        up_to_date=False,
        documents=len(docs),
        chunks=len(chunks),
        added=added,
        changed=changed,
        removed=removed,
        skipped=tuple(skipped),
        texts_embedded=len(todo),
        texts_reused=len(keys) - len(todo),
        tokens_embedded=tokens_embedded,
        seconds=time.perf_counter() - t0,
        embed_seconds=embed_seconds,
        cleaned=tuple(cleaned),
        unchunked=_flagged(records),
    )


def _flagged(records: Mapping[str, DocumentRecord]) -> tuple[tuple[str, int, int], ...]:
    """(doc_id, paragraphs, characters) of each document whose body text is partly in no chunk."""
    out = []
    for doc_id, r in records.items():
        if r.coverage and (cov := Coverage.from_dict(dict(r.coverage))).flagged:
            out.append((doc_id, cov.lost_paragraphs, cov.lost_chars))
    return tuple(out)


def _spec_of(encoder: Encoder) -> str:
    mid = encoder.model_id
    if getattr(encoder, "spec", None):
        return str(encoder.spec)
    return "hash-" + str(encoder.dim) if mid.startswith("hash") else mid


def _embed(
    encoder: Encoder,
    texts: list[str],
    todo: list[int],
    out: np.ndarray,
    progress: bool,
    on_progress: ProgressFn | None,
) -> tuple[float, int]:
    """Embed ``texts[i]`` for i in ``todo`` into ``out``; returns (seconds, tokens)."""
    if not todo:
        if on_progress:
            on_progress(0, 0, "nothing to embed")
        return 0.0, 0
    from tqdm import tqdm

    # longest first: the bar's ETA is pessimistic early rather than optimistic
    order = sorted(todo, key=lambda i: -len(texts[i]))
    bar = tqdm(total=len(order), unit="text", desc="embedding", disable=not progress, smoothing=0.05, mininterval=0.5)
    t = time.perf_counter()
    tokens = 0
    try:
        for start in range(0, len(order), EMBED_BATCH):
            batch = order[start : start + EMBED_BATCH]
            out[batch] = encoder.encode_passages([texts[i] for i in batch])
            bar.update(len(batch))
            if on_progress:
                on_progress(min(start + EMBED_BATCH, len(order)), len(order), "embedding")
    finally:
        bar.close()
    seconds = time.perf_counter() - t
    tokens = sum(encoder.count_tokens(texts[i]) for i in todo) if len(todo) <= 200_000 else 0
    return seconds, tokens
