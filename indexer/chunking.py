"""Splitting a document into measure-level chunks with exact citations.

The hierarchy is document → section (一、 / 第X编/章/节 / 第X部分) → measure
(1. / １． / 1、 / 第X条 / 一、 where nothing finer is numbered) → sentences.

Each document is read under one *scheme*, picked from what it numbers:

``article``   laws and rules: measures are 第X条, sections are 第X编/章/节/部分;
``numbered``  reform plans: measures are 1. / １． / 1、, sections 一、 headings;
``item``      notices and opinions numbered only 一、二、: those are the measures;
``whole``     nothing is numbered: the body is one passage.

A number inside a sentence (本规定第七条, 按照第2项要求) never starts a measure:
a measure starts only at the beginning of a paragraph, with the next number in
sequence (or, for articles, a typeset label followed by a space), in the
numbering style the document's first measure used.  Sub-items （一）（二） and
continuation paragraphs stay in their measure; preamble, section intros and
closing matter (附件, 落款, 印发日期, a closing paragraph about the whole
document) are not glued onto a measure.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from .limits import MAX_SENTENCE_CHARS
from .numerals import NUMERALS as _NUM
from .numerals import parse_number, to_chinese_number
from .schema import Chunk, Document

_ARTICLE = re.compile(rf"^第([{_NUM}\d０-９]{{1,7}})条(?:之[{_NUM}]+)?(?![第款项规所的中至、和或及（(])")
_ARABIC = re.compile(r"^([0-9０-９]{1,3})\s*([.．、])(?![0-9０-９])\s*")
_CN_ITEM = re.compile(rf"^([{_NUM}]{{1,4}})、\s*")
_SECTION = re.compile(rf"^第([{_NUM}\d０-９]{{1,4}})(分编|编|章|节|部分)(?=[\s　]|$|[^\s，。,；;、的中])")
_SECTION_RANK = {"编": 0, "分编": 1, "部分": 1, "章": 2, "节": 3}
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


@dataclass(frozen=True)
class Layout:
    """How a document's paragraphs were read.

    ``roles[i]`` is the role of ``doc.paragraphs[i]``: ``preamble``, ``heading``,
    ``intro`` (text under a heading before its first measure), ``measure`` or
    ``closing``.  ``owner[i]`` is the index of the chunk a measure paragraph
    belongs to, or -1.
    """

    scheme: str
    roles: tuple[str, ...]
    owner: tuple[int, ...]
    chunks: tuple[Chunk, ...]


@dataclass
class _Measure:
    no: int
    label: str
    sections: tuple[tuple[int, str, str], ...]  # (rank, ordinal text, heading text)
    paras: list[int]


def _heading_like(p: str) -> bool:
    return len(p) <= 40 and not re.search(r"[。；;：:]$", p) and "。" not in p[:-1]


def detect_scheme(paragraphs: Sequence[str]) -> str:
    """Which numbering carries the measures: ``article``, ``numbered``, ``item`` or ``whole``.

    A scheme needs two numbered paragraphs, or one that is numbered 1 (a plan
    with a single measure is still a plan).
    """

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


def _is_one(numeral: str) -> bool:
    try:
        return parse_number(numeral) == 1
    except ValueError:
        return False


def _section_of(p: str, scheme: str) -> tuple[int, str, str] | None:
    """(rank, ordinal, heading) when paragraph ``p`` is a section heading."""
    if m := _SECTION.match(p):
        if len(p) > 60 or "。" in p[:-1]:
            return None
        kind = m.group(2)
        return _SECTION_RANK[kind] + 10, f"第{m.group(1)}{kind}", _squash(p)
    if scheme == "numbered" and (m := _CN_ITEM.match(p)):
        return 5, m.group(1), _squash(_lead_phrase(p) if not _heading_like(p) else p)
    if scheme == "numbered" and (m := re.match(rf"^[（(]([{_NUM}]+)[）)]", p)) and _heading_like(p):
        return 6, f"（{m.group(1)}）", _squash(p)
    if scheme == "article" and _CN_ITEM.match(p) and _heading_like(p) and len(p) <= 20:
        return 5, _CN_ITEM.match(p).group(1), _squash(p)
    return None


def _squash(heading: str) -> str:
    """第一章 总 则 → 第一章 总则: typesetters space out the names of short headings."""
    m = _SECTION.match(heading)
    head, name = (heading[: m.end()], heading[m.end() :]) if m else ("", heading)
    name = re.sub(r"(?<=[\u4e00-\u9fff])[ \u3000](?=[\u4e00-\u9fff])", "", name.strip())
    return f"{head} {name}".strip() if head else name


def _measure_start(p: str, scheme: str, last: int, style: str | None, new_section: bool) -> tuple[int, str, str] | None:
    """(number, label, delimiter style) when paragraph ``p`` opens the next measure."""
    if scheme == "article":
        m = _ARTICLE.match(p)
        if not m:
            return None
        try:
            n = parse_number(m.group(1))
        except ValueError:
            return None
        spaced = len(p) == m.end() or p[m.end()] in " \u3000\t【"
        if n == last + 1 or (n > last and spaced and (last > 0 or n <= 3)):
            return n, m.group(0), "条"
        return None
    if scheme == "numbered":
        m = _ARABIC.match(p)
        if not m:
            return None
        n = int(unicodedata.normalize("NFKC", m.group(1)))
        delim = "、" if m.group(2) == "、" else "."
        if style is not None and delim != style:
            return None
        if n == last + 1 or (n == 1 and new_section) or (last == 0 and n <= 3):
            return n, p[: m.end()].rstrip(), delim
        return None
    if scheme == "item":
        m = _CN_ITEM.match(p)
        if not m:
            return None
        try:
            n = parse_number(m.group(1))
        except ValueError:
            return None
        if n == last + 1 or (last == 0 and n <= 3):
            return n, p[: m.end()].rstrip(), "、"
    return None


def _lead_phrase(body: str, limit: int = 40) -> str:
    """The title a reform-plan measure opens with.

    ``完善市场主体救治和退出机制。扎实开展…`` → up to the full stop;
    ``完善金融审判创新工作机制推动证券纠纷代表人诉讼…`` (full stop missing) → up
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
    """Read ``doc`` into sections and measures; return the roles of all paragraphs and the chunks."""
    paras = doc.paragraphs
    scheme = detect_scheme(paras)
    roles = ["preamble"] * len(paras)
    measures: list[_Measure] = []
    sections: list[tuple[int, str, str]] = []
    style: str | None = None
    new_section = False
    current: _Measure | None = None
    closing_from = len(paras)
    for i, p in enumerate(paras):
        if measures and _CLOSING_START.match(p):
            # 附件, 抄送, 特此通知…: nothing after this is a measure
            closing_from = i
            break
        last = measures[-1].no if measures else 0
        start = _measure_start(p, scheme, last, style, new_section) if scheme != "whole" else None
        if start is not None:
            n, label, delim = start
            style = style or delim
            current = _Measure(n, label, tuple(sections), [i])
            measures.append(current)
            roles[i] = "measure"
            new_section = False
            continue
        sec = _section_of(p, scheme)
        if sec is not None:
            rank = sec[0]
            sections = [s for s in sections if s[0] < rank] + [sec]
            roles[i] = "heading"
            current = None
            new_section = True
            continue
        if scheme == "whole":
            roles[i] = "measure"
            continue
        if current is not None:
            current.paras.append(i)
            roles[i] = "measure"
        elif measures or sections:
            roles[i] = "intro"
    if scheme == "whole":
        measures = [_Measure(1, "", (), [i for i, r in enumerate(roles) if r == "measure"])] if paras else []
    last_start = measures[-1].paras[0] if measures and scheme != "whole" else -1
    cut = _closing_start(paras[:closing_from], roles, last_start, scheme)
    for i in range(cut, len(paras)):
        roles[i] = "closing" if roles[i] in ("measure", "preamble", "intro") else roles[i]
    owner = [-1] * len(paras)
    chunks: list[Chunk] = []
    seen: dict[str, int] = {}
    for m in measures:
        idx = [i for i in m.paras if roles[i] == "measure"]
        if not idx:
            continue
        chunk = _make_chunk(doc, scheme, m, [paras[i] for i in idx], seen)
        for i in idx:
            owner[i] = len(chunks)
        chunks.append(chunk)
    return Layout(scheme, tuple(roles), tuple(owner), tuple(chunks))


