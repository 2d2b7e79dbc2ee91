"""Cited clauses for reports: one-click copy text, and a selection exported as Word (.docx) or Markdown.

A :class:`Clause` is what a clerk carries out of the page: the measure text as
printed, its citation, and the document's title and date.  The exports put each
clause first, then its citation, then the document title and date, so that a
pasted clause never loses its source.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .schema import Chunk, DocumentRecord, Hit

log = logging.getLogger(__name__)

#: the dash that introduces a citation after a quoted clause (Chinese typographic convention)
CITATION_DASH = "——"
DEFAULT_TITLE = "摘录条款"
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MARKDOWN_MIME = "text/markdown"
#: the font Word uses for Chinese text (python-docx only sets the Latin font by default)
EAST_ASIAN_FONT = "宋体"
LATIN_FONT = "Times New Roman"

# XML 1.0 forbids these characters; python-docx raises on them, so a stray control
# character in a scraped document would otherwise break the whole export
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# Markdown characters that would turn clause text into markup (emphasis, links, HTML, headings, tables)
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|~$&])")
# a line that Markdown would read as a list item or a block quote
_MD_LINE_START = re.compile(r"^(\s*)([-+>]|\d+[.)])(\s)")


@dataclass(frozen=True)
class Clause:
    """One measure as a citable clause."""

    chunk_id: str
    text: str
    citation: str
    doc_title: str
    date: str = ""
    measure_title: str = ""
    section: str = ""

    @classmethod
    def from_chunk(cls, chunk: Chunk, date: str = "") -> Clause:
        """The clause of ``chunk``; ``date`` is its document's publication date (chunks do not carry it)."""
        return cls(chunk.chunk_id, chunk.text, chunk.citation, chunk.doc_title, date, chunk.measure_title, chunk.section)

    @property
    def source_line(self) -> str:
        """Document title and date, e.g. ``《2021年全省法院司法改革工作要点》 2021-11-10``."""
        title = f"《{self.doc_title}》" if self.doc_title else ""
        return " ".join(p for p in (title, self.date) if p)


def clause_from_hit(hit: Hit, documents: Mapping[str, DocumentRecord]) -> Clause:
    """The clause of a search hit; ``documents`` are the indexed documents (for the date)."""
    record = documents.get(hit.chunk.doc_id)
    return Clause.from_chunk(hit.chunk, record.date if record is not None else "")


def copy_text(clause: Clause) -> str:
    """What the copy button puts on the clipboard: the clause text, a new line, then ``——citation``."""
    return f"{clause.text.strip()}\n{CITATION_DASH}{clause.citation}"


def _md_escape(text: str) -> str:
    lines = []
    for line in text.splitlines():
        line = _MD_SPECIAL.sub(r"\\\1", line)
        lines.append(_MD_LINE_START.sub(lambda m: f"{m.group(1)}{_md_escape_marker(m.group(2))}{m.group(3)}", line))
    return "\n".join(lines)


def _md_escape_marker(marker: str) -> str:
    # "5." → "5\.", "-" → "\-": the marker stays visible but no longer starts a list
    return marker[:-1] + "\\" + marker[-1]


def to_markdown(clauses: Iterable[Clause], title: str = DEFAULT_TITLE) -> str:
    """The selection as Markdown: a heading, then each clause as a block quote followed by its citation and source.

    Clause text is escaped, so HTML or Markdown inside a document stays text
    when the file is rendered.
    """
    parts = [f"# {_md_escape(title)}", ""]
    for n, c in enumerate(clauses, start=1):
        heading = c.measure_title.strip() or c.citation
        parts.append(f"## {n}. {_md_escape(heading)}")
        parts.append("")
        lines = [line for line in _md_escape(c.text.strip()).split("\n") if line.strip()]
        for i, line in enumerate(lines):
            if i:
                parts.append(">")  # the printed paragraphs stay paragraphs, inside one quote
            parts.append(f"> {line}")
        parts.append("")
        parts.append(f"{CITATION_DASH}{_md_escape(c.citation)}")
        parts.append("")
        if c.source_line:
            parts.append(f"*{_md_escape(c.source_line)}*")
            parts.append("")
    return "\n".join(parts).rstrip() + "\n"


def _xml_safe(text: str) -> str:
    return _XML_ILLEGAL.sub("", text)


def _set_fonts(run_or_style: Any, east_asian: str = EAST_ASIAN_FONT, latin: str = LATIN_FONT) -> None:
    """Set the Latin and the East Asian font: Word picks the font of Chinese characters from w:eastAsia."""
    from docx.oxml.ns import qn

    run_or_style.font.name = latin
    element = run_or_style.element
    rpr = element.get_or_add_rPr()
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(rfonts)
    rfonts.set(qn("w:eastAsia"), east_asian)


def to_docx(clauses: Iterable[Clause], title: str = DEFAULT_TITLE) -> bytes:
    """The selection as a Word document (.docx bytes): each clause, then its citation, then document title and date."""
    from docx import Document as new_document
    from docx.shared import Pt, RGBColor

    doc = new_document()
    normal = doc.styles["Normal"]
    _set_fonts(normal)
    normal.font.size = Pt(11)
    heading = doc.add_heading(level=1)
    _set_fonts(heading.add_run(_xml_safe(title)))
    count = 0
    for c in clauses:
        count += 1
        if c.measure_title.strip():
            sub = doc.add_heading(level=2)
            _set_fonts(sub.add_run(_xml_safe(f"{count}. {c.measure_title.strip()}")))
        # one paragraph per printed paragraph of the measure, so sub-items stay on their own lines
        for line in c.text.strip().splitlines():
            if line.strip():
                _set_fonts(doc.add_paragraph().add_run(_xml_safe(line)))
        cite = doc.add_paragraph().add_run(_xml_safe(f"{CITATION_DASH}{c.citation}"))
        _set_fonts(cite)
        cite.bold = True
        if c.source_line:
            src = doc.add_paragraph().add_run(_xml_safe(c.source_line))
            _set_fonts(src)
            src.italic = True
            src.font.size = Pt(9)
            src.font.color.rgb = RGBColor(0x55, 0x5D, 0x68)
    if count == 0:
        doc.add_paragraph("（未选择条款）")
    buf = io.BytesIO()
    doc.save(buf)
    log.debug("exported %d clauses to docx (%d bytes)", count, buf.tell())
    return buf.getvalue()


def export_filename(title: str, suffix: str) -> str:
    """A download file name: the title with characters unsafe in file names removed, plus ``suffix`` (``.docx``)."""
    stem = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "_", title).strip(" ._") or "export"
    return f"{stem[:60]}{suffix}"


__all__ = [
    "CITATION_DASH",
    "DOCX_MIME",
    "MARKDOWN_MIME",
    "Clause",
    "clause_from_hit",
    "copy_text",
    "export_filename",
    "to_docx",
    "to_markdown",
]
