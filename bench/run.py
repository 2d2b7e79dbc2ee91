"""The benchmark suite: build throughput, incremental rebuild, query latency, memory, ANN recall.

One command runs everything and rewrites the figures in bench/README.md:

    python bench/run.py --workdir /work/bench-data --write-readme

Each measurement runs in a child process, so peak memory and loaded-index
memory belong to that measurement alone.  The machine is shared and noisy:
latencies are medians (p50) and 95th percentiles over every question, and the
build's throughput is compared with the encoder's bare speed measured in the
same run.  Sizes 100k and 1M are synthetic (bench/synth.py explains how).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))

QUERY_FILES = [SHARED / "eval" / "queries_dev.tsv", ROOT / "bench" / "queries" / "set_a.tsv", ROOT / "bench" / "queries" / "set_b.tsv"]
SIZES = {"586": None, "11.7k": None, "100k": 100_000, "1M": 1_000_000}


# --------------------------------------------------------------------------- children


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_encoder(corpus: str, n: int) -> dict[str, Any]:
    """The encoder's bare speed on real sentences of the corpus (no pipeline around it)."""
    import random

    from indexer.chunking import chunk_document
    from indexer.encoders import DEFAULT_MODEL, get_encoder
    from indexer.loading import load_corpus
    from indexer.units import sentence_texts

    texts = sorted({s for d in load_corpus(corpus).documents for c in chunk_document(d) for s in sentence_texts(c)})
    random.Random(0).shuffle(texts)
    texts = texts[:n]
    enc = get_encoder(DEFAULT_MODEL)
    enc.encode_passages(texts[:8])  # warm: page in the model
    tokens = sum(enc.count_tokens(t) for t in texts)
    t0 = time.perf_counter()
    for i in range(0, len(texts), 32):
        enc.encode_passages(texts[i : i + 32])
    seconds = time.perf_counter() - t0
    return {
        "texts": len(texts),
        "tokens": tokens,
        "seconds": seconds,
        "tokens_per_s": tokens / seconds,
        "texts_per_s": len(texts) / seconds,
    }


def child_build(corpus: str, index: str, force: bool = False, warm: bool = False) -> dict[str, Any]:
    from indexer.build import build_index
    from indexer.encoders import DEFAULT_MODEL

    if warm:  # as in the page's process: dictionary, model and libraries already loaded
        import bm25s  # noqa: F401
        import cn2an  # noqa: F401

        from indexer.encoders import get_encoder
        from indexer.segmentation import default_segmenter

        default_segmenter().tokens("预热")
        get_encoder(DEFAULT_MODEL).encode_passages(["预热"])
    t0 = time.perf_counter()
    r = build_index(corpus, index, model=DEFAULT_MODEL, force=force)
    seconds = time.perf_counter() - t0
    return {
        **r.to_dict(),
        "wall_seconds": seconds,
        "chunks_per_s": r.chunks / seconds,
        "tokens_per_s": r.tokens_embedded / seconds if r.tokens_embedded else 0.0,
        "embed_tokens_per_s": r.tokens_embedded / r.embed_seconds if r.embed_seconds else 0.0,
        "peak_rss_mb": _peak_mb(),
    }


