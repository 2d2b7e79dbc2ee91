from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from indexer.build import BuildReport
from indexer.catalog import (
    DocumentInfo,
    describe_report,
    filter_options,
    library_csv,
    list_documents,
    make_filters,
    neutralise_cell,
    skipped_files,
)
from indexer.search import Searcher


@pytest.fixture(scope="module")
def searcher(hash_index: Path) -> Searcher:
    return Searcher.open(hash_index)


def test_list_documents_newest_first_with_counts_and_file_names(searcher: Searcher) -> None:
    docs = list_documents(searcher)
    assert [d.doc_id for d in docs] == ["reform_plan_fullwidth", "gd_courts_judicial_reform_2021", "rules_articles", "notice_items"]
    plan = docs[1]
    assert (plan.title, plan.source, plan.date, plan.fmt, plan.measures, plan.year) == (
        "2021年全省法院司法改革工作要点",
        "广东高院",
        "2021-11-10",
        "txt",
        24,
        2021,
    )
    row = plan.row()
    assert row["文件"] == "gd_courts_judicial_reform_2021.txt" and "/" not in row["文件"]
    assert row["编排"] == "编号（1. 2.）" and row["提示"] == ""


def test_filter_options_and_sections_of_chosen_documents(searcher: Searcher) -> None:
    opts = filter_options(searcher)
    assert opts.years == (2022, 2021, 2020)
    assert "广东高院" in opts.sources and len(opts.documents) == 4
    assert "第一章 总则" in opts.sections and "一、完善服务中心大局工作机制" in opts.sections
    only = filter_options(searcher, ["rules_articles"])
    assert set(only.sections) == {"第一章 总则", "第二章 立案服务"}


def test_make_filters_drops_values_that_no_longer_exist(searcher: Searcher) -> None:
    opts = filter_options(searcher)
    f = make_filters(opts, ["rules_articles", "removed_doc"], [2020, 1999], ["某某法院", "无此机关"], ["第一章 总则", "无此章"])
    assert f.doc_ids == {"rules_articles"} and f.years == {2020} and f.sources == {"某某法院"} and f.sections == {"第一章 总则"}
    assert not make_filters(opts)


def test_skipped_files_show_names_only(tmp_path: Path) -> None:
    from indexer.build import build_index

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("某某规定\n\n第一条 人民法院应当依法立案。\n第二条 本规定自公布之日起施行。\n", encoding="utf-8")
    (corpus / "empty.txt").write_bytes(b"")
    build_index(corpus, tmp_path / "index", model="hash")
    skipped = skipped_files(Searcher.open(tmp_path / "index"))
    assert [s.file_name for s in skipped] == ["empty.txt"] and skipped[0].reason


def test_describe_report() -> None:
    assert describe_report(None) == "索引已是最新，无需更新。"
    r = BuildReport("idx", "v1", False, 3, 40, added=("a",), removed=("b",), texts_embedded=12, texts_reused=30, seconds=1.25)
    text = describe_report(r, {"a": "新文件", "b": "旧文件"})
    assert text == "新增《新文件》；移除《旧文件》。现有 3 份文件，共 40 条条款（新计算 12 段向量，复用 30 段，用时 1.2 秒）。"
    assert describe_report(BuildReport("idx", "v1", True, 1, 5)) == "文件没有变化。现有 1 份文件，共 5 条条款。"
    many = BuildReport("idx", "v1", False, 21, 586, added=tuple(f"d{i}" for i in range(21)))
    assert describe_report(many).startswith("新增 21 份文件。")  # a summary, not 21 names (issue 13.7)


def test_library_csv_neutralises_formula_cells() -> None:
    """Issue 14.15: cells starting with = + - @ are text in a spreadsheet."""
    infos = [
        DocumentInfo("a", '=HYPERLINK("http://x")', "@机关", "2021-01-01", "txt", 3, "article", "a.txt", ("no_date",)),
        DocumentInfo("b", "+1", "-2", "", "md", 1, "whole", "b.md"),
    ]
    rows = list(csv.reader(io.StringIO(library_csv(infos).decode("utf-8-sig"))))
    assert rows[0][:5] == ["标题", "发布机关", "日期", "格式", "条款数"]
    assert rows[1][:2] == ['\'=HYPERLINK("http://x")', "'@机关"] and rows[1][7] == "未找到发布日期"
    assert rows[2][:2] == ["'+1", "'-2"]
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    assert neutralise_cell(-3) == -3 and neutralise_cell("第一条") == "第一条"


def test_option_labels_tell_documents_with_one_title_apart() -> None:
    a = DocumentInfo("a", "关于立案的通知", "甲法院", "2023-05-01", "txt", 3, "item", "a.txt")
    b = DocumentInfo("b", "关于立案的通知", "", "", "txt", 3, "item", "b.txt")
    assert a.option_label() == "关于立案的通知（a.txt · 甲法院 · 2023-05-01）"
    assert b.option_label() == "关于立案的通知（b.txt）"


def test_skipped_reasons_are_chinese(tmp_path: Path) -> None:
    from indexer.build import build_index

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("某某规定\n\n第一条 人民法院应当依法立案。\n", encoding="utf-8")
    (corpus / "b.txt").write_bytes(b"\x00\x01" * 50)
    build_index(corpus, tmp_path / "index", model="hash")
    (skipped,) = skipped_files(Searcher.open(tmp_path / "index"))
    assert (skipped.file_name, skipped.reason, skipped.kind) == ("b.txt", "是二进制数据，不是文字文件", "binary")
