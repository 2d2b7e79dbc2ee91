from __future__ import annotations

import jieba

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
