from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.chunking import NAMED_PARTS, Layout, chunk_document, detect_scheme, segment_document, split_sentences
from indexer.loading import load_document
from indexer.numerals import parse_number, to_chinese_number
from indexer.schema import Chunk, Document

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


def _measures(chunks: tuple[Chunk, ...] | list[Chunk]) -> list[Chunk]:
    return [c for c in chunks if c.kind == "measure"]


def _read(paras: list[str], **doc: str) -> tuple[Layout, list[Chunk]]:
    """The layout of a document made of ``paras`` (checked against the invariant) and its measures."""
    layout = segment_document(_doc(paras, **doc))
    _assert_invariant(paras, layout)
    return layout, _measures(layout.chunks)


def _passages(chunks: tuple[Chunk, ...] | list[Chunk]) -> list[Chunk]:
    return [c for c in chunks if c.kind == "passage"]


def _assert_invariant(paras: list[str] | tuple[str, ...], layout: Layout) -> None:
    """Every paragraph is in exactly one chunk or a named part; each chunk is its paragraphs, in order."""
    assert len(layout.roles) == len(layout.owner) == len(paras)
    rebuilt: list[list[str]] = [[] for _ in layout.chunks]
    for p, role, owner in zip(paras, layout.roles, layout.owner, strict=True):
        assert (owner >= 0) == (role not in NAMED_PARTS), (role, p)
        if owner >= 0:
            rebuilt[owner].append(p)
    assert ["\n".join(r) for r in rebuilt] == [c.text for c in layout.chunks]
    assert layout.lost() == ()
    assert len({c.chunk_id for c in layout.chunks}) == len(layout.chunks)
    for c in layout.chunks:
        assert "".join(c.sentences) == c.text.replace("\n", "")


# ------------------------------------------------------------------ the 2021 reform plan (golden)


def test_reform_plan_2021_measures_titles_and_sections() -> None:
    chunks = _measures(chunk_document(load_document(REFORM_PLAN)))
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
    # the preamble is not glued onto measure 1: it is a passage of its own, cited as the document
    assert "总体要求" not in chunks[1].text
    preamble = chunks[0]
    assert preamble.kind == "passage" and preamble.chunk_id == "gd_courts_judicial_reform_2021#引言"
    assert preamble.text.startswith("2021年,全省法院司法改革工作总体要求是") and preamble.measure_no == 0
    assert preamble.citation == "《2021年全省法院司法改革工作要点》（广东高院，2021年11月10日）"
    assert preamble.key == preamble.chunk_id and chunks[5].key == "gd_courts_judicial_reform_2021#5"


def test_reform_plan_layout_roles() -> None:
    doc = load_document(REFORM_PLAN)
    layout = segment_document(doc)
    assert layout.scheme == "numbered"
    assert layout.roles.count("heading") == 5
    assert layout.roles[0] == "preamble"
    assert layout.roles[-1] == "closing"
    _assert_invariant(doc.paragraphs, layout)


# ------------------------------------------------------------------ conventions on unseen documents


def test_fullwidth_numbers_cross_references_subitems_and_attachments() -> None:
    layout = segment_document(load_document(DATA / "reform_plan_fullwidth.txt"))
    _assert_invariant(load_document(DATA / "reform_plan_fullwidth.txt").paragraphs, layout)
    assert [c.chunk_id for c in _passages(layout.chunks)] == ["reform_plan_fullwidth#引言"]
    chunks = _measures(layout.chunks)
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
    _assert_invariant(doc.paragraphs, layout)
    chunks = _measures(layout.chunks)
    assert [c.measure_no for c in chunks] == [1, 2, 3]
    assert "2. 告知财产调查进度。" in chunks[0].text  # arabic sub-list stays inside
    assert "特此通知" not in chunks[2].text
    assert chunks[1].citation.endswith("第二项")
    # the addressee is metadata; the lead-in is a searchable preamble
    assert layout.roles[doc.paragraphs.index("各基层人民法院：")] == "metadata"
    assert [c.text for c in _passages(layout.chunks)] == ["为进一步规范执行工作，现就有关事项通知如下："]


def test_articles_with_chapters_from_html() -> None:
    chunks = _measures(chunk_document(load_document(DATA / "rules_articles.html")))
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


# ------------------------------------------------------------------ irregular numbering (issue 12)


def _plan(sections: list[tuple[str, list[str]]], preamble: str = "为了测试，制定本方案。") -> list[str]:
    paras = [preamble]
    for heading, measures in sections:
        paras.append(heading)
        paras += measures
    return paras


