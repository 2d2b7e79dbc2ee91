from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.associations import (
    ASSOCIATIONS,
    Associations,
    Example,
    check_fitted_with,
    merged,
    mine,
    package_associations,
    parse,
    table_for,
    to_text,
    write,
)
from indexer.errors import IndexMismatchError

WAGE = ("用人单位", "劳动报酬", "支付")
THEFT = ("秘密", "窃取", "公私财物")


def _examples() -> list[Example]:
    out = [Example(("公司", "工资", "没发"), (WAGE,)) for _ in range(4)]
    out += [Example(("晚上", "拿走", "手机"), (THEFT,)) for _ in range(4)]
    out += [Example(("离婚", "孩子"), (("子女", "抚养"),)) for _ in range(4)]
    out += [Example(("工资", "用人单位"), (WAGE,))]  # a term the question names is not "associated" for it
    out += [Example(("2019", "工资"), (WAGE,)) for _ in range(3)]
    return out


def test_mining_pairs_question_words_with_the_terms_of_their_articles() -> None:
    table = mine(_examples())
    assert {t for t, _ in table["工资"]} == set(WAGE)
    assert {t for t, _ in table["拿走"]} == set(THEFT)
    # theft words never point at wage terms, nor the other way round
    assert not {t for t, _ in table["拿走"]} & set(WAGE)
    assert all(s > 0 for terms in table.values() for _, s in terms)
    # numbers say which case it is, not what it is about
    assert "2019" not in table


def test_rare_words_and_pairs_are_not_kept() -> None:
    table = mine(_examples()[:2] + _examples()[4:6] + _examples()[8:10], min_count=3)
    assert table == {}
    assert mine(_examples(), min_count=100) == {}


def test_a_word_everyone_uses_is_not_associated_with_anything() -> None:
    # 问题 is in every question: it cannot raise the odds of any term (PMI 0)
    ex = [Example(("问题", *e.question), e.articles) for e in _examples()]
    assert "问题" not in mine(ex)


def test_top_keeps_the_strongest_terms_first() -> None:
    table = mine(_examples(), top=2)
    assert all(len(v) <= 2 for v in table.values())
    assert all(v[i][1] >= v[i + 1][1] for v in table.values() for i in range(len(v) - 1))


