from __future__ import annotations

import jieba
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.segmentation import Segmenter, default_segmenter, normalise


def test_legal_terms_stay_whole() -> None:
    seg = default_segmenter()
    for term in ("个人破产", "繁简分流", "认罪认罚", "执行难", "司法确认"):
        assert term in seg.words(f"关于{term}的改革"), term
    # search mode also yields the sub-words, so 破产 meets 个人破产
    assert {"个人破产", "破产"} <= set(seg.tokens("个人破产相关改革"))


def test_stop_words_and_punctuation_are_removed() -> None:
    toks = default_segmenter().tokens("请问，法官辞职后多久可以当律师？")
    assert "请问" not in toks and "可以" not in toks and "？" not in toks and "，" not in toks
    assert "法官" in toks and "律师" in toks


def test_normalise_folds_width_traditional_and_case() -> None:
    assert normalise("網上打官司") == "网上打官司"
    assert normalise("ＡＢＣ１２３") == "abc123"
    assert default_segmenter().tokens("個人破產") == default_segmenter().tokens("个人破产")


def test_private_tokenizer_leaves_global_jieba_alone() -> None:
    before = jieba.lcut("繁简分流改革试点")
    Segmenter().words("繁简分流改革试点")
    assert jieba.lcut("繁简分流改革试点") == before


def test_fingerprint_is_stable_and_tracks_the_dictionary(tmp_path) -> None:
    a, b = Segmenter(), Segmenter()
    assert a.fingerprint == b.fingerprint
    custom = tmp_path / "terms.txt"
    custom.write_text("某某新词\n", encoding="utf-8")
    assert Segmenter(user_dict=custom).fingerprint != a.fingerprint


def _t2s_pieces() -> list[str]:
    """Every phrase of OpenCC's t2s phrase table, its single characters, and plain simplified text."""
    from pathlib import Path

    import opencc

    table = (Path(opencc.__file__).parent / "dictionary" / "TSPhrases.txt").read_text(encoding="utf-8")
    phrases = [line.split("\t")[0] for line in table.splitlines() if line]
    return phrases + sorted({c for p in phrases for c in p}) + list("个人破产诉讼服务执行难網上立案法官懲戒頭髮發展后台臺灣，。1a")


_PIECES = _t2s_pieces()
_OPENCC = __import__("opencc").OpenCC("t2s")


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=12).map("".join))
def test_skipping_simplified_text_gives_what_opencc_gives(text: str) -> None:
    from indexer.segmentation import _T2S

    assert _T2S.convert(text) == _OPENCC.convert(text)
