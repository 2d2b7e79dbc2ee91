from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from indexer.chunking import chunk_document
from indexer.loading import load_document
from indexer.schema import Document
from indexer.units import char_bigrams, chunk_fingerprint, embedded_sentences, sentence_texts, text_key, title_text

from .conftest import REFORM_PLAN


def test_embedded_texts_of_a_chunk() -> None:
    chunk = next(c for c in chunk_document(load_document(REFORM_PLAN)) if c.measure_no == 5)
    texts = sentence_texts(chunk)
    assert texts[0] == "完善市场主体救治和退出机制。" and len(texts) == len(chunk.sentences)
    assert [p for p, _ in embedded_sentences(chunk)] == list(range(len(chunk.sentences)))
    assert title_text(chunk) == "完善市场主体救治和退出机制"
    assert char_bigrams("个人破产！") == ["个人", "人破", "破产"]


def test_passage_titles_embedded_only_when_they_name_a_section() -> None:
    chunks = chunk_document(
        Document(
            "d", "某某方案", "", "", "d.txt", "txt", "0" * 64, ("为了测试，制定本方案。", "一、总体要求", "坚持问题导向。", "1.完善机制。")
        )
    )
    preamble, intro, _ = chunks
    assert (preamble.measure_title, title_text(preamble)) == ("引言", None)  # 引言 says nothing about what it holds
    assert title_text(intro) == "一、总体要求"


def test_an_article_label_is_not_embedded_nor_a_title() -> None:
    from indexer.schema import Chunk

    chunk = Chunk.from_dict(
        {
            "chunk_id": "d#3",
            "doc_id": "d",
            "doc_title": "某某规定",
            "section": "",
            "measure_no": 3,
            "measure_title": "第三条",
            "text": "第三条 甲应当乙。丙。",
            "sentences": ["第三条 甲应当乙。", "丙。"],
            "citation": "《某某规定》第三条",
            "label": "第三条",
        }
    )
    assert sentence_texts(chunk) == ["甲应当乙。", "丙。"]
    assert title_text(chunk) is None


def test_keys_and_fingerprints_are_stable() -> None:
    chunk = chunk_document(load_document(REFORM_PLAN))[0]
    assert text_key("个人破产") == text_key("个人破产") and len(text_key("个人破产")) == 20
    assert chunk_fingerprint(chunk) == chunk_fingerprint(chunk) and len(chunk_fingerprint(chunk)) == 40


@given(st.text(max_size=60))
def test_bigrams_overlap_by_one_character(text: str) -> None:
    pairs = char_bigrams(text)
    assert all(len(p) == 2 for p in pairs)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(pairs))
