"""Synthetic index of any size, made from a real one, for scale benchmarks (100k, 1M chunks).

Embedding a million measures would take two weeks on this machine, so the
large sizes are synthetic, built from a real index (the 11.7k-article corpus):

* chunks: real chunks drawn at random (metadata, text, sentences), renamed into
  synthetic documents of about 30 measures each;
* lexical: each synthetic chunk takes the BM25 row (terms and weights) of its
  source chunk, so posting lists grow with the collection as real ones do and
  every term is from the real corpus's vocabulary;
* dense: each measure vector is its source's vector plus Gaussian noise
  (cosine ≈ 0.9 to the source), renormalised, so the index holds a million
  distinct points with the real data's cluster structure; sentence and title
  vectors are shared with the source (they are de-duplicated texts in a real
  index too).

The result has the real on-disk format and is loaded by the real Searcher.

    python bench/synth.py --source /work/bench-data/idx-large --size 1000000 --out /work/bench-data/idx-1m
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from indexer.bm25 import BM25Index  # noqa: E402
from indexer.dense import DenseIndex  # noqa: E402
from indexer.store import CURRENT, FORMAT_VERSION, IndexWriter, current_version, file_sha256, load_index  # noqa: E402

CHUNKS_PER_DOC = 30
NOISE = 0.022  # per-dimension sigma; cos(source, synthetic) ≈ 0.9 for 384 dimensions


def _rows(bm: BM25Index, picks: np.ndarray):
    """A bm25s index whose document i is document picks[i] of ``bm``."""
    import scipy.sparse as sp

    r = bm._r
    csc = sp.csc_matrix((np.asarray(bm._data), np.asarray(bm._indices), np.asarray(bm._indptr)), shape=(bm.n_docs, len(bm._indptr) - 1))
    sub = csc.tocsr()[picks].tocsc()
    sub.sort_indices()
    clone = type(r)(k1=r.k1, b=r.b, method=r.method)
    clone.scores = {
        "data": sub.data.astype(np.float32),
        "indices": sub.indices.astype(np.int32),
        "indptr": sub.indptr.astype(np.int64),
        "num_docs": len(picks),
    }
    clone.vocab_dict = dict(bm._vocab)
    clone.nonoccurrence_array = None
    return BM25Index(clone)


def synthesize(source: Path, size: int, out: Path, seed: int = 0) -> Path:
    t0 = time.perf_counter()
    src = load_index(source)
    rng = np.random.default_rng(seed)
    n_src = len(src.chunks)
    picks = np.sort(rng.integers(0, n_src, size))
    # keep source order within the synthetic collection (documents stay contiguous)
    n_docs = (size + CHUNKS_PER_DOC - 1) // CHUNKS_PER_DOC
    doc_ids = [f"synth{k:07d}" for k in range(n_docs)]
    chunk_doc = np.arange(size) // CHUNKS_PER_DOC

    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    writer = IndexWriter(out)
    t = writer.tmp

    # chunks.jsonl, streamed: the source line with new ids
    offsets = [0]
    src_docs = src.manifest["documents"]
    with (t / "chunks.jsonl").open("wb") as fh:
        for i, p in enumerate(picks):
            c = src.chunks[int(p)].to_dict()
            doc = doc_ids[chunk_doc[i]]
            no = i % CHUNKS_PER_DOC + 1
            c.update(chunk_id=f"{doc}#{no}", doc_id=doc, measure_no=no)
            offsets.append(offsets[-1] + fh.write((json.dumps(c, ensure_ascii=False) + "\n").encode("utf-8")))
    sections = list(src.sections)
    np.savez(
        t / "chunk_index.npz",
        offsets=np.asarray(offsets, np.int64),
        chunk_doc=chunk_doc.astype(np.int32),
        chunk_section=src.chunk_section[picks].astype(np.int32),
        fingerprints=np.zeros(size, dtype="S40"),
    )
    (t / "sections.json").write_text(json.dumps(sections, ensure_ascii=False), encoding="utf-8")
    with (t / "tokens.jsonl").open("w", encoding="utf-8") as fh:
        fh.write("")  # token reuse is for incremental builds; a synthetic index is never rebuilt

    # units and per-chunk unit lists, shared with the source
    units = np.asarray(src.units)
    np.save(t / "units.npy", units.astype(np.float16))
    shutil.copy(source / src.version / "unit_keys.npy", t / "unit_keys.npy")
    so = src.sentence_offsets
    lengths = so[picks + 1] - so[picks]
    starts = so[picks]
    sent_units = np.concatenate([src.sentence_units[s : s + n] for s, n in zip(starts, lengths, strict=True)])
    np.savez(
        t / "chunk_units.npz",
        sentence_units=sent_units.astype(np.int32),
        sentence_offsets=np.r_[0, np.cumsum(lengths)].astype(np.int64),
        title_units=src.title_units[picks].astype(np.int32),
    )

    # dense: noisy copies of the source measure vectors
    base = src.dense.vectors(np.arange(n_src))
    vecs = np.empty((size, base.shape[1]), np.float32)
    for start in range(0, size, 100_000):
        block = base[picks[start : start + 100_000]] + rng.normal(0, NOISE, (min(100_000, size - start), base.shape[1])).astype(np.float32)
        vecs[start : start + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    t_dense = time.perf_counter()
    dense = DenseIndex.build(vecs)
    dense_seconds = time.perf_counter() - t_dense
    dense.save(t / "dense.faiss")
    np.save(out / "flat_vectors.npy", vecs)  # ground truth for recall against exact search; not part of the index
    del vecs

    for name, bm in (("bm25", src.bm25), ("bm25_title", src.bm25_title), ("bm25_bigram", src.bm25_bigram)):
        (t / name).mkdir()
        _rows(bm, picks).save(t / name)

    manifest = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "corpus": f"synthetic from {source}",
        "synthetic": {"source": str(source), "size": size, "seed": seed, "noise": NOISE},
        "encoder": src.manifest["encoder"],
        "segmenter": src.manifest["segmenter"],
        "dense": {"kind": dense.kind, "build_seconds": round(dense_seconds, 1)},
        "counts": {"documents": n_docs, "chunks": size, "sentences": len(sent_units), "units": len(units)},
        "documents": {},
        "doc_title_units": {},
        "skipped": [],
        "format_version": FORMAT_VERSION,
    }
    src_doc_list = list(src_docs)
    for k, d in enumerate(doc_ids):
        source_doc = src_doc_list[int(src.chunk_doc[picks[min(k * CHUNKS_PER_DOC, size - 1)]])]
        meta = dict(src_docs[source_doc])
        meta.update(doc_id=d, path=f"synthetic/{d}", chunks=min(CHUNKS_PER_DOC, size - k * CHUNKS_PER_DOC))
        manifest["documents"][d] = meta
        manifest["doc_title_units"][d] = src.manifest["doc_title_units"][source_doc]
    files = {}
    for p in sorted(t.rglob("*")):
        if p.is_file():
            files[str(p.relative_to(t))] = {"size": p.stat().st_size, "sha256": file_sha256(p) if p.stat().st_size < 256 * 2**20 else ""}
    manifest.update(version=writer.version, files=files)
    (t / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    writer.publish()
    assert (out / CURRENT).exists() and current_version(out) == writer.version
    print(
        json.dumps(
            {"size": size, "seconds": round(time.perf_counter() - t0, 1), "dense_build_seconds": round(dense_seconds, 1), "out": str(out)}
        )
    )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", required=True, type=Path)
    ap.add_argument("--size", required=True, type=int)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    synthesize(args.source, args.size, args.out, args.seed)


if __name__ == "__main__":
    main()
