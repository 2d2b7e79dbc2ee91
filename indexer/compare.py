"""Comparing a theme across documents or years: the best measures of each, and how strongly each covers it.

For each group (one document, or all documents of one year) the theme is
searched within that group alone.  Two numbers describe the group:

* ``coverage`` (0–1): the found/not-found calibrator's confidence that the
  group's best measure answers the theme — the same judgement that decides
  "未找到相关条款" for a question, so it is comparable across groups (the
  ranker's own scores are relative to each search and are not);
* ``matches``: how many of the group's measures (among its 100 best for the
  theme) contain at least half of the theme's words — its own words and the
  legal terms it implies — breadth.

Documents are ordered by coverage, strongest first, then by name; years in
order, the undated last.  Documents are labelled by a short title (简称,
:func:`short_title`): 13 titles of the sample corpus start with 最高人民法院关于….
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .answer import decide
from .errors import BadInputError
from .schema import DocumentRecord, Hit
from .search import MAX_TOP_K, Filters, Searcher

log = logging.getLogger(__name__)

GroupBy = Literal["document", "year"]
#: a measure "contains the theme" when it has at least this share of the theme's words
MATCH_COVERAGE = 0.5
#: the key and label of the group of documents without a publication date
UNDATED = "undated"
UNDATED_LABEL = "未注明日期"


@dataclass(frozen=True)
class GroupCoverage:
    """How one document (or one year) covers the theme."""

    key: str
    label: str
    #: doc_ids in the group
    doc_ids: tuple[str, ...]
    #: calibrated confidence (0–1) that the group addresses the theme
    coverage: float
    #: whether that confidence clears the calibrator's threshold (the page's 找到 / 未找到)
    found: bool
    #: measures containing at least half of the theme's words
    matches: int
    #: measures in the group
    measures: int
    #: the group's best measures, best first
    hits: tuple[Hit, ...]

    @property
    def short_label(self) -> str:
        """The label to show where room is short: a document's 简称 (the full title goes in a tooltip)."""
        return short_title(self.label)


_ISSUER_PREFIX = re.compile(r"^(?:最高人民法院、最高人民检察院|最高人民法院|最高人民检察院)关于")


def short_title(title: str) -> str:
    """A 简称 of a document title: the distinctive part, without the words many titles share.

    最高人民法院关于人民法院登记立案若干问题的规定 → 登记立案规定, 中华人民共和国法官法 → 法官法,
    人民法院在线诉讼规则 → 在线诉讼规则; a title with nothing to drop is returned as it is.
    """
    t = title.strip()
    about = _ISSUER_PREFIX.match(t)
    if about:
        t = t[about.end() :]
    t = t.replace("中华人民共和国", "")
    t = re.sub(r"若干问题的(?=规定|解释)|若干(?=规定)", "", t)
    # 人民法院… is every court document's subject; kept where it is the name itself (人民法院组织法)
    if t.startswith("人民法院") and (about or t.endswith("规则")) and len(t) > 6:
        t = t[len("人民法院") :]
    return t if len(t) >= 2 else title.strip()


@dataclass(frozen=True)
class Comparison:
    """A theme against every document or every year."""

    theme: str
    by: GroupBy
    groups: tuple[GroupCoverage, ...]

    def chart_rows(self, label_chars: int = 16) -> list[dict[str, Any]]:
        """One row per group for a bar chart, strongest first.

        Each row: ``name`` (the short label, cut at ``label_chars`` characters and
        made unique, for the axis), ``label`` (in full, for the tooltip),
        ``coverage`` (0–100), ``matches``, ``measures`` and ``status`` (涉及 / 未涉及).
        """
        rows: list[dict[str, Any]] = []
        seen: set[str] = set()
        for g in self.groups:
            short = g.short_label
            name = short if len(short) <= label_chars else short[: label_chars - 1] + "…"
            base, n = name, 2
            while name in seen:  # two long titles may shorten alike; bars with one name would merge
                name, n = f"{base}（{n}）", n + 1
            seen.add(name)
            rows.append(
                {
                    "name": name,
                    "label": g.label,
                    "coverage": round(100 * g.coverage),
                    "matches": g.matches,
                    "measures": g.measures,
                    "status": "涉及" if g.found else "未涉及",
                }
            )
        return rows


def groups_of(documents: Mapping[str, DocumentRecord], by: GroupBy) -> list[tuple[str, str, tuple[str, ...]]]:
    """``(key, label, doc_ids)`` of each group of the indexed ``documents``."""
    if by == "document":
        return [(d, r.title, (d,)) for d, r in documents.items()]
    if by != "year":
        raise BadInputError(f"cannot group by '{by}' (use document or year)")
    years: dict[str, list[str]] = {}
    for d, r in documents.items():
        years.setdefault(UNDATED if r.year is None else str(r.year), []).append(d)
    keys = sorted(k for k in years if k != UNDATED) + ([UNDATED] if UNDATED in years else [])
    return [(k, UNDATED_LABEL if k == UNDATED else f"{k}年", tuple(sorted(years[k]))) for k in keys]


def compare_theme(searcher: Searcher, theme: str, by: GroupBy = "document", per_group: int = 3) -> Comparison:
    """The theme against every group of the index: best measures and coverage of each, strongest group first.

    Raises :class:`BadInputError` for an empty theme or a bad ``per_group``.
    """
    if not str(theme).strip():
        raise BadInputError("enter a theme to compare (e.g. 个人破产)", kind="query_empty")
    if not 1 <= int(per_group) <= 20:
        raise BadInputError("per_group must be between 1 and 20")
    documents = searcher.data.documents
    out: list[GroupCoverage] = []
    for key, label, doc_ids in groups_of(documents, by):
        # chunks hold the measures and the passages (preambles, section intros) beside them
        chunks = sum(documents[d].chunks for d in doc_ids)
        measures = sum(documents[d].measures for d in doc_ids)
        if chunks == 0:
            out.append(GroupCoverage(key, label, doc_ids, 0.0, False, 0, 0, ()))
            continue
        # document filters rather than year filters: undated documents form a group too,
        # and a year group is exactly its documents
        result = searcher.search(theme, top_k=min(MAX_TOP_K, chunks), filters=Filters.make(doc_ids=doc_ids))
        found, confidence = decide(searcher.calibrator, result)
        matches = sum(1 for h in result.hits if h.signals.get("coverage_x", 0.0) >= MATCH_COVERAGE)
        out.append(GroupCoverage(key, label, doc_ids, float(confidence), bool(found), matches, measures, result.hits[:per_group]))
    if by == "document":  # years stay in order: a researcher reads them as a time line
        out.sort(key=lambda g: (-g.coverage, g.label))
    log.debug("compared %r across %d groups by %s", theme, len(out), by)
    return Comparison(str(theme), by, tuple(out))


__all__ = [
    "MATCH_COVERAGE",
    "UNDATED",
    "UNDATED_LABEL",
    "Comparison",
    "GroupBy",
    "GroupCoverage",
    "compare_theme",
    "groups_of",
    "short_title",
]