def test_numbering_that_changes_style_mid_document_keeps_every_measure() -> None:
    # full-width １．…５．, then 6、, then ７．…: one odd measure does not swallow the rest
    labels = ["１．", "２．", "３．", "４．", "５．", "6、", "７．", "８．", "9.", "10、", "１１．", "12."]
    measures = [f"{label}完善第{i}项工作机制。具体措施{i}。" for i, label in enumerate(labels, start=1)]
    paras = _plan([("一、总体安排", measures[:4]), ("二、重点任务", measures[4:8]), ("三、保障措施", measures[8:])])
    _, chunks = _read(paras)
    assert [c.measure_no for c in chunks] == list(range(1, 13))
    assert [c.label for c in chunks] == [label for label in labels]
    assert [c.section for c in chunks] == ["一、总体安排"] * 4 + ["二、重点任务"] * 4 + ["三、保障措施"] * 4
    assert all(c.text.count("\n") == 0 for c in chunks)
    assert chunks[5].citation == "《测试文件》（某法院，2022年1月1日）第二部分第6项"


def test_numbering_restarting_in_each_section() -> None:
    paras = _plan([("一、甲", ["1.甲一。", "2、甲二。"]), ("二、乙", ["1、乙一。", "2.乙二。", "3.乙三。"])])
    _, chunks = _read(paras)
    assert [c.measure_no for c in chunks] == [1, 2, 1, 2, 3]
    assert [c.chunk_id for c in chunks] == ["d#1", "d#2", "d#1~2", "d#2~2", "d#3"]
    assert chunks[2].citation.endswith("第二部分第1项")


def test_sub_lists_in_another_style_stay_in_their_measure() -> None:
    paras = [
        "一、任务",
        "1.完善审判机制。包括：",
        "1、建立台账；",
        "2、定期通报。",
        "2.加强队伍建设。",
        "二、保障",
        "3.强化督查。重点是：",
        "1、督查范围；",
        "2、督查方式；",
        "3、督查结果；",
        "4、督查通报。",
    ]
    _, chunks = _read(paras)
    assert [c.measure_no for c in chunks] == [1, 2, 3]
    assert chunks[0].text.count("\n") == 2 and chunks[2].text.endswith("4、督查通报。")


def test_cross_references_and_numbers_in_sentences_never_start_a_measure() -> None:
    paras = [
        "一、任务",
        "1.完善机制。按照本要点第2项要求推进。",
        "2022年底前完成，3.5亿元专项经费到位。",
        "2.加强保障。参照第3项、第4项执行。",
        "第3项任务由各中院牵头。",
        "3.强化督查。",
    ]
    _, chunks = _read(paras)
    assert [c.measure_no for c in chunks] == [1, 2, 3]
    assert "3.5亿元" in chunks[0].text and "第3项任务由" in chunks[1].text


def test_section_introductions_are_passages_cited_to_their_section() -> None:
    paras = [
        "一、总体要求",
        "坚持以人民为中心，全面深化司法改革。",
        "1.完善机制。",
        "二、推进审判监督体系改革。审判监督是司法责任制的关键环节，要抓实抓细。",
        "2.健全制度。",
    ]
    layout = segment_document(_doc(paras, doc_id="plan"))
    _assert_invariant(paras, layout)
    intros = _passages(layout.chunks)
    assert [(c.chunk_id, c.text) for c in intros] == [
        ("plan#第一部分引言", "坚持以人民为中心，全面深化司法改革。"),
        ("plan#第二部分引言", paras[3]),
    ]
    assert intros[0].citation == "《测试文件》（某法院，2022年1月1日）第一部分"
    assert intros[0].section == intros[0].measure_title == "一、总体要求"
    assert intros[1].section == "二、推进审判监督体系改革"
    assert [c.section for c in _measures(layout.chunks)] == ["一、总体要求", "二、推进审判监督体系改革"]


def test_article_section_intro_is_cited_to_the_chapter() -> None:
    paras = ["第一章 总则", "第一条 甲。", "第二章 调解", "本章所称调解，包括人民调解和行业调解。", "第二条 乙。"]
    layout = segment_document(_doc(paras, doc_id="law", title="某某条例"))
    _assert_invariant(paras, layout)
    (intro,) = _passages(layout.chunks)
    assert intro.chunk_id == "law#第二章引言" and intro.citation == "《某某条例》第二章"


# ------------------------------------------------------------------ 第X条之一 (issue 12)


