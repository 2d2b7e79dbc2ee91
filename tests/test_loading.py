from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from indexer.errors import BadInputError, UnreadableDocumentError
from indexer.loading import (
    MAX_FILE_BYTES,
    decode_bytes,
    is_boilerplate,
    join_wrapped_lines,
    load_corpus,
    load_document,
)

from .conftest import DATA, REFORM_PLAN, SHARED, requires_shared

BOILERPLATE_WORDS = ("打印", "字号", "责任编辑", "版权所有", "INFO END", "<!--", "发布时间")


def _no_boilerplate(doc) -> None:
    for p in doc.paragraphs:
        if len(p) < 80:
            assert not any(w in p for w in BOILERPLATE_WORDS), p


# ------------------------------------------------------------------ decoding


@pytest.mark.parametrize(
    "data",
    [
        "第一条 测试。\n第二条 测试。".encode(),
        b"\xef\xbb\xbf" + "第一条 测试。\r\n第二条 测试。".encode(),
        "第一条 测试。\r\n第二条 测试。".encode("gb18030"),
        "第一条 测试。\r第二条 测试。".encode("utf-16"),
    ],
    ids=["utf8", "utf8-bom-crlf", "gb18030-crlf", "utf16-cr"],
)
def test_decode_detects_encoding_and_normalises_line_ends(data: bytes) -> None:
    assert decode_bytes(data, "x.txt") == "第一条 测试。\n第二条 测试。"


def test_decode_gbk_paragraphs() -> None:
    text = "上海市浦东新区完善市场化法治化企业破产制度若干规定\r\n\r\n第一条 为了进一步加强企业破产工作，完善市场化、法治化的企业破产制度。\r\n"
    assert decode_bytes(text.encode("gbk"), "x.txt").startswith("上海市浦东新区")


def test_decode_rejects_binary() -> None:
    with pytest.raises(UnreadableDocumentError, match="binary"):
        decode_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "x.txt")


def test_decode_rejects_garbage() -> None:
    with pytest.raises(UnreadableDocumentError, match="encoding"):
        decode_bytes(bytes(range(1, 32)) * 50 + bytes(range(128, 256)) * 20, "x.txt")


# ------------------------------------------------------------------ formats


def test_scraped_reform_plan_metadata_and_boilerplate() -> None:
    doc = load_document(REFORM_PLAN)
    assert doc.doc_id == "gd_courts_judicial_reform_2021"
    assert doc.title == "2021年全省法院司法改革工作要点"
    assert doc.source == "广东高院"
    assert doc.date == "2021-11-10"
    assert doc.fmt == "txt"
    assert len(doc.content_hash) == 64
    _no_boilerplate(doc)
    assert doc.paragraphs[0].startswith("2021年,全省法院司法改革工作总体要求是")
    assert not any("李凌岩" in p for p in doc.paragraphs)


def test_markdown_lawrefbook_layout() -> None:
    doc = load_document(DATA / "notice_items.md")
    assert doc.title == "某某人民法院关于进一步规范执行工作的通知"
    assert doc.date == "2020-05-06"
    assert doc.source == "某某人民法院"
    assert doc.paragraphs[0] == "各基层人民法院："
    _no_boilerplate(doc)


def test_html_keeps_the_article_body_only() -> None:
    doc = load_document(DATA / "rules_articles.html")
    assert doc.title == "某某法院诉讼服务规则"
    assert (doc.date, doc.source) == ("2020-07-01", "某某法院")
    text = "\n".join(doc.paragraphs)
    for junk in ("首页", "导航", "不是正文", "tracker", "京ICP备", "打印"):
        assert junk not in text
    assert doc.paragraphs[0] == "为方便当事人诉讼，制定本规则。"
    assert "第一章　总则" in doc.paragraphs


