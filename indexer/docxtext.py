"""The text of a .docx, read in bounded time and memory.

A .docx is a zip of XML parts.  Before anything is decompressed, the zip's
directory is checked: member count, the uncompressed size of the body XML and
of all members together (a 1 MB "zip bomb" can unpack to gigabytes).  The body
is then read as a stream (``lxml.etree.iterparse``), one top-level block at a
time, and each block is freed once its text is taken, so time is linear in the
XML and memory stays small; the text is refused as soon as it passes the
character limit.  Style names come from one pass over ``styles.xml`` (looking a
paragraph's style up through python-docx costs about a millisecond each).
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from collections.abc import Iterator
from typing import IO

from .errors import UnreadableDocumentError
from .limits import MAX_DOCUMENT_CHARS, MAX_DOCX_MEMBERS, MAX_DOCX_TOTAL_BYTES, MAX_DOCX_XML_BYTES, too_large

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_OFFICE_DOCUMENT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
_STRICT_OFFICE_DOCUMENT = "http://purl.oclc.org/ooxml/officeDocument/relationships/officeDocument"
#: the small parts read whole (relationships, styles) are capped too
_MAX_SMALL_PART = 16 * 1024 * 1024


def read_docx(data: bytes, path: str) -> tuple[str, list[str]]:
    """(title, body lines) of a .docx given as bytes.

    The title is the first paragraph in the ``Title`` style, if any.  Table rows
    become one line each (distinct cell texts joined by a space).  Raises
    :class:`UnreadableDocumentError` for a file that is not a usable .docx and
    :class:`DocumentTooLargeError` for one beyond the limits.
    """
    if not data.startswith(b"PK"):
        raise UnreadableDocumentError(path, "not a .docx file (no Word zip container)", kind="not_docx")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            body_name = _check_archive(zf, path)
            styles = _style_names(zf, body_name)
            with zf.open(body_name) as fh:
                return _read_body(fh, styles, path)
    except UnreadableDocumentError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, KeyError, EOFError, NotImplementedError, OSError) as exc:
        raise UnreadableDocumentError(path, f"not a valid .docx file ({exc.__class__.__name__})", kind="not_docx") from None
    except Exception as exc:  # lxml raises several types on damaged XML
        raise UnreadableDocumentError(path, f"damaged .docx file ({exc.__class__.__name__})", kind="docx_damaged") from None


def _check_archive(zf: zipfile.ZipFile, path: str) -> str:
    """The body part's name, after checking member count and uncompressed sizes."""
    infos = zf.infolist()
    if len(infos) > MAX_DOCX_MEMBERS:
        raise too_large(path, "docx_members", f"the .docx holds {len(infos):,} files, more than {MAX_DOCX_MEMBERS:,}; not a Word document")
    # zipfile stops decompressing a member at its declared size (and fails its CRC
    # beyond), so the declared sizes bound what can be unpacked
    total = sum(i.file_size for i in infos)
    if total > MAX_DOCX_TOTAL_BYTES:
        raise too_large(
            path,
            "docx_total_bytes",
            f"the .docx unpacks to {total / 2**20:,.0f} MiB, more than {MAX_DOCX_TOTAL_BYTES // 2**20} MiB; save a smaller copy",
        )
    body_name = _body_part(zf)
    try:
        size = zf.getinfo(body_name).file_size
    except KeyError:
        raise UnreadableDocumentError(path, "not a valid .docx file (no document body)", kind="not_docx") from None
    if size > MAX_DOCX_XML_BYTES:
        raise too_large(
            path,
            "docx_xml_bytes",
            f"the .docx body is {size / 2**20:,.0f} MiB of XML, more than {MAX_DOCX_XML_BYTES // 2**20} MiB; split the document",
        )
    return body_name


def _small_part(zf: zipfile.ZipFile, name: str) -> bytes | None:
    try:
        info = zf.getinfo(name)
    except KeyError:
        return None
    if info.file_size > _MAX_SMALL_PART:
        return None
    return zf.read(info)


def _parse_small(data: bytes):  # noqa: ANN202 - lxml element
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)
    return etree.fromstring(data, parser)