def child_latency(index: str, queries: list[str], ask_n: int) -> dict[str, Any]:
    import numpy as np

    from indexer.answer import answer
    from indexer.encoders import DEFAULT_MODEL, get_encoder
    from indexer.search import Searcher
    from indexer.segmentation import default_segmenter

    # model and dictionary first: the index's memory is what loading it adds on top
    enc = get_encoder(DEFAULT_MODEL)
    enc.encode_queries(["预热"])
    default_segmenter().tokens("预热")
    rss0 = _rss_mb()
    t0 = time.perf_counter()
    s = Searcher.open(index)
    load_seconds = time.perf_counter() - t0
    rss_loaded = _rss_mb()
    for q in queries[:20]:  # warm: page in the model, the index and the postings of common words
        s.search(q, top_k=10)
    out: dict[str, Any] = {"chunks": s.n, "load_seconds": load_seconds, "dense_kind": s.data.dense.kind}
    for mode in ("bm25", "dense", "hybrid"):
        s.clear_cache()  # every query pays for its own embedding
        lat = [s.search(q, top_k=10, mode=mode).latency_ms for q in queries]
        out[mode] = {"p50_ms": float(np.percentile(lat, 50)), "p95_ms": float(np.percentile(lat, 95)), "n": len(lat)}
    # the same hybrid searches with the question vectors cached: what the search adds to the encoder
    lat = [s.search(q, top_k=10).latency_ms for q in queries]
    out["hybrid_search_only"] = {"p50_ms": float(np.percentile(lat, 50)), "p95_ms": float(np.percentile(lat, 95)), "n": len(lat)}
    # what the search embeds: the question plus the legal terms the thesaurus adds
    s.clear_cache()
    parsed = [s.parse(q) for q in queries]
    lat = []
    for pq in parsed:
        t = time.perf_counter()
        s.embed_query(pq)
        lat.append((time.perf_counter() - t) * 1000)
    out["embed_query"] = {"p50_ms": float(np.percentile(lat, 50)), "p95_ms": float(np.percentile(lat, 95)), "n": len(lat)}
    s.clear_cache()
    lat = []
    for q in queries[:ask_n]:
        t = time.perf_counter()
        answer(s, q)
        lat.append((time.perf_counter() - t) * 1000)
    out["ask"] = {"p50_ms": float(np.percentile(lat, 50)), "p95_ms": float(np.percentile(lat, 95)), "n": len(lat)}
    out["rss_before_mb"] = rss0
    out["rss_loaded_mb"] = rss_loaded
    out["rss_after_queries_mb"] = _rss_mb()
    out["index_mb"] = (_rss_mb() - rss0) if rss0 else 0.0
    out["index_arrays_mb"] = s.data.nbytes() / 2**20
    out["peak_rss_mb"] = _peak_mb()
    return out


def child_recall(index: str, queries: list[str]) -> dict[str, Any]:
    """Recall@10 of the approximate (HNSW) index against exact search, on real query vectors."""
    import numpy as np

    from indexer.search import Searcher

    s = Searcher.open(index)
    flat = np.load(Path(index) / "flat_vectors.npy", mmap_mode="r")
    qv = np.stack([s.embed_query(s.parse(q)) for q in queries])
    exact = np.full((len(qv), 10), -1, dtype=np.int64)
    best = np.full((len(qv), 10), -np.inf, dtype=np.float32)
    for start in range(0, len(flat), 200_000):
        block = np.asarray(flat[start : start + 200_000]) @ qv.T
        ids = np.argpartition(-block, 10, axis=0)[:10].T + start
        sc = np.take_along_axis(block.T, ids - start, axis=1)
        allsc = np.concatenate([best, sc], 1)
        allid = np.concatenate([exact, ids], 1)
        keep = np.argsort(-allsc, axis=1)[:, :10]
        best = np.take_along_axis(allsc, keep, 1)
        exact = np.take_along_axis(allid, keep, 1)
    t = time.perf_counter()
    approx = [s.data.dense.search(v, 10)[1] for v in qv]
    ms = (time.perf_counter() - t) * 1000 / len(qv)
    recall = float(np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx, exact, strict=True)]))
    return {"queries": len(qv), "recall_at_10": recall, "ann_ms_per_query": ms, "kind": s.data.dense.kind}


CHILDREN = {"encoder": child_encoder, "build": child_build, "latency": child_latency, "recall": child_recall}