def test_docx_title_headings_and_body(tmp_path: Path) -> None:
    import docx

    d = docx.Document()
    d.add_heading("某某规定", level=0)
    d.add_paragraph("2020年1月2日 某某人民法院审判委员会第1次会议通过")
    d.add_heading("第一章 总 则", level=1)
    d.add_paragraph("第一条 为了测试，制定本规定。")
    d.add_paragraph("第二条 本规定自公布之日起施行。")
    path = tmp_path / "rules.docx"
    d.save(str(path))
    doc = load_document(path)
    assert doc.title == "某某规定"
    assert doc.date == "2020-01-02"
    assert doc.paragraphs == ("第一章 总 则", "第一条 为了测试，制定本规定。", "第二条 本规定自公布之日起施行。")


def test_gb18030_crlf_text_file(tmp_path: Path) -> None:
    text = "某某条例\r\n\r\n2021年11月25日 上海市第十五届人民代表大会常务委员会第三十七次会议通过\r\n\r\n第一条 为了测试。\r\n第二条 施行。\r\n"
    path = tmp_path / "regs.txt"
    path.write_bytes(text.encode("gb18030"))
    doc = load_document(path)
    assert doc.title == "某某条例"
    assert doc.source == "上海市人民代表大会常务委员会"
    assert doc.date == "2021-11-25"
    assert doc.paragraphs == ("第一条 为了测试。", "第二条 施行。")
    assert "encoding_detected" in doc.warnings


@pytest.mark.parametrize(
    ("line", "date"), [("二〇二一年十一月十日", "2021-11-10"), ("二Ｏ二二年一月五日", "2022-01-05"), ("2020年3月1日", "2020-03-01")]
)
def test_signature_date_at_the_end(tmp_path: Path, line: str, date: str) -> None:
    path = tmp_path / "notice.txt"
    path.write_text(f"某某通知\n\n一、甲事项。\n二、乙事项。\n某某法院\n{line}\n", encoding="utf-8")
    assert load_document(path).date == date


def _wrap(paragraphs: list[str], width: int) -> list[str]:
    return [p[i : i + width] for p in paragraphs for i in range(0, len(p), width)]


def test_join_wrapped_pdf_lines() -> None:
    paragraphs = [
        "最高人民法院关于某某的规定",
        "第三条 当事人书写诉状确有困难的，可以口头提出，由人民法院记入笔录。符合法律规定的，予以登记立案。",
        "第四条 民事起诉状应当记明以下事项：",
        "（一）原告的姓名、性别、年龄、民族、职业、工作单位、住所、联系方式，法人或者其他组织的名称；",
        "（二）证据和证据来源；",
        "第五条 人民法院应当一次性书面告知在指定期限内补正，当事人在指定期限内补正的期间为十五日；",
    ]
    lines = _wrap(paragraphs, 43)
    assert "予" in lines[1][-1] and lines[2].startswith("以登记立案")
    assert join_wrapped_lines(lines) == paragraphs


@given(
    st.lists(
        st.text(alphabet="人民法院应当依法审理案件当事人可以申请调解，、", min_size=1, max_size=120).map(lambda s: "法" + s + "。"),
        min_size=1,
        max_size=8,
    ),
    st.integers(min_value=20, max_value=50),
)
def test_join_wrapped_lines_restores_paragraphs(paragraphs: list[str], width: int) -> None:
    paragraphs = [*paragraphs, "院" * (width + 5) + "。"]  # at least one line fills the width
    lines = _wrap(paragraphs, width)
    # a wrapped line that happens to end with a full stop cannot be told apart from a paragraph end
    assume(all(not line.endswith(("。", "；")) for p in paragraphs for line in _wrap([p], width)[:-1]))
    assert join_wrapped_lines(lines) == paragraphs


def test_boilerplate_matches_page_furniture_not_content() -> None:
    assert is_boilerplate("发布时间:2021-11-10 10:48:31 打印 字号: | |")
    assert is_boilerplate("责任编辑:李凌岩")
    assert is_boilerplate("版权所有 © 中国法院网")
    assert is_boilerplate("<!-- INFO END -->")
    assert not is_boilerplate("人民法院应当打印裁判文书并送达当事人。")
    assert not is_boilerplate("第一条 来源于互联网的证据，应当审查其真实性。")


