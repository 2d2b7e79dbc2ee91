from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from indexer.build import build_index
from indexer.errors import IndexDamagedError, IndexMismatchError, IndexMissingError
from indexer.fusion import FusionModels, LinearRanker, default_models
from indexer.store import CURRENT, IndexWriter, clean_leftovers, current_version, load_index, publish_models, read_manifest

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
    assert len(m["dictionary"]["sha256"]) == len(m["thesaurus"]["sha256"]) == 64
    # no models ship for the test encoder: the version says it has none
    assert m["ranker"] is None and "ranker.json" not in m["files"]
    data = load_index(index)
    assert len(data.chunks) == m["counts"]["chunks"] == 11 + 3 and data.models is None  # 11 measures, 3 preambles


def _models(encoder: str, features: tuple[str, ...] = ("bm25", "sentence")) -> FusionModels:
    import numpy as np

    n = len(features)
    ranker = LinearRanker(features, np.zeros(n), np.ones(n), np.ones(n), {"encoder": encoder})
    return FusionModels.make(encoder, ranker, None)


def test_models_are_published_as_a_new_version_and_recorded(tmp_path: Path) -> None:
    index = _build(tmp_path)
    before = current_version(index)
    version = publish_models(index, _models("hash-64"))
    assert version != before and current_version(index) == version
    m = read_manifest(index)
    assert m["ranker"]["sha256"] == m["files"]["ranker.json"]["sha256"] == _models("hash-64").sha256
    assert (m["ranker"]["encoder"], m["ranker"]["origin"], m["ranker"]["features"]) == ("hash-64", "trained", ["bm25", "sentence"])
    # everything but the models is the previous version's
    assert m["documents"] == read_manifest(index, before)["documents"]
    data = load_index(index)
    assert data.models is not None and data.models.sha256 == m["ranker"]["sha256"] and len(data.chunks) == 11 + 3


def test_models_of_another_encoder_are_refused(tmp_path: Path) -> None:
    index = _build(tmp_path)
    with pytest.raises(IndexMismatchError, match="fitted to encoder 'e5-small'"):
        publish_models(index, _models("e5-small"))
    # a version holding them anyway (written by other means) is refused when loaded
    e5 = default_models("e5-small")
    assert e5 is not None
    writer = IndexWriter(index)
    writer.write_models(_live(index), read_manifest(index), e5)
    writer.publish()
    with pytest.raises(IndexMismatchError, match=r"fitted to 'e5-small'.*retrain"):
        load_index(index)


def test_damaged_models_are_refused(tmp_path: Path) -> None:
    index = _build(tmp_path)
    publish_models(index, _models("hash-64"))
    p = _live(index) / "ranker.json"
    p.write_bytes(p.read_bytes().replace(b'"trained"', b'"tra1ned"'))
    with pytest.raises(IndexDamagedError, match="rebuild"):
        load_index(index)


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
    assert len(load_index(index).chunks) == 11 + 3
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


# ------------------------------------------------------------------ hostile indexes (issue 14)


def _edit_manifest(live: Path, edit) -> None:
    m = json.loads((live / "manifest.json").read_text(encoding="utf-8"))
    edit(m)
    (live / "manifest.json").write_text(json.dumps(m, ensure_ascii=False), encoding="utf-8")


def _first(d: dict) -> str:
    return next(iter(d))


MANIFEST_DAMAGE = {
    "doc_title_unit_out_of_range": lambda m: m["doc_title_units"].update({_first(m["doc_title_units"]): 999999}),
    "doc_title_unit_negative": lambda m: m["doc_title_units"].update({_first(m["doc_title_units"]): -1}),
    "doc_title_unit_string": lambda m: m["doc_title_units"].update({_first(m["doc_title_units"]): "7"}),
    "doc_title_units_missing_one": lambda m: m["doc_title_units"].pop(_first(m["doc_title_units"])),
    "chunks_count_string": lambda m: m["counts"].update(chunks="11"),
    "chunks_count_bool": lambda m: m["counts"].update(chunks=True),
    "units_count_wrong": lambda m: m["counts"].update(units=m["counts"]["units"] + 1),
    "sentences_count_wrong": lambda m: m["counts"].update(sentences=m["counts"]["sentences"] - 1),
    "documents_count_wrong": lambda m: m["counts"].update(documents=99),
    "document_chunks_wrong": lambda m: m["documents"][_first(m["documents"])].update(chunks=999),
    "document_not_object": lambda m: m["documents"].update({_first(m["documents"]): [1, 2]}),
    "documents_a_list": lambda m: m.update(documents=[]),
    "encoder_dim_float": lambda m: m["encoder"].update(dim=64.0),
    "encoder_not_object": lambda m: m.update(encoder="hash"),
    "file_size_negative": lambda m: m["files"][_first(m["files"])].update(size=-1),
    "file_hash_not_hex": lambda m: m["files"][_first(m["files"])].update(sha256=123),
    "file_outside_index": lambda m: m["files"].update({"../../../etc/hostname": {"size": 1, "sha256": "0" * 64}}),
    "counts_null": lambda m: m.update(counts=None),
    "manifest_a_list": None,
    "huge_number": None,
    "deep_nesting": None,
}