def test_inserted_articles_are_chunks_of_their_own() -> None:
    paras = [
        "第一条 为了惩罚犯罪，保护人民，制定本法。",
        "第一百三十三条 违反交通运输管理法规，因而发生重大事故的，处三年以下有期徒刑。",
        "第一百三十三条之一 在道路上驾驶机动车，有下列情形之一的，处拘役，并处罚金：",
        "（一）追逐竞驶，情节恶劣的；",
        "第一百三十三条之一规定的行为同时构成其他犯罪的，依照处罚较重的规定定罪处罚。",
        "第一百三十三条之二 对行驶中的公共交通工具的驾驶人员使用暴力的，处一年以下有期徒刑。",
        "第一百三十四条 在生产、作业中违反有关安全管理的规定的，处三年以下有期徒刑。",
    ]
    layout = segment_document(_doc(paras, doc_id="刑法", title="中华人民共和国刑法"))
    _assert_invariant(paras, layout)
    chunks = layout.chunks
    assert [c.chunk_id for c in chunks] == ["刑法#1", "刑法#133", "刑法#133之一", "刑法#133之二", "刑法#134"]
    assert [(c.measure_no, c.measure_suffix) for c in chunks][1:] == [(133, ""), (133, "之一"), (133, "之二"), (134, "")]
    dangerous = chunks[2]
    assert dangerous.label == dangerous.measure_title == "第一百三十三条之一"
    assert dangerous.citation == "《中华人民共和国刑法》第一百三十三条之一"
    assert dangerous.key == "刑法#133之一" and chunks[1].key == "刑法#133"
    # a reference to the inserted article at a paragraph's start stays where it is
    assert dangerous.text.endswith("依照处罚较重的规定定罪处罚。") and "驾驶人员" not in dangerous.text
    assert dangerous.to_dict()["measure_suffix"] == "之一" and chunks[1].to_dict()["measure_suffix"] == ""
    assert Chunk.from_dict(dangerous.to_dict()) == dangerous


def test_inserted_article_needs_its_base_article() -> None:
    # 第五条之一 right after 第三条 is no article of this document's sequence
    paras = ["第一条 甲。", "第二条 乙。", "第三条 丙。", "第五条之一 丁。", "第四条 戊。"]
    chunks = chunk_document(_doc(paras))
    assert [c.chunk_id for c in chunks] == ["d#1", "d#2", "d#3", "d#4"]
    assert "第五条之一 丁。" in chunks[2].text


# ------------------------------------------------------------------ headings and front matter (issue 12)


def test_unnumbered_headings_are_never_glued_onto_an_article() -> None:
    paras = [
        "总则",
        "第一条 甲。",
        "第二条 乙。",
        "分 则",
        "第三条 丙。",
        "勘验、检查、辨认、侦查实验等",
        "笔录的审查与认定",
        "第四条 丁。",
        "（二）权利质押",
        "第五条 戊。",
        "附则",
        "第六条 本规定自公布之日起施行。",
    ]
    layout = segment_document(_doc(paras))
    _assert_invariant(paras, layout)
    chunks = layout.chunks
    assert [c.text for c in chunks] == [p for p in paras if p.startswith("第")]
    assert [c.section for c in chunks] == [
        "总则",
        "总则",
        "分则",
        "分则 / 勘验、检查、辨认、侦查实验等笔录的审查与认定",
        "分则 / （二）权利质押",
        "附则",
    ]
    assert [r for r in layout.roles if r == "heading"] == ["heading"] * 6


def test_a_heading_broken_over_two_lines_is_one_heading() -> None:
    paras = ["第三章 犯罪嫌疑人、被告人逃匿、死亡案件", "违法所得的没收程序", "第一条 甲。", "第二条 乙。"]
    layout = segment_document(_doc(paras))
    _assert_invariant(paras, layout)
    assert layout.roles[:2] == ("heading", "heading")
    assert layout.chunks[0].section == "第三章 犯罪嫌疑人、被告人逃匿、死亡案件违法所得的没收程序"


