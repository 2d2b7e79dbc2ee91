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