@pytest.mark.parametrize("damage", list(MANIFEST_DAMAGE))
def test_manifest_values_are_validated_on_load(tmp_path: Path, damage: str) -> None:
    index = _build(tmp_path)
    live = _live(index)
    text = (live / "manifest.json").read_text(encoding="utf-8")
    if damage == "manifest_a_list":
        (live / "manifest.json").write_text("[1, 2, 3]", encoding="utf-8")
    elif damage == "huge_number":
        (live / "manifest.json").write_text(text.replace('"dim": 64', '"dim": 1e400'), encoding="utf-8")
    elif damage == "deep_nesting":
        (live / "manifest.json").write_text(
            text.replace('"dense": {', '"deep": ' + "[" * 100_000 + "]" * 100_000 + ', "dense": {'), encoding="utf-8"
        )
    else:
        _edit_manifest(live, MANIFEST_DAMAGE[damage])
    with pytest.raises(IndexDamagedError, match="rebuild"):
        load_index(index)


def test_damaged_manifest_in_the_cli_is_one_line_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from indexer.cli import main

    index = _build(tmp_path)
    _edit_manifest(_live(index), MANIFEST_DAMAGE["doc_title_unit_out_of_range"])
    assert main(["search", "改革", "--index", str(index), "--json"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "damaged" in err and "rebuild" in err


@pytest.mark.parametrize("content", [b"\xff\xfe\x00v\x00-", b"\x00" * 10, b"v-" + b"a" * 5000, b"v-\x00x\n"])
def test_binary_current_pointer_is_a_damaged_index(tmp_path: Path, content: bytes) -> None:
    index = _build(tmp_path)
    (index / CURRENT).write_bytes(content)
    with pytest.raises(IndexDamagedError, match="rebuild"):
        load_index(index)
    build_index(tmp_path / "corpus", index, model="hash")  # and a build replaces it
    assert len(load_index(index).chunks) == 11 + 3


def test_build_into_a_file_is_a_clear_error(tmp_path: Path) -> None:
    from indexer.errors import BadInputError

    (tmp_path / "index").write_text("not a folder")
    for target in (tmp_path / "index", tmp_path / "index" / "sub"):
        with pytest.raises(BadInputError, match="is a file"):
            build_index(DATA, target, model="hash")


def test_build_into_a_read_only_folder_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from indexer.errors import IndexWriteError

    def denied(*args, **kwargs) -> None:
        raise PermissionError(13, "Permission denied", str(tmp_path / "ro"))

    monkeypatch.setattr(Path, "mkdir", denied)  # what a read-only folder does to anyone but root
    with pytest.raises(IndexWriteError, match=r"permission denied.*--index"):
        build_index(DATA, tmp_path / "ro" / "index", model="hash")


def test_full_disk_while_writing_is_a_clear_error_and_keeps_the_old_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    import numpy as np

    from indexer.errors import IndexWriteError

    index = _build(tmp_path)
    before = current_version(index)

    def full(*args, **kwargs) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "save", full)
    with pytest.raises(IndexWriteError, match="disk is full"):
        build_index(tmp_path / "corpus", index, model="hash", force=True)
    assert current_version(index) == before and not list(index.glob(".tmp-*"))
    monkeypatch.undo()
    assert len(load_index(index).chunks) == 11 + 3


def test_build_waiting_for_another_build_says_so_and_gives_up(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import fcntl
    import logging

    from indexer.errors import IndexBusyError
    from indexer.store import WAITING_MESSAGE

    index = tmp_path / "index"
    index.mkdir()
    stages: list[str] = []
    with (index / ".lock").open("a+") as other:
        fcntl.flock(other.fileno(), fcntl.LOCK_EX)  # another build holds the lock
        with caplog.at_level(logging.WARNING, logger="indexer.store"), pytest.raises(IndexBusyError, match="gave up"):
            build_index(DATA, index, model="hash", lock_timeout=0.3, on_progress=lambda done, total, stage: stages.append(stage))
    assert any(WAITING_MESSAGE in r.getMessage() for r in caplog.records)
    assert any(WAITING_MESSAGE in s for s in stages)
    assert current_version(index) is None


def test_build_waiting_for_another_build_goes_on_when_it_ends(tmp_path: Path) -> None:
    import fcntl
    import threading

    index = tmp_path / "index"
    index.mkdir()
    other = (index / ".lock").open("a+")
    fcntl.flock(other.fileno(), fcntl.LOCK_EX)
    threading.Timer(0.3, other.close).start()  # closing the file releases its lock
    report = build_index(DATA, index, model="hash", lock_timeout=30)
    assert report.chunks == 11 + 3 and current_version(index) == report.version


@pytest.mark.parametrize("array", ["title_units", "sentence_units"])
def test_out_of_range_array_values_are_damage_even_with_matching_checksums(tmp_path: Path, array: str) -> None:
    import hashlib

    import numpy as np

    index = _build(tmp_path)
    live = _live(index)
    cu = dict(np.load(live / "chunk_units.npz"))
    cu[array] = cu[array].copy()
    cu[array][0] = -5  # would wrap around to another unit if used
    np.savez(live / "chunk_units.npz", **cu)
    data = (live / "chunk_units.npz").read_bytes()
    _edit_manifest(live, lambda m: m["files"]["chunk_units.npz"].update(size=len(data), sha256=hashlib.sha256(data).hexdigest()))
    with pytest.raises(IndexDamagedError, match="rebuild"):
        load_index(index)
