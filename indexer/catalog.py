"""The library of indexed documents as the page shows it: the document list, filter choices, change summaries.

Everything here reads the index manifest (``searcher.data.manifest``) and the
loaded chunks; nothing reads the corpus folder, so listing documents costs no
parsing.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from .messages import text, warning_text
from .schema import year_of
from .search import Filters, Searcher

if TYPE_CHECKING:
    from .build import BuildReport

log = logging.getLogger(__name__)

#: how each numbering scheme is named on the page
SCHEME_LABELS = {"article": "条文（第X条）", "numbered": "编号（1. 2.）", "item": "条目（一、二、）", "whole": "全文一段"}


@dataclass(frozen=True)
class DocumentInfo:
    """One indexed document as listed on the page."""

    doc_id: str
    title: str
    source: str
    date: str
    fmt: str
    measures: int
    scheme: str
    file_name: str
    warnings: tuple[str, ...] = ()
    #: paragraphs of body text in no chunk (the chunker misread part of the document; a warning says so)
    unchunked: int = 0
    #: a document shipped with the project (removing it hides it) rather than one a user added
    sample: bool = False

    @property
    def year(self) -> int | None:
        """The publication year, or None when the document states no date."""
        return year_of(self.date)

    def row(self) -> dict[str, Any]:
        """The document as a table row with Chinese column names."""
        return {
            "标题": self.title,
            "发布机关": self.source or "—",
            "日期": self.date or "—",
            "格式": self.fmt,
            "条款数": self.measures,
            "编排": SCHEME_LABELS.get(self.scheme, self.scheme),
            "文件": self.file_name,
            "提示": "；".join(warning_text(w) for w in self.warnings),
            "来源": "样例" if self.sample else "用户添加",
        }

    def option_label(self) -> str:
        """How the document is named in a choice list: title, then file name, issuer and date to tell alike titles apart."""
        details = " · ".join(x for x in (self.file_name, self.source, self.date) if x)
        return f"{self.title}（{details}）"


@dataclass(frozen=True)
class SkippedFile:
    """A file in the corpus folder that could not be indexed, and why (in Chinese, naming no server path)."""

    file_name: str
    reason: str
    kind: str = "unreadable"


@dataclass(frozen=True)
class FilterOptions:
    """The values the page offers in its filters."""

    documents: tuple[tuple[str, str], ...]
    years: tuple[int, ...]
    sources: tuple[str, ...]
    sections: tuple[str, ...]


def list_documents(searcher: Searcher) -> tuple[DocumentInfo, ...]:
    """Every indexed document, newest first, then by title."""
    data = searcher.data.manifest.get("data")
    data_root = PurePath(str(data)) if data else None
    out = [
        DocumentInfo(
            r.doc_id,
            r.title,
            r.source,
            r.date,
            r.fmt,
            r.measures,
            r.scheme,
            r.file_name,
            r.warnings,
            r.lost_paragraphs,
            sample=data_root is not None and (r.root == "corpus" if r.root else not PurePath(r.path).is_relative_to(data_root)),
        )
        for r in searcher.data.documents.values()
    ]
    out.sort(key=lambda x: (x.title,))
    out.sort(key=lambda x: x.date, reverse=True)
    return tuple(out)


def skipped_files(searcher: Searcher) -> tuple[SkippedFile, ...]:
    """Files the last build could not read, with the reason in Chinese."""
    out = []
    for s in searcher.data.manifest.get("skipped", ()):
        kind = str(s.get("kind") or "unreadable")
        fields = s.get("fields") if isinstance(s.get("fields"), dict) else {}
        out.append(SkippedFile(PurePath(str(s.get("path", ""))).name, text(kind, "unreadable", **fields), kind))
    return tuple(out)


def _section_values(section: str) -> list[str]:
    # "第二编 / 第一章" offers both "第二编" and "第二编 / 第一章": the filter matches prefixes
    parts = [p.strip() for p in section.split(" / ") if p.strip()]
    return [" / ".join(parts[: i + 1]) for i in range(len(parts))]


def filter_options(searcher: Searcher, doc_ids: Iterable[str] = ()) -> FilterOptions:
    """Documents, years, issuers and sections to filter by; sections only of ``doc_ids`` when given."""
    infos = list_documents(searcher)
    chosen = set(doc_ids)
    sections: dict[str, None] = {}
    for chunk in searcher.data.chunks:
        if chosen and chunk.doc_id not in chosen:
            continue
        for value in _section_values(chunk.section):
            sections.setdefault(value, None)
    return FilterOptions(
        documents=tuple((i.doc_id, i.title) for i in sorted(infos, key=lambda i: i.title)),
        years=tuple(sorted({y for i in infos if (y := i.year) is not None}, reverse=True)),
        sources=tuple(sorted({i.source for i in infos if i.source})),
        sections=tuple(sections),
    )


def make_filters(
    options: FilterOptions,
    doc_ids: Iterable[str] = (),
    years: Iterable[int] = (),
    sources: Iterable[str] = (),
    sections: Iterable[str] = (),
) -> Filters:
    """Filters from the page's choices, keeping only values that still exist (a document may have been removed meanwhile)."""
    known_docs = {d for d, _ in options.documents}
    return Filters.make(
        doc_ids=[d for d in doc_ids if d in known_docs],
        years=[y for y in years if y in options.years],
        sources=[s for s in sources if s in options.sources],
        sections=[s for s in sections if s in options.sections],
    )


