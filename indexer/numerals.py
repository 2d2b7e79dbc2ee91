"""Chinese numerals as printed in documents and questions: 二十三, 一〇五, 两, ２３.

Shared by the loader (dates such as 二〇二一年十一月十日), the chunker
(第二十三条, 三、) and citations (第一部分).  It depends on nothing else in the
package, so the query path can use it without importing the chunker.
"""

from __future__ import annotations

import functools
import unicodedata

#: the characters of a Chinese numeral (a regular-expression character class body)
NUMERALS = "〇零一二三四五六七八九十百千两"
#: the ways documents print a zero digit in a year (二〇二一, 二○二一, 二Ｏ二一)
ZERO_FORMS = "〇○Ｏ"
_DIGITS = "零一二三四五六七八九"


@functools.lru_cache(maxsize=4096)
def parse_number(s: str) -> int:
    """A numeral as printed (二十三, 一〇五, 两, 23, ２３, 二〇二一) as an int.

    Raises :class:`ValueError` when ``s`` is not a numeral.
    """
    import cn2an

    s = unicodedata.normalize("NFKC", s).strip()
    if s.isdigit():
        return int(s)
    # NFKC turns the full-width Ｏ into a Latin O
    s = s.replace("〇", "零").replace("○", "零").replace("O", "零")
    if s.startswith("百") or s.startswith("千"):
        s = "一" + s
    try:
        return int(cn2an.cn2an(s, "smart"))
    except (ValueError, KeyError, IndexError, TypeError):
        # digit-by-digit spelling (一〇五) that cn2an rejects
        if s and all(c in _DIGITS for c in s):
            return int("".join(str(_DIGITS.index(c)) for c in s))
        raise ValueError(f"not a number: {s!r}") from None


def to_chinese_number(n: int) -> str:
    """23 → 二十三 (for section ordinals in citations)."""
    import cn2an

    return str(cn2an.an2cn(n))


__all__ = ["NUMERALS", "ZERO_FORMS", "parse_number", "to_chinese_number"]
