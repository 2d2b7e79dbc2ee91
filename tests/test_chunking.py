from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.chunking import chunk_document, detect_scheme, segment_document, split_sentences
from indexer.loading import load_document
from indexer.numerals import parse_number, to_chinese_number
from indexer.schema import Document

from .conftest import DATA, REFORM_PLAN, SHARED, requires_shared, shared_catalogue

GOLDEN_2021 = {
    1: "完善服务保障“双区”建设工作机制",
    2: "完善金融审判创新工作机制",
    3: "完善最严格知识产权司法保护机制",
    4: "完善最严格生态环境保护机制",
    5: "完善市场主体救治和退出机制",
    6: "压实各层级司法责任",
    7: "提升监督管理规范化精细化水平",
    8: "健全法律适用分歧解决机制",
    9: "健全法官惩戒及违法审判责任追究制度",
    10: "严格执行防止干预司法三个规定",
    11: "深化刑事诉讼制度改革",
    12: "深化民事诉讼制度改革",
    13: "推进行政诉讼制度改革",
    14: "健全解决执行难长效机制",
    15: "加强互联网司法建设",
    16: "深化人员分类管理改革",
    17: "加强审判组织体系建设",
    18: "健全一站式多元解纷和诉讼服务体系",
    19: "深入推进智慧法院建设",
    20: "健全自觉接受外部监督制度机制",
    21: "统筹推进组织实施",
    22: "树立司法为民改革导向",
    23: "持续抓好攻坚克难",
    24: "激发基层创新活力",
}
SECTIONS_2021 = {
    "一、完善服务中心大局工作机制": range(1, 6),
    "二、推进审判制约监督体系改革和建设": range(6, 11),
    "三、深化诉讼制度改革": range(11, 16),
    "四、深化司法责任制综合配套改革": range(16, 21),
    "五、加强改革组织实施": range(21, 25),
}


def _doc(paragraphs: list[str], doc_id: str = "d", title: str = "测试文件", source: str = "某法院", date: str = "2022-01-01") -> Document:
    return Document(doc_id, title, source, date, f"{doc_id}.txt", "txt", "0" * 64, tuple(paragraphs))


# ------------------------------------------------------------------ the 2021 reform plan (golden)


def test_reform_plan_2021_measures_titles_and_sections() -> None:
    chunks = chunk_document(load_document(REFORM_PLAN))
    assert [c.measure_no for c in chunks] == list(range(1, 25))
    assert {c.measure_no: c.measure_title for c in chunks} == GOLDEN_2021
    for section, numbers in SECTIONS_2021.items():
        assert [c.measure_no for c in chunks if c.section == section] == list(numbers)


def test_reform_plan_2021_citations_and_text() -> None:
    chunks = {c.measure_no: c for c in chunk_document(load_document(REFORM_PLAN))}
    assert chunks[5].citation == "《2021年全省法院司法改革工作要点》（广东高院，2021年11月10日）第一部分第5项"
    assert chunks[24].citation == "《2021年全省法院司法改革工作要点》（广东高院，2021年11月10日）第五部分第24项"
    assert chunks[5].chunk_id == "gd_courts_judicial_reform_2021#5"
    assert chunks[5].text.startswith("5.完善市场主体救治和退出机制。扎实开展破产制度改革试点")
    assert chunks[5].label == "5."
    assert chunks[5].body.startswith("完善市场主体")
    # the closing paragraph about the whole plan is not glued onto measure 24
    assert "领导小组" not in chunks[24].text
    assert chunks[24].text.endswith("开展全省法院优秀改革案例评选")
    # the preamble is not glued onto measure 1
    assert "总体要求" not in chunks[1].text


def test_reform_plan_layout_roles() -> None:
    doc = load_document(REFORM_PLAN)
    layout = segment_document(doc)
    assert layout.scheme == "numbered"
    assert layout.roles.count("heading") == 5
    assert layout.roles[0] == "preamble"
    assert layout.roles[-1] == "closing"