def run_child(task: str, **kwargs: Any) -> dict[str, Any]:
    """Run a measurement in a fresh Python process; return its JSON result."""
    proc = subprocess.run(
        [sys.executable, __file__, "--child", task, "--args", json.dumps(kwargs, ensure_ascii=False)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{task} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- steps


def load_queries() -> list[str]:
    from indexer.evaluation import load_questions

    return [q.query for f in QUERY_FILES if f.exists() for q in load_questions(f)]


def step_builds(work: Path, results: dict[str, Any], reuse: bool) -> None:
    enc_before = run_child("encoder", corpus=str(SHARED / "corpus-large"), n=1500)
    results["encoder_before"] = enc_before
    print(f"encoder bare: {enc_before['tokens_per_s']:.0f} tokens/s", flush=True)
    for name, corpus in (("586", SHARED / "corpus"), ("11.7k", SHARED / "corpus-large")):
        index = work / f"idx-{name}"
        if reuse and (index / "CURRENT").exists() and f"build_{name}" in results:
            continue
        shutil.rmtree(index, ignore_errors=True)
        r = run_child("build", corpus=str(corpus), index=str(index))
        results[f"build_{name}"] = r
        print(
            f"build {name}: {r['chunks']} chunks in {r['wall_seconds']:.1f} s, {r['tokens_per_s']:.0f} tokens/s, peak {r['peak_rss_mb']:.0f} MB",
            flush=True,
        )
    enc_after = run_child("encoder", corpus=str(SHARED / "corpus-large"), n=1500)
    results["encoder_after"] = enc_after
    bare = statistics.median([enc_before["tokens_per_s"], enc_after["tokens_per_s"]])
    results["encoder_bare_tokens_per_s"] = bare
    for name in ("586", "11.7k"):
        b = results.get(f"build_{name}")
        if b:
            b["share_of_bare"] = b["tokens_per_s"] / bare


def step_incremental(work: Path, results: dict[str, Any]) -> None:
    """Change one document of the 11.7k corpus and rebuild; the rest is reused."""
    src_index = work / "idx-11.7k"
    corpus = work / "corpus-incremental"
    index = work / "idx-incremental"
    shutil.rmtree(corpus, ignore_errors=True)
    shutil.rmtree(index, ignore_errors=True)
    shutil.copytree(SHARED / "corpus-large", corpus)
    shutil.copytree(src_index, index)
    # rewrite the copied index with this code (every embedding reused), so the timed rebuild starts
    # from what this code writes, whichever code built the source index
    run_child("build", corpus=str(corpus), index=str(index), force=True)
    unchanged = run_child("build", corpus=str(corpus), index=str(index))  # nothing changed: up to date
    docs = sorted(corpus.rglob("*.md"))

    def edit(victim: Path, n: int) -> None:
        # one new sentence inside the document's first article, as an editor would change it
        text = victim.read_text(encoding="utf-8")
        m = re.search(r"^第[一二三四五六七八九十百零〇]+条.*?。", text, re.M)
        assert m, victim
        victim.write_text(text[: m.end()] + f"本条为第{n}次基准测试修改。" + text[m.end() :], encoding="utf-8")

    victims = [d for d in docs if re.search(r"^第[一二三四五六七八九十]+条", d.read_text(encoding="utf-8"), re.M)]
    edit(victims[100], 1)
    r = run_child("build", corpus=str(corpus), index=str(index))
    edit(victims[200], 2)
    rw = run_child("build", corpus=str(corpus), index=str(index), warm=True)
    results["incremental"] = {
        "document": victims[100].name,
        "unchanged_check_seconds": unchanged["wall_seconds"],
        "seconds": r["wall_seconds"],
        "warm_seconds": rw["wall_seconds"],
        "warm_document": victims[200].name,
        "texts_embedded": r["texts_embedded"],
        "texts_reused": r["texts_reused"],
        "changed": r["changed"],
        "peak_rss_mb": r["peak_rss_mb"],
    }
    print(f"incremental: {r['wall_seconds']:.1f} s, embedded {r['texts_embedded']} texts", flush=True)


def step_synth(work: Path, results: dict[str, Any], reuse: bool) -> None:
    for name in ("100k", "1M"):
        out = work / f"idx-{name}"
        if reuse and (out / "CURRENT").exists():
            built = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime((out / "CURRENT").stat().st_mtime))
            results[f"synth_{name}"] = {"reused": True, "built": built}
            continue
        t = time.perf_counter()
        proc = subprocess.run(
            [
                sys.executable,
                str(ROOT / "bench" / "synth.py"),
                "--source",
                str(work / "idx-11.7k"),
                "--size",
                str(SIZES[name]),
                "--out",
                str(out),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        results[f"synth_{name}"] = {**json.loads(proc.stdout.strip().splitlines()[-1]), "wall_seconds": time.perf_counter() - t}
        print(f"synthetic {name}: {results[f'synth_{name}']['seconds']} s", flush=True)


def step_latency(work: Path, results: dict[str, Any], sizes: list[str]) -> None:
    queries = load_queries()
    for name in sizes:
        index = work / f"idx-{name}"
        if not (index / "CURRENT").exists():
            continue
        r = run_child("latency", index=str(index), queries=queries, ask_n=100)
        results[f"latency_{name}"] = r
        print(
            f"latency {name}: bm25 {r['bm25']['p50_ms']:.1f} / dense {r['dense']['p50_ms']:.1f} / hybrid {r['hybrid']['p50_ms']:.1f} / ask {r['ask']['p50_ms']:.1f} ms p50; "
            f"index {r['index_mb']:.0f} MB",
            flush=True,
        )
        if name == "11.7k":
            proc = subprocess.run(
                [sys.executable, str(ROOT / "bench" / "ann_real.py"), "--index", str(index)], capture_output=True, text=True, check=True
            )
            results["recall_real_11.7k"] = json.loads(proc.stdout.strip().splitlines()[-1])
            print(f"recall@10 of HNSW on the real 11.7k vectors: {results['recall_real_11.7k']}", flush=True)
        if SIZES[name]:
            rc = run_child("recall", index=str(index), queries=queries[:200])
            results[f"recall_{name}"] = rc
            print(f"recall@10 {name}: {rc['recall_at_10']:.3f}", flush=True)


def step_app(results: dict[str, Any]) -> None:
    """bench/app_start.py: from `streamlit run app.py` to the first answered question in chromium."""
    script = ROOT / "bench" / "app_start.py"
    proc = subprocess.run([sys.executable, str(script), "--runs", "3"], capture_output=True, text=True, check=False, cwd=ROOT)
    out = ROOT / "bench" / "out" / "app_start.json"
    if proc.returncode == 0 and out.exists():
        results["app_start"] = json.loads(out.read_text(encoding="utf-8"))["median"]
        print(f"app start: {results['app_start']}", flush=True)
    else:
        results["app_start"] = {"error": proc.stderr[-500:]}


def main() -> None:
    ap = argparse.ArgumentParser(description="benchmarks; see bench/README.md")
    ap.add_argument("--child")
    ap.add_argument("--args", default="{}")
    ap.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out")
    ap.add_argument("--only", default="builds,incremental,synth,latency,app", help="comma-separated steps")
    ap.add_argument("--sizes", default="586,11.7k,100k,1M")
    ap.add_argument("--reuse", action="store_true", help="keep existing builds and synthetic indexes")
    ap.add_argument("--write-readme", action="store_true")
    args = ap.parse_args()
    if args.child:
        print(json.dumps(CHILDREN[args.child](**json.loads(args.args)), ensure_ascii=False))
        return
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    results_path = work / "results.json"
    results: dict[str, Any] = json.loads(results_path.read_text()) if args.reuse and results_path.exists() else {}
    results["machine"] = {"cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    steps = args.only.split(",")

    def save() -> None:
        # after every step: an interrupted run (it takes most of an hour) keeps what it measured
        results_path.write_text(json.dumps(results, ensure_ascii=False, indent=1))

    def ran(step: str) -> None:
        results.setdefault("step_dates", {})[step] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        save()

    if "builds" in steps:
        step_builds(work, results, args.reuse)
        ran("builds")
    if "incremental" in steps:
        step_incremental(work, results)
        ran("incremental")
    if "synth" in steps:
        step_synth(work, results, args.reuse)
        ran("synth")
    if "latency" in steps:
        step_latency(work, results, args.sizes.split(","))
        ran("latency")
    if "app" in steps:
        step_app(results)
        ran("app")
    save()
    print(f"results: {results_path}")
    if args.write_readme:
        from report import write_readme  # bench/report.py

        write_readme(results, ROOT / "bench" / "README.md", " ".join(["python bench/run.py", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
