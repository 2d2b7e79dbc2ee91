"""Splitting a document into measure-level chunks with exact citations.

The hierarchy is document → section (一、 / 第X编/章/节 / 第X部分 / 附则) →
measure (1. / １． / 1、 / 第X条 / 第X条之一 / 一、 where nothing finer is
numbered) → sentences.

Each document is read under one *scheme*, picked from what it numbers:

``article``   laws and rules: measures are 第X条 (and 第X条之N), sections 第X编/章/节/部分;
``numbered``  reform plans: measures are 1. / １． / 1、, sections 一、 headings;
``item``      notices and opinions numbered only 一、二、: those are the measures;
``whole``     nothing is numbered: the body is one passage.

Traditional characters are matched through a one-for-one simplified view
(第一條 is 第一条), while labels and titles are cut from the text as printed.

A number inside a sentence (本规定第七条, 按照第2项要求) never starts a measure:
a measure starts only at the beginning of a paragraph, with the next number in
sequence (or, for articles, a typeset label followed by a space).  In reform
plans the delimiter style may change from measure to measure (１． 6、 ７．);
a number in another style than the first measure's is a sub-item only when it
continues a sub-list or the document goes on with the same number right after.

Every paragraph ends up in exactly one chunk or in a named part
(:data:`NAMED_PARTS`): measures hold their sub-items and continuation
paragraphs; a preamble and each section's introduction become *passages*
(``measure_no`` 0); the title and metadata lines above the text, headings
(numbered or not) and closing matter (附件, 落款, 印发日期, a closing paragraph
about the whole document) are named parts.  :class:`Layout` records the role
of every paragraph, so a paragraph in no chunk is reported, never silently lost.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .limits import MAX_SENTENCE_CHARS
from .numerals import NUMERALS as _NUM
from .numerals import parse_number, to_chinese_number
from .schema import Chunk, Document

# 第X条, or 第X条之N (an article inserted by amendment); 第X条规定… / 第X条之一规定… are references
_ARTICLE = re.compile(rf"^第([{_NUM}\d０-９]{{1,7}})条(?:之([{_NUM}]{{1,3}}))?(?![第款项规所的中至、和或及之（(])")
_ARABIC = re.compile(r"^([0-9０-９]{1,3})\s*([.．、])(?![0-9０-９])\s*")
_CN_ITEM = re.compile(rf"^([{_NUM}]{{1,4}})、\s*")
_SECTION = re.compile(rf"^第([{_NUM}\d０-９]{{1,4}})(分编|编|章|节|部分)(?=[\s　]|$|[^\s，。,；;、的中])")
_SECTION_RANK = {"编": 0, "分编": 1, "部分": 1, "章": 2, "节": 3}
# 附则, 总则 without a number: headings all the same
_BARE_HEADING = re.compile(r"^[总分附罚通][ \u3000\u2002]*则$")
_NOT_HEADING = re.compile(r"[。；;：:，,！？!?“”\"|｜]")
_CJK = re.compile(r"[\u4e00-\u9fff]")
# front matter above the text: 法释〔2023〕11号, （2018年4月27日…通过）, the addressee (各省、自治区…：)
_DOC_NUMBER = re.compile(r"^[\u4e00-\u9fff]{1,12}\s*[〔［\[(（【]\s*\d{4}\s*[〕］\])）】]\s*第?\s*\d+\s*号$")
_ADOPTION = re.compile(r"^[（(][^（）()]{0,200}(?:通过|公布|施行|修正|修订|发布|印发|颁布)[^（）()]{0,100}[）)]$")
_ADDRESSEE = re.compile(r"^[^。；;！？!?]{2,150}[：:]$")
_ORG_WORD = re.compile(r"法院|检察院|委员会|厅|局|办公室|政府|部门|单位|机关")
_CLOSING_START = re.compile(
    r"^(?:(?:附件|附表|附录)(?:$|[：:\s\d０-９一二三四五六七八九十])|附[：:]|抄送|抄报|主题词|（此件|\(此件|联系人[：:]"
    r"|特此(?:通知|公告|批复|函复|函告|说明)|此复)"
)
_DATE_LINE = re.compile(rf"^(?:\d{{4}}|[{_NUM}○Ｏ]{{4}})年[\d{_NUM}]{{1,3}}月[\d{_NUM}]{{1,3}}日(?:印发|发布)?$")
_ORG_LINE = re.compile(r"^[\u4e00-\u9fff（）()、]{2,40}(?:法院|检察院|委员会|办公厅|办公室|政府|厅|局|部|院|小组)$")
_SELF_REFERENCE = re.compile(r"本(?:要点|意见|方案|规划|通知|决定|实施意见|实施方案|工作要点|计划|措施|指引|细则)")
_CLOSING_SUBJECT = re.compile(r"^(?:各级|全省|全市|全区|各地|各单位|各部门|各中级|各基层|省法院|市法院)")
_SENTENCE_END = re.compile(r"[。！？!?；;]+[”’」』）)〕]*")

# Reform-plan measures often run their title into the first sentence without a
# full stop (完善金融审判创新工作机制推动证券纠纷…).  The title ends where a
# policy verb starts a new clause right after a noun that typically closes one.
_POLICY_VERBS = (
    "推动",
    "推进",
    "加快",
    "深入",
    "深化",
    "优化",
    "健全",
    "完善",
    "强化",
    "加强",
    "建立",
    "探索",
    "落实",
    "提升",
    "提高",
    "积极",
    "全面",
    "扎实",
    "坚持",
    "支持",
    "做好",
    "发挥",
    "聚焦",
    "对接",
    "实现",
    "促进",
    "持续",
    "围绕",
    "依法",
    "严格",
    "规范",
    "创新",
    "构建",
    "推广",
    "统筹",
    "鼓励",
    "切实",
    "着力",
    "加大",
    "开展",
    "实施",
    "制定",
    "出台",
    "贯彻",
    "进一步",
    "大力",
    "有序",
)
# Nouns that close a measure title: the strong ones almost always end one.
_STRONG_ENDINGS = ("机制", "体系", "制度", "改革", "建设", "规定", "责任", "工作", "水平", "能力", "体制", "格局")
_WEAK_ENDINGS = (
    "保护",
    "导向",
    "活力",
    "模式",
    "平台",
    "监督",
    "管理",
    "服务",
    "保障",
    "规则",
    "程序",
    "标准",
    "队伍",
    "环境",
    "作用",
    "效能",
    "质效",
    "试点",
    "措施",
    "实施",
    "衔接",
    "治理",
    "审判",
    "司法",
)


def split_sentences(text: str) -> tuple[str, ...]:
    """Split a measure into sentences at 。！？； (closing quotes stay with their sentence).

    Paragraph breaks also end a sentence.  ``"".join(result) == text.replace("\\n", "")``.
    """
    out: list[str] = []
    for para in text.split("\n"):
        start = 0
        for m in _SENTENCE_END.finditer(para):
            out.append(para[start : m.end()])
            start = m.end()
        if start < len(para):
            out.append(para[start:])
    # a fragment without any letter or digit (a stray quote) belongs to the sentence before it
    merged: list[str] = []
    for s in out:
        if merged and not any(ch.isalnum() for ch in s):
            merged[-1] += s
        else:
            merged.append(s)
    if any(len(s) > MAX_SENTENCE_CHARS for s in merged):
        merged = [piece for s in merged for piece in _split_long(s)]
    return tuple(merged)


_SOFT_BREAK = re.compile(r"[，,、：:\s]")


def _split_long(sentence: str, limit: int = MAX_SENTENCE_CHARS) -> list[str]:
    """A run of text longer than ``limit`` cut into pieces of at most ``limit`` characters.

    Each cut is after the last comma (or 、, colon, blank) in the second half of
    the window, else at the limit: the encoder reads only about 500 characters
    of a text, and a single-line file without full stops must not become one
    monster sentence.
    """
    pieces = []
    start = 0
    while len(sentence) - start > limit:
        window = sentence[start + limit // 2 : start + limit]
        soft = [m.end() for m in _SOFT_BREAK.finditer(window)]
        cut = start + limit // 2 + soft[-1] if soft else start + limit
        pieces.append(sentence[start:cut])
        start = cut
    pieces.append(sentence[start:])
    return pieces


#: roles of paragraphs that are in no chunk by design: the document model names them
NAMED_PARTS = frozenset({"title", "metadata", "heading", "closing"})


@dataclass(frozen=True)
class Layout:
    """How a document's paragraphs were read.

    ``roles[i]`` is the role of ``doc.paragraphs[i]``:

    * in a chunk: ``measure`` (a numbered measure or article), ``preamble``
      (text before the first heading or measure) or ``intro`` (text under a
      heading before its first measure) — the last two as passages;
    * in no chunk, a named part of the document: ``title`` (the title repeated
      in the body), ``metadata`` (文号, adoption lines, addressee, issuer and
      date above the text), ``heading`` or ``closing`` (附件, 抄送, 特此通知,
      the signature, a closing paragraph about the whole document).

    ``owner[i]`` is the index of the chunk holding paragraph i, or -1.
    """

    scheme: str
    roles: tuple[str, ...]
    owner: tuple[int, ...]
    chunks: tuple[Chunk, ...]

    def unchunked(self) -> tuple[int, ...]:
        """Indices of the paragraphs that are in no chunk."""
        return tuple(i for i, o in enumerate(self.owner) if o < 0)

    def lost(self) -> tuple[int, ...]:
        """Paragraphs in no chunk and in no named part: body text no search can find (should be none)."""
        return tuple(i for i in self.unchunked() if self.roles[i] not in NAMED_PARTS)


#: a document with more characters than this of body text in no chunk is flagged (build report, 文档库)
LOST_CHARS_LIMIT = 10


@dataclass(frozen=True)
class Coverage:
    """How much of a document's body the chunks hold, as the CLI, the build report and the library show it."""

    measures: int
    passages: int
    #: paragraphs in no chunk, by role (title, metadata, heading, closing, and any other role: lost)
    unchunked: dict[str, int]
    lost_paragraphs: int
    lost_chars: int

    @classmethod
    def of(cls, doc: Document, layout: Layout) -> Coverage:
        roles: dict[str, int] = {}
        for i in layout.unchunked():
            roles[layout.roles[i]] = roles.get(layout.roles[i], 0) + 1
        lost = layout.lost()
        passages = sum(1 for c in layout.chunks if c.kind == "passage")
        return cls(
            measures=len(layout.chunks) - passages,
            passages=passages,
            unchunked=roles,
            lost_paragraphs=len(lost),
            lost_chars=sum(len(doc.paragraphs[i].strip()) for i in lost),
        )

    @property
    def flagged(self) -> bool:
        """More than a few characters of body text are in no chunk: the chunker misread the document."""
        return self.lost_chars > LOST_CHARS_LIMIT

    @property
    def warning(self) -> str:
        """The library's note on a flagged document (empty when nothing is lost)."""
        return f"{self.lost_paragraphs} 段未归入任何条款" if self.flagged else ""

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Coverage:
        return cls(int(d["measures"]), int(d["passages"]), dict(d["unchunked_by_role"]), int(d["lost_paragraphs"]), int(d["lost_chars"]))

    def to_dict(self) -> dict[str, Any]:
        return {
            "measures": self.measures,
            "passages": self.passages,
            "unchunked_by_role": dict(self.unchunked),
            "lost_paragraphs": self.lost_paragraphs,
            "lost_chars": self.lost_chars,
        }


