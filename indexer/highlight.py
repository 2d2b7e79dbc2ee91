"""Escape-then-highlight: measure text as safe HTML with the matching words and sentences marked.

Everything that comes from a document or a query is untrusted: a document may
contain ``<script>`` and a query may contain ``<b>``.  The page renders HTML
with Streamlit's markdown, so every piece of such text goes through
:func:`escape` (``html.escape`` plus entities for the characters Markdown, LaTeX
and Streamlit's ``:colour[...]`` directives would otherwise interpret).  The
only tags in the output are the ones written here: ``<mark>``, ``<span>``,
``<div>`` and ``<br>`` with fixed class names.

Highlighting works on spans of the *raw* text and escapes each piece between
span boundaries on its own, so a mark can never split an entity or a tag.
Words are matched after the same normalisation the index uses (full-width
forms, traditional characters, case), so ``１．`` and ``1.`` match.
"""

from __future__ import annotations

import functools
import html
import json
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

from .query import Query
from .segmentation import normalise

log = logging.getLogger(__name__)

#: class of a marked query word
TERM_CLASS = "hl-term"
#: class of a marked evidence sentence (the sentences that best match the query)
SENTENCE_CLASS = "hl-sent"

#: CSS for the classes above and the small display helpers; the page injects it once
STYLE = """
<style>
mark.hl-term { background: #ffe08a; color: inherit; padding: 0 1px; border-radius: 2px; font-weight: 600; }
mark.hl-sent { background: #e8f0fb; color: inherit; padding: 1px 0; border-bottom: 2px solid #7fa7d9; }
mark.hl-sent mark.hl-term { background: #ffd45e; }
div.hl-text { line-height: 1.75; overflow-wrap: anywhere; word-break: break-word; }
div.hl-meta { color: #5b6470; font-size: 0.85rem; overflow-wrap: anywhere; }
div.hl-title { font-weight: 650; font-size: 1.05rem; overflow-wrap: anywhere; }
div.hl-cite { color: #1d4e89; font-size: 0.9rem; overflow-wrap: anywhere; }
span.hl-meter { display: inline-block; width: 64px; height: 8px; background: #e3e7ee; border-radius: 4px;
  vertical-align: middle; margin: 0 4px; overflow: hidden; }
span.hl-meter > span { display: block; height: 100%; background: #1d4e89; }
span.hl-rank { color: #8a93a0; font-weight: 500; margin-right: 4px; }
</style>
"""

# Characters html.escape leaves alone but that Streamlit's markdown would act on
# ($ maths, * _ ~ ` emphasis and code, [ ] links and :colour[...] directives, \ escapes,
# | tables).  None of them occurs in html.escape's own entities, so mapping them after
# html.escape cannot corrupt an entity.
_MARKDOWN_ENTITIES = str.maketrans(
    {
        "$": "&#36;",
        "*": "&#42;",
        "_": "&#95;",
        "~": "&#126;",
        "`": "&#96;",
        "[": "&#91;",
        "]": "&#93;",
        ":": "&#58;",
        "\\": "&#92;",
        "|": "&#124;",
    }
)
#: words shorter than this are not highlighted: a lone 的 or 法 would light up every line
MIN_TERM_CHARS = 2


def escape(text: str) -> str:
    """``text`` as inert HTML: tags, entities and Markdown characters all shown literally."""
    return html.escape(str(text), quote=True).translate(_MARKDOWN_ENTITIES)


def escape_block(text: str) -> str:
    """Like :func:`escape`, with line breaks kept as ``<br>`` (never a blank line, which would end an HTML block)."""
    return _breaks(escape(text))


def _breaks(escaped: str) -> str:
    return escaped.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br>")


def query_terms(query: Query) -> tuple[str, ...]:
    """The words of a parsed query worth marking in a result: its own words and the legal terms it implies.

    Everyday words the thesaurus replaced (拿, 不到, 钱) are left out: documents do
    not use them, and marking them where they happen to occur would mislead.
    """
    colloquial = set(query.colloquial_tokens)
    words = [t for t in query.tokens if t not in colloquial]
    words += list(query.expansions) + list(query.expansion_tokens)
    # the whole question too, when it is a short plain phrase the text may contain
    words += [part for part in (query.core_text or query.text).split() if len(part) <= 12 and part.isalnum()]
    out: dict[str, None] = {}
    for w in words:
        w = w.strip()
        if len(w) >= MIN_TERM_CHARS:
            out.setdefault(w, None)
    return tuple(out)


def _normalised_with_map(text: str) -> tuple[str, list[int]]:
    """The normalised text and, for each of its characters, the index of the raw character it came from."""
    whole = normalise(text)
    if len(whole) == len(text):
        # the usual case: normalisation maps character to character
        return whole, list(range(len(text)))
    chars: list[str] = []
    owners: list[int] = []
    for i, ch in enumerate(text):
        n = normalise(ch)
        chars.append(n)
        owners.extend([i] * len(n))
    return "".join(chars), owners


def find_terms(text: str, terms: Iterable[str]) -> list[tuple[int, int]]:
    """Non-overlapping ``(start, end)`` spans of ``terms`` in ``text``, longest terms first, in text order."""
    norm, owners = _normalised_with_map(text)
    taken = [False] * len(text)
    spans: list[tuple[int, int]] = []
    wanted = sorted({normalise(t).strip() for t in terms if t and t.strip()}, key=lambda t: (-len(t), t))
    for term in wanted:
        if len(term) < MIN_TERM_CHARS:
            continue
        start = norm.find(term)
        while start >= 0:
            a, b = owners[start], owners[start + len(term) - 1] + 1
            if not any(taken[a:b]):
                spans.append((a, b))
                for i in range(a, b):
                    taken[i] = True
            start = norm.find(term, start + 1)
    return sorted(spans)