def describe_report(report: BuildReport | None, titles: Mapping[str, str] | None = None, *, list_at_most: int = 3) -> str:
    """A one-line Chinese summary of what an index update changed.

    Documents are named by title (``titles``: doc_id → title, of the documents
    before and after the update); more than ``list_at_most`` are counted
    instead (a first build: 新增 21 份文件).
    """
    if report is None:
        return "索引已是最新，无需更新。"
    titles = titles or {}

    def names(ids: Iterable[str]) -> str:
        ids = list(ids)
        if len(ids) > list_at_most:
            return f" {len(ids)} 份文件"
        return "、".join(f"《{titles.get(d, d)}》" for d in ids)

    parts = []
    if report.added:
        parts.append(f"新增{names(report.added)}")
    if report.changed:
        parts.append(f"更新{names(report.changed)}")
    if report.removed:
        parts.append(f"移除{names(report.removed)}")
    if not parts:
        parts.append("文件没有变化")
    text = "；".join(parts) + f"。现有 {report.documents} 份文件，共 {report.chunks} 条条款"
    if report.skipped:
        text += f"；{len(report.skipped)} 个文件未能收录（原因见文档库）"
    if not report.up_to_date and report.texts_embedded:
        text += f"（新计算 {report.texts_embedded} 段向量，复用 {report.texts_reused} 段，用时 {report.seconds:.1f} 秒）"
    return text + "。"


def library_csv(infos: Iterable[DocumentInfo]) -> bytes:
    """The document list as a CSV file for spreadsheets (UTF-8 with BOM, so Excel reads the Chinese).

    A cell that starts with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage
    return) would run as a formula when opened; it is prefixed with ``'``.
    """
    rows = [info.row() for info in infos]
    out = io.StringIO()
    columns = list(rows[0]) if rows else list(DocumentInfo("", "", "", "", "", 0, "", "").row())
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: neutralise_cell(v) for k, v in row.items()})
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def neutralise_cell(value: Any) -> Any:
    """A spreadsheet cell that cannot run as a formula (OWASP CSV injection)."""
    if isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r")):
        return "'" + value
    return value


__all__ = [
    "SCHEME_LABELS",
    "DocumentInfo",
    "FilterOptions",
    "SkippedFile",
    "describe_report",
    "filter_options",
    "library_csv",
    "list_documents",
    "make_filters",
    "neutralise_cell",
    "skipped_files",
]
