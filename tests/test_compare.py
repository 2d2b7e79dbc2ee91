from __future__ import annotations

import pytest

from indexer.compare import UNDATED, UNDATED_LABEL, compare_theme, groups_of, short_title
from indexer.errors import BadInputError
from indexer.schema import DocumentRecord
from indexer.search import Searcher

from .app_support import build_small_index

PLAN = "gd_courts_judicial_reform_2021"


@pytest.fixture(scope="module")
def searcher(tmp_path_factory: pytest.TempPathFactory) -> Searcher:
    _, index = build_small_index(tmp_path_factory.mktemp("compare"))
    return Searcher.open(index)


def test_theme_against_every_document(searcher: Searcher) -> None:
    comp = compare_theme(searcher, "个人破产", "document", per_group=2)
    assert comp.theme == "个人破产" and comp.by == "document"
    assert {g.key for g in comp.groups} == set(searcher.data.manifest["documents"])
    top = comp.groups[0]
    assert top.key == PLAN and top.found and top.coverage > 0.5
    assert top.hits[0].chunk.chunk_id == f"{PLAN}#5"
    assert len(top.hits) == 2 and all(h.chunk.doc_id == PLAN for h in top.hits)
    assert 1 <= top.matches <= top.measures == 24
    # strongest first; the documents that do not deal with personal bankruptcy are not "found"
    assert [g.coverage for g in comp.groups] == sorted((g.coverage for g in comp.groups), reverse=True)
    assert not any(g.found for g in comp.groups[1:])
    for g in comp.groups:
        assert all(h.chunk.doc_id == g.key for h in g.hits)


def test_theme_against_every_year(searcher: Searcher) -> None:
    comp = compare_theme(searcher, "法官惩戒", "year", per_group=3)
    # issue 13.13: years in order (a time line), not by coverage
    assert [g.key for g in comp.groups] == ["2020", "2021", "2022"]
    assert [r["name"] for r in comp.chart_rows()] == ["2020年", "2021年", "2022年"]
    top = max(comp.groups, key=lambda g: g.coverage)
    assert top.key == "2021" and top.label == "2021年" and top.found
    year_2020 = next(g for g in comp.groups if g.key == "2020")
    assert set(year_2020.doc_ids) == {"notice_items", "rules_articles"} and year_2020.measures == 7


def test_chart_rows_are_short_unique_and_scaled(searcher: Searcher) -> None:
    rows = compare_theme(searcher, "在线诉讼", "document").chart_rows(label_chars=6)
    assert len({r["name"] for r in rows}) == len(rows)
    assert all(len(r["name"]) <= 6 or "（" in r["name"] for r in rows)
    assert all(0 <= r["coverage"] <= 100 and r["status"] in ("涉及", "未涉及") for r in rows)
    assert {r["label"] for r in rows} == {m["title"] for m in searcher.data.manifest["documents"].values()}


def test_groups_of_puts_undated_documents_last() -> None:
    docs = {
        "a": DocumentRecord("a", "甲", date="2021-01-01"),
        "b": DocumentRecord("b", "乙", date=""),
        "c": DocumentRecord("c", "丙", date="2019-05-01"),
    }
    assert groups_of(docs, "year") == [("2019", "2019年", ("c",)), ("2021", "2021年", ("a",)), (UNDATED, UNDATED_LABEL, ("b",))]
    assert groups_of(docs, "document")[1] == ("b", "乙", ("b",))


@pytest.mark.parametrize(("theme", "by", "per_group"), [("  ", "document", 3), ("破产", "document", 0), ("破产", "issuer", 3)])
def test_bad_requests_raise_bad_input(searcher: Searcher, theme: str, by: str, per_group: int) -> None:
    with pytest.raises(BadInputError):
        compare_theme(searcher, theme, by, per_group)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("title", "short"),
    [
        ("最高人民法院关于人民法院登记立案若干问题的规定", "登记立案规定"),
        ("最高人民法院关于人民法院合议庭工作的若干规定", "合议庭工作的规定"),
        ("最高人民法院关于进一步加强合议庭职责的若干规定", "进一步加强合议庭职责的规定"),
        ("最高人民法院关于适用《中华人民共和国人民陪审员法》若干问题的解释", "适用《人民陪审员法》解释"),
        ("中华人民共和国法官法", "法官法"),
        ("中华人民共和国人民法院组织法", "人民法院组织法"),
        ("人民法院在线诉讼规则", "在线诉讼规则"),
        ("2021年全省法院司法改革工作要点", "2021年全省法院司法改革工作要点"),
        ("最高人民法院关于", "最高人民法院关于"),
    ],
)
def test_short_titles_keep_the_distinctive_part(title: str, short: str) -> None:
    """Issue 13.12: 13 titles start with 最高人民法院关于…; the labels must tell them apart."""
    assert short_title(title) == short


def test_shared_titles_get_distinct_short_labels() -> None:
    from .conftest import shared_catalogue

    titles = [r["title"] for r in shared_catalogue()]
    if not titles:
        pytest.skip("../shared is absent")
    shorts = [short_title(t) for t in titles]
    assert len(set(shorts)) == len(titles)
    assert sum(s.startswith("最高人民法院") for s in shorts) == 0
    assert len({s[:15] for s in shorts}) == len(titles)