@dataclass
class _Unit:
    """A measure, or a passage (preamble / section intro) while the document is read."""

    no: int
    label: str
    sections: tuple[tuple[int, str, str], ...]  # (rank, ordinal as read, heading as printed)
    paras: list[int]
    suffix: str = ""  # 之一 of an inserted article
    anchor: str = ""  # a passage's place: 引言, 第二部分引言


# ------------------------------------------------------------------ reading traditional characters


@functools.cache
def _t2s_table() -> dict[int, str]:
    """Traditional → simplified, one character for one (OpenCC's character table).

    Numbering is matched on this view of a paragraph (第一條 reads as 第一条,
    第二編 as 第二编, 兩 as 两); as every character keeps its place, a label or
    title found in the view is cut from the paragraph as printed.
    """
    import opencc

    table: dict[int, str] = {}
    path = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
    for line in path.read_text(encoding="utf-8").splitlines():
        key, _, values = line.partition("\t")
        target = values.split(" ")[0]
        if len(key) == 1 and len(target) == 1 and key != target:
            table[ord(key)] = target
    return table


def _simplified(p: str) -> str:
    return p if p.isascii() else p.translate(_t2s_table())


# ------------------------------------------------------------------ what a paragraph is


def _heading_like(p: str) -> bool:
    return len(p) <= 40 and not re.search(r"[。；;：:]$", p) and "。" not in p[:-1]


