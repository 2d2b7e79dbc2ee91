from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer.errors import BadInputError, IndexMismatchError
from indexer.search import FEATURES, Filters, Searcher

HIT_FIELDS = {"rank", "score", "chunk_id", "doc_id", "doc_title", "section", "measure_no", "measure_title", "text", "citation"}


@pytest.fixture(scope="module")
def searcher(hash_index: Path) -> Searcher:
    return Searcher.open(hash_index)


def test_search_returns_ranked_cited_hits(searcher: Searcher) -> None:
    res = searcher.search("个人破产制度", top_k=5)
    assert 1 <= len(res.hits) <= 5
    assert [h.rank for h in res.hits] == list(range(1, len(res.hits) + 1))
    assert [h.score for h in res.hits] == sorted((h.score for h in res.hits), reverse=True)
    top = res.hits[0]
    assert top.chunk.key == "gd_courts_judicial_reform_2021#5"
    assert top.chunk.citation.startswith("《2021年全省法院司法改革工作要点》")
    d = res.to_dict()
    assert set(d) == {"query", "latency_ms", "hits", "ranker"} and d["latency_ms"] >= 0
    # no models ship for the test encoder: rank fusion, and the output says so
    assert d["ranker"]["kind"] == "rrf" and d["ranker"]["encoder"] == "hash-64"
    assert set(d["hits"][0]) >= HIT_FIELDS
    assert set(top.signals) >= set(FEATURES)


@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
def test_every_mode_ranks_within_top_k(searcher: Searcher, mode: str) -> None:
    res = searcher.search("在线诉讼 网上立案", top_k=3, mode=mode)
    assert 0 < len(res.hits) <= 3 and res.mode == mode


def test_results_are_deterministic(searcher: Searcher) -> None:
    a = [h.chunk.chunk_id for h in searcher.search("执行工作", top_k=10).hits]
    searcher.clear_cache()
    b = [h.chunk.chunk_id for h in searcher.search("执行工作", top_k=10).hits]
    assert a == b


def test_filters_narrow_results(searcher: Searcher) -> None:
    only = Filters.make(doc_ids=["rules_articles"])
    hits = searcher.search("立案", top_k=10, filters=only).hits
    assert hits and {h.chunk.doc_id for h in hits} == {"rules_articles"}
    by_year = searcher.search("改革", top_k=10, filters=Filters.make(years=[2021])).hits
    assert by_year and {h.chunk.doc_id for h in by_year} == {"gd_courts_judicial_reform_2021"}
    by_source = searcher.search("改革", top_k=10, filters=Filters.make(sources=["广州中院"])).hits
    assert {h.chunk.doc_id for h in by_source} == {"reform_plan_fullwidth"}
    by_section = searcher.search("改革", top_k=10, filters=Filters.make(sections=["三、深化诉讼制度改革"])).hits
    assert by_section and all(h.chunk.section == "三、深化诉讼制度改革" for h in by_section)
    assert searcher.search("改革", filters=Filters.make(years=[1990])).hits == ()
    with pytest.raises(BadInputError, match="no document"):
        searcher.search("改革", filters=Filters.make(doc_ids=["nope"]))


@pytest.mark.parametrize("bad", ["", "   ", "\n\t"])
def test_empty_query_is_refused(searcher: Searcher, bad: str) -> None:
    with pytest.raises(BadInputError, match="empty"):
        searcher.search(bad)


def test_top_k_and_mode_are_validated(searcher: Searcher) -> None:
    with pytest.raises(BadInputError, match="top-k"):
        searcher.search("改革", top_k=0)
    with pytest.raises(BadInputError, match="mode"):
        searcher.search("改革", mode="magic")


@pytest.mark.parametrize(
    "query",
    ["<script>alert(1)</script>", "'; DROP TABLE chunks; --", "？？？！！！", "🙂🙂🙂", "個人破產", "ＡＢＣ", "破产" * 50000],
)
def test_odd_queries_answer_without_errors(searcher: Searcher, query: str) -> None:
    res = searcher.search(query, top_k=3)
    assert len(res.hits) <= 3


def test_control_characters_only_is_an_empty_query(searcher: Searcher) -> None:
    with pytest.raises(BadInputError, match="empty"):
        searcher.search("\x00\x01\x02\u200b")


def test_similar_measures_come_from_other_documents(searcher: Searcher) -> None:
    sims = searcher.similar("gd_courts_judicial_reform_2021#18", top_k=3)
    assert sims and all(h.chunk.doc_id != "gd_courts_judicial_reform_2021" for h in sims)
    with pytest.raises(BadInputError):
        searcher.similar("nope#1")


def test_index_refuses_another_encoder(hash_index: Path) -> None:
    with pytest.raises(IndexMismatchError, match="built with encoder"):
        Searcher.open(hash_index, model="e5-small")