# ------------------------------------------------------------------ conventions on unseen documents


def test_fullwidth_numbers_cross_references_subitems_and_attachments() -> None:
    chunks = chunk_document(load_document(DATA / "reform_plan_fullwidth.txt"))
    assert [c.measure_no for c in chunks] == [1, 2, 3, 4]
    assert [c.measure_title for c in chunks] == [
        "完善院庭长阅核制度",
        "推进专业法官会议改革",
        "深化民事诉讼程序繁简分流改革",
        '推进"一站式"诉讼服务中心建设',
    ]
    # sub-items stay in their measure; a measure spans several paragraphs
    assert chunks[0].text.count("\n") == 2 and "（二）类案不同判" in chunks[0].text
    assert "完成制度修订" in chunks[1].text
    # cross-references (第２项, 第１项) inside sentences do not start measures
    assert "按照第２项要求" in chunks[0].text
    # closing matter, attachments and the signature are not glued on
    for junk in ("全市各级法院", "附件", "改革台账模板", "广州市中级人民法院", "2022年3月1日"):
        assert junk not in chunks[-1].text
    assert chunks[2].citation == "《2022年全市法院深化司法体制改革实施方案》（广州中院，2022年3月1日）第二部分第3项"


def test_items_numbered_only_with_chinese_ordinals() -> None:
    doc = load_document(DATA / "notice_items.md")
    layout = segment_document(doc)
    assert layout.scheme == "item"
    assert [c.measure_no for c in layout.chunks] == [1, 2, 3]
    assert "2. 告知财产调查进度。" in layout.chunks[0].text  # arabic sub-list stays inside
    assert "特此通知" not in layout.chunks[2].text
    assert layout.chunks[1].citation.endswith("第二项")


def test_articles_with_chapters_from_html() -> None:
    chunks = chunk_document(load_document(DATA / "rules_articles.html"))
    assert [(c.measure_no, c.section) for c in chunks] == [
        (1, "第一章 总则"),
        (2, "第一章 总则"),
        (3, "第二章 立案服务"),
        (4, "第二章 立案服务"),
    ]
    assert chunks[1].citation == "《某某法院诉讼服务规则》第二条"
    assert chunks[1].measure_title == "第二条"
    assert "（二）不符合条件的" in chunks[2].text


def test_article_cross_reference_at_paragraph_start_is_not_a_new_article() -> None:
    chunks = chunk_document(
        _doc(
            [
                "第一条 为了规范审判工作，制定本规定。",
                "第二条 人民法院审理案件，适用本规定。",
                "第一条规定的原则适用于执行程序。",
                "第三条 本规定自公布之日起施行。",
            ]
        )
    )
    assert [c.measure_no for c in chunks] == [1, 2, 3]
    assert chunks[1].text.endswith("第一条规定的原则适用于执行程序。")


def test_article_numbers_may_skip_a_repealed_article() -> None:
    chunks = chunk_document(_doc(["第一条 甲。", "第二条 乙。", "第四条 丁。", "第五条 戊。"]))
    assert [c.measure_no for c in chunks] == [1, 2, 4, 5]


def test_article_heading_in_brackets_is_the_title() -> None:
    chunks = chunk_document(_doc(["第一条【立法目的】为了测试，制定本规定。", "第二条【适用范围】本规定适用于测试。"]))
    assert [c.measure_title for c in chunks] == ["立法目的", "适用范围"]


def test_numbering_with_ideographic_comma_and_sub_lists() -> None:
    paras = [
        "一、总体要求",
        "1、坚持问题导向。聚焦群众反映强烈的问题。",
        "（1）建立台账；",
        "（2）定期通报。",
        "2、加强组织领导。各单位要明确责任人。",
        "二、保障措施",
        "3、强化督促检查。定期开展督查。",
    ]
    chunks = chunk_document(_doc(paras))
    assert [c.measure_no for c in chunks] == [1, 2, 3]
    assert [c.section for c in chunks] == ["一、总体要求", "一、总体要求", "二、保障措施"]
    assert chunks[0].text.count("\n") == 2