def chunk_document(doc: Document) -> list[Chunk]:
    """The measure-level chunks of ``doc``, in document order."""
    return list(segment_document(doc).chunks)


def _make_chunk(doc: Document, scheme: str, m: _Measure, lines: list[str], seen: dict[str, int]) -> Chunk:
    text = "\n".join(lines)
    body = text[len(m.label) :].lstrip() if m.label else text
    if scheme == "article":
        title = _article_title(m.label, body)
    elif scheme == "whole":
        title = doc.title
    else:
        title = _lead_phrase(body)
    section = " / ".join(s[2] for s in m.sections)
    key = f"{doc.doc_id}#{m.no}"
    seen[key] = seen.get(key, 0) + 1
    # numbering that restarts per section would repeat a key; keep ids unique and stable
    chunk_id = key if seen[key] == 1 else f"{key}~{seen[key]}"
    return Chunk(
        chunk_id=chunk_id,
        doc_id=doc.doc_id,
        doc_title=doc.title,
        section=section,
        measure_no=m.no,
        measure_title=title,
        text=text,
        sentences=split_sentences(text),
        citation=make_citation(doc, scheme, m),
        label=m.label,
    )


def _cn_date(iso: str) -> str:
    y, mo, d = iso.split("-")
    return f"{int(y)}年{int(mo)}月{int(d)}日"


def make_citation(doc: Document, scheme: str, m: _Measure) -> str:
    """The reference a clerk pastes into a report.

    * laws and rules (articles): ``《人民法院在线诉讼规则》第四条``;
    * reform plans and notices (numbered measures or items):
      ``《2021年全省法院司法改革工作要点》（广东高院，2021年11月10日）第一部分第5项``;
    * an unnumbered document: ``《title》（issuer，date）``.
    """
    head = f"《{doc.title}》"
    if scheme == "article":
        return head + re.sub(r"\s+", "", m.label)
    facts = "，".join(x for x in (doc.source, _cn_date(doc.date) if doc.date else "") if x)
    head += f"（{facts}）" if facts else ""
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