def sentence_spans(text: str, sentences: Sequence[str]) -> list[tuple[int, int]]:
    """``(start, end)`` of each sentence in ``text``.

    A chunk's sentences concatenate to its text without the newlines, so the
    walk skips newlines between and inside sentences.  A sentence that cannot
    be placed (text and sentences out of step) gets an empty span.
    """
    spans: list[tuple[int, int]] = []
    pos = 0
    for sentence in sentences:
        while pos < len(text) and text[pos] in "\r\n" and not sentence.startswith(text[pos]):
            pos += 1
        start = pos
        i = 0
        ok = True
        while i < len(sentence):
            if pos < len(text) and text[pos] == sentence[i]:
                pos += 1
                i += 1
            elif pos < len(text) and text[pos] in "\r\n":
                pos += 1
            else:
                ok = False
                break
        if not ok:
            log.debug("sentence %r not found in order in the measure text", sentence[:20])
            spans.append((start, start))
            pos = start
            continue
        spans.append((start, pos))
    return spans


def highlight_html(text: str, terms: Iterable[str] = (), sentences: Sequence[str] = (), evidence: Iterable[int] = ()) -> str:
    """Safe HTML of ``text`` with ``terms`` marked, and the sentences ``evidence`` (indices into ``sentences``) marked.

    Line breaks become ``<br>``.  The result contains no tags but ``<mark>`` and
    ``<br>``; everything else is escaped text.
    """
    text = str(text)
    n = len(text)
    sent_of = [-1] * n
    sent_span = sentence_spans(text, sentences) if sentences else []
    for idx in sorted(set(evidence)):
        if 0 <= idx < len(sent_span):
            a, b = sent_span[idx]
            for i in range(a, b):
                sent_of[i] = idx
    term_of = [-1] * n
    for k, (a, b) in enumerate(find_terms(text, terms)):
        for i in range(a, b):
            term_of[i] = k
    runs: list[tuple[int, str]] = []
    i = 0
    while i < n:
        # one run of characters with the same (sentence, term) marking
        j = i + 1
        while j < n and sent_of[j] == sent_of[i] and term_of[j] == term_of[i]:
            j += 1
        piece = _breaks(escape(text[i:j]))
        if term_of[i] >= 0:
            piece = f'<mark class="{TERM_CLASS}">{piece}</mark>'
        runs.append((sent_of[i], piece))
        i = j
    # wrap consecutive pieces of the same evidence sentence in one sentence mark (terms nest inside it)
    html_parts: list[str] = []
    current = -1
    for sent, piece in runs:
        if sent != current:
            if current >= 0:
                html_parts.append("</mark>")
            if sent >= 0:
                html_parts.append(f'<mark class="{SENTENCE_CLASS}">')
            current = sent
        html_parts.append(piece)
    if current >= 0:
        html_parts.append("</mark>")
    return "".join(html_parts)


#: thresholds of the relevance meter, measured by ``bench/meter.py`` on labelled questions
METER_FILE = Path(__file__).with_name("data") / "meter.json"
_METER_DEFAULTS = {"high": 0.85, "medium": 0.5}


@functools.cache
def meter_thresholds() -> dict[str, float]:
    """``high`` and ``medium``: the relevance from which a result is shown as 高 / 中.

    ``high`` is where, on the labelled questions, results at or above it
    were relevant at least four times in five (``bench/meter.py`` measures it);
    without that file, conservative defaults.
    """
    try:
        data = json.loads(METER_FILE.read_text(encoding="utf-8"))
        high, medium = float(data["high"]), float(data["medium"])
        if not 0.0 < medium <= high <= 1.0:
            raise ValueError("thresholds out of order")
        return {"high": high, "medium": medium}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("relevance meter thresholds not read from %s (%s); using defaults", METER_FILE, exc)
        return dict(_METER_DEFAULTS)


def relevance_word(relevance: float) -> str:
    """高 / 中 / 低 for a 0–1 relevance (the calibrated probability that the measure answers the question)."""
    t = meter_thresholds()
    r = min(1.0, max(0.0, float(relevance)))
    return "高" if r >= t["high"] else "中" if r >= t["medium"] else "低"


def relevance_meter(relevance: float) -> str:
    """Safe HTML of a small bar and a word (高 / 中 / 低) for a 0–1 relevance.

    The bar is the calibrated probability itself; the word says 高 only where
    the labelled questions say such results are usually right.
    """
    r = min(1.0, max(0.0, float(relevance)))
    # a floor so that a low but non-zero relevance is still visible as a sliver
    width = max(4, round(r * 100))
    tip = f"估计相关的概率 {round(r * 100)}%"
    return f'相关度<span class="hl-meter" title="{tip}"><span style="width:{width}%"></span></span>{relevance_word(r)}'


__all__ = [
    "SENTENCE_CLASS",
    "STYLE",
    "TERM_CLASS",
    "escape",
    "escape_block",
    "find_terms",
    "highlight_html",
    "meter_thresholds",
    "query_terms",
    "relevance_meter",
    "relevance_word",
    "sentence_spans",
]