# ------------------------------------------------------------------ bad files


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"", "empty"),
        ("blank.md", b"  \n\n \n", "empty"),
        ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00" + os.urandom(64), "binary"),
        ("fake.docx", "第一条 这不是Word文件。".encode(), "not a .docx"),
        ("broken.docx", b"PK\x03\x04" + b"\x00" * 64, "docx"),
        ("fake.pdf", "第一条 这不是PDF。".encode(), "not a PDF"),
        ("broken.pdf", b"%PDF-1.4\n1 0 obj garbage", "PDF"),
        ("data.xlsx", b"PK\x03\x04", "unsupported file type"),
        ("title_only.txt", "只有标题".encode(), "no body"),
    ],
)
def test_unreadable_files_raise_with_a_reason(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(UnreadableDocumentError, match=reason) as info:
        load_document(path)
    assert name in str(info.value)


def test_pdf_without_text_layer_says_to_ocr(tmp_path: Path) -> None:
    from pypdf import PdfWriter

    w = PdfWriter()
    w.add_blank_page(595, 842)
    path = tmp_path / "scan.pdf"
    with path.open("wb") as fh:
        w.write(fh)
    with pytest.raises(UnreadableDocumentError, match="no text layer"):
        load_document(path)


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    with path.open("wb") as fh:
        fh.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(UnreadableDocumentError, match="limit"):
        load_document(path)


def test_load_corpus_skips_bad_files_and_keeps_the_rest(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "good.html").write_bytes((DATA / "rules_articles.html").read_bytes())
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "plan.txt").write_bytes((DATA / "reform_plan_fullwidth.txt").read_bytes())
    (tmp_path / "sub" / "copy.txt").write_bytes((DATA / "reform_plan_fullwidth.txt").read_bytes())
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "notes.xyz").write_text("x")
    (tmp_path / "fake.pdf").write_text("not a pdf")
    (tmp_path / ".hidden.txt").write_text("第一条 隐藏文件。")
    outside = tmp_path.parent / f"{tmp_path.name}-outside.txt"
    outside.write_text("外部文件\n第一条 不应读取。", encoding="utf-8")
    (tmp_path / "escape.txt").symlink_to(outside)
    (tmp_path / "loop").symlink_to(tmp_path, target_is_directory=True)
    with caplog.at_level(logging.WARNING, logger="indexer.loading"):
        result = load_corpus(tmp_path)
    assert sorted(d.doc_id for d in result.documents) == ["copy", "good"] or sorted(d.doc_id for d in result.documents) == ["good", "plan"]
    reasons = {Path(s.path).name: s.reason for s in result.skipped}
    assert reasons["empty.txt"] == "empty file"
    assert "unsupported" in reasons["notes.xyz"]
    assert "not a PDF" in reasons["fake.pdf"]
    assert "outside the corpus" in reasons["escape.txt"]
    assert "not followed" in reasons["loop"]
    assert any("duplicate of" in r for r in reasons.values())
    assert ".hidden.txt" not in reasons
    # one warning line per skipped file, naming it
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == len(result.skipped)
    assert all("\n" not in w for w in warned)


def test_load_corpus_requires_a_folder(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="corpus folder not found"):
        load_corpus(tmp_path / "missing")


