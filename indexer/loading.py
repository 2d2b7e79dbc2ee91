"""Reading reform documents from disk into clean :class:`Document` bodies.

Supported formats: ``.txt``/``.md`` (UTF-8, UTF-8 with BOM or GB18030/GBK, any
line ends), ``.html``/``.htm`` (the article body only), ``.docx`` and text
``.pdf`` (lines the layout wrapped mid-sentence are joined again).

Each reader produces a title, body lines and metadata lines; a shared cleaning
step removes page furniture (打印, 字号, 责任编辑, 版权所有, markdown markers…),
takes the publication date and issuer from 发布时间/来源 lines or from the
adoption lines (2018年9月3日 最高人民法院审判委员会第1747次会议通过), and leaves
the body paragraphs as printed.

A file that cannot be read raises :class:`UnreadableDocumentError`;
:func:`load_corpus` turns that into a skip with a warning and goes on.
"""

from __future__ import annotations

import codecs
import contextlib
import dataclasses
import hashlib
import io
import itertools
import logging
import os
import re
import unicodedata
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import BadInputError, UnreadableDocumentError
from .limits import (
    MAX_DOCUMENT_CHARS,
    MAX_DOCX_XML_BYTES,
    MAX_HTML_TAGS,
    MAX_PDF_PAGES,
    MAX_TITLE_CHARS,
    check_characters,
    check_document,
    too_large,
)
from .numerals import NUMERALS, ZERO_FORMS, parse_number
from .schema import Document

log = logging.getLogger(__name__)

#: files above this size are skipped: no reform document is anywhere near it,
#: and reading one would stall a build for minutes
MAX_FILE_BYTES = 20 * 1024 * 1024

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)

# Page furniture.  Matched against whole short lines only, so a measure that
# merely mentions 打印 or 来源 is never touched.
_BOILERPLATE = re.compile(
    r"""^(?:
        .*发布时间\s*[:：].*
      | .*打印.*字号.*
      | (?:来\s*源|责任编辑|编\s*辑|审\s*核|校\s*对|作\s*者|供\s*稿|稿\s*源)\s*[:：].*
      | .*版权所有.* | .*[Cc]opyright.* | .*ICP[备证].* | .*浏览(?:次数|量).* | .*点击(?:数|量|次数)[:：].*
      | 【?(?:打印|关闭|返回|顶部|收藏|分享)】?(?:\s*【?(?:打印|关闭|返回|顶部|收藏|分享|本页|窗口)】?)*
      | 分享到[:：]?.* | 上一篇[:：].* | 下一篇[:：].* | 返回(?:顶部|首页|列表).* | 扫一扫.*
      | 字号\s*[:：]?.* | 【?字体[:：]?\s*[大中小].*
      | -*\s*第?\s*\d+\s*页(?:\s*[/共]\s*\d+\s*页?)?\s*-* | -\s*\d+\s*-
      | <!--.*?--> | -{3,} | `{3}.* | [|\s]+
    )$""",
    re.X,
)
_PUBLISHED_AT = re.compile(r"发布时间\s*[:：]\s*(\d{4})[-./年](\d{1,2})[-./月](\d{1,2})")
_SOURCE = re.compile(r"来\s*源\s*[:：]\s*([^\s|，,：:]{2,40})")
_ADOPTION = re.compile(r"^[（(]?\s*(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日\s*(.*?)[）)]?$")
_ADOPTION_ACTIONS = ("通过", "修订", "修正", "公布", "发布", "印发", "施行", "批准")
_CN_DATE = re.compile(rf"^([{NUMERALS}{ZERO_FORMS}]{{4}})年([{NUMERALS}]{{1,3}})月([{NUMERALS}]{{1,3}})日$")


@dataclass(frozen=True)
class Skipped:
    """A file the loader could not use, and why."""

    path: str
    reason: str
    #: key of the reason's Chinese text in ``indexer.messages.MESSAGES``, and the values it is filled with
    kind: str = "unreadable"
    fields: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        return f"skipped {self.path}: {self.reason}"

    def to_dict(self) -> dict[str, object]:
        """The skip as the build report and the manifest record it."""
        return {"path": self.path, "reason": self.reason, "kind": self.kind, "fields": dict(self.fields)}


@dataclass(frozen=True)
class CorpusLoad:
    """Everything :func:`load_corpus` found: usable documents and skipped files."""

    documents: tuple[Document, ...]
    skipped: tuple[Skipped, ...]


# --------------------------------------------------------------------------- text


def clean_line(line: str) -> str:
    """Strip surrounding (also full-width) blanks and invisible characters."""
    return line.translate(_ZERO_WIDTH).strip(" \t\u3000\xa0\r\n\f\v")