def test_sub_items_numbered_in_another_style_are_not_measures() -> None:
    paras = ["一、工作任务", "1.完善审判机制。具体包括：", "2、不是新措施的子项。", "2.加强队伍建设。提升能力。"]
    chunks = chunk_document(_doc(paras))
    assert [c.measure_no for c in chunks] == [1, 2]
    assert "不是新措施" in chunks[0].text


def test_unnumbered_document_is_one_passage() -> None:
    layout = segment_document(_doc(["这是一份没有编号的批复。", "此复。"], title="某某批复"))
    assert layout.scheme == "whole"
    assert len(layout.chunks) == 1
    assert layout.chunks[0].measure_no == 1
    assert layout.chunks[0].citation == "《某某批复》（某法院，2022年1月1日）"


def test_detect_scheme() -> None:
    assert detect_scheme(["第一条 甲。", "第二条 乙。"]) == "article"
    assert detect_scheme(["一、总体要求", "1.甲。", "2.乙。"]) == "numbered"
    assert detect_scheme(["一、甲事项应当如何办理。", "1.子项", "2.子项", "二、乙事项如何办理。"]) == "item"
    assert detect_scheme(["没有编号。"]) == "whole"


# ------------------------------------------------------------------ helpers


def test_split_sentences_keeps_closing_quotes() -> None:
    text = "第一条 甲应当乙。丙可以“丁。”\n（一）戊；（二）己"
    sents = split_sentences(text)
    assert sents == ("第一条 甲应当乙。", "丙可以“丁。”", "（一）戊；", "（二）己")
    assert "".join(sents) == text.replace("\n", "")


# ------------------------------------------------------------------ properties

_CJK = "人民法院审判执行改革机制建立健全完善推进司法公开诉讼服务案件当事人调解仲裁"
_words = st.text(alphabet=_CJK, min_size=2, max_size=18)
_numbering = st.sampled_from(["{n}.", "{w}．", "{n}、"])


def _full(n: int) -> str:
    return "".join(chr(ord("０") + int(d)) for d in str(n))


@st.composite
def reform_plans(draw: st.DrawFn) -> tuple[list[str], list[tuple[int, str, int]]]:
    """A synthetic reform plan: paragraphs and the expected (number, title, section index) of each measure."""
    style = draw(_numbering)
    paras = ["为了测试" + draw(_words) + "，制定本方案。"]
    expected: list[tuple[int, str, int]] = []
    n = 0
    for s in range(draw(st.integers(1, 4))):
        paras.append(f"{to_chinese_number(s + 1)}、" + draw(_words))
        for _ in range(draw(st.integers(1, 5))):
            n += 1
            title = draw(_words)
            label = style.format(n=n, w=_full(n))
            ref = draw(st.integers(1, 30))
            paras.append(f"{label}{title}。按照第{ref}项要求" + draw(_words) + "。")
            for k in range(draw(st.integers(0, 2))):
                paras.append(f"（{to_chinese_number(k + 1)}）" + draw(_words) + "；")
            if draw(st.booleans()):
                paras.append(draw(_words) + "。")
            expected.append((n, title, s))
    if draw(st.booleans()):
        paras += ["附件：1.任务分工表", "2.台账"]
    if draw(st.booleans()):
        paras += ["某某市中级人民法院", "2022年3月1日"]
    return paras, expected