def test_models_of_another_encoder_or_unknown_signals_are_refused(searcher: Searcher) -> None:
    import numpy as np

    from indexer.fusion import FusionModels, LinearRanker, default_models

    e5 = default_models("e5-small")
    with pytest.raises(IndexMismatchError, match="fitted to encoder 'e5-small'"):
        searcher.models = e5
    unknown = LinearRanker(("bm25", "no_such_signal"), np.zeros(2), np.ones(2), np.ones(2), {})
    with pytest.raises(IndexMismatchError, match=r"no_such_signal.*retrain"):
        searcher.models = FusionModels.make("hash-64", unknown, None)
    # a calibrator's training questions embedded by a model of another dimension
    with pytest.raises(IndexMismatchError, match=r"dimensions.*retrain"):
        searcher.models = FusionModels.make("hash-64", None, None, questions=np.ones((2, 384)) / np.sqrt(384))
    assert searcher.models is None  # unchanged: still rank fusion


def test_a_ranker_fitted_with_another_associations_table_is_refused(searcher: Searcher) -> None:
    import numpy as np

    from indexer.fusion import FusionModels, LinearRanker

    def ranker(info: dict) -> LinearRanker:
        return LinearRanker(("bm25", "assoc_bm25"), np.zeros(2), np.ones(2), np.ones(2), info)

    with pytest.raises(IndexMismatchError, match=r"another associations table.*rebuild"):
        searcher.models = FusionModels.make("hash-64", ranker({"associations": "0" * 64}), None)
    assert searcher.models is None
    searcher.models = FusionModels.make("hash-64", ranker({"associations": searcher.associations.sha256}), None)
    try:
        q = searcher.parse("网上立案")
        assert searcher.features(searcher.candidates(q, searcher.embed_query(q))).shape[1] == 2
    finally:
        searcher.models = None


def test_an_index_built_with_another_thesaurus_is_refused(hash_index: Path, tmp_path: Path) -> None:
    import json
    import shutil

    from indexer.store import current_version

    index = tmp_path / "index"
    shutil.copytree(hash_index, index)
    manifest = index / current_version(index) / "manifest.json"
    m = json.loads(manifest.read_text(encoding="utf-8"))
    m["thesaurus"]["sha256"] = "0" * 64
    manifest.write_text(json.dumps(m), encoding="utf-8")
    with pytest.raises(IndexMismatchError, match=r"another thesaurus.*rebuild"):
        Searcher.open(index)


# ------------------------------------------------------------------ with the real embedded model


def test_search_names_the_default_models_the_index_carries(e5_index: Path) -> None:
    s = Searcher.open(e5_index)
    ranker = s.search("个人破产", top_k=1).to_dict()["ranker"]
    record = s.data.manifest["ranker"]
    assert ranker["id"] == record["sha256"][:12] and ranker["kind"] == "linear"
    assert (ranker["encoder"], ranker["origin"], ranker["calibrated"]) == ("e5-small", "default", True)
    assert s.search("个人破产", top_k=1, mode="bm25").ranker["kind"] == "bm25"


def test_online_litigation_question_finds_an_online_measure(e5_index: Path) -> None:
    hits = Searcher.open(e5_index).search("网上打官司", top_k=3).hits
    # 15 在线诉讼, 18 网上立案/网上司法确认, 19 网上法院: all answer it
    assert hits[0].chunk.measure_no in {15, 18, 19}


@pytest.mark.parametrize(
    ("query", "measure"),
    [
        ("个人破产相关改革", 5),
        ("判决赢了但是拿不到钱", 14),
        ("法官惩戒", 9),
        ("领导打招呼干预案件", 10),
        ("智慧法院", 19),
    ],
)
def test_plain_language_questions_find_the_right_measure(e5_index: Path, query: str, measure: int) -> None:
    hits = Searcher.open(e5_index).search(query, top_k=3).hits
    assert hits[0].chunk.key == f"gd_courts_judicial_reform_2021#{measure}", [h.chunk.key for h in hits]
    assert hits[0].evidence  # the sentences that matched, for highlighting


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text(max_size=120))
def test_fuzzed_queries_answer_or_refuse_cleanly(hash_index: Path, text: str) -> None:
    searcher = _fuzz_searcher(hash_index)
    try:
        res = searcher.search(text, top_k=5)
    except BadInputError as exc:
        assert "empty" in str(exc)
        return
    assert len(res.hits) <= 5 and all(h.chunk.citation for h in res.hits)


_SEARCHERS: dict[Path, Searcher] = {}


def _fuzz_searcher(index: Path) -> Searcher:
    if index not in _SEARCHERS:
        _SEARCHERS[index] = Searcher.open(index)
    return _SEARCHERS[index]


def test_large_index_path_scores_sentences_from_disk_like_the_in_memory_path(hash_index: Path) -> None:
    import numpy as np

    s = Searcher.open(hash_index)
    q = s.parse("诉讼服务 立案")
    qv = s.embed_query(q)
    cand = s.candidates(q, qv)
    in_memory = s.sentence_max(cand.ids, qv)
    np.testing.assert_allclose(in_memory, cand.sentence)
    s._units32 = None  # what an index with more distinct texts than UNITS_IN_MEMORY does
    np.testing.assert_allclose(s.sentence_max(cand.ids, qv), in_memory, atol=1e-6)
    hits = s.search("诉讼服务 立案", top_k=5).hits
    assert hits and all(h.chunk.citation for h in hits)
