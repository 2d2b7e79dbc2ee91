"""Reliability run: fuzzing, hostile files, killed builds, damaged indexes, bad corpora, concurrent rebuilds.

    python bench/reliability.py [--fuzz 12000] [--kills 24] [--threads 8] [--compare-code OLD_CHECKOUT]

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
            "第二十三条之一",
            "第一條",
            "附则",
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
            # no text lost: every paragraph is in a chunk or a named part (title, metadata, heading, closing)
            assert layout.lost() == (), [layout.roles[i] for i in layout.lost()]
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
    for name, argv, content, needle in (
        ("ask_top_k_0", ["ask", "个人破产", "--top-k", "0"], None, "--top-k"),
        ("search_top_k_negative", ["search", "个人破产", "--top-k", "-5"], None, "--top-k"),
        ("empty_queries_file", ["search", "--queries", "QFILE"], "\n \n", "no queries"),
        ("nul_only_line_in_queries_file", ["search", "--queries", "QFILE"], "个人破产\n\x00\n网上立案\n", "line 2"),
    ):
        qfile = index.parent / f"{name}.txt"
        if content is not None:
            qfile.write_text(content, encoding="utf-8")
        argv = [str(qfile) if a == "QFILE" else a for a in argv]
        proc = subprocess.run(
            [sys.executable, "-m", "indexer", *argv, "--index", str(index), "--json"], cwd=ROOT, capture_output=True, text=True, check=False
        )
        ok = proc.returncode == 2 and proc.stdout == "" and proc.stderr.count("\n") == 1 and needle in proc.stderr
        cases.append({"query": name, "ok": ok, "outcome": f"exit {proc.returncode}: {proc.stderr.strip()}"})
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
        "manifest_value_out_of_range",
        "manifest_wrong_type",
        "manifest_file_outside_index",
        "binary_current",
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
        elif damage.startswith("manifest_"):
            m = json.loads((live / "manifest.json").read_text(encoding="utf-8"))
            if damage == "manifest_value_out_of_range":
                m["doc_title_units"][next(iter(m["doc_title_units"]))] = 999999
            elif damage == "manifest_wrong_type":
                m["counts"]["chunks"] = str(m["counts"]["chunks"])
            else:
                m["files"]["../../../etc/hostname"] = {"size": 1, "sha256": "0" * 64}
            (live / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
        elif damage == "binary_current":
            (index / "CURRENT").write_bytes(b"\xff\xfe\x00v\x00-\x9c")
        argv = ["search", "改革", "--index", str(index), "--json"] + (["--model", "e5-small"] if damage == "other_encoder" else [])
        proc = subprocess.run([sys.executable, "-m", "indexer", *argv], cwd=ROOT, capture_output=True, text=True, check=False)
        ok = proc.returncode == 1 and proc.stdout == "" and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
        results.append({"damage": damage, "exit": proc.returncode, "message": proc.stderr.strip(), "refused_cleanly": ok})
    return {"faults": len(results), "crashes": sum(not r["refused_cleanly"] for r in results), "cases": results}


# --------------------------------------------------------------------------- index folder faults


def _build_cli(corpus: Path, index: Path, *extra: str, preexec: Any = None) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "indexer", "build", "--corpus", str(corpus), "--index", str(index), "--model", "hash", "--quiet", *extra]
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False, preexec_fn=preexec, timeout=300)


def index_faults(work: Path) -> dict[str, Any]:
    """build --index at a file, a read-only folder, a full disk, and a folder another build holds: one clear line each."""
    import fcntl
    import resource

    cases = []

    def check(name: str, proc: subprocess.CompletedProcess[str], code: int, needle: str, index: Path | None = None) -> None:
        last = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ""
        ok = proc.returncode == code and needle in proc.stderr and "Traceback" not in proc.stderr and last.startswith("error:")
        if index is not None:  # the previous index must still load
            try:
                ok = ok and len(load_index(index).chunks) > 0
            except IndexerError:
                ok = False
        cases.append({"fault": name, "exit": proc.returncode, "message": last, "ok": ok})

    a_file = work / "index-is-a-file"
    a_file.write_text("not a folder")
    check("index_is_a_file", _build_cli(DATA, a_file), 2, "is a file")

    # root ignores permissions: an immutable folder (chattr +i) refuses even root's writes
    ro = work / "read-only-index"
    ro.mkdir()
    if subprocess.run(["chattr", "+i", str(ro)], capture_output=True, check=False).returncode == 0:
        try:
            check("read_only_folder", _build_cli(DATA, ro), 1, "permission denied")
        finally:
            subprocess.run(["chattr", "-i", str(ro)], capture_output=True, check=False)
    elif os.geteuid() != 0:
        ro.chmod(0o555)
        check("read_only_folder", _build_cli(DATA, ro), 1, "permission denied")
        ro.chmod(0o755)

    # a full disk: files may not grow past 4 KiB (writes then fail with EFBIG, as they fail with ENOSPC)
    full = work / "full-disk-index"
    build_index(DATA, full, model="hash")

    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    check("disk_full", _build_cli(DATA, full, "--force", preexec=small_files), 1, "disk is full", index=full)
    cases[-1]["temp_folders_left"] = len(list(full.glob(".tmp-*")))

    # another build holds the lock: say so at once, give up after --wait
    busy = work / "busy-index"
    build_index(DATA, busy, model="hash")
    with (busy / ".lock").open("a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        t = time.perf_counter()
        proc = _build_cli(DATA, busy, "--force", "--wait", "2")
        waited = time.perf_counter() - t
    check("lock_held_by_another_build", proc, 1, "另一个建索引进程正在运行，等待中…", index=busy)
    cases[-1]["seconds_until_given_up"] = round(waited, 1)
    return {"faults": len(cases), "crashes": sum(not c["ok"] for c in cases), "cases": cases}


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
    locked = corpus / "locked-folder"
    locked.mkdir()
    (locked / "inside.txt").write_text("锁住的规定\n第一条 内容。", encoding="utf-8")
    locked.chmod(0)
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
    if os.geteuid() != 0:  # root reads them anyway
        expected_bad |= {"unreadable.txt", "locked-folder"}
    missing = sorted(expected_bad - set(skipped))
    # the CLI names each skipped file once
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "indexer",
            "build",
            "--corpus",
            str(corpus),
            "--index",
            str(work / "bad-index"),
            "--model",
            "hash",
            "--quiet",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    named_twice = sorted(n for n in skipped if proc.stderr.count(f"/{n}:") != 1)
    missing += [f"{n} (named {proc.stderr.count(f'/{n}:')} times by the CLI)" for n in named_twice]
    locked.chmod(0o755)
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


# --------------------------------------------------------------------------- hostile files
#
# Files made to take a server's CPU or memory: zip bombs, deep nesting, lines
# that never end a sentence, oversized text.  Each one is loaded and chunked in
# a fresh process (as a build or the page's upload check does), which reports
# its wall time and peak resident memory, whether it was accepted or refused.
# An accepted file must load and chunk in ≤ 10 s and ≤ 1 GB; a refused one
# must be refused within the same bounds.

MAX_SECONDS = 10.0
MAX_PEAK_MB = 1024.0
_W_NS = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def _docx(path: Path, body_chunks: Any, extra_members: int = 0) -> None:
    """A .docx whose body XML is streamed from ``body_chunks`` (bytes pieces), deflated at level 9."""
    import io
    import zipfile

    import docx

    buf = io.BytesIO()
    docx.Document().save(buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst:
        for info in src.infolist():
            if info.filename == "word/document.xml":
                with dst.open("word/document.xml", "w", force_zip64=True) as fh:
                    fh.write(f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document {_W_NS}><w:body>'.encode())
                    for piece in body_chunks:
                        fh.write(piece)
                    fh.write(b"</w:body></w:document>")
            else:
                dst.writestr(info, src.read(info))
        for i in range(extra_members):
            dst.writestr(f"word/extra/item{i}.xml", b"")


def _para(text: str, style: str = "") -> bytes:
    ppr = f'<w:pPr><w:pStyle w:val="{style}"/></w:pPr>' if style else ""
    return f"<w:p>{ppr}<w:r><w:t>{text}</w:t></w:r></w:p>".encode()


def _articles(n: int, start: int = 1) -> list[str]:
    return [f"第{i}条 第{i}条规定的内容，各级法院应当依法办理第{i}类案件。" for i in range(start, start + n)]


def _pdf(path: Path, pages: list[list[str]]) -> None:
    """A text PDF (Helvetica, ASCII lines), written by hand: one content stream per page."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", "", "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    kids = []
    for lines in pages:
        shown = " ".join("(" + line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ") '" for line in lines)
        stream = f"BT /F1 9 Tf 11 TL 40 820 Td {shown} ET".encode()
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream.decode()}\nendstream")
        content_no = len(objects)
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents {content_no} 0 R >>"
        )
        kids.append(f"{len(objects)} 0 R")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>"
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    path.write_bytes(bytes(out))