def _heading_line(v: str) -> bool:
    """A short line without sentence punctuation: reads as a heading (or part of one)."""
    return 2 <= len(v) <= 30 and not _NOT_HEADING.search(v) and _CJK.search(v) is not None and not _DATE_LINE.match(v)


def _title_key(text: str) -> str:
    return re.sub(r"[\s《》〈〉“”\"'‘’]", "", unicodedata.normalize("NFKC", text))


def _front_matter(v: str, title_key: str, after_title: bool = False) -> str | None:
    """``title`` or ``metadata`` when a paragraph above the text repeats the title or states facts about it.

    A title line is at least four characters long, unless it ends a title
    printed over several lines (关于适用《…》的 / 解释).
    """
    key = _title_key(v)
    if len(key) >= (2 if after_title else 4) and key in title_key and not v.endswith("。"):
        return "title"
    if _DOC_NUMBER.match(v) or _ADOPTION.match(v) or _DATE_LINE.match(v) or _is_signature(v):
        return "metadata"
    if _ADDRESSEE.match(v) and _ORG_WORD.search(v) and "如下" not in v:
        return "metadata"
    return None


def detect_scheme(paragraphs: Sequence[str]) -> str:
    """Which numbering carries the measures: ``article``, ``numbered``, ``item`` or ``whole``.

    A scheme needs two numbered paragraphs, or one that is numbered 1 (a plan
    with a single measure is still a plan).  Traditional characters are read
    as simplified (第一條 is an article).
    """
    paragraphs = [_simplified(p) for p in paragraphs]

    def enough(matches: list[re.Match[str]]) -> bool:
        return len(matches) >= 2 or any(_is_one(m.group(1)) for m in matches)

    articles = [m for p in paragraphs if (m := _ARTICLE.match(p))]
    if enough(articles):
        return "article"
    arabic = [m for p in paragraphs if (m := _ARABIC.match(p))]
    items = [p for p in paragraphs if _CN_ITEM.match(p)]
    headings = sum(1 for p in items if _heading_like(p))
    if enough(arabic) and (len(items) < 2 or headings * 2 >= len(items)):
        return "numbered"
    if enough([m for p in items if (m := _CN_ITEM.match(p))]):
        return "item"
    if enough(arabic):
        return "numbered"
    return "whole"


