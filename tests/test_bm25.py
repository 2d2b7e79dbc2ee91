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


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.sampled_from(["个人破产", "执行", "难", "法院", "诉讼", "服务", ""]), max_size=12), min_size=1, max_size=25))
def test_fast_build_gives_bm25s_weights_exactly(docs: list[list[str]]) -> None:
    import scipy.sparse as sp

    from indexer.bm25 import _bm25s

    docs = [d if d else [""] for d in docs]
    ref = _bm25s().BM25(k1=1.2, b=0.75, method="lucene")
    ref.index(docs, show_progress=False)
    fast = BM25Index.build(docs)._r

    def by_token(r) -> tuple[list[str], object]:
        s = r.scores
        ncol = len(s["indptr"]) - 1
        m = sp.csc_matrix((s["data"], s["indices"], s["indptr"]), shape=(s["num_docs"], ncol))
        toks = sorted(t for t, i in r.vocab_dict.items() if i < ncol)
        return toks, m[:, [r.vocab_dict[t] for t in toks]].toarray()

    (ta, a), (tb, b) = by_token(ref), by_token(fast)
    assert ta == tb
    np.testing.assert_array_equal(a, b)
