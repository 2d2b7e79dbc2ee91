"""Understanding a question: validation, normalisation and colloquial → legal expansion.

People ask in everyday words (打官司, 拿不到钱, 领导打招呼); documents say 诉讼,
执行难, 干预司法.  A maintained thesaurus (``data/thesaurus.tsv``) maps the
first to the second.  Expansions are added to the lexical query with a lower
weight and appended to the embedded query text, so the original words always
dominate.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from .errors import BadInputError
from .segmentation import DATA_DIR, Segmenter, normalise

THESAURUS = DATA_DIR / "thesaurus.tsv"
#: longer questions are cut here: the encoder reads 512 tokens, and no real question is longer
MAX_QUERY_CHARS = 256


@dataclass(frozen=True)
class Query:
    """A validated, normalised question and what was derived from it."""

    raw: str
    #: normalised text (NFKC, simplified, single spaces), at most MAX_QUERY_CHARS
    text: str
    #: lexical tokens of the question itself
    tokens: tuple[str, ...]
    #: legal terms the thesaurus adds for everyday words in the question
    expansions: tuple[str, ...]
    #: lexical tokens of the expansions not already in ``tokens``
    expansion_tokens: tuple[str, ...]
    #: question tokens inside the everyday phrases the thesaurus matched (拿, 不到, 钱):
    #: documents do not use them, so they weigh less
    colloquial_tokens: tuple[str, ...] = ()
    #: the question with the matched everyday phrases blanked out
    core_text: str = ""
    truncated: bool = False

    @property
    def dense_text(self) -> str:
        """What is embedded: the question, then the legal terms it implies."""
        return self.text if not self.expansions else f"{self.text} {' '.join(self.expansions)}"


def thesaurus_sha256(path: Path = THESAURUS) -> str:
    """SHA-256 of a thesaurus file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Thesaurus:
    """Everyday phrase → legal terms, read from a two-column TSV.

    A phrase may contain ``*`` for a gap of up to eight characters
    (``赢*拿不到`` matches 判决赢了但是拿不到钱).
    """

    def __init__(self, path: Path = THESAURUS) -> None:
        self.path = path
        self.entries: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
        self._patterns: list[tuple[re.Pattern[str], tuple[str, ...], frozenset[str] | None]] = []
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            left, _, right = line.partition("\t")
            phrases = tuple(normalise(p.strip()) for p in left.split("|") if p.strip())
            terms = tuple(t for t in right.split() if t)
            if phrases and terms:
                self.entries.append((phrases, terms))
                alternatives = "|".join(
                    ".{0,8}?".join(re.escape(part) for part in p.split("*")) for p in sorted(phrases, key=len, reverse=True)
                )
                # a match starts with the first character of one of the phrases: questions holding
                # none of them skip the pattern (most of ~300, for most questions)
                firsts = frozenset(p[0] for p in phrases if p and p[0] != "*")
                self._patterns.append((re.compile(alternatives), terms, firsts if all(p and p[0] != "*" for p in phrases) else None))

    @cached_property
    def sha256(self) -> str:
        """SHA-256 of the thesaurus file (an index records the one it was built with)."""
        return thesaurus_sha256(self.path)

    def match(self, text: str) -> tuple[list[str], list[tuple[int, int]]]:
        """(legal terms, spans of the everyday phrases matched) for ``text`` (normalised)."""
        out: dict[str, None] = {}
        spans: list[tuple[int, int]] = []
        chars = set(text)
        for pattern, terms, firsts in self._patterns:
            if firsts is not None and firsts.isdisjoint(chars):
                continue
            found = [m.span() for m in pattern.finditer(text) if m.end() > m.start()]
            if found:
                spans.extend(found)
                for t in terms:
                    out.setdefault(t, None)
        return list(out), sorted(spans)


def parse_query(raw: str, segmenter: Segmenter, thesaurus: Thesaurus | None) -> Query:
    """Validate and analyse a question.

    Raises :class:`BadInputError` for an empty or whitespace-only question.
    """
    if raw is None or not str(raw).strip():
        raise BadInputError("empty query: type a question or some key words", kind="query_empty")
    text = " ".join(normalise(str(raw)).split())
    if not text:
        raise BadInputError("empty query: type a question or some key words", kind="query_empty")
    truncated = len(text) > MAX_QUERY_CHARS
    text = text[:MAX_QUERY_CHARS]
    tokens = segmenter.tokens(text)
    expansions, spans = thesaurus.match(text) if thesaurus is not None else ([], [])
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    core_text = "".join(chars)
    core = set(segmenter.tokens(core_text)) | set(expansions)
    seen = set(tokens)
    extra: list[str] = []
    for term in expansions:
        for tok in segmenter.tokens(term):
            if tok not in seen:
                seen.add(tok)
                extra.append(tok)
    return Query(
        raw=str(raw),
        text=text,
        tokens=tuple(tokens),
        expansions=tuple(e for e in expansions if e not in text),
        expansion_tokens=tuple(extra),
        colloquial_tokens=tuple(t for t in dict.fromkeys(tokens) if t not in core),
        core_text=core_text,
        truncated=truncated,
    )
