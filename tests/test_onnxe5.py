from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from indexer.encoders import LEGAL_DELTA, get_encoder
from indexer.errors import ModelUnavailableError
from indexer.onnxe5 import ONNX_FILE, WORD_EMBEDDINGS, OnnxE5Encoder, export_dir, safetensors_memmap

pytest.importorskip("onnxruntime")

SENTENCES = [
    "支持深圳试行个人破产制度，探索建立个人破产信息公开和信用修复机制。",
    "加强海事海商审判组织建设",
    "老板拖欠工资不给怎么办",
    "用人单位应当按照劳动合同约定和国家规定，向劳动者及时足额支付劳动报酬。",
    "离婚后孩子的抚养费一般怎么计算？",
    "今天天气很好",
]


def test_the_word_embeddings_are_read_through_a_memory_map(tmp_path: Path) -> None:
    from safetensors.numpy import save_file

    table = np.arange(24, dtype=np.float32).reshape(6, 4)
    save_file({WORD_EMBEDDINGS: table, "other": np.ones(3, np.float32)}, str(tmp_path / "m.safetensors"))
    mapped = safetensors_memmap(tmp_path / "m.safetensors", WORD_EMBEDDINGS)
    assert isinstance(mapped, np.memmap) and mapped.shape == (6, 4)
    np.testing.assert_array_equal(mapped[[5, 0, 5]], table[[5, 0, 5]])
    with pytest.raises(ModelUnavailableError, match="converted again"):
        safetensors_memmap(tmp_path / "m.safetensors", "missing")
    save_file({WORD_EMBEDDINGS: table.astype(np.float16)}, str(tmp_path / "h.safetensors"))
    with pytest.raises(ModelUnavailableError, match="converted again"):
        safetensors_memmap(tmp_path / "h.safetensors", WORD_EMBEDDINGS)


def test_the_default_encoder_runs_on_onnx_runtime_with_the_torch_models_vectors(converted_e5: Path) -> None:
    assert isinstance(get_encoder("e5-legal"), OnnxE5Encoder)
    # made here, not taken from get_encoder's per-process cache: its export lives in this session's model cache
    onnx, torch_ = OnnxE5Encoder("e5-legal", delta=LEGAL_DELTA), get_encoder("e5-legal-torch")
    # the same model: an index built by one engine is valid for the other
    assert onnx.model_id == torch_.model_id and onnx.fingerprint == torch_.fingerprint and onnx.dim == torch_.dim == 384
    long = "。".join(SENTENCES * 30)  # far beyond 512 tokens: averaged over 510-token windows by both engines
    texts = [*SENTENCES, long, ""]
    assert onnx.count_tokens(long) == torch_.count_tokens(long) > 1000
    for a, b in ((onnx.encode_passages(texts), torch_.encode_passages(texts)), (onnx.encode_queries(texts), torch_.encode_queries(texts))):
        np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, rtol=1e-4)
        assert (a * b).sum(1).min() >= 0.9999
    assert [onnx.count_tokens(t) for t in texts] == [torch_.count_tokens(t) for t in texts]
    assert onnx.encode_queries([]).shape == (0, 384)
    # the export is made once, in the model cache, and holds no copy of the 250k-row embedding table
    folder = export_dir(converted_e5, onnx.fingerprint)
    assert (folder / ONNX_FILE).stat().st_size < 150_000_000
    assert json.loads((folder / "export.json").read_text())["spec"] == "e5-legal"


def test_an_export_is_reused_and_a_damaged_one_is_refused_with_a_way_out(converted_e5: Path, tmp_path: Path) -> None:
    first = OnnxE5Encoder("e5-legal", delta=LEGAL_DELTA)  # exported into this session's model cache if it is not there yet
    sha = json.loads((LEGAL_DELTA / "tune.json").read_text(encoding="utf-8"))["delta_sha256"]
    folder = export_dir(converted_e5, first.fingerprint)
    stamp = (folder / ONNX_FILE).stat().st_mtime_ns
    again = OnnxE5Encoder("e5-legal", delta=LEGAL_DELTA, threads=1)
    assert (folder / ONNX_FILE).stat().st_mtime_ns == stamp and again.encode_queries(["个人破产"]).shape == (1, 384)
    # a copy of the delta elsewhere is the same model: same export folder, nothing exported again
    copy = tmp_path / "delta"
    shutil.copytree(LEGAL_DELTA, copy)
    assert OnnxE5Encoder("e5-tuned:x", delta=copy).model_id == f"e5-tuned:x@{sha[:12]}"
    # a truncated export (disk full, killed process) says which folder to delete
    saved = tmp_path / "saved.onnx"
    shutil.copy(folder / ONNX_FILE, saved)
    try:
        with open(folder / ONNX_FILE, "r+b") as f:
            f.truncate(1000)
        with pytest.raises(ModelUnavailableError, match="delete that folder"):
            OnnxE5Encoder("e5-legal", delta=LEGAL_DELTA)
    finally:
        shutil.copy(saved, folder / ONNX_FILE)
        os.utime(folder / ONNX_FILE, ns=(stamp, stamp))


def test_a_missing_delta_is_refused_before_any_export(converted_e5: Path, tmp_path: Path) -> None:
    before = sorted(converted_e5.parent.iterdir())
    with pytest.raises(ModelUnavailableError, match="python -m indexer tune"):
        OnnxE5Encoder("e5-tuned:x", delta=tmp_path / "nothing-here")
    assert sorted(converted_e5.parent.iterdir()) == before


def test_searching_an_index_of_the_default_encoder_never_imports_torch(default_index: Path) -> None:
    """The page and the CLI answer without torch: seconds less to start, and a third of the query time."""
    import subprocess
    import sys

    code = (
        "import sys; from indexer.search import Searcher\n"
        f"hits = Searcher.open({str(default_index)!r}).search('个人破产', top_k=3).hits\n"
        "assert hits, 'no hits'\n"
        "print(sorted(m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=os.environ.copy())
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"