@settings(max_examples=150, deadline=None)
@given(reform_plans())
def test_property_measures_and_rejoin(plan: tuple[list[str], list[tuple[int, str, int]]]) -> None:
    paras, expected = plan
    doc = _doc(paras)
    layout = segment_document(doc)
    chunks = layout.chunks
    # measure numbers increase by one within the document
    assert [c.measure_no for c in chunks] == [e[0] for e in expected]
    assert [c.measure_title for c in chunks] == [e[1] for e in expected]
    # every paragraph has one role; measure paragraphs re-join, in order, to the chunk texts
    assert len(layout.roles) == len(paras)
    rebuilt = [[] for _ in chunks]
    for p, role, owner in zip(paras, layout.roles, layout.owner, strict=True):
        assert (role == "measure") == (owner >= 0)
        if owner >= 0:
            rebuilt[owner].append(p)
    assert ["\n".join(r) for r in rebuilt] == [c.text for c in chunks]
    # nothing else is in a chunk: the body minus headings, preamble and closing
    body = [p for p, r in zip(paras, layout.roles, strict=True) if r == "measure"]
    assert "\n".join(c.text for c in chunks) == "\n".join(body)
    assert all("附件" not in c.text and "中级人民法院" not in c.text for c in chunks)
    for c in chunks:
        assert "".join(c.sentences) == c.text.replace("\n", "")


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(_words, st.integers(0, 2), st.booleans()), min_size=2, max_size=40))
def test_property_articles(articles: list[tuple[str, int, bool]]) -> None:
    paras = ["为了测试，制定本规定。"]
    for i, (words, subitems, xref) in enumerate(articles, start=1):
        if i % 7 == 1:
            paras.append(f"第{to_chinese_number(i // 7 + 1)}章 {words[:4]}")
        paras.append(f"第{to_chinese_number(i)}条 {words}。")
        paras += [f"（{to_chinese_number(k + 1)}）{words}；" for k in range(subitems)]
        if xref:
            paras.append(f"本规定第{to_chinese_number(max(1, i - 1))}条的规定适用于{words}。")
    first = chunk_document(_doc(paras))
    assert [c.measure_no for c in first] == list(range(1, len(articles) + 1))
    # chunk ids are stable across runs and unique
    again = chunk_document(_doc(list(paras)))
    assert [c.chunk_id for c in first] == [c.chunk_id for c in again]
    assert len({c.chunk_id for c in first}) == len(first)
    assert first == again


# ------------------------------------------------------------------ the shared corpus


def _shared_files(kind: str) -> list[dict[str, str]]:
    return [r for r in shared_catalogue() if Path(r["file"]).suffix == kind]


@requires_shared
@pytest.mark.parametrize("suffix", [".md", ".html", ".docx", ".pdf", ".txt"])
def test_shared_documents_chunk_to_expected_counts(suffix: str) -> None:
    rows = _shared_files(suffix)
    assert rows, f"no {suffix} file in CORPUS.tsv"
    for row in rows:
        doc = load_document(SHARED / "corpus" / row["file"])
        chunks = chunk_document(doc)
        assert doc.title == row["title"]
        assert len(chunks) == int(row["chunks"]), row["file"]
        assert [c.measure_no for c in chunks] == list(range(1, len(chunks) + 1))
        if doc.date:
            assert doc.date[:4] == row["date"][:4]
        for c in chunks:
            assert c.doc_id == row["doc_id"] and c.doc_title == row["title"]
            if c.label.startswith("第"):
                assert c.citation == f"《{row['title']}》{c.label}"
                assert parse_number(c.label[1:-1]) == c.measure_no


@requires_shared
def test_shared_corpus_total_is_586() -> None:
    rows = shared_catalogue()
    total = sum(len(chunk_document(load_document(SHARED / "corpus" / r["file"]))) for r in rows)
    assert total == 586 == sum(int(r["chunks"]) for r in rows)


@requires_shared
def test_shared_chapters_become_sections() -> None:
    chunks = chunk_document(load_document(SHARED / "corpus" / "shenzhen_diversified_dispute_resolution_regs_2022.md"))
    by_no = {c.measure_no: c for c in chunks}
    assert by_no[1].section == "第一章 总则"
    assert any(c.section.startswith("第三章 调解 / 第四节") for c in chunks)
    judges = chunk_document(load_document(SHARED / "corpus" / "judges_law_2019.docx"))
    assert judges[0].section == "第一章 总则"  # 总 则 as typeset
    assert judges[35].citation == "《中华人民共和国法官法》第三十六条"
