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

Groups are ordered by coverage, strongest first, then by name.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .answer import decide
from .errors import BadInputError
from .schema import Hit, year_of
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


@dataclass(frozen=True)
class Comparison:
    """A theme against every document or every year."""

    theme: str
    by: GroupBy
    groups: tuple[GroupCoverage, ...]

    def chart_rows(self, label_chars: int = 16) -> list[dict[str, Any]]:
        """One row per group for a bar chart, strongest first.

        Each row: ``name`` (the label shortened to ``label_chars`` characters and
        made unique, for the axis), ``label`` (in full, for the tooltip),
        ``coverage`` (0–100), ``matches``, ``measures`` and ``status`` (涉及 / 未涉及).
        """
        rows: list[dict[str, Any]] = []
        seen: set[str] = set()
        for g in self.groups:
            name = g.label if len(g.label) <= label_chars else g.label[: label_chars - 1] + "…"
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


def groups_of(documents: Mapping[str, Mapping[str, Any]], by: GroupBy) -> list[tuple[str, str, tuple[str, ...]]]:
    """``(key, label, doc_ids)`` of each group of the manifest's ``documents``."""
    if by == "document":
        return [(d, str(m.get("title") or d), (d,)) for d, m in documents.items()]
    if by != "year":
        raise BadInputError(f"cannot group by '{by}' (use document or year)")
    years: dict[str, list[str]] = {}
    for d, m in documents.items():
        year = year_of(str(m.get("date", "")))
        years.setdefault(UNDATED if year is None else str(year), []).append(d)
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
    documents: Mapping[str, Mapping[str, Any]] = searcher.data.manifest.get("documents", {})
    out: list[GroupCoverage] = []
    for key, label, doc_ids in groups_of(documents, by):
        # chunks hold the measures and the passages (preambles, section intros) beside them
        chunks = sum(int(documents[d].get("chunks", 0)) for d in doc_ids)
        measures = sum(int(documents[d].get("measures", documents[d].get("chunks", 0))) for d in doc_ids)
        if chunks == 0:
            out.append(GroupCoverage(key, label, doc_ids, 0.0, False, 0, 0, ()))
            continue
        # document filters rather than year filters: undated documents form a group too,
        # and a year group is exactly its documents
        result = searcher.search(theme, top_k=min(MAX_TOP_K, chunks), filters=Filters.make(doc_ids=doc_ids))
        found, confidence = decide(searcher.calibrator, result)
        matches = sum(1 for h in result.hits if h.signals.get("coverage_x", 0.0) >= MATCH_COVERAGE)
        out.append(GroupCoverage(key, label, doc_ids, float(confidence), bool(found), matches, measures, result.hits[:per_group]))
    out.sort(key=lambda g: (-g.coverage, g.label))
    log.debug("compared %r across %d groups by %s", theme, len(out), by)
    return Comparison(str(theme), by, tuple(out))


__all__ = ["MATCH_COVERAGE", "UNDATED", "UNDATED_LABEL", "Comparison", "GroupBy", "GroupCoverage", "compare_theme", "groups_of"]
