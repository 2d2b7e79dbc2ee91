"""Word associations mined from labelled questions: a question's word → the words of the articles it is answered by.

The hand-written thesaurus (:mod:`indexer.query`) maps everyday phrases to
legal terms.  Case descriptions need more than that: 被告人…趁无人之机…拿走
is answered by 刑法's article on 盗窃 (秘密窃取, 公私财物), 工资 by articles
that say 劳动报酬 and 用人单位.  Such pairs can be counted in labelled data:
for each word of a question, the words that the articles cited for it use
more often than articles cited for questions in general (pointwise mutual
information, kept when both counts are large enough).

The result, ``data/associations.tsv``, feeds one fusion signal
(``assoc_bm25``): the BM25 of a candidate against the terms associated with
the question's words.  It never adds candidates and never changes the
embedded text, so it can only re-order what the other signals found, and the
ranker learns how much to trust it.  ``bench/mine_associations.py`` mines the
shipped file from training pairs only (never ../shared/eval).

``python -m indexer train --mine-associations`` mines a court's own labelled
questions the same way and adds the result to the package's table
(:func:`merged`); the trained models carry that table as text
(:func:`table_for`), so an index version always serves the table its ranker
was fitted with.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

from .errors import IndexMismatchError
from .segmentation import DATA_DIR

ASSOCIATIONS = DATA_DIR / "associations.tsv"
#: the fusion signal that reads the table (:mod:`indexer.signals`)
SIGNAL = "assoc_bm25"
#: an association must be seen in this many questions, and its question word too
MIN_COUNT = 3
#: most associated terms kept per question word
TOP_TERMS = 5
#: log ratio of how often the term is cited for the word against how often it is cited at all
MIN_PMI = 0.5


@dataclass(frozen=True)
class Example:
    """One labelled question as tokens: its own, and those of each article it is answered by."""

    question: tuple[str, ...]
    articles: tuple[tuple[str, ...], ...]


def mine(
    examples: Iterable[Example], min_count: int = MIN_COUNT, top: int = TOP_TERMS, min_pmi: float = MIN_PMI
) -> dict[str, tuple[tuple[str, float], ...]]:
    """Question word → its ``top`` associated article terms with their strength, best first.

    The strength of (w, t) is P(t in the cited articles | w in the question) × PMI(w, t),
    counted over questions; a term the question itself contains is not counted for it
    (the associations say what questions do not); words without a letter or character
    (amounts, dates) are not counted. Deterministic: ties break by term.
    """
    n_word: Counter[str] = Counter()
    n_term: Counter[str] = Counter()
    pair: defaultdict[str, Counter[str]] = defaultdict(Counter)
    n = 0
    for ex in examples:
        if not ex.articles:
            continue
        # numbers (amounts, dates) say which case a question is, not what it is about
        words = {w for w in ex.question if any(ch.isalpha() for ch in w)}
        terms = set().union(*map(set, ex.articles))
        n += 1
        n_word.update(words)
        n_term.update(terms)
        new = terms - words
        for w in words:
            pair[w].update(new)
    out: dict[str, tuple[tuple[str, float], ...]] = {}
    for w in sorted(pair):
        if n_word[w] < min_count:
            continue
        scored = []
        for t, x in pair[w].items():
            if x < min_count:
                continue
            pmi = math.log(x * n / (n_word[w] * n_term[t]))
            if pmi > min_pmi:
                scored.append((round(x / n_word[w] * pmi, 4), t))
        if scored:
            scored.sort(key=lambda s: (-s[0], s[1]))
            out[w] = tuple((t, s) for s, t in scored[:top])
    return out


def to_text(table: Mapping[str, Sequence[tuple[str, float]]], header: Sequence[str]) -> str:
    """The table as ``word<TAB>term:strength term:strength …`` lines under ``#`` header lines."""
    lines = [f"# {h}" if h else "#" for h in header]
    lines += [f"{w}\t{' '.join(f'{t}:{s:g}' for t, s in terms)}" for w, terms in table.items()]
    return "\n".join(lines) + "\n"


def write(path: Path, table: Mapping[str, Sequence[tuple[str, float]]], header: Sequence[str]) -> None:
    """Write ``table`` as :func:`to_text` makes it."""
    path.write_text(to_text(table, header), encoding="utf-8")