def _body_part(zf: zipfile.ZipFile) -> str:
    """The main document part named by the package relationships (word/document.xml usually)."""
    rels = _small_part(zf, "_rels/.rels")
    if rels:
        try:
            for rel in _parse_small(rels).iter(f"{_REL}Relationship"):
                if rel.get("Type") in (_OFFICE_DOCUMENT, _STRICT_OFFICE_DOCUMENT) and rel.get("Target"):
                    return posixpath.normpath(rel.get("Target").lstrip("/"))
        except Exception:  # a damaged relationships part: fall back to the usual name
            pass
    return "word/document.xml"


def _style_names(zf: zipfile.ZipFile, body_name: str) -> dict[str, str]:
    """styleId → style name, from the styles part beside the body."""
    styles = _small_part(zf, posixpath.join(posixpath.dirname(body_name), "styles.xml"))
    if not styles:
        return {}
    try:
        root = _parse_small(styles)
    except Exception:  # styles only find the title; without them the first line is the title
        return {}
    names = {}
    for style in root.iter(f"{_W}style"):
        name = style.find(f"{_W}name")
        if name is not None and style.get(f"{_W}styleId"):
            names[style.get(f"{_W}styleId")] = name.get(f"{_W}val") or ""
    return names


_RUN_PARTS = (f"{_W}t", f"{_W}tab", f"{_W}ptab", f"{_W}br", f"{_W}cr", f"{_W}noBreakHyphen")


def _run_text(run) -> Iterator[str]:  # noqa: ANN001 - lxml element
    for child in run.iterchildren(_RUN_PARTS):  # lxml picks the tags: run properties are never seen here
        tag = child.tag
        if tag == f"{_W}t":
            yield child.text or ""
        elif tag in (f"{_W}tab", f"{_W}ptab"):
            yield "\t"
        elif tag in (f"{_W}br", f"{_W}cr"):
            yield "\n"
        elif tag == f"{_W}noBreakHyphen":
            yield "-"


def paragraph_text(p) -> str:  # noqa: ANN001 - lxml element
    """A paragraph's text as python-docx gives it: its runs and those of its hyperlinks."""
    parts: list[str] = []
    for child in p.iterchildren((f"{_W}r", f"{_W}hyperlink")):
        if child.tag == f"{_W}r":
            parts.extend(_run_text(child))
        elif child.tag == f"{_W}hyperlink":
            for run in child.iterchildren(f"{_W}r"):
                parts.extend(_run_text(run))
    return "".join(parts)


def _paragraph_style(p) -> str:  # noqa: ANN001 - lxml element
    ppr = p.find(f"{_W}pPr")
    style = ppr.find(f"{_W}pStyle") if ppr is not None else None
    return (style.get(f"{_W}val") or "") if style is not None else ""


def _table_lines(tbl) -> Iterator[str]:  # noqa: ANN001 - lxml element
    for row in tbl.iterchildren(f"{_W}tr"):
        cells = []
        for cell in row.iterchildren(f"{_W}tc"):
            # a nested table's text stays in its cell
            text = " ".join(t for p in cell.iter(f"{_W}p") if (t := paragraph_text(p).strip()))
            cells.append(" ".join(text.split()))
        yield " ".join(dict.fromkeys(c for c in cells if c))


def _read_body(fh: IO[bytes], styles: dict[str, str], path: str) -> tuple[str, list[str]]:
    from lxml import etree

    title = ""
    lines: list[str] = []
    chars = 0
    body = f"{_W}body"
    # only paragraphs and tables are handed to Python (the XML of a run or a property
    # stays in C): 40 MB of XML took 16 s when every element was an event
    events = etree.iterparse(
        fh, events=("end",), tag=(f"{_W}p", f"{_W}tbl"), resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False
    )
    for _, el in events:
        parent = el.getparent()
        if parent is None or parent.tag != body:
            continue  # a paragraph in a table cell or a text box: read with its block
        if el.tag == f"{_W}p":
            text = paragraph_text(el)
            if not title and text.strip() and styles.get(_paragraph_style(el), "").lower() == "title":
                title = text
            else:
                lines.extend(text.split("\n"))
                chars += len(text)
        else:
            for line in _table_lines(el):
                lines.append(line)
                chars += len(line)
        if chars > MAX_DOCUMENT_CHARS:
            raise too_large(
                path, "document_chars", f"the text is too long (over {MAX_DOCUMENT_CHARS:,} characters); split it into smaller documents"
            )
        # free the block and everything before it: memory stays one block deep
        el.clear()
        while el.getprevious() is not None:
            del parent[0]
    return title, lines
