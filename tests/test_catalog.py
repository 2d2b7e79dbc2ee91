from __future__ import annotations

from pathlib import Path

import pytest

from indexer.build import BuildReport
from indexer.catalog import describe_report, filter_options, list_documents, make_filters, skipped_files
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
    assert text.startswith("新增 《新文件》；移除 《旧文件》。现有 3 份文件、40 条条款")
    assert "新计算 12 段向量，复用 30 段" in text
    assert describe_report(BuildReport("idx", "v1", True, 1, 5)) == "没有变化。现有 1 份文件、5 条条款。"
