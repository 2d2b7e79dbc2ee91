from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from indexer.build import build_index
from indexer.errors import IndexDamagedError, IndexMismatchError, IndexMissingError
from indexer.store import CURRENT, IndexWriter, clean_leftovers, current_version, load_index, read_manifest

from .conftest import DATA


def _build(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    shutil.copytree(DATA, corpus)
    index = tmp_path / "index"
    build_index(corpus, index, model="hash")
    return index


def _live(index: Path) -> Path:
    return index / current_version(index)


def test_manifest_records_encoder_dictionary_and_documents(tmp_path: Path) -> None:
    index = _build(tmp_path)
    m = read_manifest(index)
    assert m["encoder"]["model_id"] == "hash-64" and m["encoder"]["dim"] == 64
    assert len(m["segmenter"]["fingerprint"]) == 16
    assert set(m["documents"]) == {"notice_items", "reform_plan_fullwidth", "rules_articles"}
    assert all(len(d["content_hash"]) == 64 for d in m["documents"].values())
    assert m["version"] == current_version(index) and m["created"].endswith("Z")
    assert all({"size", "sha256"} <= set(f) for f in m["files"].values())
    data = load_index(index)
    assert len(data.chunks) == m["counts"]["chunks"] == 11


def test_missing_index_says_how_to_build(tmp_path: Path) -> None:
    with pytest.raises(IndexMissingError, match="build"):
        load_index(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(IndexMissingError, match="python -m indexer build"):
        load_index(tmp_path / "empty")


@pytest.mark.parametrize(
    ("damage", "error"),
    [
        ("truncate_faiss", IndexDamagedError),
        ("flip_byte", IndexDamagedError),
        ("delete_chunks", IndexDamagedError),
        ("garbage_manifest", IndexDamagedError),
        ("delete_manifest", IndexDamagedError),
        ("garbage_current", IndexDamagedError),
        ("old_format", IndexMismatchError),
        ("other_encoder", IndexMismatchError),
    ],
)
def test_damaged_or_mismatched_index_is_refused_with_rebuild_hint(tmp_path: Path, damage: str, error: type) -> None:
    index = _build(tmp_path)
    live = _live(index)
    if damage == "truncate_faiss":
        p = live / "dense.faiss"
        p.write_bytes(p.read_bytes()[:100])
    elif damage == "flip_byte":
        p = live / "chunks.jsonl"
        b = bytearray(p.read_bytes())
        b[10] ^= 0x01
        p.write_bytes(bytes(b))
    elif damage == "delete_chunks":
        (live / "chunks.jsonl").unlink()
    elif damage == "garbage_manifest":
        (live / "manifest.json").write_text("{not json", encoding="utf-8")
    elif damage == "delete_manifest":
        (live / "manifest.json").unlink()
    elif damage == "garbage_current":
        (index / CURRENT).write_text("../../etc\n", encoding="utf-8")
    elif damage == "old_format":
        m = json.loads((live / "manifest.json").read_text(encoding="utf-8"))
        m["format_version"] = 0
        (live / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    with pytest.raises(error) as info:
        load_index(index, model_id="e5-small" if damage == "other_encoder" else None)
    message = str(info.value)
    assert "rebuild" in message or "--model" in message


def test_interrupted_build_leaves_previous_index_and_is_cleaned_up(tmp_path: Path) -> None:
    index = _build(tmp_path)
    before = current_version(index)
    writer = IndexWriter(index)  # a build that dies before publishing
    (writer.tmp / "chunks.jsonl").write_text("half written", encoding="utf-8")
    assert current_version(index) == before
    assert len(load_index(index).chunks) == 11
    removed = clean_leftovers(index)
    assert writer.tmp.name in removed and not writer.tmp.exists()


def test_old_versions_are_pruned(tmp_path: Path) -> None:
    index = _build(tmp_path)
    corpus = tmp_path / "corpus"
    for i in range(3):
        (corpus / f"extra{i}.txt").write_text(f"补充规定{i}\n第一条 第{i}份补充规定的内容。\n", encoding="utf-8")
        build_index(corpus, index, model="hash")
    versions = sorted(p.name for p in index.glob("v-*"))
    assert len(versions) <= 3 and current_version(index) in versions


KILLED_BUILD = """
import sys, time
from indexer.build import build_index
from indexer.encoders import HashEncoder

class Slow(HashEncoder):
    def encode_passages(self, texts):
        print("embedding", flush=True)
        time.sleep(0.5)
        return super().encode_passages(texts)

build_index(sys.argv[1], sys.argv[2], encoder=Slow())
"""


def test_build_killed_with_sigkill_leaves_the_previous_index(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    from indexer.search import Searcher

    from .conftest import ROOT

    index = _build(tmp_path)
    before = current_version(index)
    probe = [[h.chunk.chunk_id for h in Searcher.open(index).search(q, top_k=5).hits] for q in ("立案", "执行款", "改革")]
    corpus = tmp_path / "corpus"
    (corpus / "new.txt").write_text("新规定\n第一条 新规定的内容。\n第二条 另一条。\n", encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-c", KILLED_BUILD, str(corpus), str(index)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "embedding"  # it is inside the build now
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert current_version(index) == before
    after = [[h.chunk.chunk_id for h in Searcher.open(index).search(q, top_k=5).hits] for q in ("立案", "执行款", "改革")]
    assert after == probe
    build_index(corpus, index, model="hash")
    assert not list(index.glob(".tmp-*"))  # whatever the dead build left is removed by the next one
    assert current_version(index) != before


def test_token_cache_lines_round_trip(tmp_path: Path) -> None:
    from indexer.store import TOKENS_FILE, _read_tokens, _token_line

    rows = [[["个人破产", "破产"], [], ["个人", "人破", "破产"]], [[], [], []], [["a b"], [], []], [[""], [], []], [["a\tb"], [], []]]
    (tmp_path / TOKENS_FILE).write_text("".join(_token_line(r) for r in rows), encoding="utf-8")
    # a token holding whitespace cannot be written as a line: that chunk is simply not cached
    assert _read_tokens(tmp_path) == [rows[0], rows[1], None, None, None]
