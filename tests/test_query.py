from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.errors import BadInputError
from indexer.query import MAX_QUERY_CHARS, Thesaurus, parse_query
from indexer.segmentation import default_segmenter

SEG = default_segmenter()
TH = Thesaurus()


@pytest.mark.parametrize("text", ["", "   ", "\t\n", "\u3000\u3000"])
def test_empty_query_is_bad_input(text: str) -> None:
    with pytest.raises(BadInputError, match="empty"):
        parse_query(text, SEG, TH)


def test_colloquial_words_expand_to_legal_terms() -> None:
    q = parse_query("判决赢了但是拿不到钱", SEG, TH)
    assert "执行难" in q.expansions
    assert "执行" in q.expansion_tokens
    assert q.dense_text.startswith("判决赢了但是拿不到钱 ")
    q2 = parse_query("领导打招呼干预案件怎么办", SEG, TH)
    assert "干预司法" in q2.expansions


def test_no_expansion_for_plain_legal_terms() -> None:
    q = parse_query("个人破产", SEG, TH)
    assert q.dense_text == "个人破产"


def test_long_query_is_truncated() -> None:
    q = parse_query("法官法第三十六条" + "很长" * 60000, SEG, TH)
    assert len(q.text) == MAX_QUERY_CHARS and q.truncated


def test_thesaurus_entries_are_well_formed() -> None:
    assert len(TH.entries) >= 80
    for phrases, terms in TH.entries:
        assert all(phrases) and all(terms)


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=200))
def test_any_non_blank_text_parses(text: str) -> None:
    if not text.strip():
        return
    try:
        q = parse_query(text, SEG, TH)
    except BadInputError:
        # only text that normalises to nothing (control characters) may be refused
        assert not " ".join(text.split()).strip() or not q_text_survives(text)
        return
    assert q.text and len(q.text) <= MAX_QUERY_CHARS


def q_text_survives(text: str) -> bool:
    from indexer.segmentation import normalise

    return bool(" ".join(normalise(text).split()))


_TH = Thesaurus()
# the same thesaurus with no first-character sets: every pattern is tried on every question
_TH_UNFILTERED = Thesaurus()
_TH_UNFILTERED._patterns = [(pattern, terms, None) for pattern, terms, _ in _TH._patterns]
_PHRASES = [p.replace("*", "了") for phrases, _ in _TH.entries for p in phrases]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_PHRASES), st.text(alphabet="我的钱法院了吗，", max_size=4)), max_size=6).map("".join))
def test_skipping_patterns_by_first_character_changes_nothing(text: str) -> None:
    assert _TH.match(text) == _TH_UNFILTERED.match(text)