# every character str.splitlines() breaks at; markdown and a terminal both see some of them as line ends
_LINE_BREAKS = re.compile(r"[ \t\u3000]*[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]+[ \t\u3000]*")


def one_line(text: str) -> str:
    """``text`` with every line break (and the blanks around it) made one space.

    Titles, sections and other single-line fields go through it when a document
    is loaded: a title holding a blank line and ``# …`` must never become a
    heading of its own wherever it is shown.
    """
    return _LINE_BREAKS.sub(" ", text)


def is_boilerplate(line: str) -> bool:
    """True for page furniture: print/font-size bars, editor and copyright lines, markers."""
    return len(line) <= 80 and bool(_BOILERPLATE.match(line))


# control characters (Unicode category Cc) other than the whitespace ones
_BAD_CONTROL = re.compile(r"[\x00-\x08\x0d-\x1f\x7f-\x9f]")


def decode_bytes(data: bytes, path: str) -> str:
    """Decode a text file: UTF-8 (with or without BOM), UTF-16 with BOM, GB18030/GBK…

    Line ends are normalised to ``\\n``.  Binary data and text that decodes to
    garbage raise :class:`UnreadableDocumentError`.
    """
    if data.startswith(codecs.BOM_UTF8):
        text = _strict(data[3:], "utf-8", path)
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = _strict(data, "utf-16", path)
    elif b"\x00" in data[:8192]:
        raise UnreadableDocumentError(path, "binary data, not a text document", kind="binary")
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = _detect(data, path)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    bad = text.count("\ufffd") + len(_BAD_CONTROL.findall(text))
    if bad > max(8, len(text) // 100):
        raise UnreadableDocumentError(path, "broken or unknown text encoding (save it as UTF-8)", kind="encoding")
    return text


def _strict(data: bytes, encoding: str, path: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise UnreadableDocumentError(path, f"broken {encoding} text at byte {exc.start} (save it as UTF-8)", kind="encoding") from None


def _detect(data: bytes, path: str) -> str:
    from charset_normalizer import from_bytes

    best = from_bytes(data[: 1 << 20]).best()
    if best is None:
        raise UnreadableDocumentError(path, "broken or unknown text encoding (save it as UTF-8)", kind="encoding")
    encoding = best.encoding.lower().replace("-", "_")
    # GB18030 is a superset of GB2312/GBK/CP936; decoding with it never loses a character.
    if encoding in {"gb2312", "gbk", "cp936", "gb18030", "hz", "hz_gb_2312", "big5", "cp950", "big5hkscs"}:
        encoding = "gb18030" if not encoding.startswith(("big5", "cp950")) else encoding
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        raise UnreadableDocumentError(path, "broken or unknown text encoding (save it as UTF-8)", kind="encoding") from None


# --------------------------------------------------------------------------- readers


@dataclass
class _Raw:
    title: str
    lines: list[str]
    meta: list[str]


def _read_text(data: bytes, path: str, markdown: bool) -> _Raw:
    text = decode_bytes(data, path)
    blanks = text.count(" ") + text.count("\n") + text.count("\t") + text.count("\u3000")
    if len(text) - blanks > 2 * MAX_DOCUMENT_CHARS:  # certainly over the limit after cleaning: refuse before the work
        check_characters(path, [text])
    lines = text.split("\n")
    title = ""
    meta: list[str] = []
    if markdown:
        lines = _strip_front_matter(lines)
        if any(line.strip() == "<!-- INFO END -->" for line in lines):
            # LawRefBook layout: title and adoption lines above the marker.
            cut = next(i for i, line in enumerate(lines) if line.strip() == "<!-- INFO END -->")
            head, lines = lines[:cut], lines[cut + 1 :]
            for line in head:
                s = clean_line(line)
                if s.startswith("# ") and not title:
                    title = s[2:].strip()
                elif s:
                    meta.append(_strip_markdown(s))
        out = []
        for line in lines:
            s = clean_line(line)
            if not title and re.match(r"^#\s+\S", s):
                title = s.lstrip("#").strip()
                continue
            out.append(_strip_markdown(s))
        lines = out
    return _Raw(title, lines, meta)


def _strip_front_matter(lines: list[str]) -> list[str]:
    if lines and lines[0].strip() == "---":
        for i in range(1, min(len(lines), 200)):
            if lines[i].strip() == "---":
                return lines[i + 1 :]
    return lines


# Each pattern stops at the next character that could open another match (a link's
# text at "[", its target at "("), so a line of 100,000 unclosed "[" is read once,
# not once per "[" (that took minutes).
_MARKDOWN_HEAD = (
    (re.compile(r"^#{1,6}\s+"), ""),
    (re.compile(r"^>\s?"), ""),
    (re.compile(r"^[-*+]\s+(?=\S)"), ""),
    (re.compile(r"(\*\*|__)(.+?)\1"), r"\2"),
)
_MARKDOWN_LINK = re.compile(r"!?\[([^\[\]]*)\]\([^()]*\)")
_MARKDOWN_CHARS = frozenset("#>-*+_<![")


def _strip_markdown(line: str) -> str:
    if _MARKDOWN_CHARS.isdisjoint(line):  # most lines of a document carry no markup
        return line.strip()
    for pattern, repl in _MARKDOWN_HEAD:
        line = pattern.sub(repl, line)
    return _MARKDOWN_LINK.sub(r"\1", _drop_comments(line)).strip()


def _drop_comments(line: str) -> str:
    """``line`` without ``<!-- … -->`` comments (what ``<!--.*?-->`` removes, in one pass)."""
    out = []
    i = 0
    while (start := line.find("<!--", i)) >= 0 and (end := line.find("-->", start + 4)) >= 0:
        out.append(line[i:start])
        i = end + 3
    out.append(line[i:])
    return "".join(out)


_HTML_DROP_TAGS = ("script", "style", "noscript", "nav", "header", "footer", "aside", "form", "iframe", "button", "select")
_HTML_DROP_ATTR = re.compile(
    r"nav|menu|footer|header|breadcrumb|crumb|share|copyright|sidebar|comment|toolbar|print|related|banner|foot", re.I
)
_HTML_BODY_ATTR = re.compile(r"content|article|detail|text|main|TRS_Editor|zoom|body|txt|wz", re.I)
_START_TAG = re.compile(rb"<[A-Za-z]")
_HTML_BLOCKS = ("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "td", "pre", "blockquote", "div")


def _read_html(data: bytes, path: str) -> _Raw:
    from bs4 import BeautifulSoup, Tag

    if not re.search(rb"<\s*(html|body|p|div|h1)\b", data[:65536], re.I):
        raise UnreadableDocumentError(path, "not an HTML page", kind="not_html")
    tags = len(_START_TAG.findall(data))
    if tags > MAX_HTML_TAGS:
        raise too_large(path, "html_tags", f"the page has {tags:,} HTML elements, more than {MAX_HTML_TAGS:,}; save it as .docx or .txt")
    try:
        soup = BeautifulSoup(data, "lxml")
    except Exception as exc:  # lxml raises several unrelated types on garbage
        raise UnreadableDocumentError(path, f"cannot parse HTML ({exc.__class__.__name__})", kind="html_damaged") from None
    page_text = soup.get_text("\n")
    meta = [m.group(0) for m in _PUBLISHED_AT.finditer(page_text)][:1]
    meta += [m.group(0) for m in _SOURCE.finditer(page_text)][:1]
    title = ""
    h1 = soup.find("h1")
    if h1 is not None and h1.get_text(strip=True):
        title = clean_line(h1.get_text(""))
    elif soup.title is not None and soup.title.string:
        title = clean_line(re.split(r"\s*[_|｜—–-]\s*", soup.title.string.strip())[0])
    for el in _outermost(soup.find_all(class_=re.compile(r"meta|info|date|time", re.I))):
        meta.extend(clean_line(t) for t in el.get_text("\n").split("\n"))
    for tag in soup(list(_HTML_DROP_TAGS)):
        tag.decompose()
    for el in soup.find_all(True):
        if not isinstance(el, Tag) or el.attrs is None or el.name in ("html", "body"):
            continue
        attrs = " ".join([*el.get("class", []), el.get("id", "") or ""])
        if attrs and _HTML_DROP_ATTR.search(attrs) and not _HTML_BODY_ATTR.search(attrs):
            el.decompose()
    for br in soup.find_all("br"):
        br.replace_with("\n")
    root = _html_main(soup)
    blocks = root.find_all(_HTML_BLOCKS)
    # Every test below is answered for all elements in one pass: asking each div
    # for a block inside it, or each element for its container, is quadratic on
    # deeply nested pages (a 1 MB page of nested divs ran for minutes).
    with_blocks = _with_block_descendants(blocks, root)
    container: dict[int, object] = {}
    lines: list[str] = []
    for el in blocks:
        if el.name == "div" and id(el) in with_blocks:
            continue  # only leaf blocks, so no text is taken twice
        if _nearest(el.parent, lambda n: n.name in _HTML_CONTAINERS, container) not in (None, root) and el.name != "p":
            continue
        if el.name in ("h1",) and clean_line(el.get_text("")) == title:
            continue
        if "meta" in " ".join(el.get("class", [])):
            continue
        lines.extend(el.get_text("").split("\n"))
    if not any(clean_line(s) for s in lines):
        lines = root.get_text("\n").split("\n")
    return _Raw(title, lines, meta)


_HTML_CONTAINERS = frozenset(("p", "li", "td", "pre", "blockquote"))


def _nearest(node, match, memo: dict[int, object]):  # noqa: ANN001, ANN202 - bs4 types
    """``node`` or its nearest ancestor for which ``match`` holds (None if none).

    ``memo`` keeps the answer for every element on the way up, so asking it for
    all elements of a page is linear, however deep the nesting.
    """
    path = []
    found = None
    while node is not None:
        if id(node) in memo:
            found = memo[id(node)]
            break
        if match(node):
            found = node
            break
        path.append(node)
        node = node.parent
    for n in path:
        memo[id(n)] = found
    if node is not None:
        memo[id(node)] = found
    return found


def _with_block_descendants(blocks, root) -> set[int]:  # noqa: ANN001 - bs4 types
    """ids of the elements (up to ``root``) that hold one of ``blocks``; each ancestor is visited once."""
    marked: set[int] = set()
    for el in blocks:
        node = el.parent
        while node is not None and id(node) not in marked:
            marked.add(id(node))
            if node is root:
                break
            node = node.parent
    return marked


def _outermost(elements):  # noqa: ANN001, ANN202 - bs4 types
    """The elements not inside another of them (document order kept)."""
    ids = {id(el) for el in elements}
    memo: dict[int, object] = {}
    return [el for el in elements if _nearest(el.parent, lambda n: id(n) in ids, memo) is None]


def _html_main(soup):  # noqa: ANN001, ANN202 - bs4 types
    """The element holding the article: the marked content block with the most paragraph text."""
    # paragraph text under each element, summed children-first in one pass
    below: dict[int, int] = {}
    for el in reversed(soup.find_all(True)):
        n = below.get(id(el), 0)
        parent = el.parent
        if parent is not None:
            own = len(el.get_text(strip=True)) if el.name == "p" else 0
            below[id(parent)] = below.get(id(parent), 0) + n + own
    best, best_len = None, 0
    for el in soup.find_all(["div", "article", "section", "td", "main"]):
        attrs = " ".join([*el.get("class", []), el.get("id", "") or ""])
        if el.name not in ("article", "main") and not _HTML_BODY_ATTR.search(attrs):
            continue
        n = below.get(id(el), 0)
        if n > best_len:
            best, best_len = el, n
    return best if best is not None else (soup.body or soup)


def _read_docx(data: bytes, path: str) -> _Raw:
    from .docxtext import read_docx

    title, lines = read_docx(data, path)
    return _Raw(title, lines, [])


def _read_pdf(data: bytes, path: str) -> _Raw:
    import pypdf
    from pypdf.errors import PdfReadError

    if b"%PDF" not in data[:1024]:
        raise UnreadableDocumentError(path, "not a PDF file (no %PDF header)", kind="not_pdf")
    # pypdf logs its own complaints about damaged files; they would reach the
    # user's terminal as noise next to our one-line warning.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableDocumentError(path, "the PDF is password-protected", kind="pdf_encrypted")
        if len(reader.pages) > MAX_PDF_PAGES:
            raise too_large(path, "pdf_pages", f"the PDF has {len(reader.pages):,} pages, more than {MAX_PDF_PAGES:,}; split it")
        pages = []
        chars = 0
        for page in reader.pages:
            pages.append(page.extract_text() or "")
            chars += len(pages[-1])
            if chars > 2 * MAX_DOCUMENT_CHARS:  # certainly over the limit: stop extracting
                check_characters(path, pages)
        meta_title = ""
        if reader.metadata is not None and reader.metadata.title:
            meta_title = clean_line(str(reader.metadata.title))
    except UnreadableDocumentError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError, RecursionError) as exc:
        raise UnreadableDocumentError(path, f"damaged PDF ({exc.__class__.__name__})", kind="pdf_damaged") from None
    raw_lines = [clean_line(line) for page in pages for line in page.split("\n")]
    raw_lines = [line for line in raw_lines if line and not is_boilerplate(line)]
    if not raw_lines:
        raise UnreadableDocumentError(path, "the PDF has no text layer (a scan?); run OCR on it first", kind="pdf_no_text")
    title = ""
    if meta_title and raw_lines[0] == meta_title:
        title = raw_lines.pop(0)
    return _Raw(title, join_wrapped_lines(raw_lines), [])


_TERMINAL = tuple("。！？；：!?;:”’」』）)】")
_STRUCTURAL = re.compile(
    rf"^(?:第[{NUMERALS}\d]+[条章节编部分]|[（(][{NUMERALS}\d]+[）)]|[{NUMERALS}]+、|[0-9０-９]+[.．、](?![0-9０-９])|附件|附：)"
)
_OPENING_PUNCT = tuple("，。；：、！？,.;:!?）)》」』”’")


def _display_width(line: str) -> float:
    return sum(1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.5 for ch in line)


def join_wrapped_lines(lines: list[str]) -> list[str]:
    """Join lines a PDF layout wrapped mid-sentence (``予`` + ``以登记立案。``).

    A line is a wrapped one when it fills the text width (within a character and
    a half of the widest line) and does not end a sentence, or when the next
    line starts with punctuation that cannot open a line.  A line that starts an
    article, item or heading is never glued to the line before it.
    """
    if not lines:
        return []
    widths = [_display_width(line) for line in lines]
    full = max(widths)
    # each paragraph is collected as parts with its running width: re-measuring a
    # growing paragraph was quadratic (a 300-page PDF without full stops never finished)
    out: list[list[str]] = [[lines[0]]]
    width = widths[0]
    for line, w in zip(lines[1:], widths[1:], strict=True):
        prev = out[-1]
        wrapped = width >= full - 1.5 and not prev[-1].endswith(_TERMINAL)
        if line.startswith(_OPENING_PUNCT) or (wrapped and not _STRUCTURAL.match(line)):
            prev.append(line)
            width += w
        else:
            out.append([line])
            width = w
    return ["".join(parts) for parts in out]


# --------------------------------------------------------------------------- metadata


def _parse_adoption(line: str) -> tuple[str, str, str] | None:
    """(iso date, action, body) for lines like 2018年9月3日 最高人民法院审判委员会第1747次会议通过."""
    m = _ADOPTION.match(line)
    if not m or len(line) > 160:
        return None
    rest = m.group(4)
    action = next((a for a in _ADOPTION_ACTIONS if a in rest[-12:] or rest.endswith(a)), "")
    if not action and rest:
        return None
    y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if not (1 <= mo <= 12 and 1 <= d <= 31):
        return None
    return f"{y:04d}-{mo:02d}-{d:02d}", action or "施行", rest


def _issuer_from(body: str) -> str:
    body = re.sub(r"^由", "", body)
    body = re.sub(rf"第[{NUMERALS}\d]+届", "", body)
    body = re.split(rf"第[{NUMERALS}\d]+次|《|会议|公告|令", body)[0]
    body = re.sub(r"(审判委员会|检察委员会|党组)$", "", body)
    return body.strip()[:40]


_IN_FORCE = re.compile(r"自\s*(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日\s*起(?:施行|实施|生效)")


def _date_and_issuer(meta: Iterable[str], paragraphs: list[str], title: str) -> tuple[str, str]:
    date = source = ""
    adoptions: list[tuple[str, str, str]] = []
    for line in meta:
        if not date and (m := _PUBLISHED_AT.search(line)):
            date = f"{int(m.group(1)):04d}-{int(m.group(2)):02d}-{int(m.group(3)):02d}"
        if not source and (m := _SOURCE.search(line)):
            source = m.group(1)
        if parsed := _parse_adoption(line):
            adoptions.append(parsed)
    if not date and adoptions:
        published = [a for a in adoptions if a[1] in ("公布", "发布", "印发")]
        enacted = [a for a in adoptions if a[1] in ("通过", "修订", "修正", "批准")]
        pick = published or enacted or adoptions
        date = max(a[0] for a in pick)
    if not source:
        for a in sorted(adoptions, key=lambda a: a[0], reverse=True):
            if a[1] in ("通过", "修订", "修正", "批准") and (issuer := _issuer_from(a[2])):
                source = issuer
                break
    if not date:
        # a signature date at the end: 2021年11月10日 / 二〇二一年十一月十日
        for line in reversed(paragraphs[-4:]):
            if m := re.match(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$", line):
                date = f"{int(m.group(1)):04d}-{int(m.group(2)):02d}-{int(m.group(3)):02d}"
                break
            if m := _CN_DATE.match(line):
                with contextlib.suppress(ValueError):
                    date = f"{parse_number(m.group(1)):04d}-{parse_number(m.group(2)):02d}-{parse_number(m.group(3)):02d}"
                    break
    if not date:
        # last resort, the commencement clause near the end: 本规定自2015年5月1日起施行 (the year is right)
        for line in reversed(paragraphs[-6:]):
            if m := _IN_FORCE.search(line):
                date = f"{int(m.group(1)):04d}-{int(m.group(2)):02d}-{int(m.group(3)):02d}"
                break
    if not source:
        for body in ("最高人民法院、最高人民检察院", "最高人民法院", "最高人民检察院"):
            if title.startswith(body):
                source = body
                break
    return date, source


# --------------------------------------------------------------------------- documents


def load_document(path: str | os.PathLike[str], doc_id: str | None = None) -> Document:
    """Read one file into a :class:`Document`.

    Raises :class:`UnreadableDocumentError` (with the reason) for a file that is
    not a usable document.
    """
    p = Path(path)
    return parse_document(_read_file(p), str(p), p.suffix.lower(), doc_id or p.stem)


def _read_file(p: Path) -> bytes:
    """The bytes of a supported, non-empty file within the size limit."""
    shown = str(p)
    suffix = p.suffix.lower()
    reader = reader_for(suffix)
    if reader is None:
        raise UnreadableDocumentError(
            shown,
            f"unsupported file type '{suffix or '(none)'}' (use {', '.join(SUPPORTED_SUFFIXES)})",
            kind="unsupported_type",
            suffix=suffix or "无后缀",
        )
    try:
        size = p.stat().st_size
        if size > reader.max_bytes:
            raise UnreadableDocumentError(
                shown,
                f"file is {size / 1e6:.1f} MB, over the {reader.max_bytes // 2**20} MiB limit",
                kind="too_large",
                size_mb=f"{size / 2**20:.1f}",
                limit_mb=reader.max_bytes // 2**20,
            )
        if size == 0:
            raise UnreadableDocumentError(shown, "empty file", kind="empty")
        data = p.read_bytes()
    except UnreadableDocumentError:
        raise
    except IsADirectoryError:
        raise UnreadableDocumentError(shown, "is a folder, not a file", kind="is_folder") from None
    except OSError as exc:
        raise UnreadableDocumentError(
            shown,
            f"cannot open it ({exc.strerror or exc.__class__.__name__})",
            kind="cannot_open",
            error=exc.strerror or exc.__class__.__name__,
        ) from None
    return data


# --------------------------------------------------------------------------- the formats


@dataclass(frozen=True)
class Reader:
    """One document format: the suffixes it is recognised by, how it is read, and its limits.

    A new format is one reader function and one row of :data:`READERS`; the
    supported suffixes, the page's upload types and its help text follow.
    """

    #: the format recorded for a document (``Document.fmt``)
    fmt: str
    #: file name suffixes, lower case, the usual one first
    suffixes: tuple[str, ...]
    read: Callable[[bytes, str], _Raw]
    #: what the format must be, and the limits beyond the file size (for help texts)
    notes: str
    #: larger files are refused before they are read
    max_bytes: int = MAX_FILE_BYTES
    #: text formats: warn when the encoding had to be detected (not UTF-8)
    detects_encoding: bool = False


READERS: tuple[Reader, ...] = (
    Reader("txt", (".txt",), lambda data, path: _read_text(data, path, markdown=False), "UTF-8 or GB18030/GBK text", detects_encoding=True),
    Reader(
        "md",
        (".md", ".markdown"),
        lambda data, path: _read_text(data, path, markdown=True),
        "Markdown, UTF-8 or GB18030/GBK",
        detects_encoding=True,
    ),
    Reader("html", (".html", ".htm"), _read_html, "a web page (its article body is read)"),
    Reader("docx", (".docx",), _read_docx, f"Word, body at most {MAX_DOCX_XML_BYTES // 2**20} MiB unpacked"),
    Reader("pdf", (".pdf",), _read_pdf, f"PDF with a text layer, at most {MAX_PDF_PAGES:,} pages"),
)
_BY_SUFFIX = {suffix: r for r in READERS for suffix in r.suffixes}
#: every suffix a document may have
SUPPORTED_SUFFIXES = tuple(_BY_SUFFIX)


def reader_for(suffix: str) -> Reader | None:
    """The reader of files ending in ``suffix`` (``.PDF`` as ``.pdf``), or None."""
    return _BY_SUFFIX.get(suffix.lower())


def upload_types() -> tuple[str, ...]:
    """The suffixes without their dot, as a file picker takes them (``txt``, ``md``, …)."""
    return tuple(s.lstrip(".") for s in SUPPORTED_SUFFIXES)


def formats_label() -> str:
    """The formats as a short list for help texts: ``.txt / .md / .html / .docx / .pdf``."""
    return " / ".join(r.suffixes[0] for r in READERS)


def parse_document(data: bytes, path: str, suffix: str, doc_id: str) -> Document:
    """Turn the bytes of a file of type ``suffix`` into a :class:`Document`."""
    reader = reader_for(suffix)
    if reader is None:
        raise UnreadableDocumentError(path, f"unsupported file type '{suffix}'", kind="unsupported_type", suffix=suffix or "无后缀")
    if not data.strip():
        raise UnreadableDocumentError(path, "empty file", kind="empty")
    warnings: list[str] = []
    fmt = reader.fmt
    raw = reader.read(data, path)
    if reader.detects_encoding and not data[:4096].isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            warnings.append("encoding_detected")

    meta = list(raw.meta)
    lines: list[str] = []
    for line in raw.lines:
        s = clean_line(one_line(line))
        if not s:
            continue
        if is_boilerplate(s):
            meta.append(s)
            continue
        lines.append(s)
    title = clean_line(one_line(raw.title))
    if not title and lines:
        title = lines.pop(0)
        if len(title) > MAX_TITLE_CHARS:  # a long first line is text, not a title
            lines.insert(0, title)
    if not title:
        raise UnreadableDocumentError(path, "no text found", kind="no_text")
    if len(title) > MAX_TITLE_CHARS:
        title = title[: MAX_TITLE_CHARS - 1] + "…"
    # Adoption/effective-date lines right below the title are metadata, not body.
    while lines and _parse_adoption(lines[0]) is not None and len(lines[0]) <= 120:
        meta.append(lines.pop(0))
    if not lines:
        raise UnreadableDocumentError(path, "no body text after the title", kind="no_body")
    date, source = _date_and_issuer(meta, lines, title)
    if not date:
        warnings.append("no_date")
    doc = Document(
        doc_id=doc_id,
        title=title,
        source=one_line(source),
        date=one_line(date),
        path=path,
        fmt=fmt,
        content_hash=hashlib.sha256(data).hexdigest(),
        paragraphs=tuple(lines),
        warnings=tuple(warnings),
    )
    check_document(doc)  # raises DocumentTooLargeError beyond the work limits
    return doc


#: notes about a folder of documents (where they come from), kept beside them but never indexed
NOTE_NAMES = frozenset({"readme.md", "readme.txt", "sources.md"})


def ignored_name(name: str) -> bool:
    """True for a file name that is never a document: hidden files (``.x``), Office lock files (``~$x``), folder notes.

    The one rule for indexing, uploading and removing: a name it ignores is
    neither indexed nor accepted as an upload.
    """
    return name.startswith((".", "~$")) or name.lower() in NOTE_NAMES


SYMLINK_FOLDER = "a symlinked folder; not followed"
SYMLINK_BROKEN = "a broken or looping symlink"
SYMLINK_OUTSIDE = "a symlink pointing outside the corpus folder"
#: the kind (message catalogue key) of each problem :func:`iter_corpus_files` reports
FOLDER_UNREADABLE = "cannot open this folder; the files in it are skipped"
#: the kind (message catalogue key) of each problem :func:`iter_corpus_files` reports
PROBLEM_KINDS = {
    SYMLINK_FOLDER: "symlink_folder",
    SYMLINK_BROKEN: "symlink_broken",
    SYMLINK_OUTSIDE: "symlink_outside",
    FOLDER_UNREADABLE: "folder_unreadable",
}


def iter_corpus_files(root: str | os.PathLike[str]) -> Iterator[tuple[Path, str | None]]:
    """Yield ``(path, problem)`` for every file under ``root``, in a stable order.

    ``problem`` is ``None`` for a candidate document, or why the file is skipped
    without reading it (a link out of the corpus folder, a hidden file…).
    Symlinked folders are not followed, so a link loop cannot trap the walk.
    """
    base = Path(root)
    if not base.is_dir():
        raise BadInputError(
            f"corpus folder not found: {root} (give an existing folder with --corpus)", kind="corpus_missing", name=Path(root).name
        )
    real_root = base.resolve()
    unreadable: list[OSError] = []
    for dirpath, dirnames, filenames in os.walk(base, followlinks=False, onerror=unreadable.append):
        while unreadable:
            yield _unreadable_folder(unreadable.pop(0))
        here = Path(dirpath)
        kept = []
        for d in sorted(dirnames):
            if d.startswith("."):
                continue
            if (here / d).is_symlink():
                yield here / d, SYMLINK_FOLDER
                continue
            kept.append(d)
        dirnames[:] = kept
        for name in sorted(filenames):
            p = here / name
            if ignored_name(name):
                continue  # editor, OS and lock files, notes about the folder
            if p.is_symlink():
                try:
                    target = p.resolve(strict=True)
                except (OSError, RuntimeError):
                    yield p, SYMLINK_BROKEN
                    continue
                if not target.is_relative_to(real_root):
                    yield p, SYMLINK_OUTSIDE
                    continue
            yield p, None
    while unreadable:
        yield _unreadable_folder(unreadable.pop(0))


def _unreadable_folder(exc: OSError) -> tuple[Path, str]:
    log.debug("cannot list %s: %s", exc.filename, exc)
    return Path(exc.filename or "?"), FOLDER_UNREADABLE


def file_key(root_pos: int, relative: str | os.PathLike[str]) -> str:
    """How a file is known across builds: the position of its folder among the indexed folders, and its path below it.

    Unlike an absolute path, it survives moving the whole library (a copied checkout, a restored backup).
    """
    return f"{root_pos}:{Path(relative).as_posix()}"


def _id_candidates(path: Path, root: Path) -> Iterator[str]:
    """doc_ids for ``path``, best first: its stem, its path below ``root`` without and with the suffix, then numbered."""
    rel = path.relative_to(root)
    yield path.stem
    yield rel.with_suffix("").as_posix()
    yield rel.as_posix()
    for n in itertools.count(2):
        yield f"{rel.as_posix()}~{n}"


def load_corpus(
    root: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    known: Mapping[str, Document] | None = None,
    *,
    ids: Mapping[str, str] | None = None,
    hidden: Collection[str] = (),
) -> CorpusLoad:
    """Load every supported document under ``root`` (a folder, or several searched in order), recursively.

    Unusable files are skipped with a one-line warning naming the file and the
    reason, and the rest is still loaded.

    ``doc_id`` is the file stem; a stem already taken gets the path below its
    folder (``sub/rules``, then ``rules.md``).  ``ids`` maps files (:func:`file_key`:
    the folder's position in ``root`` and the path below it) to the ``doc_id``
    they had in the previous index: those files keep
    their ids, and they are read first, so of two files with the same bytes the
    one already indexed stays and the other is skipped as a duplicate (else the
    first in path order).  Files whose resolved path is in ``hidden`` are left
    out without a word (samples a user removed).

    ``known`` maps content hashes (SHA-256 of the file's bytes) to documents
    loaded before by this same code: a file with those bytes and that
    ``doc_id`` is not parsed again, and its document comes back as given
    (with this file's path), which lets an index rebuild skip unchanged files.
    """
    roots = [Path(root)] if isinstance(root, str | os.PathLike) else [Path(r) for r in root]
    ids = ids or {}
    skipped: list[Skipped] = []
    by_hash: dict[str, Document] = {}
    taken: set[str] = set()

    def skip(path: str, reason: str, kind: str = "unreadable", **fields: object) -> None:
        skipped.append(Skipped(path, reason, kind, tuple((k, str(v)) for k, v in fields.items())))
        log.warning("skipped %s: %s", path, reason)

    files: list[tuple[Path, Path, str]] = []  # (file, its folder, file key), in path order
    for pos, base in enumerate(roots):
        for path, problem in iter_corpus_files(base):
            if problem:
                skip(str(path), problem, kind=PROBLEM_KINDS.get(problem, "unreadable"))
                continue
            if str(path.resolve()) not in hidden:
                files.append((path, base, file_key(pos, path.relative_to(base))))
    # files the previous index knew keep their ids and win over later copies of their bytes
    walk = sorted(enumerate(files), key=lambda f: f[1][2] not in ids)
    taken.update(ids[key] for _, _, key in files if key in ids)
    loaded: list[tuple[int, Document]] = []
    for pos, (path, base, key) in walk:
        shown = str(path)
        try:
            data = _read_file(path)
        except UnreadableDocumentError as exc:
            skip(shown, exc.reason, kind=exc.kind, **exc.fields)
            continue
        digest = hashlib.sha256(data).hexdigest()
        if digest in by_hash:
            first = by_hash[digest]
            skip(shown, f"duplicate of {first.path}", kind="duplicate", title=first.title, other=Path(first.path).name)
            continue
        doc_id = ids.get(key) or next(c for c in _id_candidates(path, base) if c not in taken)
        try:
            seen = known.get(digest) if known else None
            if seen is not None and seen.doc_id == doc_id:
                doc = dataclasses.replace(seen, path=shown)
            else:
                doc = parse_document(data, shown, path.suffix.lower(), doc_id)
        except UnreadableDocumentError as exc:
            skip(shown, exc.reason, kind=exc.kind, **exc.fields)
            continue
        by_hash[digest] = doc
        taken.add(doc_id)
        loaded.append((pos, doc))
    loaded.sort(key=lambda d: d[0])  # documents in path order, as before
    return CorpusLoad(tuple(d for _, d in loaded), tuple(skipped))
