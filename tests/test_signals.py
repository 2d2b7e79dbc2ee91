from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexer.errors import IndexMismatchError
from indexer.search import FEATURES, Searcher
from indexer.signals import SIGNALS, check_signals, feature_matrix, norm_max, signal


@pytest.fixture(scope="module")
def searcher(hash_index: Path) -> Searcher:
    return Searcher.open(hash_index)


def test_every_signal_is_named_once_and_described() -> None:
    assert tuple(SIGNALS) == FEATURES and len(FEATURES) == 23
    assert all(s.doc and s.name == name for name, s in SIGNALS.items())
    with pytest.raises(ValueError, match="twice"):
        signal("bm25")(lambda c: c.bm25)


def test_columns_follow_the_declared_order(searcher: Searcher) -> None:
    q = searcher.parse("网上立案 诉讼服务")
    cand = searcher.candidates(q, searcher.embed_query(q))
    full = feature_matrix(FEATURES, cand)
    assert full.shape == (len(cand), len(FEATURES)) and full.dtype == np.float64 and np.isfinite(full).all()
    backwards = tuple(reversed(FEATURES))
    np.testing.assert_array_equal(feature_matrix(backwards, cand), full[:, ::-1])
    one = feature_matrix(("coverage_x",), cand)
    np.testing.assert_array_equal(one[:, 0], full[:, FEATURES.index("coverage_x")])
    # relative signals put the best candidate at 0
    for name in ("sentence", "measure", "title"):
        assert full[:, FEATURES.index(name)].max() == 0.0


def test_an_unknown_signal_is_a_mismatch(searcher: Searcher) -> None:
    check_signals(FEATURES)
    with pytest.raises(IndexMismatchError, match="retrain"):
        check_signals(("bm25", "tomorrow"))
    q = searcher.parse("立案")
    with pytest.raises(IndexMismatchError):
        feature_matrix(("tomorrow",), searcher.candidates(q, searcher.embed_query(q)))


def test_norm_max() -> None:
    np.testing.assert_allclose(norm_max(np.array([1.0, 2.0, 4.0])), [0.25, 0.5, 1.0])
    np.testing.assert_array_equal(norm_max(np.array([0.0, 0.0])), [0.0, 0.0])
    assert norm_max(np.zeros(0)).shape == (0,)


# ------------------------------------------------------------------ how laws are built


def _law_index(tmp_path: Path) -> Path:
    """Two small laws with chapters, built with the hash encoder."""
    from indexer.build import build_index

    corpus = tmp_path / "laws"
    corpus.mkdir()
    (corpus / "家事法.md").write_text(
        "# 家事法\n\n## 第一章 婚姻\n\n第一条 结婚应当男女双方完全自愿。\n\n第二条 夫妻在婚姻家庭中地位平等。\n\n"
        "## 第二章 继承\n\n第三条 继承从被继承人死亡时开始。\n\n第四条 遗产按照法定继承办理。\n\n第五条 遗嘱继承优先。\n",
        encoding="utf-8",
    )
    (corpus / "劳动法.md").write_text(
        "# 劳动法\n\n## 第一章 劳动合同\n\n第一条 建立劳动关系应当订立劳动合同。\n\n第二条 用人单位解除劳动合同应当支付经济补偿。\n\n"
        "## 第二章 工资\n\n第三条 工资应当以货币形式按月支付。\n",
        encoding="utf-8",
    )
    build_index(corpus, tmp_path / "index", model="hash")
    return tmp_path / "index"


def test_structure_signals_read_headings_documents_and_neighbours(tmp_path: Path) -> None:
    s = Searcher.open(_law_index(tmp_path))
    q = s.parse("工资")
    assert not q.expansions  # the heading, not the thesaurus, is under test
    cand = s.candidates(q, s.embed_query(q))
    names = ("section_bm25", "section_centroid", "doc_centroid", "doc_vote_dense", "doc_vote_bm25", "neighbour_bm25", "neighbour_measure")
    X = feature_matrix(names, cand)
    assert np.isfinite(X).all()
    keys = [s.data.chunks[int(i)].key for i in cand.ids]
    col = dict(zip(names, X.T, strict=True))
    # the heading 工资 matches the question: the article of that chapter, and only it, scores on it
    in_chapter = {"劳动法#3"}
    assert {k for k, v in zip(keys, col["section_bm25"], strict=True) if v > 0} == in_chapter & set(keys)
    assert max(col["section_bm25"]) == 1.0
    # documents vote: the labour law's articles share one value, the family law's are lower
    lab = [v for k, v in zip(keys, col["doc_vote_bm25"], strict=True) if k.startswith("劳动法")]
    fam = [v for k, v in zip(keys, col["doc_vote_bm25"], strict=True) if k.startswith("家事法")]
    assert len(set(lab)) == 1 and lab[0] == 1.0 and (not fam or max(fam) == 0.0)
    # a neighbour's BM25 is never the article's own: 劳动法#2 lacks 工资, its neighbour #3 has it
    if "劳动法#2" in keys:
        assert col["neighbour_bm25"][keys.index("劳动法#2")] == 1.0
        assert col["neighbour_bm25"][keys.index("劳动法#3")] == 0.0
    # relative cosines put the best at 0
    assert col["doc_centroid"].max() == 0.0 and col["section_centroid"].max() == 0.0


def test_neighbours_stop_at_the_document_boundary(tmp_path: Path) -> None:
    s = Searcher.open(_law_index(tmp_path))
    q = s.parse("工资货币")
    cand = s.candidates(q, s.embed_query(q))
    keys = [s.data.chunks[int(i)].key for i in cand.ids]
    nb = feature_matrix(("neighbour_bm25",), cand)[:, 0]
    bm = dict(zip(keys, feature_matrix(("bm25",), cand)[:, 0], strict=True))
    for k, v in zip(keys, nb, strict=True):
        doc, no = k.split("#")
        around = [bm.get(f"{doc}#{int(no) + d}", 0.0) for d in (-1, 1)]
        assert v == pytest.approx(max(around), abs=1e-6)


def test_mined_associations_raise_the_articles_that_use_the_associated_terms(tmp_path: Path) -> None:
    from indexer.associations import Associations

    s = Searcher.open(_law_index(tmp_path))
    q = s.parse("老板一直没发钱")
    cand = s.candidates(q, s.embed_query(q))
    assert feature_matrix(("assoc_bm25",), cand)[:, 0].max() == 0.0  # the package table knows no 老板 → wage terms
    table = tmp_path / "a.tsv"
    table.write_text("老板\t用人单位:1 工资:0.5\n没发\t支付:0.5\n", encoding="utf-8")
    s.associations = Associations(table)
    col = dict(zip((s.data.chunks[int(i)].key for i in cand.ids), feature_matrix(("assoc_bm25",), cand)[:, 0], strict=True))
    # unscaled BM25 of the associated terms: the articles using them score, the family law's do not
    assert col.get("劳动法#2", 0) > 0 and col.get("劳动法#3", 0) > 0
    assert all(v == 0.0 for k, v in col.items() if k.startswith("家事法"))


def test_group_directions_are_unit_sums() -> None:
    from indexer.structure import _group_directions

    v = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [3.0, 4.0]], np.float32)
    out = _group_directions(v, np.array([0, 0, 1, 0]), 3)
    np.testing.assert_allclose(out[0], np.array([4.0, 5.0]) / np.hypot(4, 5), rtol=1e-6)
    np.testing.assert_allclose(out[1], [1.0, 0.0])
    np.testing.assert_array_equal(out[2], [0.0, 0.0])
