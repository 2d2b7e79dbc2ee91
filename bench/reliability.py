"""Reliability run: fuzzing, killed builds, damaged indexes, bad corpora, concurrent rebuilds.

    python bench/reliability.py [--fuzz 12000] [--kills 24] [--threads 8]

Reports, for each part: inputs tried, faults injected, crashes, results
changed, data lost.  Every part uses the fast deterministic hash encoder except
the killed builds, which use the real e5-small model so kills land inside real
embedding work.  Exit status 1 if anything crashed or was lost.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from indexer.build import build_index  # noqa: E402
from indexer.chunking import segment_document  # noqa: E402
from indexer.errors import BadInputError, IndexerError  # noqa: E402
from indexer.schema import Document  # noqa: E402
from indexer.search import Searcher  # noqa: E402
from indexer.service import IndexService  # noqa: E402
from indexer.store import current_version, load_index  # noqa: E402

DATA = ROOT / "tests" / "data"
PROBE = ["个人破产", "网上立案", "执行款发放", "院庭长阅核", "法官惩戒", "诉讼服务"]


def fingerprint(searcher: Searcher) -> list[list[str]]:
    return [[h.chunk.chunk_id for h in searcher.search(q, top_k=5).hits] for q in PROBE]


# --------------------------------------------------------------------------- fuzzing


def fuzz(n: int, index: Path) -> dict[str, Any]:
    """Random documents through the chunker and random queries through search, with hypothesis."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    searcher = Searcher.open(index)
    crashes: list[str] = []
    counts = {"documents": 0, "queries": 0, "refused": 0}
    pieces = st.sampled_from(
        [
            "第一条",
            "第二十三条",
            "1.",
            "１．",
            "2、",
            "一、",
            "（一）",
            "第一章",
            "附件：",
            "。",
            "；",
            "\n",
            "本规定第七条",
            "按照第2项",
            "<script>",
        ]
    )
    text = st.lists(st.one_of(pieces, st.text(max_size=30)), max_size=40).map("".join)

    @settings(max_examples=n // 2, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(st.lists(text, min_size=1, max_size=30))
    def chunker(paragraphs: list[str]) -> None:
        paras = tuple(p.strip() for p in paragraphs if p.strip()) or ("空",)
        doc = Document("fuzz", "模糊测试", "", "", "fuzz.txt", "txt", "0" * 64, paras)
        counts["documents"] += 1
        try:
            layout = segment_document(doc)
            for c in layout.chunks:
                assert "".join(c.sentences) == c.text.replace("\n", "")
            assert len(layout.roles) == len(paras)
        except Exception:
            crashes.append("chunker: " + traceback.format_exc(limit=3))

    @settings(max_examples=n // 2, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(st.one_of(text, st.text(max_size=300), st.binary(max_size=200).map(lambda b: b.decode("utf-8", "replace"))))
    def query(q: str) -> None:
        counts["queries"] += 1
        try:
            searcher.search(q, top_k=5)
        except BadInputError:
            counts["refused"] += 1
        except Exception:
            crashes.append("search: " + traceback.format_exc(limit=3))

    chunker()
    query()
    return {"inputs": counts["documents"] + counts["queries"], **counts, "crashes": len(crashes), "examples": crashes[:3]}


# --------------------------------------------------------------------------- named hostile queries

HOSTILE = {
    "empty": "",
    "whitespace": " \t\u3000 ",
    "100k_characters": "破产" * 50_000,
    "punctuation_only": "？？？！！！……——",
    "emoji": "🙂⚖️🏛️",
    "control_characters": "\x00\x01\x1b[31m个人\x7f破产",
    "traditional": "個人破產相關改革",
    "full_width": "ＡＢＣ１２３　个人破产",
    "html_script": "<script>alert(1)</script><b>执行</b>",
    "sql_like": "'; DROP TABLE chunks; -- 执行难",
}


def hostile(index: Path) -> dict[str, Any]:
    """The issue's list of bad queries through the real CLI: an answer or one line on stderr, never a traceback."""
    cases = []
    for name, q in HOSTILE.items():
        if len(q.encode()) > 100_000 or "\x00" in q:  # not passable as an argument: through a queries file
            qfile = index.parent / "long-query.txt"
            qfile.write_text(q + "\n", encoding="utf-8")
            argv = ["search", "--queries", str(qfile), "--index", str(index), "--json"]
        else:
            argv = ["ask", q, "--index", str(index), "--json"]
        proc = subprocess.run([sys.executable, "-m", "indexer", *argv], cwd=ROOT, capture_output=True, text=True, check=False)
        if proc.returncode == 0:
            body = json.loads(proc.stdout.splitlines()[0])
            ok = "Traceback" not in proc.stderr and isinstance(body.get("found", body.get("hits")), (bool, list))
            outcome = f"found={body['found']} hits={len(body['hits'])}" if "found" in body else f"hits={len(body['hits'])}"
        else:
            ok = proc.returncode == 2 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
            outcome = f"exit {proc.returncode}: {proc.stderr.strip()}"
        cases.append({"query": name, "ok": ok, "outcome": outcome})
    return {"inputs": len(cases), "crashes": sum(not c["ok"] for c in cases), "cases": cases}


# --------------------------------------------------------------------------- killed builds


def kills(trials: int, work: Path) -> dict[str, Any]:
    """kill -9 a real build at random moments; the previous index must survive unchanged."""
    corpus = work / "kill-corpus"
    index = work / "kill-index"
    shutil.copytree(DATA, corpus)
    shutil.copy(ROOT / "corpus" / "gd_courts_judicial_reform_2021.txt", corpus)
    build_index(corpus, index, model="e5-small")
    baseline_version = current_version(index)
    baseline = fingerprint(Searcher.open(index))
    rng = random.Random(7)
    changed = lost = crashes = killed = 0
    leftovers_seen = 0
    # how long a whole rebuild with one new document takes here: kills land anywhere in it
    # (loading the model, embedding, writing the new version, publishing)
    (corpus / "timing.txt").write_text("计时规定\n第一条 计时用的补充规定。\n", encoding="utf-8")
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "indexer", "build", "--corpus", str(corpus), "--index", str(index), "--quiet", "--model", "e5-small"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    full = time.perf_counter() - t
    baseline_version = current_version(index)
    baseline = fingerprint(Searcher.open(index))
    for trial in range(trials):
        # a new document each time, so every build has real embedding work to interrupt
        (corpus / f"extra{trial}.txt").write_text(
            f"补充规定{trial}\n第一条 第{trial}份补充规定要求各级法院加强诉讼服务。\n第二条 本规定自公布之日起施行。\n", encoding="utf-8"
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "indexer", "build", "--corpus", str(corpus), "--index", str(index), "--quiet", "--model", "e5-small"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if trial % 2 == 0:
            time.sleep(rng.uniform(0.05, full * 1.1))
        else:
            # every other kill lands while the new version is being written (a window of tens of ms)
            while proc.poll() is None and not any(index.glob(".tmp-*")):
                time.sleep(0.001)
            time.sleep(rng.uniform(0.0, 0.03))
        finished = proc.poll() is not None
        if not finished:
            os.kill(proc.pid, signal.SIGKILL)
            killed += 1
        proc.wait()
        try:
            live = current_version(index)
            data = load_index(index)
            s = Searcher.open(index)
            if live == baseline_version and fingerprint(s) != baseline:
                changed += 1
            if live != baseline_version:
                # the build finished (or was killed after publishing): the new complete version is the baseline now
                baseline_version, baseline = live, fingerprint(s)
            if len(data.chunks) == 0:
                lost += 1
        except IndexerError:
            lost += 1
        except Exception:
            crashes += 1
        leftovers_seen += len(list(index.glob(".tmp-*")))
    build_index(corpus, index, model="e5-small")  # the next build cleans up
    remaining = len(list(index.glob(".tmp-*")))
    return {
        "faults": trials,
        "full_build_seconds": round(full, 2),
        "builds_killed_mid_way": killed,
        "results_changed": changed,
        "data_lost": lost,
        "crashes": crashes,
        "temp_folders_left_by_kills": leftovers_seen,
        "temp_folders_after_next_build": remaining,
    }


# --------------------------------------------------------------------------- damaged indexes


def damaged(work: Path) -> dict[str, Any]:
    """Damage an index in several ways; the CLI must refuse it with one line and exit 1."""
    results = []
    for damage in (
        "truncate_faiss",
        "flip_manifest",
        "delete_manifest",
        "delete_chunks",
        "other_encoder",
        "garbage_current",
        "truncate_units",
    ):
        index = work / f"damaged-{damage}"
        build_index(DATA, index, model="hash")
        live = index / current_version(index)
        if damage == "truncate_faiss":
            (live / "dense.faiss").write_bytes((live / "dense.faiss").read_bytes()[:64])
        elif damage == "flip_manifest":
            m = json.loads((live / "manifest.json").read_text(encoding="utf-8"))
            m["counts"]["chunks"] += 1
            (live / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
        elif damage == "delete_manifest":
            (live / "manifest.json").unlink()
        elif damage == "delete_chunks":
            (live / "chunks.jsonl").unlink()
        elif damage == "garbage_current":
            (index / "CURRENT").write_text("v-nope\n", encoding="utf-8")
        elif damage == "truncate_units":
            (live / "units.npy").write_bytes((live / "units.npy").read_bytes()[:200])
        argv = ["search", "改革", "--index", str(index), "--json"] + (["--model", "e5-small"] if damage == "other_encoder" else [])
        proc = subprocess.run([sys.executable, "-m", "indexer", *argv], cwd=ROOT, capture_output=True, text=True, check=False)
        ok = proc.returncode == 1 and proc.stdout == "" and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
        results.append({"damage": damage, "exit": proc.returncode, "message": proc.stderr.strip(), "refused_cleanly": ok})
    return {"faults": len(results), "crashes": sum(not r["refused_cleanly"] for r in results), "cases": results}


# --------------------------------------------------------------------------- bad corpus


def bad_corpus(work: Path) -> dict[str, Any]:
    corpus = work / "bad-corpus"
    shutil.copytree(DATA, corpus)
    (corpus / "binary.txt").write_bytes(os.urandom(4096).replace(b"\x00", b"\x01") + b"\x00")
    (corpus / "empty.md").write_bytes(b"")
    with (corpus / "huge.txt").open("wb") as fh:
        fh.write(("第一条 大文件。\n" * 10).encode())
        fh.truncate(50 * 1024 * 1024)
    (corpus / "latin1.txt").write_bytes("Ã©Ã¨".encode("latin-1") * 10 + bytes(range(0x80, 0xFF)) * 50)
    (corpus / "fake.docx").write_text("not a word file", encoding="utf-8")
    (corpus / "fake.pdf").write_text("not a pdf", encoding="utf-8")
    from pypdf import PdfWriter

    w = PdfWriter()
    w.add_blank_page(595, 842)
    with (corpus / "scan.pdf").open("wb") as fh:
        w.write(fh)
    shutil.copy(DATA / "notice_items.md", corpus / "notice_copy.md")
    (corpus / "loop").symlink_to(corpus, target_is_directory=True)
    (corpus / "outside.txt").symlink_to("/etc/hostname")
    unreadable = corpus / "unreadable.txt"
    unreadable.write_text("标题\n第一条 内容。", encoding="utf-8")
    unreadable.chmod(0)
    report = build_index(corpus, work / "bad-index", model="hash")
    skipped = {Path(s.path).name: s.reason for s in report.skipped}
    expected_bad = {
        "binary.txt",
        "empty.md",
        "huge.txt",
        "latin1.txt",
        "fake.docx",
        "fake.pdf",
        "scan.pdf",
        "loop",
        "outside.txt",
    }
    if os.geteuid() != 0:
        expected_bad.add("unreadable.txt")
    missing = sorted(expected_bad - set(skipped))
    # of two files with the same bytes the first in path order is kept, the other skipped as a duplicate
    duplicates = [n for n in ("notice_copy.md", "notice_items.md") if skipped.get(n, "").startswith("duplicate of")]
    if len(duplicates) != 1:
        missing.append("notice_copy.md / notice_items.md (one of them, as a duplicate)")
    return {
        "inputs": len(expected_bad) + 1 + 3,
        "indexed_documents": report.documents,
        "skipped": skipped,
        "bad_files_not_skipped": missing,
        "crashes": 0 if not missing and report.documents >= 3 else 1,
    }


# --------------------------------------------------------------------------- concurrency


def concurrency(work: Path, threads: int, rebuilds: int) -> dict[str, Any]:
    """Threads search while the index is rebuilt and swapped; every result set must come from one version."""
    corpus = work / "conc-corpus"
    shutil.copytree(DATA, corpus)
    svc = IndexService(corpus, work / "conc-index", model="hash")
    svc.ensure_built()
    versions: dict[str, set[str]] = {}
    errors: list[str] = []
    inconsistent = 0
    searches = 0
    stop = threading.Event()
    lock = threading.Lock()

    def reader() -> None:
        nonlocal inconsistent, searches
        while not stop.is_set():
            for q in PROBE:
                try:
                    s = svc.searcher()
                    res = s.search(q, top_k=5)
                    ids = {c.chunk_id for c in s.data.chunks}
                    with lock:
                        searches += 1
                        if res.index_version != s.version or any(h.chunk.chunk_id not in ids for h in res.hits):
                            inconsistent += 1
                        versions.setdefault(res.index_version, set())
                except Exception:
                    with lock:
                        errors.append(traceback.format_exc(limit=3))

    pool = [threading.Thread(target=reader) for _ in range(threads)]
    for t in pool:
        t.start()
    for i in range(rebuilds):
        (corpus / f"added{i}.txt").write_text(f"新增规定{i}\n第一条 新增第{i}项诉讼服务措施。\n", encoding="utf-8")
        svc.rebuild()
        time.sleep(0.2)
    stop.set()
    for t in pool:
        t.join()
    return {
        "threads": threads,
        "rebuilds": rebuilds,
        "searches": searches,
        "versions_seen": len(versions),
        "inconsistent": inconsistent,
        "crashes": len(errors),
        "examples": errors[:2],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fuzz", type=int, default=12000)
    ap.add_argument("--kills", type=int, default=24)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--rebuilds", type=int, default=10)
    ap.add_argument("--only", default="fuzz,hostile,kills,damaged,bad_corpus,concurrency")
    args = ap.parse_args()
    only = args.only.split(",")
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="reliability-") as tmp:
        work = Path(tmp)
        index = work / "fuzz-index"
        build_index(DATA, index, model="hash")
        if "fuzz" in only:
            out["fuzz"] = fuzz(args.fuzz, index)
            print("fuzz", json.dumps(out["fuzz"], ensure_ascii=False), flush=True)
        if "hostile" in only:
            out["hostile"] = hostile(index)
            print("hostile", json.dumps(out["hostile"], ensure_ascii=False), flush=True)
        if "kills" in only:
            out["kills"] = kills(args.kills, work)
            print("kills", json.dumps(out["kills"], ensure_ascii=False), flush=True)
        if "damaged" in only:
            out["damaged"] = damaged(work)
            print("damaged", json.dumps({k: v for k, v in out["damaged"].items() if k != "cases"}), flush=True)
        if "bad_corpus" in only:
            out["bad_corpus"] = bad_corpus(work)
            print("bad_corpus", json.dumps(out["bad_corpus"], ensure_ascii=False), flush=True)
        if "concurrency" in only:
            out["concurrency"] = concurrency(work, args.threads, args.rebuilds)
            print("concurrency", json.dumps(out["concurrency"], ensure_ascii=False), flush=True)
    total_crashes = sum(v.get("crashes", 0) for v in out.values())
    lost = (
        out.get("kills", {}).get("data_lost", 0)
        + out.get("kills", {}).get("results_changed", 0)
        + out.get("concurrency", {}).get("inconsistent", 0)
    )
    summary = {
        "inputs_tried": sum(out.get(k, {}).get("inputs", 0) for k in ("fuzz", "hostile", "bad_corpus")),
        "faults_injected": out.get("kills", {}).get("faults", 0)
        + out.get("damaged", {}).get("faults", 0)
        + out.get("concurrency", {}).get("rebuilds", 0),
        "crashes": total_crashes,
        "results_changed": out.get("kills", {}).get("results_changed", 0) + out.get("concurrency", {}).get("inconsistent", 0),
        "data_lost": out.get("kills", {}).get("data_lost", 0),
    }
    print("summary", json.dumps(summary))
    (ROOT / "bench" / "out").mkdir(parents=True, exist_ok=True)
    (ROOT / "bench" / "out" / "reliability.json").write_text(
        json.dumps({"summary": summary, **out}, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    sys.exit(1 if total_crashes or lost else 0)


if __name__ == "__main__":
    main()