def _number(numeral: str) -> int | None:
    try:
        return parse_number(numeral)
    except ValueError:
        return None


def _is_one(numeral: str) -> bool:
    return _number(numeral) == 1


def _section_of(p: str, v: str, scheme: str) -> tuple[int, str, str] | None:
    """(rank, ordinal, heading) when paragraph ``p`` (read as ``v``) is a section heading."""
    if m := _SECTION.match(v):
        if len(v) > 60 or "。" in v[:-1]:
            return None
        kind = m.group(2)
        return _SECTION_RANK[kind] + 10, f"第{m.group(1)}{kind}", _squash(p, m.end())
    if scheme == "numbered" and (m := _CN_ITEM.match(v)):
        return 5, m.group(1), _squash(p[: len(_lead_phrase(v))] if not _heading_like(v) else p)
    if scheme == "numbered" and (m := re.match(rf"^[（(]([{_NUM}]+)[）)]", v)) and _heading_like(v):
        return 6, f"（{m.group(1)}）", _squash(p)
    if scheme == "article" and (m := _CN_ITEM.match(v)) and _heading_like(v) and len(v) <= 20:
        return 5, m.group(1), _squash(p)
    if scheme != "whole" and _BARE_HEADING.match(v):
        return 0, "", _squash(p)
    return None


