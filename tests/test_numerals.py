from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from indexer.numerals import parse_number, to_chinese_number


@pytest.mark.parametrize(
    ("text", "n"),
    [
        ("一", 1),
        ("十", 10),
        ("二十三", 23),
        ("一百零五", 105),
        ("两", 2),
        ("23", 23),
        ("２３", 23),
        ("一〇五", 105),
        ("百", 100),
        ("二〇二一", 2021),
        ("二○二一", 2021),
        ("二Ｏ二一", 2021),
        ("一九九八", 1998),
    ],
)
def test_parse_number(text: str, n: int) -> None:
    assert parse_number(text) == n


@pytest.mark.parametrize("text", ["", "条", "十a", "abc"])
def test_parse_number_rejects_what_is_not_a_numeral(text: str) -> None:
    with pytest.raises(ValueError):
        parse_number(text)


def test_to_chinese_number() -> None:
    assert to_chinese_number(5) == "五"
    assert to_chinese_number(23) == "二十三"


@given(st.integers(min_value=1, max_value=9999))
def test_numbers_round_trip(n: int) -> None:
    assert parse_number(to_chinese_number(n)) == n