def parse(text: str) -> dict[str, tuple[tuple[str, float], ...]]:
    """Read a table written by :func:`to_text`; lines that are not entries are skipped."""
    table: dict[str, tuple[tuple[str, float], ...]] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        word, _, rest = line.partition("\t")
        terms = []
        for item in rest.split():
            term, _, strength = item.rpartition(":")
            try:
                terms.append((term, float(strength)))
            except ValueError:
                continue
        if word and terms:
            table[word] = tuple(terms)
    return table


def merged(
    own: Mapping[str, Sequence[tuple[str, float]]], base: Mapping[str, Sequence[tuple[str, float]]]
) -> dict[str, tuple[tuple[str, float], ...]]:
    """``base`` and ``own`` together: a word's terms from both, a term's strengths summed, strongest first.

    Summed, not replaced: mined from a court's own questions, a word gains what
    those questions mean by it and keeps what the package's pairs taught.  On
    training pairs (half of them as a court's questions, the other half as its
    new ones) replacing cost the minority sources more: LawBench MRR@10 0.645
    → 0.587 replaced, 0.608 summed.
    """
    out: dict[str, dict[str, float]] = {w: dict(terms) for w, terms in base.items()}
    for w, terms in own.items():
        row = out.setdefault(w, {})
        for t, strength in terms:
            row[t] = round(row.get(t, 0.0) + strength, 4)
    return {w: tuple(sorted(row.items(), key=lambda ts: (-ts[1], ts[0]))) for w, row in out.items()}


class Associations:
    """A mined word → article-term table: the package's file, or the text an index's trained models carry."""

    def __init__(self, path: Path = ASSOCIATIONS, text: str | None = None) -> None:
        self.path = path
        if text is None:
            text = path.read_text(encoding="utf-8") if path.is_file() else ""
        #: the table as written; its SHA-256 is what a ranker fitted with it records
        self.text = text
        self.table = parse(text)

    @classmethod
    def from_text(cls, text: str, name: str = "trained associations") -> Associations:
        """A table that is not a file (``name`` stands in for the path in messages)."""
        return cls(Path(name), text)

    @cached_property
    def sha256(self) -> str:
        """SHA-256 of the text ("" when there is none, e.g. the file is missing); a ranker that reads the signal records it."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest() if self.text else ""

    def __len__(self) -> int:
        return len(self.table)

    def weights(self, tokens: Sequence[str]) -> dict[str, float]:
        """Lexical weights of the terms associated with ``tokens`` (summed over words), minus the tokens themselves."""
        own = set(tokens)
        out: dict[str, float] = {}
        for w in dict.fromkeys(tokens):
            for t, s in self.table.get(w, ()):
                if t not in own:
                    out[t] = out.get(t, 0.0) + s
        return out


@lru_cache(maxsize=1)
def package_associations() -> Associations:
    """The package's table (``data/associations.tsv``), read once per process."""
    return Associations()


@lru_cache(maxsize=4)
def table_for(text: str) -> Associations:
    """The table a set of models carries (:attr:`indexer.fusion.FusionModels.associations`), or the package's when it carries none."""
    return Associations.from_text(text) if text else package_associations()


def check_fitted_with(features: Sequence[str], info: Mapping[str, object], table: Associations, what: str) -> None:
    """Raise :class:`IndexMismatchError` when a ranker reading :data:`SIGNAL` was fitted with another table.

    Its weight on the signal holds for the table it was trained with (recorded in its
    ``info`` by :func:`indexer.training.fit_ranker`); rankers that do not read it pass.
    """
    recorded = info.get("associations") if SIGNAL in features else None
    if recorded is not None and not table.sha256:
        raise IndexMismatchError(
            f"{what} reads the mined associations, but {table.path} is missing; restore it from the package "
            "(it ships in indexer/data/) or retrain: python -m indexer train … --index DIR"
        )
    if recorded is not None and recorded != table.sha256:
        raise IndexMismatchError(
            f"{what} was fitted with another associations table than {table.path.name}; rebuild the index with the "
            "package's models (nothing is embedded again) or retrain it: python -m indexer train … --index DIR"
        )
