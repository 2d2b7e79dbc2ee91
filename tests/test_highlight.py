from __future__ import annotations

import html
import json
import re

from hypothesis import given
from hypothesis import strategies as st

from indexer.highlight import (
    METER_FILE,
    SENTENCE_CLASS,
    TERM_CLASS,
    escape,
    escape_block,
    find_terms,
    highlight_html,
    meter_thresholds,
    query_terms,
    relevance_meter,
    relevance_word,
    sentence_spans,
)
from indexer.query import Thesaurus, parse_query
from indexer.segmentation import default_segmenter

TAG = re.compile(r"<(/?)([a-zA-Z]+)([^>]*)>")


def _tags(out: str) -> set[str]:
    return {m.group(2).lower() for m in TAG.finditer(out)}


def _text_of(out: str) -> str:
    """The text a browser shows: tags removed, <br> as newline, entities decoded."""
    return html.unescape(TAG.sub(lambda m: "\n" if m.group(2).lower() == "br" else "", out))


def test_escape_turns_html_and_markdown_into_inert_text() -> None:
    out = escape('<script>alert(1)</script> <b>粗</b> & "q" [链接](http://x) :red[红] $x$ *斜* _下_ `码` ~删~ | \\')
    assert "<" not in out and ">" not in out
    assert not set("[]:$*_`~|\\") & set(re.sub(r"&#?\w+;", "", out))
    assert html.unescape(out) == '<script>alert(1)</script> <b>粗</b> & "q" [链接](http://x) :red[红] $x$ *斜* _下_ `码` ~删~ | \\'


def test_escape_block_keeps_line_breaks_without_blank_lines() -> None:
    out = escape_block("第一段\n\n第二段\r\n第三段")
    assert "\n" not in out and "\r" not in out
    assert out == "第一段<br><br>第二段<br>第三段"


def test_highlight_marks_terms_and_evidence_sentences() -> None:
    text = "5.完善市场主体救治和退出机制。扎实开展破产制度改革试点。\n支持深圳试行个人破产制度。"
    sentences = ("5.完善市场主体救治和退出机制。", "扎实开展破产制度改革试点。", "支持深圳试行个人破产制度。")
    out = highlight_html(text, ["个人破产", "破产"], sentences, evidence=(2,))
    assert f'<mark class="{SENTENCE_CLASS}">支持深圳试行<mark class="{TERM_CLASS}">个人破产</mark>制度。</mark>' in out
    # the shorter term still marks where the longer one does not occur
    assert f'开展<mark class="{TERM_CLASS}">破产</mark>制度' in out
    assert "<br>" in out
    assert _text_of(out) == text


def test_highlight_matches_full_width_and_traditional_forms() -> None:
    text = "１．完善院庭長閱核制度。"
    spans = find_terms(text, ["院庭长", "1."])
    assert [text[a:b] for a, b in spans] == ["１．", "院庭長"]


def test_highlight_of_hostile_text_contains_only_its_own_tags() -> None:
    text = "一、<b>严格</b>立案审查。<script>alert(1)</script>对于<img src=x onerror=alert(2)>材料，应当登记。"
    sentences = ("一、<b>严格</b>立案审查。", "<script>alert(1)</script>对于<img src=x onerror=alert(2)>材料，应当登记。")
    out = highlight_html(text, ["立案", "script", "<b>", "alert"], sentences, evidence=(0, 1))
    assert _tags(out) <= {"mark"}
    assert out.count("&lt;") == text.count("<") and out.count("&gt;") == text.count(">")
    assert _text_of(out) == text


def test_sentence_spans_skip_newlines_and_tolerate_mismatch() -> None:
    text = "第一句。\n第二句，\n续写。"
    assert sentence_spans(text, ("第一句。", "第二句，续写。")) == [(0, 4), (5, 13)]
    spans = sentence_spans(text, ("第一句。", "不在文中。"))
    assert spans[0] == (0, 4) and spans[1][0] == spans[1][1]
    # an unplaceable sentence does not break the highlight
    assert _text_of(highlight_html(text, ["第一"], ("第一句。", "不在文中。"), (1,))) == text


def test_query_terms_keep_legal_words_and_drop_everyday_ones() -> None:
    seg, thesaurus = default_segmenter(), Thesaurus()
    terms = query_terms(parse_query("判决赢了但是拿不到钱", seg, thesaurus))
    assert "执行" in terms or "强制执行" in terms
    assert "拿" not in terms and "钱" not in terms
    terms = query_terms(parse_query("个人破产相关改革", seg, thesaurus))
    assert "个人破产" in terms
    # punctuation-bearing parts of a hostile query are not offered as phrases
    assert all("<" not in t for t in query_terms(parse_query("<b>立案</b>", seg, thesaurus)))


def test_relevance_meter_is_bounded() -> None:
    t = meter_thresholds()
    assert relevance_meter(1.0).endswith("高") and "width:100%" in relevance_meter(1.0)
    assert relevance_meter(t["medium"]).endswith("中")
    assert relevance_meter(-2).endswith("低") and "width:4%" in relevance_meter(-2)
    assert relevance_meter(7).endswith("高")


def test_the_meter_says_high_only_where_the_labelled_questions_say_it_is_usually_right() -> None:
    """Issue 13.9: 高 from the relevance at which ≥ 80% of results were relevant (bench/meter.py), not a round 0.6."""
    data = json.loads(METER_FILE.read_text(encoding="utf-8"))
    assert data["precision_high"] >= 0.8 and data["results_high"] >= 30
    assert 0 < data["medium"] <= data["high"] <= 1
    t = meter_thresholds()
    assert (t["high"], t["medium"]) == (data["high"], data["medium"])
    assert relevance_word(t["high"] - 1e-6) == "中" and relevance_word(t["high"]) == "高"
    assert relevance_word(0.6) != "高"  # the old threshold: results at 0.6 were relevant about one time in six
    assert "估计相关的概率" in relevance_meter(0.42)


@given(
    st.lists(st.sampled_from([*"<>&\"'/ab破产立案。，\n$*_[]:", "<script>", "</b>", "&amp;", "&#x27;"]), max_size=30).map("".join),
    st.lists(st.text(alphabet=st.sampled_from(list("<>&ab破产立案$")), min_size=1, max_size=4), max_size=4),
)
def test_highlight_never_lets_markup_through(text: str, terms: list[str]) -> None:
    sentences = tuple(s + "。" for s in text.replace("\n", "").split("。") if s)  # need not align with the text
    out = highlight_html(text, terms, sentences, evidence=range(len(sentences)))
    assert _tags(out) <= {"mark", "br"}
    for m in TAG.finditer(out):
        assert m.group(3) in ("", f' class="{TERM_CLASS}"', f' class="{SENTENCE_CLASS}"')
    shown = _text_of(out)
    assert shown == text.replace("\r\n", "\n").replace("\r", "\n")