def test_unreadable_file_in_corpus_is_skipped(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root can read files without read permission")
    p = tmp_path / "secret.txt"
    p.write_text("标题\n第一条 内容。", encoding="utf-8")
    p.chmod(0)
    result = load_corpus(tmp_path)
    assert result.documents == ()
    assert "cannot open" in result.skipped[0].reason


# ------------------------------------------------------------------ shared corpus


@requires_shared
@pytest.mark.parametrize("suffix", [".md", ".html", ".docx", ".pdf", ".txt"])
def test_shared_documents_load_clean(suffix: str) -> None:
    files = sorted((SHARED / "corpus").glob(f"*{suffix}"))
    assert files
    for f in files:
        doc = load_document(f)
        assert doc.title and doc.paragraphs
        _no_boilerplate(doc)


@requires_shared
def test_shared_pdf_lines_are_rejoined() -> None:
    doc = load_document(SHARED / "corpus" / "spc_case_filing_registration_2015.pdf")
    text = "\n".join(doc.paragraphs)
    assert "予以登记立案" in text
    assert "予\n以" not in text
    assert doc.paragraphs[0].endswith("制定本规定。")


def test_known_documents_are_not_parsed_again(tmp_path: Path) -> None:
    import dataclasses

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("甲规定\n第一条 内容。\n", encoding="utf-8")
    (corpus / "b.txt").write_text("乙规定\n第一条 内容。\n第二条 更多。\n", encoding="utf-8")
    first = {d.doc_id: d for d in load_corpus(corpus).documents}
    marker = dataclasses.replace(first["a"], title="从索引取回", paragraphs=())
    other_id = dataclasses.replace(first["b"], doc_id="renamed", title="不应使用")
    again = {d.doc_id: d for d in load_corpus(corpus, {marker.content_hash: marker, other_id.content_hash: other_id}).documents}
    assert again["a"].title == "从索引取回" and again["a"].path == str(corpus / "a.txt")
    assert again["b"] == first["b"]  # same bytes under another doc_id: parsed as usual


# ------------------------------------------------------------------ hostile input (issue 14)


def _docx_bytes(paragraphs: int = 3, text: str = "第{i}条 为了测试，制定本规定。") -> bytes:
    import io

    import docx

    d = docx.Document()
    d.add_heading("某某规定", level=0)
    for i in range(1, paragraphs + 1):
        d.add_paragraph(text.format(i=i))
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def _rezip(data: bytes, extra: dict[str, bytes] | None = None, replace: dict[str, bytes] | None = None) -> bytes:
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, (replace or {}).get(info.filename, src.read(info)))
        for name, blob in (extra or {}).items():
            dst.writestr(name, blob)
    return out.getvalue()