def test_title_and_metadata_above_the_text_are_named_parts() -> None:
    paras = [
        "最高人民法院",
        "关于综合治理类司法建议工作若干问题的",
        "规定",
        "法释〔2023〕11号",
        "（2023年9月25日最高人民法院审判委员会第1901次会议通过，自2023年12月1日起施行）",
        "为进一步加强综合治理类司法建议工作，制定本规定。",
        "第一条 甲。",
        "第二条 乙。",
    ]
    title = "最高人民法院关于综合治理类司法建议工作若干问题的规定"
    layout = segment_document(_doc(paras, title=title))
    _assert_invariant(paras, layout)
    # the title printed over two lines, 文号, the adoption line
    assert layout.roles[:6] == ("title", "title", "title", "metadata", "metadata", "preamble")
    assert [c.chunk_id for c in layout.chunks] == ["d#引言", "d#1", "d#2"]
    assert layout.chunks[0].citation == f"《{title}》" and layout.chunks[0].measure_title == "引言"


def test_unnumbered_document_leaves_out_signature_and_closing() -> None:
    paras = ["法释〔2020〕1号", "这是一份没有编号的批复。", "此复。", "最高人民法院", "2020年1月1日"]
    layout = segment_document(_doc(paras, title="某某批复"))
    _assert_invariant(paras, layout)
    assert layout.roles == ("metadata", "measure", "closing", "closing", "closing")
    assert [c.text for c in layout.chunks] == ["这是一份没有编号的批复。"]


# ------------------------------------------------------------------ traditional characters (issue 14, point 17)


def test_traditional_articles_chunk_like_simplified() -> None:
    paras = [
        "第一編 總則",
        "第一章 一般規定",
        "第一條 為了規範訴訟服務，制定本規則。",
        "第二條 法院應當提供便利。",
        "第二條之一 網上立案應當核實身份。",
        "附則",
        "第三條 本規則自公布之日起施行。",
    ]
    layout = segment_document(_doc(paras, doc_id="tw", title="某某法院訴訟服務規則"))
    _assert_invariant(paras, layout)
    assert layout.scheme == "article"
    chunks = layout.chunks
    assert [c.chunk_id for c in chunks] == ["tw#1", "tw#2", "tw#2之一", "tw#3"]
    assert [c.label for c in chunks] == ["第一條", "第二條", "第二條之一", "第三條"]
    assert chunks[0].section == "第一編 總則 / 第一章 一般規定"
    assert chunks[2].citation == "《某某法院訴訟服務規則》第二條之一"
    assert chunks[3].section == "附則"


def test_traditional_reform_plan_reads_like_simplified() -> None:
    paras = [
        "為深化改革，制定本要點。",
        "一、完善審判機制",
        "1.健全審判監督機制推進院庭長閱核工作全面落實到位。具體如下。",
        "2.加強隊伍建設。",
        "二、強化保障",
        "3.強化督促檢查。",
    ]
    _, chunks = _read(paras)
    assert [c.measure_no for c in chunks] == [1, 2, 3]
    assert chunks[0].measure_title == "健全審判監督機制"  # the title as printed, found on the simplified reading
    assert chunks[2].citation.endswith("第二部分第3项")


def test_big5_file_with_traditional_articles(tmp_path: Path) -> None:
    text = "某某法院訴訟服務規則\n\n第一章 總則\n\n第一條 為了規範訴訟服務，制定本規則。\n\n第二條 人民法院應當為當事人提供便利。\n\n第二條之一 網上立案應當核實身份。\n"
    path = tmp_path / "rules.txt"
    path.write_bytes(text.encode("big5"))
    chunks = chunk_document(load_document(path))
    assert [c.chunk_id for c in chunks] == ["rules#1", "rules#2", "rules#2之一"]
    assert chunks[1].citation == "《某某法院訴訟服務規則》第二條"


# ------------------------------------------------------------------ the invariant, reported


def test_lost_paragraphs_are_the_unchunked_ones_outside_named_parts() -> None:
    layout = Layout("article", ("title", "measure", "preamble", "heading", "closing"), (-1, 0, -1, -1, -1), ())
    assert layout.unchunked() == (0, 2, 3, 4)
    assert layout.lost() == (2,)


# ------------------------------------------------------------------ helpers


def test_split_sentences_keeps_closing_quotes() -> None:
    text = "第一条 甲应当乙。丙可以“丁。”\n（一）戊；（二）己"
    sents = split_sentences(text)
    assert sents == ("第一条 甲应当乙。", "丙可以“丁。”", "（一）戊；", "（二）己")
    assert "".join(sents) == text.replace("\n", "")


# ------------------------------------------------------------------ properties

_CJK = "人民法院审判执行改革机制建立健全完善推进司法公开诉讼服务案件当事人调解仲裁"
_words = st.text(alphabet=_CJK, min_size=2, max_size=18)
_STYLES = ["{n}.", "{w}．", "{n}、", "{w}、", "{n}．", "{n}. "]


