from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.errors import BadInputError
from indexer.query import MAX_QUERY_CHARS, Thesaurus, parse_query
from indexer.segmentation import default_segmenter

from .conftest import evaluation_questions

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
    assert len(TH.entries) >= 400
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


#: everyday expressions and plain legal terms of four or more characters that a general lexicon may
#: share with an evaluation question; anything else a left-hand side shares with one is a copy
ALLOWED_GENERAL_PHRASES = (
    # how people ask
    "什么时候",
    "多长时间",
    "过了几年",
    "赔偿多少",
    "拿什么证明",
    "起诉书怎么写",
    "联系不上",
    "去法院告",
    "起诉到法院",
    "没有证据",
    "微信记录",
    # labour and social insurance
    "劳动合同",
    "没签劳动合同",
    "没签合同",
    "未签合同",
    "合同到期",
    "合同期满",
    "无固定期限",
    "劳动关系",
    "劳务派遣",
    "劳务公司",
    "劳动仲裁",
    "经济补偿金",
    "赔偿几个月工资",
    "违法辞退",
    "公司单方面",
    "主动辞职",
    "加班工资",
    "节假日上班",
    "最低工资",
    "干活受伤",
    "上班路上",
    "工伤赔偿",
    "工伤鉴定",
    "养老保险",
    "医疗保险",
    "失业保险",
    "生育津贴",
    "补交社保",
    "补缴社保",
    "退休工资",
    "提取公积金",
    "公积金贷款",
    # family and inheritance
    "协议离婚",
    "领结婚证",
    "一起生活",
    "婚前买的",
    "财产分割",
    "财产怎么分",
    "家产怎么分",
    "放弃继承",
    "不是我的孩子",
    # torts
    "精神赔偿",
    "在学校被",
    "幼儿园受伤",
    "伤情鉴定",
    # contracts and debts
    "借钱不还",
    "口头协议",
    "没有书面",
    "签了协议",
    "签的协议有效",
    "合同约定",
    "解除合同",
    "重大误解",
    "霸王条款",
    "房屋买卖",
    # property
    "一起买的房",
    "房子属于",
    "农村房子",
    "集体土地",
    "不交物业费",
    "物业公司",
    "维修资金",
    # traffic and consumers
    "交通事故",
    "事故认定",
    "责任认定",
    "肇事逃逸",
    "无证驾驶",
    "保险公司",
    "开别人的车",
    "七天无理由",
    # criminal, procedure, companies, courts
    "刑事案件",
    "取保候审",
    "行政拘留",
    "被告不在场",
    "不予立案",
    "法定代表人",
    "公司倒闭",
    "企业破产",
    "经营不下去",
    "基层法院",
)


def test_no_left_hand_side_copies_an_evaluation_question() -> None:
    """A thesaurus phrase may share only general expressions of 4+ characters with a dev question."""
    questions = evaluation_questions()
    if not questions:
        pytest.skip("../shared/eval is absent: the evaluation questions sit beside the project checkout")
    allowed = ALLOWED_GENERAL_PHRASES
    copies = set()
    for phrases, _ in TH.entries:
        for phrase in phrases:
            for part in phrase.split("*"):
                for n in range(4, len(part) + 1):
                    for i in range(len(part) - n + 1):
                        piece = part[i : i + n]
                        if any(piece in a for a in allowed):
                            continue
                        if any(piece in q for q in questions):
                            copies.add((phrase, piece))
    assert not copies, f"thesaurus phrases copying evaluation questions: {sorted(copies)}"


def test_right_hand_sides_name_terms_not_answers() -> None:
    """No expansion states a number of days, months, years, persons or an amount (五年, 两年内, 三十日)."""
    import re

    numeric = re.compile(r"^(?!第)[^第]*?([0-9]+|[一二三四五六七八九十两百]+)个?(工作日|周岁|年|日|月|次|人|亿元|万元)")
    terms_with_numbers = {"七人合议庭", "同一人民法院", "一次性", "一次性伤残补助金"}
    bad = [t for _, terms in TH.entries for t in terms if numeric.search(t) and t not in terms_with_numbers]
    assert not bad


def test_the_lexicon_covers_everyday_legal_areas() -> None:
    q = {
        text: parse_query(text, SEG, TH).expansions
        for text in ("公司把我开除了", "老公出轨要离婚", "被狗咬了", "欠钱不还怎么办", "车祸对方全责")
    }
    assert "解除劳动合同" in q["公司把我开除了"]
    assert "离婚" in parse_query("老公出轨要离婚", SEG, TH).tokens and "重婚" in q["老公出轨要离婚"]
    assert "饲养动物" in q["被狗咬了"]
    assert "债务" in q["欠钱不还怎么办"] and "执行难" not in q["欠钱不还怎么办"]
    assert "交通事故认定书" in q["车祸对方全责"]
    # theft told without 偷 or 盗: taking what is someone else's behind their back
    for text in ("趁人不注意拿走别人的手机", "室友私自拿走我的电脑", "同事偷偷拿了我的钱"):
        assert "盗窃" in parse_query(text, SEG, TH).expansions, text
    assert len(TH.entries) >= 400