def test_docx_bomb_is_refused_by_its_uncompressed_body_size(tmp_path: Path) -> None:
    from indexer.errors import DocumentTooLargeError
    from indexer.limits import MAX_DOCX_XML_BYTES

    data = _docx_bytes()
    import io
    import zipfile

    body = zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml")
    head, tail = body.split(b"</w:body>")
    # a body of empty paragraphs, compressed to next to nothing
    bomb = head + b"<w:p/>" * (MAX_DOCX_XML_BYTES // 6 + 1) + b"</w:body>" + tail
    path = tmp_path / "bomb.docx"
    path.write_bytes(_rezip(data, replace={"word/document.xml": bomb}))
    assert path.stat().st_size < 1_000_000
    with pytest.raises(DocumentTooLargeError, match="MiB of XML") as info:
        load_document(path)
    assert info.value.kind == "docx_xml_bytes"
    assert info.value.limit == MAX_DOCX_XML_BYTES


def test_docx_with_too_many_members_is_refused(tmp_path: Path) -> None:
    from indexer.errors import DocumentTooLargeError
    from indexer.limits import MAX_DOCX_MEMBERS

    path = tmp_path / "many.docx"
    path.write_bytes(_rezip(_docx_bytes(), extra={f"word/media/x{i}.bin": b"" for i in range(MAX_DOCX_MEMBERS)}))
    with pytest.raises(DocumentTooLargeError) as info:
        load_document(path)
    assert info.value.kind == "docx_members"


def test_docx_members_bigger_together_than_the_limit_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from indexer import docxtext
    from indexer.errors import DocumentTooLargeError

    monkeypatch.setattr(docxtext, "MAX_DOCX_TOTAL_BYTES", 100_000)
    path = tmp_path / "images.docx"
    path.write_bytes(_rezip(_docx_bytes(), extra={"word/media/image1.png": b"\x00" * 200_000}))
    with pytest.raises(DocumentTooLargeError) as info:
        load_document(path)
    assert info.value.kind == "docx_total_bytes"


def test_docx_reader_matches_python_docx(tmp_path: Path) -> None:
    import docx

    d = docx.Document()
    d.add_heading("某某规定", level=0)
    p = d.add_paragraph("第一条 为了")
    p.add_run("测试").bold = True
    p.add_run("，\t制定本规定。")
    d.add_paragraph("第二条 换行").add_run().add_break()
    table = d.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "甲", "乙"
    table.cell(1, 0).merge(table.cell(1, 1)).text = "合并单元格"
    d.add_paragraph("第三条 本规定自公布之日起施行。")
    path = tmp_path / "rules.docx"
    d.save(str(path))
    doc = load_document(path)
    assert doc.title == "某某规定"
    expected = [para.text for para in docx.Document(str(path)).paragraphs if para.style.name != "Title"]
    assert [p for p in doc.paragraphs if p.startswith("第")] == [clean for t in expected if (clean := t.strip()) and clean.startswith("第")]
    assert "甲 乙" in doc.paragraphs and "合并单元格" in doc.paragraphs


def test_docx_of_many_paragraphs_keeps_all_of_them(tmp_path: Path) -> None:
    path = tmp_path / "long.docx"
    path.write_bytes(_docx_bytes(3000))
    doc = load_document(path)
    assert len(doc.paragraphs) == 3000
    assert doc.paragraphs[-1] == "第3000条 为了测试，制定本规定。"


def test_docx_with_more_text_than_the_limit_is_refused_while_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from indexer import docxtext
    from indexer.errors import DocumentTooLargeError

    monkeypatch.setattr(docxtext, "MAX_DOCUMENT_CHARS", 1000)
    path = tmp_path / "long.docx"
    path.write_bytes(_docx_bytes(200))
    with pytest.raises(DocumentTooLargeError) as info:
        load_document(path)
    assert info.value.kind == "document_chars"


def test_deeply_nested_html_keeps_its_text(tmp_path: Path) -> None:
    depth = 3000
    html = (
        "<html><body><h1>某某规定</h1>"
        + '<div class="content">' * depth
        + "<p>第一条 为了测试，制定本规定。</p><div>第二条 本规定自公布之日起施行。</div>"
        + "</div>" * depth
        + "</body></html>"
    )
    path = tmp_path / "nested.html"
    path.write_text(html, encoding="utf-8")
    doc = load_document(path)
    assert doc.title == "某某规定"
    assert doc.paragraphs == ("第一条 为了测试，制定本规定。", "第二条 本规定自公布之日起施行。")


def test_html_nested_lists_and_info_blocks_are_read_once(tmp_path: Path) -> None:
    html = (
        "<html><body><h1>某某规定</h1>"
        + '<div class="info">发布时间：2020-01-02'
        + '<div class="info">来源：某某法院' * 50
        + "</div>" * 51
        + '<div class="content"><ul>'
        + "<li>第一条 内容。<ul>" * 200
        + "</ul></li>" * 200
        + "</ul></div>"
        + "</body></html>"
    )
    path = tmp_path / "lists.html"
    path.write_text(html, encoding="utf-8")
    doc = load_document(path)
    assert doc.date == "2020-01-02" and doc.source == "某某法院"
    assert "".join(doc.paragraphs).count("第一条") == 200


def test_thousands_of_unterminated_pdf_lines_join_into_one_paragraph() -> None:
    lines = ["这一行没有句号而且写满了整行的宽度"] * 20_000
    joined = join_wrapped_lines(lines)
    assert joined == ["".join(lines)]


def test_text_over_the_character_limit_is_refused_with_its_kind(tmp_path: Path) -> None:
    from indexer.errors import DocumentTooLargeError
    from indexer.limits import MAX_DOCUMENT_CHARS

    path = tmp_path / "long.txt"
    path.write_text("某某规定\n" + "".join(f"第{i}句不同的内容。" for i in range(MAX_DOCUMENT_CHARS // 8)), encoding="utf-8")
    with pytest.raises(DocumentTooLargeError, match="too long") as info:
        load_document(path)
    assert info.value.kind == "document_chars"
    assert info.value.limit == MAX_DOCUMENT_CHARS
    assert isinstance(info.value, UnreadableDocumentError)  # a build skips it like any unreadable file


def test_measure_with_too_many_sentences_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from indexer import limits
    from indexer.errors import DocumentTooLargeError

    monkeypatch.setattr(limits, "MAX_SENTENCES_PER_MEASURE", 50)
    path = tmp_path / "rules.txt"
    path.write_text("某某规定\n第一条 " + "一句话。" * 51 + "\n第二条 施行。\n", encoding="utf-8")
    with pytest.raises(DocumentTooLargeError, match="sentences") as info:
        load_document(path)
    assert info.value.kind == "measure_sentences"


def test_single_line_text_is_split_into_bounded_sentences(tmp_path: Path) -> None:
    from indexer.chunking import segment_document
    from indexer.limits import MAX_SENTENCE_CHARS

    body = "没有句号的一行文字，" * 5000 + "没有标点的一大段" * 2000
    path = tmp_path / "one_line.txt"
    path.write_text("某某说明\n" + body, encoding="utf-8")
    chunks = segment_document(load_document(path)).chunks
    sentences = [s for c in chunks for s in c.sentences]
    assert "".join(sentences) == body
    assert max(len(s) for s in sentences) <= MAX_SENTENCE_CHARS
    assert len(sentences) >= len(body) // MAX_SENTENCE_CHARS
    assert all(s.endswith("，") for s in sentences[:100])  # cut after a comma where there is one


def test_single_line_file_gets_a_bounded_title_and_keeps_its_text(tmp_path: Path) -> None:
    from indexer.limits import MAX_TITLE_CHARS

    line = "一行很长的文字。" * 100
    path = tmp_path / "line.txt"
    path.write_text(line + "\n第二行。", encoding="utf-8")
    doc = load_document(path)
    assert len(doc.title) <= MAX_TITLE_CHARS
    assert doc.paragraphs[0] == line


@pytest.mark.parametrize("brk", ["\n\n", "\r\n", "\x0b", "\x0c", "\x85", "\u2028"])
def test_titles_and_fields_are_one_line(tmp_path: Path, brk: str) -> None:
    html = f"<html><body><h1>某某规定{brk}# 注入的标题</h1><div class='content'><p>第一条 内容。{brk}## 注入</p><p>第二条 施行。</p></div></body></html>"
    path = tmp_path / "inject.html"
    path.write_text(html, encoding="utf-8")
    doc = load_document(path)
    assert doc.title == "某某规定 # 注入的标题"
    for field in (doc.title, doc.source, doc.date, *doc.paragraphs):
        assert field.splitlines() == [field] or field == ""


def test_unreadable_subfolder_is_warned_about(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "good.txt").write_text("某某规定\n第一条 内容。\n", encoding="utf-8")
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "inside.txt").write_text("某某规定\n第一条 内容。\n", encoding="utf-8")
    real_scandir = os.scandir

    def scandir(path):
        if Path(path).name == "locked":  # what chmod 000 does for anyone but root
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    result = load_corpus(tmp_path)
    assert [d.doc_id for d in result.documents] == ["good"]
    assert [(Path(s.path).name, "cannot open this folder" in s.reason) for s in result.skipped] == [("locked", True)]


@given(st.text(alphabet="<!->a-", max_size=40))
def test_comment_removal_matches_the_regular_expression(line: str) -> None:
    import re

    from indexer.loading import _drop_comments

    assert _drop_comments(line) == re.sub(r"<!--.*?-->", "", line)


def test_markdown_lines_of_unclosed_markers_are_read(tmp_path: Path) -> None:
    path = tmp_path / "markers.md"
    path.write_text(
        "# 某某规定\n" + "[" * 50_000 + "\n" + "<!--" * 20_000 + "\n[链接](http://x) **粗体** <!-- 注释 -->\n第一条 内容。\n",
        encoding="utf-8",
    )
    doc = load_document(path)
    assert doc.paragraphs[-2:] == ("链接 粗体", "第一条 内容。")


def test_html_with_more_elements_than_the_limit_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from indexer import loading
    from indexer.errors import DocumentTooLargeError

    monkeypatch.setattr(loading, "MAX_HTML_TAGS", 100)
    path = tmp_path / "flat.html"
    path.write_text("<html><body><h1>某某规定</h1>" + "<p>第一条 内容。</p>" * 100 + "</body></html>", encoding="utf-8")
    with pytest.raises(DocumentTooLargeError, match="HTML elements") as info:
        load_document(path)
    assert info.value.kind == "html_tags"


def test_pdf_with_more_pages_than_the_limit_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pypdf import PdfWriter

    from indexer import loading
    from indexer.errors import DocumentTooLargeError

    monkeypatch.setattr(loading, "MAX_PDF_PAGES", 3)
    w = PdfWriter()
    for _ in range(4):
        w.add_blank_page(595, 842)
    path = tmp_path / "long.pdf"
    with path.open("wb") as fh:
        w.write(fh)
    with pytest.raises(DocumentTooLargeError) as info:
        load_document(path)
    assert info.value.kind == "pdf_pages"


def test_every_limit_kind_has_a_chinese_message() -> None:
    from indexer.limits import LIMIT_KINDS
    from indexer.messages import MESSAGES, text

    for kind, limit in LIMIT_KINDS.items():
        assert kind in MESSAGES
        shown = text(kind, limit=f"{limit:,}")
        assert "{" not in shown and ("超过" in shown or "超" in shown)


def test_a_document_beyond_a_limit_is_skipped_and_the_rest_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from indexer import limits

    monkeypatch.setattr(limits, "MAX_DOCUMENT_CHARS", 500)
    (tmp_path / "small.txt").write_text("某某规定\n第一条 内容。\n", encoding="utf-8")
    (tmp_path / "long.txt").write_text("某某规定\n" + "第一条 内容很长。" * 100, encoding="utf-8")
    result = load_corpus(tmp_path)
    assert [d.doc_id for d in result.documents] == ["small"]
    assert [(Path(s.path).name, s.kind) for s in result.skipped] == [("long.txt", "document_chars")]


def test_a_document_without_a_dated_header_takes_its_year_from_the_commencement_clause(tmp_path: Path) -> None:
    """Issue 13.14: 本规定自2016年7月1日起施行 dates the document; it no longer lands in 未注明日期."""
    f = tmp_path / "rules.md"
    f.write_text("# 最高人民法院关于特邀调解的规定\n\n第一条 特邀调解是指……。\n\n第二条 本规定自2016年7月1日起施行。\n", encoding="utf-8")
    doc = load_document(f)
    assert doc.date == "2016-07-01" and doc.year == 2016 and "no_date" not in doc.warnings
    f.write_text("# 某规定\n\n第一条 人民法院应当自收到材料之日起七日内立案。\n", encoding="utf-8")
    assert load_document(f).date == ""  # a time limit in an article is not a date


def test_formats_come_from_one_table_of_readers() -> None:
    from indexer.loading import READERS, SUPPORTED_SUFFIXES, formats_label, reader_for, upload_types

    assert tuple(s for r in READERS for s in r.suffixes) == SUPPORTED_SUFFIXES
    assert {".txt", ".md", ".markdown", ".html", ".htm", ".docx", ".pdf"} == set(SUPPORTED_SUFFIXES)
    assert upload_types() == tuple(s[1:] for s in SUPPORTED_SUFFIXES)
    assert formats_label() == ".txt / .md / .html / .docx / .pdf"
    assert reader_for(".PDF") is reader_for(".pdf") and reader_for(".markdown").fmt == "md"  # type: ignore[union-attr]
    assert reader_for(".doc") is None and all(r.notes and r.max_bytes == MAX_FILE_BYTES for r in READERS)


def test_a_new_format_is_one_reader_and_one_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import indexer.loading as loading

    csv_reader = loading.Reader("csv", (".csv",), lambda data, path: loading._Raw("表格", ["第一条 甲。", "第二条 乙。"], []), "a table")
    monkeypatch.setattr(loading, "_BY_SUFFIX", {**loading._BY_SUFFIX, ".csv": csv_reader})
    path = tmp_path / "table.csv"
    path.write_text("a,b\n", encoding="utf-8")
    doc = load_document(path)
    assert (doc.fmt, doc.title, doc.paragraphs) == ("csv", "表格", ("第一条 甲。", "第二条 乙。"))


def test_an_unknown_suffix_is_refused_by_the_table(tmp_path: Path) -> None:
    path = tmp_path / "notes.rtf"
    path.write_text("文字", encoding="utf-8")
    with pytest.raises(UnreadableDocumentError, match="unsupported file type"):
        load_document(path)
