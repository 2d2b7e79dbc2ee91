"""司法改革文件检索 — the page for judges, researchers and clerks.

Layout and widgets only: searching, answers, highlighting, comparison, exports
and the document list all come from the ``indexer`` package's public API.

Configuration (environment variables, so tests and deployments can point elsewhere):
``INDEXER_CORPUS`` (default ``corpus/`` next to this file), ``INDEXER_INDEX``
(default ``embeddings/``) and ``INDEXER_MODEL`` (default: e5-legal, built from the bundled e5-small).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import streamlit as st

import indexer as ix

log = logging.getLogger("indexer.app")

HERE = Path(__file__).resolve().parent
EXAMPLES = ("个人破产相关改革", "网上打官司", "法官惩戒", "判决赢了但是拿不到钱", "人民陪审员怎么选")
THEMES = ("个人破产", "在线诉讼", "法官惩戒", "人民陪审员", "多元解纷")
#: what the uploader accepts and says: the table of readers (ix.FORMATS) decides
UPLOAD_TYPES = ix.FORMATS.upload_types
UPLOAD_HELP = f"{ix.FORMATS.label}（.pdf 须带文字层）"
UPLOAD_LIMIT_MB = ix.FORMATS.max_upload_bytes // 2**20

#: errors that a rebuild of the index repairs
INDEX_ERRORS = (ix.IndexDamagedError, ix.IndexMismatchError, ix.IndexMissingError)
APP_CSS = """
<style>
/* a compact tool header instead of a landing-page title */
h1 { font-size: 1.6rem !important; padding-top: 0.2rem !important; }
div[data-testid="stMainBlockContainer"] { padding-top: 2.2rem; }
/* each result's copy strip shows exactly what is copied: the whole clause, wrapped, then ——citation.
   Its copy button is always shown (Streamlit shows it on hover only) in a gutter of its own, never over the text. */
div[data-testid="stCode"] pre { padding: 0.55rem 2.8rem 0.6rem 0.8rem !important; }
div[data-testid="stCode"] code { white-space: pre-wrap !important; overflow-wrap: anywhere; word-break: break-word;
  font-size: 0.85rem !important; line-height: 1.6 !important; font-family: inherit !important; }