def _squash(heading: str, head_end: int = 0) -> str:
    """第一章 总 则 → 第一章 总则: typesetters space out the names of short headings."""
    head, name = heading[:head_end], heading[head_end:]
    name = re.sub(r"(?<=[\u4e00-\u9fff])[ \u3000\u2002](?=[\u4e00-\u9fff])", "", name.strip())
    return f"{head} {name}".strip() if head else name


def _arabic(v: str) -> tuple[int, str, int] | None:
    """(number, delimiter style, label end) of a paragraph opening with 5. / ５． / 5、."""
    m = _ARABIC.match(v)
    if not m:
        return None
    return int(unicodedata.normalize("NFKC", m.group(1))), "、" if m.group(2) == "、" else ".", m.end()


class _Reader:
    """Reads one document's paragraphs into sections, measures and passages."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.paras = doc.paragraphs
        self.view = tuple(_simplified(p) for p in self.paras)
        self.scheme = detect_scheme(self.view)
        n = len(self.paras)
        self.roles = [""] * n
        self.units: list[_Unit] = []
        self.sections: list[tuple[int, str, str]] = []
        self.current: _Unit | None = None
        self.last = (0, 0)  # (number, suffix number) of the last measure
        self.new_section = False
        self.style: str | None = None  # delimiter of the first measure (numbered)
        self.arabic = [_arabic(v) for v in self.view] if self.scheme == "numbered" else [None] * n
        # for each paragraph, the next one in its section opening with a number in each delimiter style
        self.next_in_style: dict[str, list[int]] = {".": [-1] * n, "、": [-1] * n}
        if self.scheme == "numbered":
            following = {".": -1, "、": -1}
            for i in range(n - 1, -1, -1):
                for style, nxt in self.next_in_style.items():
                    nxt[i] = following[style]
                a = self.arabic[i]
                if a is not None:
                    following[a[1]] = i
                elif _CLOSING_START.match(self.view[i]) or _section_of(self.paras[i], self.view[i], self.scheme):
                    following = {".": -1, "、": -1}
        self.prev_number: tuple[int, str, bool] | None = None  # last numbered paragraph: (n, style, opened a measure)
        self._plain_run_end = 0  # short lines before this index were found not to be headings

    # -------------------------------------------------------------- measures

    def measure_start(self, i: int) -> tuple[int, str, str, str] | None:
        """(number, suffix, label, delimiter style) when paragraph ``i`` opens the next measure."""
        p, v = self.paras[i], self.view[i]
        last, last_k = self.last
        if self.scheme == "article":
            m = _ARTICLE.match(v)
            if not m:
                return None
            n, k = _number(m.group(1)), _number(m.group(2)) if m.group(2) else 0
            if n is None or k is None:
                return None
            spaced = len(v) == m.end() or v[m.end()] in " \u3000\t【"
            label = p[: m.end()]
            if k:  # 第X条之N follows article X (or X之N-1)
                ok = n == last and (k == last_k + 1 or (spaced and k > last_k))
                return (n, f"之{m.group(2)}", label, "条") if ok else None
            if n == last + 1 or (n > last and spaced and (last > 0 or n <= 3)):
                return n, "", label, "条"
            return None
        if self.scheme == "numbered":
            a = self.arabic[i]
            if a is None:
                return None
            n, style, end = a
            if not (n == last + 1 or (n == 1 and self.new_section) or (last == 0 and n <= 3)):
                return None
            if self.style is not None and style != self.style and not self._odd_style_measure(i, n, style):
                return None
            return n, "", p[:end].rstrip(), style
        if self.scheme == "item":
            m = _CN_ITEM.match(v)
            n = _number(m.group(1)) if m else None
            if m is None or n is None:
                return None
            if n == last + 1 or (last == 0 and n <= 3):
                return n, "", p[: m.end()].rstrip(), "、"
        return None

    def _odd_style_measure(self, i: int, n: int, style: str) -> bool:
        """Whether ``n`` in another delimiter style than the first measure's is the next measure.

        It is, unless it continues a sub-list in its own style (1、2、 under
        measure 5.) or the document's own numbering goes on with the same
        number right after (2、 a sub-item, then 2. the measure).
        """
        prev = self.prev_number
        if prev is not None and prev[1] == style and prev[0] == n - 1 and not prev[2]:
            return False
        assert self.style is not None
        j = self.next_in_style[self.style][i]
        nxt = self.arabic[j] if j >= 0 else None
        return nxt is None or nxt[0] != n

    def heading_run(self, i: int) -> int:
        """End of a run of heading lines starting at ``i`` (``i`` when there is none).

        Short lines without sentence punctuation are headings (附则, 勘验、检查…
        笔录的审查与认定, （二）权利质押) when the next measure or section
        follows them: they are never glued onto the measure before.
        """
        if self.scheme != "article" or i < self._plain_run_end:
            return i
        j = i
        while j < len(self.paras) and _heading_line(self.view[j]) and not self._structural(j):
            j += 1
        if j > i and j < len(self.paras) and self._structural(j):
            return j
        # lines i..j-1 continue the measure; none of them starts a heading run either (each scan is linear)
        self._plain_run_end = j
        return i

    def _structural(self, j: int) -> bool:
        return self.measure_start(j) is not None or _section_of(self.paras[j], self.view[j], self.scheme) is not None

    # -------------------------------------------------------------- the pass

    def read(self) -> Layout:
        paras, view, roles = self.paras, self.view, self.roles
        n = len(paras)
        title_key = _title_key(_simplified(self.doc.title))
        i = 0
        while i < n and not self._structural(i) and (role := _front_matter(view[i], title_key, i > 0 and roles[i - 1] == "title")):
            roles[i] = role
            i += 1
        closing_from = n
        whole: list[int] = []
        while i < n:
            p, v = paras[i], view[i]
            if (whole or self.last[0]) and _CLOSING_START.match(v):
                closing_from = i  # 附件, 抄送, 特此通知…: nothing after this is a measure
                break
            i = self._read_one(i, p, v, whole)
        if self.scheme == "whole" and whole:
            self.units = [_Unit(1, "", (), whole)]
        measures = [u for u in self.units if u.no]
        last_start = measures[-1].paras[0] if measures else -1
        cut = _closing_start(view[:closing_from], roles, last_start, self.scheme)
        for j in range(cut, n):
            if roles[j] != "heading":
                roles[j] = "closing"
        return self._layout()

    def _read_one(self, i: int, p: str, v: str, whole: list[int]) -> int:
        """Read paragraph ``i`` (and the heading lines that follow it); the index of the next one to read."""
        roles = self.roles
        start = self.measure_start(i) if self.scheme != "whole" else None
        a = self.arabic[i]
        if a is not None:
            self.prev_number = (a[0], a[1], start is not None)
        if start is not None:
            no, suffix, label, style = start
            self.style = self.style or style
            self.current = _Unit(no, label, tuple(self.sections), [i], suffix=suffix)
            self.units.append(self.current)
            self.last = (no, parse_number(suffix[1:]) if suffix else 0)
            roles[i] = "measure"
            self.new_section = False
            return i + 1
        sec = _section_of(p, v, self.scheme)
        if sec is not None:
            self._push_section(sec)
            roles[i] = "heading"
            self.current = None
            self.new_section = True
            self.prev_number = None  # a sub-list does not go on across a heading
            if self.scheme == "numbered" and sec[0] == 5 and not _heading_like(v):
                # 一、总体要求。2021年，全省法院…: the heading opens its section's introduction
                self._continue(i)
            return i + 1
        if self.scheme == "whole":
            roles[i] = "measure"
            whole.append(i)
            return i + 1
        end = self.heading_run(i)
        if end > i:
            text = "".join(self.paras[i:end]).strip()
            if i > 0 and roles[i - 1] == "heading" and self.sections:
                # the rest of a heading broken over lines
                rank, ordinal, heading = self.sections[-1]
                self.sections[-1] = (rank, ordinal, heading + text)
            else:
                self._push_section((20, text, _squash(text)))
            for j in range(i, end):
                roles[j] = "heading"
            self.current = None
            return end
        self._continue(i)
        return i + 1

    def _push_section(self, sec: tuple[int, str, str]) -> None:
        rank = sec[0]
        if rank == 0:  # 附则 / 总则 without a number: at the level of the document's top sections
            rank = min((s[0] for s in self.sections), default=12)
            sec = (rank, sec[2], sec[2])
        self.sections = [s for s in self.sections if s[0] < rank] + [sec]

    def _continue(self, i: int) -> None:
        """Paragraph ``i`` continues the open measure or passage, or opens a passage."""
        if self.current is None:
            # 引言 for the preamble, 第三章引言 / 第二部分引言 for a section's introduction
            self.current = _Unit(0, "", tuple(self.sections), [], anchor=_section_ref(self.sections) + "引言")
            self.units.append(self.current)
        self.current.paras.append(i)
        if self.current.no:
            self.roles[i] = "measure"
        else:
            self.roles[i] = "intro" if self.current.sections else "preamble"

    def _layout(self) -> Layout:
        roles = self.roles
        owner = [-1] * len(self.paras)
        chunks: list[Chunk] = []
        seen: dict[str, int] = {}
        for u in self.units:
            idx = [i for i in u.paras if roles[i] in ("measure", "preamble", "intro")]
            if not idx:
                continue
            chunk = _make_chunk(self.doc, self.scheme, u, idx, self.paras, self.view, seen)
            for i in idx:
                owner[i] = len(chunks)
            chunks.append(chunk)
        return Layout(self.scheme, tuple(roles), tuple(owner), tuple(chunks))


def _section_ref(sections: Sequence[tuple[int, str, str]]) -> str:
    """第三章第一节, 第二部分: where a section is, as a citation names it."""
    out = ""
    for rank, ordinal, _ in sections:
        if rank == 5:
            try:
                out += f"第{to_chinese_number(parse_number(ordinal))}部分"
            except ValueError:
                out += ordinal
        else:
            out += ordinal
    return out


def _lead_phrase(body: str, limit: int = 40) -> str:
    """The title a reform-plan measure opens with.

    ``完善市场主体救治和退出机制。扎实开展…`` → up to the full stop;
    ``完善最严格知识产权司法保护机制加快探索…`` (full stop missing) → up
    to where a policy verb opens the next clause right after a noun that closes
    a title (机制, 体系, 制度…).
    """
    body = body.strip()
    stop = re.search(r"[。；;：:！？]", body)
    first = body[: stop.start()] if stop else body
    comma = re.search(r"[，,]", first)
    clean = stop is not None and comma is None and len(first) <= limit
    candidate = first[: comma.start()] if comma else first
    strong, weak = _title_splits(candidate)
    if clean:
        # a short sentence ending in a full stop is the title, unless a strong
        # title noun is followed by a long clause the full stop really belongs to
        strong = [i for i in strong if len(candidate) - i >= 8]
        return candidate[: strong[0]] if strong else candidate.strip("“”\"' ")
    if strong or weak:
        return candidate[: (strong or weak)[0]]
    if len(candidate) <= limit:
        return candidate.strip("“”\"' ")
    return candidate[:limit].rstrip() + "…"


def _as_printed(found: str, view: str, printed: str) -> str:
    """The part of ``printed`` that ``found`` (a phrase of its simplified ``view``) stands for."""
    if view == printed:
        return found
    core = found.removesuffix("…")
    k = view.find(core)
    return found if k < 0 else printed[k : k + len(core)] + found[len(core) :]


def _title_splits(text: str) -> tuple[list[int], list[int]]:
    """Positions where a policy verb follows a title-closing noun (strong, weak)."""
    strong: list[int] = []
    weak: list[int] = []
    for i in range(6, len(text) - 3):
        if text.startswith(_POLICY_VERBS, i):
            # endswith(…, 0, i) looks at text[:i] without copying it (copies were quadratic on long lines)
            if text.endswith(_STRONG_ENDINGS, 0, i):
                strong.append(i)
            elif text.endswith(_WEAK_ENDINGS, 0, i):
                weak.append(i)
    return strong, weak


def _article_title(label: str, body: str) -> str:
    if m := re.match(r"^\s*[【\[]([^】\]]{1,30})[】\]]", body):
        return m.group(1)
    return label


def _closing_start(paragraphs: Sequence[str], roles: list[str], last_start: int, scheme: str) -> int:
    """Index of the first paragraph of closing matter after the last measure (len if none).

    ``last_start`` is the paragraph that opens the last measure.  Explicit
    closing lines (附件, 抄送, 特此通知) were already cut off by the caller.
    """
    n = len(paragraphs)
    if last_start < 0:
        return n
    # a signature (落款): issuer and date lines at the very end
    while n - 1 > last_start and _is_signature(paragraphs[n - 1]):
        n -= 1
    if scheme in ("numbered", "item"):
        # a paragraph about the whole plan (全省各级法院要根据本要点…) is not part of the last measure
        for j in range(last_start + 1, n):
            p = paragraphs[j]
            if roles[j] == "measure" and (_SELF_REFERENCE.search(p) or _CLOSING_SUBJECT.match(p)):
                return j
    return n


def _is_signature(p: str) -> bool:
    return bool(_DATE_LINE.match(p) or (_ORG_LINE.match(p) and len(p) <= 30))


def segment_document(doc: Document) -> Layout:
    """Read ``doc`` into sections, measures and passages; return the roles of all paragraphs and the chunks."""
    return _Reader(doc).read()


def chunk_document(doc: Document) -> list[Chunk]:
    """The chunks of ``doc`` in document order: its measures, and passages for a preamble or section introduction."""
    return list(segment_document(doc).chunks)


def _make_chunk(
    doc: Document, scheme: str, u: _Unit, idx: list[int], paras: Sequence[str], view: Sequence[str], seen: dict[str, int]
) -> Chunk:
    text = "\n".join(paras[i] for i in idx)
    section = " / ".join(s[2] for s in u.sections)
    if not u.no:  # a passage
        title = u.sections[-1][2] if u.sections else "引言"
        key = f"{doc.doc_id}#{u.anchor}"
    else:
        body = text[len(u.label) :].lstrip() if u.label else text
        if scheme == "article":
            title = _article_title(u.label, body)
        elif scheme == "whole":
            title = doc.title
        else:
            body_view = "\n".join(view[i] for i in idx)[len(u.label) :].lstrip()
            title = _as_printed(_lead_phrase(body_view), body_view, body)
        key = f"{doc.doc_id}#{u.no}{u.suffix}"
    seen[key] = seen.get(key, 0) + 1
    # numbering that restarts per section would repeat a key; keep ids unique and stable
    chunk_id = key if seen[key] == 1 else f"{key}~{seen[key]}"
    return Chunk(
        chunk_id=chunk_id,
        doc_id=doc.doc_id,
        doc_title=doc.title,
        section=section,
        measure_no=u.no,
        measure_title=title,
        text=text,
        sentences=split_sentences(text),
        citation=make_citation(doc, scheme, u),
        label=u.label,
        measure_suffix=u.suffix,
    )


def _cn_date(iso: str) -> str:
    y, mo, d = iso.split("-")
    return f"{int(y)}年{int(mo)}月{int(d)}日"


def make_citation(doc: Document, scheme: str, m: _Unit) -> str:
    """The reference a clerk pastes into a report.

    * laws and rules (articles): ``《人民法院在线诉讼规则》第四条``,
      ``《中华人民共和国刑法》第一百三十三条之一``;
    * reform plans and notices (numbered measures or items):
      ``《2021年全省法院司法改革工作要点》（广东高院，2021年11月10日）第一部分第5项``;
    * an unnumbered document, or its preamble: ``《title》（issuer，date）``;
    * a section's introduction: the section, ``《…》第三章``, ``《…》（…）第二部分``.
    """
    head = f"《{doc.title}》"
    if scheme == "article" and m.no:
        return head + re.sub(r"\s+", "", m.label)
    facts = "，".join(x for x in (doc.source, _cn_date(doc.date) if doc.date else "") if x)
    if scheme != "article":
        head += f"（{facts}）" if facts else ""
    if not m.no:
        return head + _section_ref(m.sections)
    if scheme == "whole":
        return head
    part = ""
    top = [s for s in m.sections if s[0] == 5]
    if top:
        try:
            part = f"第{to_chinese_number(parse_number(top[0][1]))}部分"
        except ValueError:
            part = ""
    elif m.sections and m.sections[0][1].startswith("第"):
        part = m.sections[0][1]
    if scheme == "item":
        return f"{head}{part}第{to_chinese_number(m.no)}项"
    return f"{head}{part}第{m.no}项"
