from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.bm25 import BM25Index

DOCS = [["个人破产", "个人", "破产", "制度"], ["执行难", "执行", "机制"], ["破产", "重整", "企业"], []]


def test_scores_rank_matching_documents() -> None:
    bm = BM25Index.build(DOCS)
    s = bm.scores({"破产": 1.0})
    assert s[0] > 0 and s[2] > 0 and s[1] == 0 and s[3] == 0
    assert bm.scores({"没有这个词": 1.0}).sum() == 0
    assert bm.n_docs == 4


def test_weights_scale_term_contributions() -> None:
    bm = BM25Index.build(DOCS)
    full = bm.scores({"执行": 1.0})
    half = bm.scores({"执行": 0.5})
    np.testing.assert_allclose(half, full * 0.5, rtol=1e-6)


def test_coverage_is_the_share_of_idf_mass() -> None:
    bm = BM25Index.build(DOCS)
    cov = bm.coverage(["个人破产", "制度"])
    assert cov[0] > 0.99 and cov[1] == 0
    # an unknown word counts against every document
    assert bm.coverage(["个人破产", "未知词"])[0] < 0.6
    assert bm.idf("未知词") == 0.0 and bm.document_frequency("破产") == 2


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    bm = BM25Index.build(DOCS)
    bm.save(tmp_path)
    again = BM25Index.load(tmp_path)
    np.testing.assert_array_equal(bm.scores({"破产": 1, "企业": 0.5}), again.scores({"破产": 1, "企业": 0.5}))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from(["甲", "乙", "丙", "丁", "戊", "己"]), max_size=8), min_size=1, max_size=40),
    st.dictionaries(st.sampled_from(["甲", "乙", "丙", "庚"]), st.floats(0.1, 2.0), min_size=1, max_size=3),
    st.data(),
)
def test_candidate_scoring_equals_full_scoring(docs, weights, data) -> None:
    bm = BM25Index.build(docs)
    subset = np.array(sorted(data.draw(st.sets(st.integers(0, len(docs) - 1), min_size=1))), dtype=np.int64)
    np.testing.assert_allclose(bm.scores_for(weights, subset), bm.scores(weights)[subset], rtol=1e-5)
    np.testing.assert_allclose(bm.coverage_for(list(weights), subset), bm.coverage(list(weights))[subset], rtol=1e-5)