div[data-testid="stCode"] > div:last-child { opacity: 1 !important; visibility: visible !important; }
/* the answer box: room below its last line */
div.hl-answer { padding-bottom: 0.75rem; }
/* the document library as cards: one column on a phone, several on a desktop */
div.lib-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(280px, 1fr)); gap: 0.6rem; margin-bottom: 0.8rem; }
div.lib-card { border: 1px solid #dde2ea; border-radius: 0.5rem; padding: 0.55rem 0.75rem; }
div.lib-card div.hl-title { font-size: 0.98rem; }
span.lib-badge { margin-left: 0.4rem; padding: 0 0.35rem; border-radius: 0.3rem; background: #e8f0fb; color: #1d4e89;
  font-size: 0.75rem; font-weight: 500; vertical-align: middle; }
div.lib-note { color: #8a5a00; }
/* the file uploader in Chinese: Streamlit's own words ("Upload", "10MB per file • TXT, …") cannot be configured */
div[data-testid="stFileUploaderDropzoneInstructions"] > div > span { display: none; }
div[data-testid="stFileUploaderDropzoneInstructions"] > div::before { content: "可把文件拖到这里 · 单个文件不超过 __LIMIT__ MB"; font-size: 0.85rem; color: #5b6470; }
section[data-testid="stFileUploaderDropzone"] button div[data-testid="stMarkdownContainer"] p { font-size: 0; }
section[data-testid="stFileUploaderDropzone"] button div[data-testid="stMarkdownContainer"] p::after { content: "选择文件"; font-size: 0.9rem; }
@media (max-width: 640px) {
  div[data-testid="stMainBlockContainer"] { padding-left: 0.8rem; padding-right: 0.8rem; }
  h1 { font-size: 1.3rem !important; }
}
</style>
"""


# ---------------------------------------------------------------- configuration and shared resources


def settings() -> tuple[str, str, str | None, str]:
    """Samples folder, index folder, model and the users' documents folder, from the environment.

    The users' folder defaults to ``data/`` beside the samples folder, so a
    deployment (or a test) that moves the samples never writes into this checkout.
    """
    corpus = os.environ.get("INDEXER_CORPUS") or str(HERE / "corpus")
    index = os.environ.get("INDEXER_INDEX") or str(HERE / "embeddings")
    model = os.environ.get("INDEXER_MODEL") or None
    data = os.environ.get("INDEXER_DATA") or str(Path(corpus).resolve().parent / "data")
    return corpus, index, model, data


def records_choices() -> bool:
    """Whether the measures users add to the excerpt are logged with their question, as training data (``INDEXER_FEEDBACK=1``)."""
    return os.environ.get("INDEXER_FEEDBACK") == "1"


@st.cache_resource(show_spinner=False)
def get_service(corpus: str, index: str, model: str | None, data: str) -> ix.IndexService:
    """One service per process: the model and the index are loaded once and shared by every session."""
    return ix.IndexService(corpus, index, model=model, data_dir=data)


@st.cache_resource(show_spinner=False)
def startup_gate(corpus: str, index: str, model: str | None) -> tuple[threading.Lock, threading.Event]:
    """The first session checks (and if needed builds) the index; the others wait for it, once per process."""
    return threading.Lock(), threading.Event()


def progress_callback(bar: Any, label: str) -> Callable[[int, int, str], None]:
    def report(done: int, total: int, _message: str) -> None:
        bar.progress(min(1.0, done / total) if total else 1.0, text=f"{label}（{done}/{total}）" if total else label)

    return report


def show_error(exc: BaseException, context: str) -> None:
    """A Chinese message saying what went wrong and what to do (from the message catalogue); never a traceback.

    The server log gets the details: the English message of an expected error,
    the whole traceback of an unexpected one (``exc_info`` is the exception
    itself, so this is right even when called after its ``except`` block ended).
    """
    if isinstance(exc, ix.IndexerError):
        log.warning("%s: %s", context, exc)
    else:
        log.error("unexpected error: %s", context, exc_info=exc)
    shown = ix.strip_paths(f"{context}：{ix.error_text(exc)}")
    st.error(ix.escape(shown), icon=":material/error:")


def offers_rebuild(exc: BaseException) -> bool:
    """Whether rebuilding the index may help: any index error, and any unexpected one; not a bad input or a missing model."""
    return isinstance(exc, INDEX_ERRORS) or not isinstance(exc, ix.IndexerError)


def guarded(context: str, view: Callable[..., None], *args: Any, service: ix.IndexService | None = None) -> None:
    try:
        view(*args)
    except Exception as exc:
        show_error(exc, context)
        if service is not None and offers_rebuild(exc):
            rebuild_button(service, f"rebuild-{context}")


def rebuild_button(service: ix.IndexService, key: str) -> None:
    if st.button("重建索引", key=key, type="primary"):
        bar = st.progress(0.0, text="正在重建索引…")
        try:
            report = service.rebuild(on_progress=progress_callback(bar, "正在计算向量"), force=True)
        except Exception as exc:
            show_error(exc, "重建索引失败")
            return
        st.session_state["notice"] = (
            f"索引已重建：现有 {report.documents} 份文件，共 {report.chunks} 条条款（复用 {report.texts_reused} 段向量，新计算 {report.texts_embedded} 段，用时 {report.seconds:.0f} 秒）。"
        )
        st.rerun()


def ensure_index(service: ix.IndexService, corpus: str, index: str, model: str | None) -> Exception | None:
    """Build the index when it is missing or stale for the corpus, with a progress bar; the error if that failed."""
    lock, done = startup_gate(corpus, index, model)
    if done.is_set():
        return None
    if not lock.acquire(blocking=False):
        with st.spinner("正在为文档建立索引，请稍候…"):
            lock.acquire()
    try:
        if done.is_set():
            return None
        box = st.empty()
        with box.container():
            st.info("正在检查文档索引；文档有新增或变化时会先建立索引，完成后即可检索。")
            bar = st.progress(0.0, text="正在读取文件…")
        try:
            report = service.ensure_built(on_progress=progress_callback(bar, "正在建立索引"))
        except Exception as exc:
            box.empty()
            return exc
        box.empty()
        if report is not None and not report.up_to_date:
            st.session_state["notice"] = (
                f"索引已更新：已收录 {report.documents} 份文件，共 {report.chunks} 条条款"
                + (f"；{len(report.skipped)} 个文件未能收录（原因见「文档库」）" if report.skipped else "")
                + "。"
            )
        done.set()
        return None
    finally:
        lock.release()


# ---------------------------------------------------------------- the selection (clerks)

FEEDBACK_NOTE = (
    "已开启训练记录：加入摘录的条款（或「以上都不相关」）会连同问题记在本机（索引文件夹的 feedback.tsv），用于按本院的提问改进排序。"
)


def selection() -> dict[str, ix.Clause]:
    return st.session_state.setdefault("selection", {})


#: logs that a measure was chosen for a question (IndexService.record_choice), when the page records choices
Recorder = Callable[[str, str], object]


def log_training(record: Callable[..., object], *args: str) -> None:
    """Append to the training log; what the user did matters more than the log, so a failure only reaches the server log."""
    try:
        record(*args)
    except ix.IndexerError as exc:
        log.warning("training log not written: %s", exc)


def toggle_clause(clause: ix.Clause, question: str | None = None, record: Recorder | None = None) -> None:
    chosen = selection()
    if clause.chunk_id in chosen:
        del chosen[clause.chunk_id]
        return
    chosen[clause.chunk_id] = clause
    if question and record is not None:
        log_training(record, question, clause.chunk_id)


def clear_selection() -> None:
    st.session_state["selection"] = {}


def select_button(clause: ix.Clause, key: str, question: str | None = None, record: Recorder | None = None) -> None:
    chosen = clause.chunk_id in selection()
    st.button(
        "✓ 已加入摘录（点击移出）" if chosen else "＋ 加入摘录",
        key=key,
        on_click=toggle_clause,
        args=(clause, question, record),
        type="secondary" if chosen else "tertiary",
    )


# ---------------------------------------------------------------- one result


def render_hit(
    view: ix.IndexView,
    hit: ix.Hit,
    terms: tuple[str, ...],
    key: str,
    found: bool = True,
    similar: bool = True,
    question: str | None = None,
    record: Recorder | None = None,
) -> None:
    chunk = hit.chunk
    clause = view.clause(hit)
    relevance = hit.signals.get("relevance", 0.0) if found else 0.0
    meta = [chunk.section, f"《{chunk.doc_title}》", clause.date]
    meta_html = " · ".join(ix.escape(m) for m in meta if m)
    with st.container(border=True):
        st.markdown(
            f'<div class="hl-title"><span class="hl-rank">{hit.rank}</span>{ix.escape(chunk.measure_title or chunk.citation)}</div>'
            f'<div class="hl-meta">{meta_html} · {ix.relevance_meter(relevance)}</div>',
            unsafe_allow_html=True,
        )
        st.markdown(
            f'<div class="hl-text">{ix.highlight_html(chunk.text, terms, chunk.sentences, hit.evidence)}</div>',
            unsafe_allow_html=True,
        )
        # st.code has a copy button: one click puts "clause text\n——citation" on the clipboard.  The text is
        # already shown above, highlighted, so the code block is styled as a one-line copy strip (APP_CSS).
        strip, button = st.columns([4, 1], vertical_alignment="center")
        strip.code(ix.copy_text(clause), language=None)
        with button:
            select_button(clause, f"sel-{key}", question, record)
        if similar:
            with st.expander("其他文件中的相似条款"):
                render_similar(view, chunk.chunk_id, key)


@st.cache_data(show_spinner=False, max_entries=512)
def cached_similar(_view: ix.IndexView, version: str, chunk_id: str) -> list[ix.Hit]:
    # a search per result: cached, so reruns of the page (every click) do not repeat them
    return _view.similar(chunk_id, top_k=3)


def render_similar(view: ix.IndexView, chunk_id: str, key: str) -> None:
    hits = cached_similar(view, view.version, chunk_id)
    if not hits:
        st.caption("其他文件中没有相似条款。")
        return
    for h in hits:
        clause = view.clause(h)
        st.markdown(
            f'<div class="hl-title">{ix.escape(h.chunk.measure_title or h.chunk.citation)}</div>'
            f'<div class="hl-meta">{ix.escape(clause.source_line)}</div>'
            f'<div class="hl-text">{ix.escape_block(h.chunk.text)}</div>'
            f'<div class="hl-cite">——{ix.escape(h.chunk.citation)}</div>',
            unsafe_allow_html=True,
        )
        select_button(clause, f"sel-sim-{key}-{h.chunk.chunk_id}")


# ---------------------------------------------------------------- 检索 (judges)


def take_pick(pick_key: str, box_key: str) -> None:
    """An example chip was clicked: put it in the text box and clear the chips."""
    picked = st.session_state.get(pick_key)
    if picked:
        st.session_state[box_key] = picked
    st.session_state[pick_key] = None


def mark_nothing(question: str, service: ix.IndexService) -> None:
    log_training(service.record_nothing, question)
    st.session_state.setdefault("marked_nothing", set()).add(question)


def nothing_button(question: str, service: ix.IndexService) -> None:
    """以上都不相关: the question is logged as answered by none of the measures shown (the calibrator's negatives)."""
    if question in st.session_state.get("marked_nothing", set()):
        st.caption("已记为「以上都不相关」。")
        return
    st.button(
        "以上都不相关",
        key="nothing",
        on_click=mark_nothing,
        args=(question, service),
        type="tertiary",
        help="记入训练记录：上面的条款都没有回答这个问题",
    )


def result_hits(
    view: ix.IndexView, hits: Sequence[ix.Hit], terms: tuple[str, ...], query: str, feedback: ix.IndexService | None, found: bool = True
) -> None:
    """A question's ranked measures (unconfirmed ones without similar measures), with the training log's note and 以上都不相关 when it is kept."""
    record = feedback.record_choice if feedback is not None else None
    if record is not None:
        st.caption(FEEDBACK_NOTE)
    for hit in hits:
        render_hit(view, hit, terms, f"q-{hit.chunk.chunk_id}", found=found, similar=found, question=query, record=record)
    if feedback is not None:
        nothing_button(query, feedback)


def search_view(view: ix.IndexView, feedback: ix.IndexService | None = None) -> None:
    """The search tab; ``feedback`` is the service that keeps the training log, when the page keeps one."""
    left, right = st.columns([5, 1], vertical_alignment="bottom")
    left.text_input(
        "输入问题或关键词（回车检索）",
        key="query",
        max_chars=200,
        placeholder="用日常语言提问，例如：判决赢了但是拿不到钱",
    )
    top_k = right.number_input("结果条数", min_value=1, max_value=20, value=5, step=1, key="top_k")
    st.pills("示例问题", EXAMPLES, key="example", on_change=take_pick, args=("example", "query"), label_visibility="collapsed")

    doc_ids = st.session_state.get("f_docs", [])
    options = view.filter_options(doc_ids)
    titles = dict(options.documents)
    labels = {i.doc_id: i.option_label() for i in view.documents()}
    active = sum(bool(st.session_state.get(k)) for k in ("f_docs", "f_years", "f_sources", "f_sections"))
    with st.expander(f"筛选：文件、年份、发布机关、部分{f'（已启用 {active} 项）' if active else ''}", key="filters"):
        a, b = st.columns(2)
        a.multiselect("文件", list(titles), format_func=lambda d: labels.get(d, titles.get(d, d)), key="f_docs", placeholder="全部文件")
        b.multiselect("年份", options.years, key="f_years", placeholder="全部年份")
        a.multiselect("发布机关", options.sources, key="f_sources", placeholder="全部机关")
        b.multiselect("部分 / 章节", options.sections, key="f_sections", placeholder="全部部分")
    filters = ix.make_filters(
        options,
        st.session_state.get("f_docs", []),
        st.session_state.get("f_years", []),
        st.session_state.get("f_sources", []),
        st.session_state.get("f_sections", []),
    )

    query = (st.session_state.get("query") or "").strip()
    if not query:
        st.info("输入一个问题，或点上面的示例。答案逐句引自文件原文并注明出处；每条结果可一键复制「条款＋出处」，或加入摘录导出为 Word。")
        return
    answer = view.ask(query, top_k=int(top_k), filters=filters or None)
    terms = view.query_terms(query)
    shown_query = ix.escape(query)
    if answer.found:
        quoted = "".join(
            f'<div class="hl-text">{ix.escape(s.sentence)} <span class="hl-cite">——{ix.escape(s.citation)}</span></div>'
            for s in answer.sentences
        )
        with st.container(border=True):
            st.markdown(
                f'<div class="hl-answer"><div class="hl-meta">关于「{shown_query}」，文件中的规定：</div>{quoted}</div>',
                unsafe_allow_html=True,
            )
        st.markdown(f"**相关条款 {len(answer.hits)} 条**")
        st.caption("每条下方的灰色条是「条款原文＋出处」，点右侧按钮即可复制。")
        result_hits(view, answer.hits, terms, query, feedback)
    else:
        # confidence below 0.6 (indexer.answer.FOUND_THRESHOLD): no answer is quoted, the ranked hits are offered unconfirmed
        st.warning(
            f"没有把握回答「{shown_query}」：未找到相关条款可以确定作答。下面是可能相关的条款，仅供参考；"
            "可以换个说法、用更具体的词，或放宽筛选条件。",
            icon=":material/search_off:",
        )
        if answer.hits:
            with st.expander(f"可能相关的条款 {len(answer.hits)} 条（未经确认，仅供参考）", expanded=True):
                result_hits(view, answer.hits, terms, query, feedback, found=False)


# ---------------------------------------------------------------- 主题比较 (researchers)


@st.cache_data(show_spinner="正在逐个文件比较…", max_entries=32)
def cached_comparison(_view: ix.IndexView, version: str, theme: str, by: str, per_group: int) -> ix.Comparison:
    # version is part of the key: after an upload the comparison is computed again
    return _view.compare(theme, by, per_group)  # type: ignore[arg-type]


def compare_view(view: ix.IndexView) -> None:
    st.text_input("主题（回车比较）", key="theme", max_chars=100, placeholder="例如：个人破产、在线诉讼、法官惩戒")
    st.pills("示例主题", THEMES, key="theme_example", on_change=take_pick, args=("theme_example", "theme"), label_visibility="collapsed")
    a, b = st.columns(2)
    with a:
        by = st.segmented_control(
            "比较对象",
            ["document", "year"],
            format_func=lambda v: "每份文件" if v == "document" else "每个年份",
            default="document",
            required=True,
            key="compare_by",
        )
    per_group = b.slider("每组显示条款数", 1, 5, 2, key="per_group")
    theme = (st.session_state.get("theme") or "").strip()
    if not theme:
        st.info("输入一个主题，查看它在每份文件（或每个年份）中的覆盖程度和最相关的条款。")
        return
    comp = cached_comparison(view, view.version, theme, by or "document", int(per_group))
    terms = view.query_terms(theme)
    rows = comp.chart_rows()
    st.markdown(f"**「{ix.escape(theme)}」的覆盖程度**（0–100：该组最相关条款回应主题的把握）", unsafe_allow_html=True)
    st.vega_lite_chart(
        None,
        {
            "data": {"values": rows},
            "mark": {"type": "bar", "cornerRadiusEnd": 3, "tooltip": True},
            "height": {"step": 26},
            "encoding": {
                # documents strongest first; years as a time line
                "y": {
                    "field": "name",
                    "type": "nominal",
                    "sort": "-x" if by == "document" else None,
                    "title": None,
                    "axis": {"labelLimit": 220},
                },
                "x": {"field": "coverage", "type": "quantitative", "title": "覆盖度", "scale": {"domain": [0, 100]}},
                "color": {
                    "field": "status",
                    "type": "nominal",
                    "title": None,
                    "scale": {"domain": ["涉及", "未涉及"], "range": ["#1d4e89", "#b8c2d0"]},
                    "legend": {"orient": "bottom"},
                },
                "tooltip": [
                    {"field": "label", "title": "文件 / 年份"},
                    {"field": "coverage", "title": "覆盖度"},
                    {"field": "matches", "title": "含主题词的条款"},
                    {"field": "measures", "title": "条款总数"},
                ],
            },
        },
        width="stretch",
    )
    strong = [g for g in comp.groups if g.found]
    weak = [g for g in comp.groups if not g.found]
    if not strong:
        st.warning("未找到相关条款：没有哪份文件明确涉及这个主题。下面列出各组最接近的条款，仅供参考。", icon=":material/search_off:")
    render_groups(view, strong or weak, terms)
    if strong and weak:
        with st.expander(f"其余 {len(weak)} 组（基本未涉及该主题）"):
            render_groups(view, weak, terms)


def render_groups(view: ix.IndexView, groups: list[ix.GroupCoverage], terms: tuple[str, ...], per_row: int = 3) -> None:
    for start in range(0, len(groups), per_row):
        cols = st.columns(per_row)
        for col, g in zip(cols, groups[start : start + per_row], strict=False):
            with col, st.container(border=True):
                st.markdown(
                    f'<div class="hl-title" title="{ix.escape(g.label)}">{ix.escape(g.short_label)}</div>'
                    f'<div class="hl-meta">覆盖度 {round(100 * g.coverage)} · 含主题词的条款 {g.matches}/{g.measures}</div>',
                    unsafe_allow_html=True,
                )
                for h in g.hits:
                    clause = view.clause(h)
                    sentences = [h.chunk.sentences[i] for i in h.evidence] or [h.chunk.text]
                    st.markdown(
                        f'<div class="hl-meta">{ix.escape(h.chunk.measure_title or h.chunk.citation)}</div>'
                        f'<div class="hl-text">{"…".join(ix.highlight_html(s, terms) for s in sentences)}</div>'
                        f'<div class="hl-cite">——{ix.escape(h.chunk.citation)}</div>',
                        unsafe_allow_html=True,
                    )
                    select_button(clause, f"sel-cmp-{g.key}-{h.chunk.chunk_id}")


# ---------------------------------------------------------------- 文档库 (everyone)


def titles_after(service: ix.IndexService, before: dict[str, str]) -> dict[str, str]:
    """Titles of the documents before an update and after it (added documents are named by title too)."""
    try:
        after = {i.doc_id: i.title for i in service.documents()}
    except Exception:  # the notice then names ids; the update itself succeeded
        log.warning("cannot list documents after an update", exc_info=True)
        after = {}
    return {**before, **after}


def document_cards(infos: tuple[ix.DocumentInfo, ...]) -> str:
    """The document list as cards: readable at phone width, where a table shows only its first column."""
    cards = []
    for i in infos:
        meta = " · ".join(ix.escape(x) for x in (i.source, i.date or "未注明日期", f"{i.measures} 条", i.fmt) if x)
        notes = "；".join(ix.warning_text(w) for w in i.warnings)
        badge = '<span class="lib-badge">样例</span>' if i.sample else ""
        cards.append(
            f'<div class="lib-card"><div class="hl-title">{ix.escape(i.title)}{badge}</div>'
            f'<div class="hl-meta">{meta}</div><div class="hl-meta lib-file">{ix.escape(i.file_name)}</div>'
            + (f'<div class="hl-meta lib-note">提示：{ix.escape(notes)}</div>' if notes else "")
            + "</div>"
        )
    return '<div class="lib-grid">' + "".join(cards) + "</div>"


def run_update(label: str, action: Callable[[Callable[[int, int, str], None]], Any], failure: str) -> Any:
    """Run an index update with a progress bar; None (and a message) when it failed."""
    bar = st.progress(0.0, text=f"{label}…")
    try:
        return action(progress_callback(bar, label))
    except Exception as exc:
        bar.empty()
        show_error(exc, failure)
        return None


def library_view(service: ix.IndexService, view: ix.IndexView) -> None:
    infos = view.documents()
    titles = {i.doc_id: i.title for i in infos}
    total = sum(i.measures for i in infos)
    head, download = st.columns([3, 1], vertical_alignment="center")
    head.markdown(f"**已收录 {len(infos)} 份文件，共 {total} 条条款**")
    download.download_button(
        "下载文件清单（CSV）", ix.library_csv(infos), file_name="文件清单.csv", mime="text/csv", on_click="ignore", key="dl_csv"
    )
    st.markdown(document_cards(infos), unsafe_allow_html=True)
    skipped = view.skipped_files()
    if skipped:
        lines = "\n".join(f"- {ix.escape(s.file_name)}：{ix.escape(s.reason)}" for s in skipped)
        st.warning(f"未能收录 {len(skipped)} 个文件：\n\n{lines}", icon=":material/description:")

    folders = "样例文件夹 corpus 和数据文件夹 data" if service.data_dir is not None else "文档文件夹"
    if st.button("重新扫描文件夹", key="rescan", help=f"文件直接放进（或移出）{folders}后，点此更新索引"):
        report = run_update("正在更新索引", lambda p: service.rescan(on_progress=p), "未能更新索引")
        if report is not None:
            st.session_state["notice"] = ix.describe_report(report, titles_after(service, titles))
            st.rerun()

    with st.container(border=True):
        st.markdown("**添加文件**")
        n = st.session_state.setdefault("upload_round", 0)
        upload = st.file_uploader(
            f"支持 {UPLOAD_HELP}，单个文件不超过 {UPLOAD_LIMIT_MB} MB；添加后即可检索",
            type=list(UPLOAD_TYPES),
            key=f"upload-{n}",
            max_upload_size=UPLOAD_LIMIT_MB,
            help="文件先经检查（类型、大小、名称、内容），与已收录文件内容相同的不会重复添加。文件较大时建立索引需要一些时间，期间其他人仍可正常检索。",
        )
        if st.button("加入文库并更新索引", disabled=upload is None, type="primary", key="add_doc") and upload is not None:
            name = upload.name
            result = run_update(
                "正在为新文件建立索引", lambda p: service.add(name, upload.getvalue(), on_progress=p), f"未能添加 {ix.file_name(name)}"
            )
            if result is not None:
                doc, report = result
                record = service.view().records().get(doc.doc_id)
                measures = record.chunks if record is not None else 0
                st.session_state["notice"] = (
                    f"已添加《{doc.title}》（{ix.file_name(doc.path)}，{measures} 条条款）。现有 {report.documents} 份文件，共 {report.chunks} 条条款。"
                )
                st.session_state["upload_round"] = n + 1  # a fresh, empty uploader
                st.rerun()

    with st.container(border=True):
        st.markdown("**移除文件**")
        if len(infos) <= 1:
            # an index needs at least one document; removing the last would leave the page with nothing to search
            st.caption("文库中至少要保留一份文件：先添加新文件，再移除这一份。")
        else:
            remove_box(service, infos, view.records())
        hidden = service.hidden_samples()
        if hidden and st.button(f"恢复已移除的 {len(hidden)} 份样例文件", key="restore_samples"):
            result = run_update("正在更新索引", lambda p: service.restore_samples(on_progress=p), "未能恢复样例文件")
            if result is not None:
                st.session_state["notice"] = "已恢复样例文件。" + ix.describe_report(result[1], titles_after(service, titles))
                st.rerun()


def remove_box(service: ix.IndexService, infos: tuple[ix.DocumentInfo, ...], records: dict[str, ix.DocumentRecord]) -> None:
    by_id = {i.doc_id: i for i in infos}
    doc_id = st.selectbox(
        "要移除的文件",
        list(by_id),
        format_func=lambda d: by_id[d].option_label() if d in by_id else d,
        index=None,
        placeholder="选择文件（标题、文件名、发布机关、日期）",
        key="remove_doc_id",
    )
    info = by_id.get(doc_id) if doc_id else None
    if info is None:
        return
    r = st.session_state.setdefault("remove_round", 0)
    # what removal will do is decided by where the file is now, as the removal itself decides it
    record = records.get(info.doc_id)
    sample = record is not None and service.library.is_sample(service.library.path_of(record))
    what = "从文库中隐藏（样例文件本身保留，可随时恢复）" if sample else "从数据文件夹中删除"
    sure = st.checkbox(f"确认移除《{info.title}》：文件 {info.file_name} 将{what}", key=f"remove_sure-{r}")
    if st.button("移除并更新索引", disabled=not sure, key="remove_doc"):
        report = run_update("正在更新索引", lambda p: service.remove(info.doc_id, on_progress=p), f"未能移除 {info.file_name}")
        if report is not None:
            st.session_state["notice"] = ix.describe_report(report, {i.doc_id: i.title for i in infos})
            st.session_state["remove_round"] = r + 1  # untick the confirmation
            st.session_state["selection"] = {k: v for k, v in selection().items() if not k.startswith(f"{info.doc_id}#")}
            st.rerun()


# ---------------------------------------------------------------- 摘录导出 (clerks)


@st.cache_data(show_spinner=False, max_entries=16)
def cached_exports(clauses: tuple[ix.Clause, ...], title: str) -> tuple[bytes, str]:
    return ix.to_docx(clauses, title), ix.to_markdown(clauses, title)


def export_view() -> None:
    chosen = list(selection().values())
    if not chosen:
        st.info("还没有摘录。在「检索」或「主题比较」的结果中点「＋ 加入摘录」，再回到这里导出 Word 或 Markdown。")
        return
    st.markdown(f"**已选 {len(chosen)} 条**（每条后附出处、文件标题和日期）")
    for c in chosen:
        with st.container(border=True):
            st.markdown(
                f'<div class="hl-title">{ix.escape(c.measure_title or c.citation)}</div>'
                f'<div class="hl-text">{ix.escape_block(c.text)}</div>'
                f'<div class="hl-cite">——{ix.escape(c.citation)}</div>'
                f'<div class="hl-meta">{ix.escape(c.source_line)}</div>',
                unsafe_allow_html=True,
            )
            st.button("移出", key=f"drop-{c.chunk_id}", on_click=toggle_clause, args=(c,), type="tertiary")
    title = st.text_input("导出文件标题", value="摘录条款", max_chars=60, key="export_title") or "摘录条款"
    docx_bytes, markdown = cached_exports(tuple(chosen), title)
    row = st.container(horizontal=True)
    row.download_button(
        "下载 Word（.docx）",
        docx_bytes,
        file_name=ix.export_filename(title, ".docx"),
        mime=ix.DOCX_MIME,
        on_click="ignore",
        type="primary",
        key="dl_docx",
    )
    row.download_button(
        "下载 Markdown（.md）",
        markdown.encode("utf-8"),
        file_name=ix.export_filename(title, ".md"),
        mime=ix.MARKDOWN_MIME,
        on_click="ignore",
        key="dl_md",
    )
    row.button("清空摘录", on_click=clear_selection, key="clear_sel")


# ---------------------------------------------------------------- the page


def main() -> None:
    st.set_page_config(
        page_title="司法改革文件检索",
        page_icon="⚖️",
        layout="wide",
        menu_items={"Get help": None, "Report a bug": None, "About": "司法改革文件检索：离线语义检索与带出处的条款摘录。"},
    )
    st.markdown(ix.HIGHLIGHT_STYLE + APP_CSS.replace("__LIMIT__", str(UPLOAD_LIMIT_MB)), unsafe_allow_html=True)
    st.title(":material/balance: 司法改革文件检索")
    corpus, index, model, data = settings()
    service = get_service(corpus, index, model, data)
    if not Path(corpus).is_dir():
        st.error(ix.escape(ix.text("corpus_missing", name=Path(corpus).name)), icon=":material/error:")
        return
    failure = ensure_index(service, corpus, index, model)
    if failure is None:
        try:
            view = service.view()
        except Exception as exc:
            failure = exc
    if failure is not None:
        show_error(failure, "无法打开文档索引")
        # rebuilding helps with a damaged or mismatched index, not with a missing model or an empty folder
        if offers_rebuild(failure):
            rebuild_button(service, "rebuild")
        return
    notice = st.session_state.pop("notice", None)
    if notice:
        st.success(ix.escape(notice), icon=":material/check_circle:")
    n_sel = len(selection())
    search_tab, compare_tab, library_tab, export_tab = st.tabs(
        [":material/search: 检索", ":material/bar_chart: 主题比较", ":material/library_books: 文档库", ":material/content_paste: 摘录导出"],
        key="tab",
    )
    with search_tab:
        if n_sel:
            st.caption(f"已加入摘录 {n_sel} 条 · 在「摘录导出」中下载 Word / Markdown")
        guarded("检索出错", search_view, view, service if records_choices() else None, service=service)
    with compare_tab:
        guarded("比较出错", compare_view, view, service=service)
    with library_tab:
        guarded("文档库出错", library_view, service, view, service=service)
    with export_tab:
        guarded("导出出错", export_view)


try:
    main()
except Exception as exc:  # the last line of defence: a message, never a traceback
    show_error(exc, "页面出错")