def _full(n: int) -> str:
    return "".join(chr(ord("０") + int(d)) for d in str(n))


def _style_class(style: str) -> str:
    return "、" if "、" in style else "."


@st.composite
def reform_plans(draw: st.DrawFn) -> tuple[list[str], list[tuple[int, str, int]], list[str]]:
    """A synthetic reform plan: its paragraphs, each measure's (number, title, section index), each paragraph's role.

    Numbering styles change at random from measure to measure (１． 2、 3.);
    numbering continues across sections or restarts in each; sections may open
    with an introduction; measures carry cross-references (按照本要点第N项),
    sub-items （一）, sub-lists numbered in the other style (1、2、 under 5.),
    numbers inside sentences and continuation paragraphs; closing matter
    (附件, signature) may follow.
    """
    first = draw(st.sampled_from(_STYLES))
    restart = draw(st.booleans())
    paras: list[str] = []
    roles: list[str] = []

    def add(p: str, role: str) -> None:
        paras.append(p)
        roles.append(role)

    if draw(st.booleans()):
        add("为了测试" + draw(_words) + "，制定本方案。", "preamble")
    expected: list[tuple[int, str, int]] = []
    n = 0
    after_sub_list = False
    for s in range(draw(st.integers(1, 4))):
        add(f"{to_chinese_number(s + 1)}、" + draw(_words), "heading")
        if draw(st.integers(0, 3)) == 0:
            add(draw(_words) + "是本部分的重点。", "intro")
        if restart:
            n = 0
        count = draw(st.integers(1, 5))
        for m in range(count):
            n += 1
            # the first measure sets the style; later ones may use another, except right after
            # a sub-list in the other style (2、 after the sub-list 1、 would continue it)
            style = first if not expected or after_sub_list else draw(st.sampled_from([first, first, *_STYLES]))
            after_sub_list = False
            title = draw(_words)
            add(f"{style.format(n=n, w=_full(n))}{title}。按照本要点第{draw(st.integers(1, 30))}项要求" + draw(_words) + "。", "measure")
            for k in range(draw(st.integers(0, 2))):
                add(f"（{to_chinese_number(k + 1)}）" + draw(_words) + "；", "measure")
            if m < count - 1 and _style_class(style) == _style_class(first) and draw(st.integers(0, 3)) == 0:
                other = "、" if _style_class(first) == "." else "."
                for k in range(1, draw(st.integers(2, 4)) + 1):
                    add(f"{k}{other}" + draw(_words) + "；", "measure")
                after_sub_list = True
            if draw(st.booleans()):
                add(f"{draw(st.integers(2000, 2030))}年底前" + draw(_words) + "。", "measure")
            expected.append((n, title, s))
    if draw(st.booleans()):
        add("附件：1.任务分工表", "closing")
        add("2.台账", "closing")
    if draw(st.booleans()):
        add("某某市中级人民法院", "closing")
        add("2022年3月1日", "closing")
    return paras, expected, roles