def hostile_files(work: Path) -> dict[str, Path]:
    """Write every hostile file into ``work``; returns name → path."""
    import itertools

    work.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}

    def add(name: str) -> Path:
        files[name.rsplit(".", 1)[0]] = work / name
        return work / name

    # .docx: a zip bomb (1 GiB of body XML in a few MB), 40 MB of XML in a few hundred KB (refused),
    # 11 MB of it (empty styled paragraphs around real articles: accepted, the slowest .docx that is),
    # 11 MB of article text (refused at the character limit while reading), and a zip of 20,000 members
    unit = _para("第一条 为了测试，制定本规定。") * 100
    _docx(add("docx_bomb_1gib_xml.docx"), itertools.repeat(unit, 2**30 // len(unit)))
    empty = _para("", "Normal") * 1000
    for name, mb in (("docx_40mb_xml.docx", 40), ("docx_11mb_xml_accepted.docx", 11)):
        head = [_para("某某规定", "Title"), *(_para(a) for a in _articles(50))]
        _docx(add(name), itertools.chain(head, itertools.repeat(empty, mb * 2**20 // len(empty))))
    _docx(add("docx_11mb_xml_of_text.docx"), (_para(a) for a in _articles(11 * 2**20 // len(_para(_articles(1)[0])))))
    _docx(add("docx_20k_members.docx"), [_para("某某规定", "Title"), *(_para(a) for a in _articles(5))], extra_members=20_000)

    # HTML nested deeply: 176 KB and 1.1 MB of nested content divs (quadratic before; the second has more
    # elements than a page may), the deepest nesting accepted, nested lists and quotes
    for name, depth in (("html_nested_divs_176kb", 8_000), ("html_nested_divs_1mb", 50_000), ("html_nested_divs_most_accepted", 29_000)):
        add(f"{name}.html").write_text(
            "<html><body><h1>某某规定</h1>"
            + "".join(f'<div class="content"><p>第{i + 1}条 内容。</p>' if i < 200 else '<div class="content">' for i in range(depth))
            + "</div>" * depth
            + "</body></html>",
            encoding="utf-8",
        )
    add("html_nested_lists_quotes.html").write_text(
        "<html><body><h1>某某规定</h1><div class='article'>"
        + "<ul><li>第一条 列表。" * 900
        + "</li></ul>" * 900
        + "<blockquote>第二条 引用。" * 900
        + "</blockquote>" * 900
        + "</div></body></html>",
        encoding="utf-8",
    )
    # flat HTML: 19 MiB of elements (refused by their number) and the most elements accepted
    for name, n in (("html_flat_19mib", 500_000), ("html_flat_most_elements_accepted", 14_990)):
        add(f"{name}.html").write_text(
            "<html><body><h1>某某规定</h1><div class='content'>"
            + "".join(f"<p>第{i}条 内容。</p><div></div>" for i in range(1, n + 1))
            + "</div></body></html>",
            encoding="utf-8",
        )

    # PDF: 300 pages whose lines never end a sentence (all re-joined into one paragraph), and 3,000 such pages
    line = "the court shall handle"  # the same width on every line: every line looks wrapped
    _pdf(add("pdf_unterminated_300_pages.pdf"), [["Rules"] + [line] * 40 for _ in range(300)])
    _pdf(add("pdf_unterminated_3000_pages.pdf"), [["Rules"] + [line] * 40 for _ in range(3000)])

    # text: 10 MiB of distinct sentences, a 5 MB single line, the largest accepted file of each shape
    with add("text_10mib_distinct_sentences.txt").open("w", encoding="utf-8") as fh:
        fh.write("某某规定\n")
        i = 0
        while fh.tell() < 10 * 2**20:
            fh.write(f"第{i}句话各不相同，编号{i * 7919 % 1000003}。")
            i += 1
    add("text_5mb_single_line.txt").write_text("标题" + "没有换行的文字，" * (5 * 10**6 // 24), encoding="utf-8")
    add("text_single_line_no_punctuation_accepted.txt").write_text("某某说明\n" + "没有任何标点的一行文字" * 27_000, encoding="utf-8")
    add("text_15k_articles_accepted.txt").write_text(
        "某某规定\n" + "\n".join(f"第{i}条 第{i}条内容。" for i in range(1, 15_001)), encoding="utf-8"
    )
    add("text_one_measure_many_sentences.txt").write_text("某某说明\n" + "短句。" * 90_000, encoding="utf-8")
    add("markdown_unclosed_markers_accepted.md").write_text(
        "# 某某规定\n" + "[" * 60_000 + "\n" + "<!--" * 15_000 + "\n" + "**__" * 15_000 + "\n" + "[a](" * 15_000 + "\n第一条 内容。\n",
        encoding="utf-8",
    )
    add("text_long_title_line.txt").write_text("这是一行很长很长的标题" * 20_000 + "\n第一条 内容。\n", encoding="utf-8")
    return files


_MEASURE = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import logging
logging.disable(logging.CRITICAL)
from indexer.chunking import segment_document
from indexer.errors import IndexerError
from indexer.loading import load_document
def hwm():
    # the high-water mark of this process image; ru_maxrss would still hold the parent's size from before exec
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
rss0 = hwm()
t = time.perf_counter()
try:
    doc = load_document(sys.argv[2])
    layout = segment_document(doc)
    outcome = {"accepted": True, "chunks": len(layout.chunks), "sentences": sum(len(c.sentences) for c in layout.chunks),
               "longest_sentence": max((len(s) for c in layout.chunks for s in c.sentences), default=0), "title_chars": len(doc.title)}
except IndexerError as exc:
    outcome = {"accepted": False, "kind": getattr(exc, "kind", "?"), "reason": getattr(exc, "reason", str(exc))[:160]}
except MemoryError:
    outcome = {"accepted": False, "kind": "MemoryError (address-space limit of the measuring process)"}
seconds = time.perf_counter() - t
peak = hwm()
print(json.dumps({"seconds": round(seconds, 2), "peak_mb": round(peak / 1024, 1), "baseline_mb": round(rss0 / 1024, 1), **outcome}))
"""


def measure_file(path: Path, code: Path = ROOT, timeout: float = 120.0, memory_cap_gb: float = 4.0) -> dict[str, Any]:
    """Load and chunk one file in a fresh process (at most ``timeout`` s, ``memory_cap_gb`` of address space)."""
    import resource

    def cap() -> None:
        os.nice(10)
        cap_bytes = int(memory_cap_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (cap_bytes, cap_bytes))

    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    t = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _MEASURE, str(code), str(path)],
            capture_output=True,
            text=True,
            timeout=timeout,
            preexec_fn=cap,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"accepted": None, "outcome": f"still running after {timeout:.0f} s (killed)", "seconds": None, "peak_mb": None}
    if proc.returncode != 0 or not proc.stdout.strip():
        return {
            "accepted": None,
            "outcome": f"crashed: exit {proc.returncode}: {proc.stderr.strip()[-200:]}",
            "seconds": round(time.perf_counter() - t, 2),
        }
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _outcome(r: dict[str, Any]) -> str:
    if r.get("accepted") is True:
        return f"accepted: {r['chunks']} measures, {r['sentences']} sentences (longest {r['longest_sentence']} chars)"
    if r.get("accepted") is False:
        # code from before the error kinds has none: its reason says what happened
        return f"refused ({r['kind']})" if r.get("kind") not in (None, "?") else f"refused: {r.get('reason', '?')}"
    return r["outcome"]


def hostile_file_cases(work: Path, code: Path = ROOT, timeout: float = 120.0, compare: Path | None = None) -> dict[str, Any]:
    """Every hostile file loaded and chunked in a fresh process: time and peak memory, accepted or refused.

    ``compare``, a checkout of other code (e.g. from before the limits), is measured on the same files too.
    """
    files = hostile_files(work / "hostile-files")
    cases = []
    for path in files.values():
        r = measure_file(path, code, timeout)
        within = r.get("seconds") is not None and r["seconds"] <= MAX_SECONDS and (r.get("peak_mb") or 1e9) <= MAX_PEAK_MB
        case = {
            "file": path.name,
            "bytes": path.stat().st_size,
            "outcome": _outcome(r),
            "seconds": r.get("seconds"),
            "peak_mb": r.get("peak_mb"),
            "baseline_mb": r.get("baseline_mb"),
            "within_bounds": within,
            **({"reason": r["reason"]} if r.get("reason") else {}),
        }
        if compare is not None:
            b = measure_file(path, compare, timeout)
            case["before"] = {"outcome": _outcome(b), "seconds": b.get("seconds"), "peak_mb": b.get("peak_mb")}
        cases.append(case)
        print("  ", json.dumps(case, ensure_ascii=False), flush=True)
    return {
        "inputs": len(cases),
        "bounds": f"≤ {MAX_SECONDS:.0f} s and ≤ {MAX_PEAK_MB:.0f} MB peak to load and chunk (or refuse)",
        "out_of_bounds": sum(not c["within_bounds"] for c in cases),
        "crashes": sum(not c["within_bounds"] for c in cases),
        **({"compared_with": str(compare)} if compare is not None else {}),
        "cases": cases,
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
    ap.add_argument("--only", default="fuzz,hostile,hostile_files,kills,damaged,index_faults,bad_corpus,concurrency")
    ap.add_argument("--code", type=Path, default=ROOT, help="checkout whose loader the hostile files are measured with")
    ap.add_argument("--file-timeout", type=float, default=120.0, help="seconds before a hostile file's process is killed")
    ap.add_argument("--compare-code", type=Path, default=None, help="also measure the hostile files with this checkout (e.g. older code)")
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
        if "hostile_files" in only:
            out["hostile_files"] = hostile_file_cases(work, args.code, args.file_timeout, args.compare_code)
            print("hostile_files", json.dumps({k: v for k, v in out["hostile_files"].items() if k != "cases"}), flush=True)
        if "kills" in only:
            out["kills"] = kills(args.kills, work)
            print("kills", json.dumps(out["kills"], ensure_ascii=False), flush=True)
        if "damaged" in only:
            out["damaged"] = damaged(work)
            print("damaged", json.dumps({k: v for k, v in out["damaged"].items() if k != "cases"}), flush=True)
        if "index_faults" in only:
            out["index_faults"] = index_faults(work)
            print("index_faults", json.dumps(out["index_faults"], ensure_ascii=False), flush=True)
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
        "inputs_tried": sum(out.get(k, {}).get("inputs", 0) for k in ("fuzz", "hostile", "hostile_files", "bad_corpus")),
        "faults_injected": out.get("kills", {}).get("faults", 0)
        + out.get("damaged", {}).get("faults", 0)
        + out.get("index_faults", {}).get("faults", 0)
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