words = st.sampled_from(["工资", "拿走", "离婚", "孩子", "撞", "借钱", "房子", "公司"])
terms = st.sampled_from(["用人单位", "劳动报酬", "窃取", "子女", "抚养", "交通事故", "借款", "利息", "所有权"])
examples = st.lists(
    st.builds(
        Example,
        st.lists(words, min_size=1, max_size=4).map(tuple),
        st.lists(st.lists(terms, min_size=1, max_size=4).map(tuple), max_size=2).map(tuple),
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(examples, st.randoms(use_true_random=False))
def test_mining_is_deterministic_and_every_association_was_seen(exs: list[Example], rnd: random.Random) -> None:
    table = mine(exs, min_count=2)
    shuffled = list(exs)
    rnd.shuffle(shuffled)
    assert mine(shuffled, min_count=2) == table
    for w, assoc in table.items():
        for t, _ in assoc:
            seen = [e for e in exs if w in e.question and t not in e.question and any(t in a for a in e.articles)]
            assert len(seen) >= 2


def test_the_table_round_trips_through_its_file(tmp_path: Path) -> None:
    table = mine(_examples())
    path = tmp_path / "a.tsv"
    write(path, table, ["mined in a test", "", "second line"])
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# mined in a test\n#\n# second line\n")
    loaded = Associations(path)
    assert {w: [t for t, _ in v] for w, v in loaded.table.items()} == {w: [t for t, _ in v] for w, v in table.items()}
    assert all(abs(a[1] - b[1]) < 1e-4 for w in table for a, b in zip(loaded.table[w], table[w], strict=True))
    assert len(loaded) == len(table) and len(loaded.sha256) == 64


def test_query_weights_sum_over_words_and_leave_out_the_question_own_words(tmp_path: Path) -> None:
    path = tmp_path / "a.tsv"
    path.write_text("# header\n工资\t劳动报酬:0.5 用人单位:1\n没发\t劳动报酬:0.25 支付:2\nbad line without tab\n", encoding="utf-8")
    a = Associations(path)
    assert a.weights(["工资", "没发", "工资"]) == {"劳动报酬": 0.75, "用人单位": 1.0, "支付": 2.0}
    assert a.weights(["工资", "用人单位"]) == {"劳动报酬": 0.5}
    assert a.weights(["天气"]) == {}


def test_a_table_from_text_is_the_same_table_as_from_its_file(tmp_path: Path) -> None:
    table = mine(_examples())
    text = to_text(table, ["header"])
    path = tmp_path / "a.tsv"
    write(path, table, ["header"])
    a, b = Associations(path), Associations.from_text(text)
    assert a.table == b.table == parse(text) and a.sha256 == b.sha256 and b.text == text
    # the package's table hashes as its file does: the shipped models record that
    import hashlib

    assert package_associations().sha256 == hashlib.sha256(ASSOCIATIONS.read_bytes()).hexdigest()
    assert table_for("") is package_associations() and table_for(text).table == b.table


def test_merging_sums_the_strengths_of_both_tables() -> None:
    base = {"工资": (("劳动报酬", 1.0), ("支付", 0.25)), "离婚": (("子女", 0.5),)}
    own = {"工资": (("用人单位", 2.0), ("支付", 0.5)), "老赖": (("执行", 1.0),)}
    out = merged(own, base)
    assert out == {
        "工资": (("用人单位", 2.0), ("劳动报酬", 1.0), ("支付", 0.75)),
        "离婚": (("子女", 0.5),),
        "老赖": (("执行", 1.0),),
    }
    assert base["工资"] == (("劳动报酬", 1.0), ("支付", 0.25))  # not modified
    assert merged({}, base) == base


def test_a_missing_file_is_an_empty_table(tmp_path: Path) -> None:
    a = Associations(tmp_path / "none.tsv")
    assert len(a) == 0 and a.sha256 == "" and a.weights(["工资"]) == {}


def test_a_ranker_fitted_with_another_table_is_refused(tmp_path: Path) -> None:
    table = package_associations()
    check_fitted_with(("bm25", "assoc_bm25"), {"associations": table.sha256}, table, "ranker")
    check_fitted_with(("bm25",), {"associations": "0" * 64}, table, "ranker")  # does not read the signal
    check_fitted_with(("bm25", "assoc_bm25"), {}, table, "ranker")  # hand-made, records nothing
    with pytest.raises(IndexMismatchError, match=r"another associations table.*rebuild.*retrain"):
        check_fitted_with(("assoc_bm25",), {"associations": "0" * 64}, table, "ranker")
    with pytest.raises(IndexMismatchError, match=r"none.tsv is missing; restore it"):
        check_fitted_with(("assoc_bm25",), {"associations": table.sha256}, Associations(tmp_path / "none.tsv"), "ranker")


def test_the_shipped_table_is_mined_from_training_pairs_only() -> None:
    a = package_associations()
    assert a.path == ASSOCIATIONS and len(a) > 1000
    header = [ln for ln in ASSOCIATIONS.read_text(encoding="utf-8").splitlines() if ln.startswith("#")]
    text = "\n".join(header)
    assert "train/pairs.tsv" in text and "Never mined from ../shared/eval" in text and "bench/mine_associations.py" in text
    # what case descriptions of wages point at
    assert {"劳动者", "用人单位"} & {t for t, _ in a.table["工资"]}


def test_the_shipped_table_is_what_the_mining_command_makes(tmp_path: Path) -> None:
    """bench/mine_associations.py reproduces the shipped file byte for byte: a change of the dictionary or of the
    question analysis that alters tokens shows here, as a table whose words the questions no longer produce."""
    import sys

    from .conftest import ROOT, SHARED

    if not (SHARED / "train" / "pairs.tsv").is_file() or not (SHARED / "corpus-laws").is_dir():
        pytest.skip("../shared is absent: the training pairs and laws sit beside the project checkout (CI has them)")
    sys.path.insert(0, str(ROOT / "bench"))
    from mine_associations import mine_table

    table, header, pairs = mine_table(SHARED / "corpus-laws")
    write(tmp_path / "again.tsv", table, header)
    assert pairs == 930
    assert (tmp_path / "again.tsv").read_bytes() == ASSOCIATIONS.read_bytes(), (
        "re-mine with python bench/mine_associations.py, then retrain the default models with bench/train_default.py"
    )
