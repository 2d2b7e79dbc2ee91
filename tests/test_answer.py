from __future__ import annotations

from pathlib import Path

import pytest

from indexer.answer import answer, compose, decide, is_heading
from indexer.search import Searcher


@pytest.fixture(scope="module")
def searcher(e5_index: Path) -> Searcher:
    return Searcher.open(e5_index)


@pytest.mark.parametrize("question", ["个人破产相关改革", "法官惩戒工作规程"])
def test_answerable_questions_quote_cited_sentences(searcher: Searcher, question: str) -> None:
    a = answer(searcher, question)
    assert a.found and a.sentences and a.hits
    retrieved = {h.chunk.chunk_id: h.chunk for h in a.hits}
    for s in a.sentences:
        # extractive: every sentence is quoted from a retrieved measure, with its citation
        assert s.chunk_id in retrieved
        assert s.sentence in retrieved[s.chunk_id].text.replace("\n", "")
        assert s.citation == retrieved[s.chunk_id].citation
    d = a.to_dict()
    assert set(d) >= {"question", "found", "answer", "hits"}
    assert set(d["answer"][0]) == {"sentence", "citation", "chunk_id"}


@pytest.mark.parametrize("question", ["离婚后孩子的抚养权归谁", "明天天气怎么样", "你好", "<script>alert('x')</script>"])
def test_unanswerable_questions_are_not_found(searcher: Searcher, question: str) -> None:
    a = answer(searcher, question)
    assert not a.found and a.sentences == ()


def test_personal_bankruptcy_answer_quotes_the_measure(searcher: Searcher) -> None:
    a = answer(searcher, "个人破产相关改革")
    assert any("个人破产" in s.sentence for s in a.sentences)
    assert a.sentences[0].citation == "《2021年全省法院司法改革工作要点》（广东高院，2021年11月10日）第一部分第5项"


def test_no_calibrator_falls_back_to_coverage(searcher: Searcher) -> None:
    res = searcher.search("个人破产", top_k=3)
    found, conf = decide(None, res)
    assert found and 0 <= conf <= 1
    assert compose(res, False, 0.1).sentences == ()


@pytest.mark.parametrize("question", ["判决赢了但是拿不到钱", "执行难", "个人破产相关改革", "法官惩戒工作规程", "网上打官司"])
def test_the_answer_never_quotes_a_bare_heading(searcher: Searcher, question: str) -> None:
    """Issue 13.8: 「14.健全解决执行难长效机制。」 alone says nothing; the answer quotes sentences with content."""
    # the sentences an answer would quote, whether or not it is confident enough to quote them
    a = compose(searcher.search(question, top_k=5), True, 1.0)
    chunks = {h.chunk.chunk_id: h.chunk for h in a.hits}
    assert a.sentences
    for s in a.sentences:
        assert not is_heading(chunks[s.chunk_id], s.sentence), s.sentence


def test_is_heading(searcher: Searcher) -> None:
    chunk = next(c for c in searcher.data.chunks if c.measure_no == 14)
    assert chunk.measure_title == "健全解决执行难长效机制"
    assert is_heading(chunk, "14.健全解决执行难长效机制。") and is_heading(chunk, "14.")
    assert not is_heading(chunk, chunk.sentences[-1])


def test_an_unsure_answer_quotes_nothing_and_offers_the_ranked_measures(searcher: Searcher) -> None:
    """Below confidence 0.6 nothing is quoted; the hits are still there, as 可能相关的条款."""
    from indexer.answer import FOUND_THRESHOLD

    for question in ("判决赢了但是拿不到钱", "离婚后孩子的抚养权归谁"):
        a = answer(searcher, question)
        assert a.found == (a.confidence >= FOUND_THRESHOLD)
        if not a.found:
            assert a.sentences == () and a.hits