@settings(max_examples=300, deadline=None)
@given(reform_plans())
def test_property_plans_lose_no_paragraph_and_number_as_printed(plan: tuple[list[str], list[tuple[int, str, int]], list[str]]) -> None:
    paras, expected, roles = plan
    layout = segment_document(_doc(paras))
    _assert_invariant(paras, layout)
    assert list(layout.roles) == roles
    measures = _measures(layout.chunks)
    # measure numbers follow the document: every measure found, none invented, none glued
    assert [c.measure_no for c in measures] == [e[0] for e in expected]
    assert [c.measure_title for c in measures] == [e[1] for e in expected]
    headings = [p for p, r in zip(paras, roles, strict=True) if r == "heading"]
    assert [c.section for c in measures] == [headings[e[2]] for e in expected]
    assert all("附件" not in c.text and "中级人民法院" not in c.text for c in layout.chunks)
    assert all(c.citation.endswith(f"第{c.measure_no}项") for c in measures)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(_words, st.integers(0, 2), st.booleans(), st.integers(0, 2)), min_size=2, max_size=40),
    st.booleans(),
    st.booleans(),
)
def test_property_articles(articles: list[tuple[str, int, bool, int]], preamble: bool, closing_heading: bool) -> None:
    """Articles with chapters, inserted articles (之一), cross-references at a paragraph's start and bare headings."""
    paras = ["为了测试，制定本规定。"] if preamble else []
    ids = []
    for i, (words, subitems, xref, inserted) in enumerate(articles, start=1):
        if i % 7 == 1:
            paras.append(f"第{to_chinese_number(i // 7 + 1)}章 {words[:4]}")
        if closing_heading and i == len(articles):
            paras.append("附 则")
        paras.append(f"第{to_chinese_number(i)}条 {words}。")
        paras += [f"（{to_chinese_number(k + 1)}）{words}；" for k in range(subitems)]
        ids.append(f"d#{i}")
        for k in range(1, inserted + 1):
            paras.append(f"第{to_chinese_number(i)}条之{to_chinese_number(k)} {words}。")
            ids.append(f"d#{i}之{to_chinese_number(k)}")
        if xref:
            paras.append(f"第{to_chinese_number(max(1, i - 1))}条规定的{words}适用本条。")
            paras.append(f"本规定第{to_chinese_number(i)}条之一的规定适用于{words}。")
    layout = segment_document(_doc(paras))
    _assert_invariant(paras, layout)
    first = _measures(layout.chunks)
    assert [c.chunk_id for c in first] == ids
    assert all(c.citation == f"《测试文件》{c.label}" for c in first)
    assert [c.chunk_id for c in _passages(layout.chunks)] == (["d#引言"] if preamble else [])
    # chunk ids are stable across runs
    assert chunk_document(_doc(list(paras))) == list(layout.chunks)


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
        layout = segment_document(doc)
        _assert_invariant(doc.paragraphs, layout)
        chunks = _measures(layout.chunks)
        assert doc.title == row["title"]
        # CORPUS.tsv counts the numbered measures; preambles are passages besides them
        assert len(chunks) == int(row["chunks"]), row["file"]
        assert [c.measure_no for c in chunks] == list(range(1, len(chunks) + 1))
        assert len(_passages(layout.chunks)) <= 1
        if doc.date:
            assert doc.date[:4] == row["date"][:4]
        for c in layout.chunks:
            assert c.doc_id == row["doc_id"] and c.doc_title == row["title"]
            if c.label.startswith("第"):
                assert c.citation == f"《{row['title']}》{c.label}"
                assert parse_number(c.label[1:-1]) == c.measure_no


@requires_shared
def test_shared_corpus_total_is_586() -> None:
    rows = shared_catalogue()
    total = sum(len(_measures(chunk_document(load_document(SHARED / "corpus" / r["file"])))) for r in rows)
    assert total == 586 == sum(int(r["chunks"]) for r in rows)


@requires_shared
def test_shared_chapters_become_sections() -> None:
    chunks = _measures(chunk_document(load_document(SHARED / "corpus" / "shenzhen_diversified_dispute_resolution_regs_2022.md")))
    by_no = {c.measure_no: c for c in chunks}
    assert by_no[1].section == "第一章 总则"
    assert any(c.section.startswith("第三章 调解 / 第四节") for c in chunks)
    judges = _measures(chunk_document(load_document(SHARED / "corpus" / "judges_law_2019.docx")))
    assert judges[0].section == "第一章 总则"  # 总 则 as typeset
    assert judges[35].citation == "《中华人民共和国法官法》第三十六条"


LAWS = SHARED / "corpus-laws"


@pytest.mark.skipif(not LAWS.is_dir(), reason="../shared/corpus-laws is absent (it sits beside the project checkout)")
def test_criminal_law_inserted_articles_split_out() -> None:
    doc = load_document(LAWS / "刑法.md")
    layout = segment_document(doc)
    _assert_invariant(doc.paragraphs, layout)
    chunks = {c.chunk_id: c for c in layout.chunks}
    inserted = [c for c in layout.chunks if c.measure_suffix]
    # CORPUS.md: 452 articles, and 53 numbered 第X条之一/之二 that used to be merged into article X
    assert len(layout.chunks) - len(inserted) == 452 and len(inserted) == 53
    assert sorted({c.measure_no for c in layout.chunks if not c.measure_suffix}) == list(range(1, 453))
    dangerous = chunks["刑法#133之一"]
    assert dangerous.citation == "《中华人民共和国刑法》第一百三十三条之一" and "驾驶机动车" in dangerous.text
    assert "第一百三十三条之一" not in chunks["刑法#133"].text
    # the bare 附则 heading of 刑事诉讼法 is no longer glued onto article 307
    crim_proc = {c.chunk_id: c for c in chunk_document(load_document(LAWS / "刑事诉讼法.md"))}
    assert not crim_proc["刑事诉讼法#307"].text.endswith("附则") and crim_proc["刑事诉讼法#308"].section == "附则"
