from __future__ import annotations

import io
import zipfile

import docx
import pytest

from indexer.export import (
    CITATION_DASH,
    Clause,
    clause_from_hit,
    copy_text,
    export_filename,
    to_docx,
    to_markdown,
)
from indexer.schema import Chunk, DocumentRecord, Hit

PLAN = Clause(
    chunk_id="gd_courts_judicial_reform_2021#5",
    text="5.完善市场主体救治和退出机制。扎实开展破产制度改革试点。\n支持深圳试行个人破产制度。",
    citation="《2021年全省法院司法改革工作要点》（广东高院，2021年11月10日）第一部分第5项",
    doc_title="2021年全省法院司法改革工作要点",
    date="2021-11-10",
    measure_title="完善市场主体救治和退出机制",
    section="一、完善服务中心大局工作机制",
)
HOSTILE = Clause(
    chunk_id="evil#1",
    text="一、<b>严格</b>立案审查。<script>alert(1)</script>\n- 不是列表\n# 不是标题 [链接](http://x) *强调* \x07响铃",
    citation="《关于<b>加强</b>立案服务的通知》第一项",
    doc_title="关于<b>加强</b>立案服务的通知",
    date="",
)


def _paragraphs(data: bytes) -> list[str]:
    return [p.text for p in docx.Document(io.BytesIO(data)).paragraphs]


def test_copy_text_is_clause_then_dash_citation() -> None:
    assert copy_text(PLAN) == f"{PLAN.text}\n——{PLAN.citation}"
    assert CITATION_DASH == "——"


def test_clause_from_hit_takes_the_date_from_the_manifest() -> None:
    chunk = Chunk("d#1", "d", "某文件", "", 1, "第一条", "第一条 内容。", ("第一条 内容。",), "《某文件》第一条", "第一条")
    clause = clause_from_hit(Hit(1, 1.0, chunk), {"d": DocumentRecord("d", "某文件", date="2020-01-02")})
    assert (clause.text, clause.citation, clause.doc_title, clause.date) == ("第一条 内容。", "《某文件》第一条", "某文件", "2020-01-02")
    assert clause_from_hit(Hit(1, 1.0, chunk), {}).date == ""
    assert clause.source_line == "《某文件》 2020-01-02"


def test_docx_reopens_with_each_clause_followed_by_citation_title_and_date() -> None:
    data = to_docx([PLAN, HOSTILE], title="个人破产相关条款")
    assert zipfile.is_zipfile(io.BytesIO(data))
    paras = _paragraphs(data)
    assert paras[0] == "个人破产相关条款"
    first = paras.index("5.完善市场主体救治和退出机制。扎实开展破产制度改革试点。")
    assert paras[first + 1] == "支持深圳试行个人破产制度。"
    assert paras[first + 2] == f"——{PLAN.citation}"
    assert paras[first + 3] == "《2021年全省法院司法改革工作要点》 2021-11-10"
    # hostile text is kept as text; the XML-illegal bell character is dropped instead of breaking the file
    assert "一、<b>严格</b>立案审查。<script>alert(1)</script>" in paras
    assert f"——{HOSTILE.citation}" in paras
    assert not any("\x07" in p for p in paras)


def test_docx_sets_an_east_asian_font() -> None:
    data = to_docx([PLAN])
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        styles = z.read("word/styles.xml").decode("utf-8")
        body = z.read("word/document.xml").decode("utf-8")
    assert 'w:eastAsia="宋体"' in styles and 'w:eastAsia="宋体"' in body


def test_empty_selection_still_gives_a_valid_document() -> None:
    assert "（未选择条款）" in _paragraphs(to_docx([]))


def test_markdown_quotes_clause_then_citation_and_source() -> None:
    md = to_markdown([PLAN], title="摘录")
    lines = md.splitlines()
    assert lines[0] == "# 摘录"
    assert "## 1. 完善市场主体救治和退出机制" in lines
    quote = lines.index("> 5.完善市场主体救治和退出机制。扎实开展破产制度改革试点。")
    assert lines[quote + 1] == ">" and lines[quote + 2] == "> 支持深圳试行个人破产制度。"
    cite = lines.index(f"——{PLAN.citation}")
    assert cite > quote
    assert lines[cite + 2] == "*《2021年全省法院司法改革工作要点》 2021-11-10*"


def test_markdown_escapes_html_and_markdown_in_documents() -> None:
    md = to_markdown([HOSTILE])
    assert "<b>" not in md and "<script>" not in md
    assert r"\<script\>alert(1)\</script\>" in md
    assert r"> \- 不是列表" in md
    assert r"> \# 不是标题 \[链接\](http://x) \*强调\*" in md


@pytest.mark.parametrize(
    ("title", "name"),
    [("摘录条款", "摘录条款.docx"), ('a/b\\c:"d"', "a_b_c_d.docx"), ("...", "export.docx"), ("长" * 80, "长" * 60 + ".docx")],
)
def test_export_filename(title: str, name: str) -> None:
    assert export_filename(title, ".docx") == name
