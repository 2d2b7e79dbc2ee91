"""The page, driven by Streamlit's AppTest against a small index built with the real model."""

from __future__ import annotations

import html
import io
import re
from pathlib import Path
from typing import Any

import docx
import pyarrow.ipc
import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from indexer.export import DOCX_MIME, MARKDOWN_MIME

from .app_support import HOSTILE_DOC, HOSTILE_NAME, build_small_index, copy_index, small_corpus
from .conftest import ROOT

APP = str(ROOT / "app.py")
#: the first run loads the model and the index; a build takes a few seconds more
TIMEOUT = 120
PLAN_TITLE = "《2021年全省法院司法改革工作要点》"
RAW_TAG = re.compile(r"<\s*/?\s*(script|b|i|img)\b", re.I)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("app")
    build_small_index(root)
    return root


def _app(monkeypatch: pytest.MonkeyPatch, corpus: Path, index: Path, model: str | None = None) -> AppTest:
    monkeypatch.setenv("INDEXER_CORPUS", str(corpus))
    monkeypatch.setenv("INDEXER_INDEX", str(index))
    if model:
        monkeypatch.setenv("INDEXER_MODEL", model)
    else:
        monkeypatch.delenv("INDEXER_MODEL", raising=False)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def app(built: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    return _app(monkeypatch, built / "corpus", built / "index")


def ask(at: AppTest, question: str) -> AppTest:
    at.text_input(key="query").input(question).run()
    assert not at.exception, at.exception
    return at


def plain(element: Any) -> str:
    """A message's text as the reader sees it (markdown escapes such as &#95; decoded)."""
    return html.unescape(element.value)


def html_shown(at: AppTest) -> list[str]:
    """Every markdown the page rendered with HTML allowed."""
    return [m.value for m in at.markdown if m.proto.allow_html and not m.value.lstrip().startswith("<style>")]


def copy_texts(at: AppTest) -> list[str]:
    """The "clause\n——citation" texts of the copy strips, in result order."""
    return [c.value for c in at.code]


def result_citations(at: AppTest) -> list[str]:
    return [t.rsplit("\n——", 1)[1] for t in copy_texts(at)]


def test_page_opens_with_title_tabs_and_examples(app: AppTest) -> None:
    assert app.title[0].value.endswith("司法改革文件检索")
    assert [t.label.split(" ", 1)[1] for t in app.tabs] == ["检索", "主题比较", "文档库", "摘录导出"]
    assert "网上打官司" in app.get("button_group")[0].proto.options[1].content
    assert not app.error


def test_a_question_gives_a_cited_answer_and_ranked_results(app: AppTest) -> None:
    ask(app, "个人破产相关改革")
    shown = html_shown(app)
    answer = [m for m in shown if "hl-cite" in m and "——" in m and "hl-text" in m]
    assert answer and "个人破产" in answer[0] and f"——{PLAN_TITLE}（广东高院，2021年11月10日）第一部分第5项" in answer[0]
    # the first result: measure title, section, document, date, relevance, highlighted text
    head = next(m for m in shown if "hl-rank" in m)
    assert "完善市场主体救治和退出机制" in head and "一、完善服务中心大局工作机制" in head
    assert PLAN_TITLE in head and "2021-11-10" in head and "相关度" in head
    body = next(m for m in shown if '<mark class="hl-term">个人破产</mark>' in m)
    assert '<mark class="hl-sent">' in body
    # one-click copy: each result's copy strip is "clause text\n——citation"
    first = copy_texts(app)[0]
    assert first.startswith("5.完善市场主体救治和退出机制。") and first.endswith("\n——" + result_citations(app)[0])
    assert len(copy_texts(app)) == 5
    assert not app.warning and not app.error


def test_example_questions_fill_the_search_box(app: AppTest) -> None:
    app.button_group(key="example").set_value("网上打官司").run()
    assert not app.exception
    assert app.text_input(key="query").value == "网上打官司"
    assert app.button_group(key="example").value is None  # ready for the next click
    assert any("第四部分第19项" in c for c in result_citations(app))


def test_not_found_says_so_clearly(app: AppTest) -> None:
    ask(app, "今天天气怎么样")
    assert any("未找到相关条款" in w.value for w in app.warning)
    assert not any("文件中的规定" in m for m in html_shown(app))  # no answer block
    # the nearest measures are still there, marked as low relevance, for whoever wants to look
    assert "相关度低" in app.expander[-1].label


def test_top_k_and_filters_narrow_results(app: AppTest) -> None:
    ask(app, "立案")
    app.number_input(key="top_k").set_value(10).run()
    everything = result_citations(app)
    assert len(everything) == 10 and len({c.split("》")[0] for c in everything}) > 1

    app.multiselect(key="f_docs").set_value(["rules_articles"]).run()
    only_rules = result_citations(app)
    assert only_rules and all(c.startswith("《某某法院诉讼服务规则》") for c in only_rules)
    assert len(only_rules) <= 5 < len(everything)  # its 4 articles and its preamble

    app.multiselect(key="f_sections").set_value(["第二章 立案服务"]).run()
    assert set(result_citations(app)) <= {"《某某法院诉讼服务规则》第三条", "《某某法院诉讼服务规则》第四条"}

    app.multiselect(key="f_docs").set_value([]).run()
    app.multiselect(key="f_sections").set_value([]).run()
    app.multiselect(key="f_years").set_value([2022]).run()
    assert all("2022年全市法院" in c for c in result_citations(app))
    app.multiselect(key="f_years").set_value([]).run()
    app.multiselect(key="f_sources").set_value(["某某人民法院"]).run()
    assert all("某某人民法院关于进一步规范执行工作的通知" in c for c in result_citations(app))
    assert "已启用 1 项" in app.expander[0].label


def _capture_downloads(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Record what each download button would serve."""
    seen: list[dict[str, Any]] = []
    original = MemoryMediaFileStorage.load_and_get_id

    def spy(self: Any, path_or_data: Any, mimetype: str, kind: Any, filename: str | None = None) -> str:
        seen.append({"data": path_or_data, "mimetype": mimetype, "filename": filename})
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", spy)
    return seen


def test_selection_exports_a_real_word_file_and_markdown(app: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    downloads = _capture_downloads(monkeypatch)
    ask(app, "法官惩戒")
    clause, citation = copy_texts(app)[0].rsplit("\n——", 1)
    add = next(b for b in app.button if b.key and b.key.startswith("sel-q-"))
    add.click().run()
    assert len(app.session_state["selection"]) == 1
    assert next(b for b in app.button if b.key == add.key).label.startswith("✓ 已加入摘录")

    docx_file = [d for d in downloads if d["mimetype"] == DOCX_MIME][-1]
    assert docx_file["filename"] == "摘录条款.docx"
    paragraphs = [p.text for p in docx.Document(io.BytesIO(docx_file["data"])).paragraphs]
    first_line = clause.splitlines()[0]
    i = paragraphs.index(first_line)
    assert f"——{citation}" in paragraphs[i:] and f"{PLAN_TITLE} 2021-11-10" in paragraphs[i:]
    markdown = [d for d in downloads if d["mimetype"] == MARKDOWN_MIME][-1]["data"].decode("utf-8")
    assert f"> {first_line}" in markdown and f"——{citation}" in markdown

    # a second result, then remove the first again from the export tab
    next(b for b in app.button if b.key and b.key.startswith("sel-q-") and b.key != add.key).click().run()
    assert len(app.session_state["selection"]) == 2
    app.button(key="drop-" + add.key.removeprefix("sel-q-")).click().run()
    assert list(app.session_state["selection"]) != [add.key.removeprefix("sel-q-")] and len(app.session_state["selection"]) == 1
    app.button(key="clear_sel").click().run()
    assert app.session_state["selection"] == {}


def test_similar_measures_come_from_other_documents(app: AppTest) -> None:
    ask(app, "网上立案")
    sims = [m for m in html_shown(app) if m.startswith('<div class="hl-title">') and "hl-cite" in m]
    assert sims
    first_doc = result_citations(app)[0].split("》")[0] + "》"
    # the first result's similar measures are listed right after it, and come from other documents
    assert all(first_doc not in m for m in sims[:3])


def test_html_in_a_query_stays_text(app: AppTest) -> None:
    ask(app, "<b>立案</b><script>alert(1)</script><img src=x onerror=alert(2)>")
    shown = html_shown(app)
    assert not any(RAW_TAG.search(m) for m in shown)
    assert any("&lt;b&gt;立案&lt;/b&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in m for m in shown + [w.value for w in app.warning])
    assert not app.error


def test_compare_view_shows_coverage_chart_and_best_measures(app: AppTest) -> None:
    app.text_input(key="theme").input("个人破产").run()
    assert not app.exception
    (chart,) = app.get("vega_lite_chart")
    bars = pyarrow.ipc.open_stream(chart.proto.data.data).read_all().to_pylist()  # the chart's rows, as sent
    assert bars[0]["label"] == "2021年全省法院司法改革工作要点" and bars[0]["status"] == "涉及"
    assert len(bars) == 4 and bars[0]["coverage"] > bars[1]["coverage"]
    cards = [m for m in html_shown(app) if m.startswith('<div class="hl-title">') and "覆盖度" in m]
    assert "2021年全省法院司法改革工作要点" in cards[0]
    app.segmented_control(key="compare_by").set_value("year").run()
    cards = [m for m in html_shown(app) if m.startswith('<div class="hl-title">') and "覆盖度" in m]
    assert cards[0].startswith('<div class="hl-title">2021年</div>')


def test_documents_view_lists_every_document(app: AppTest) -> None:
    table = app.dataframe[0].value
    assert len(table) == 4
    assert set(table["标题"]) >= {"2021年全省法院司法改革工作要点", "某某法院诉讼服务规则"}
    assert list(table.columns[:5]) == ["标题", "发布机关", "日期", "格式", "条款数"]
    assert any("已收录 4 份文件" in m.value for m in app.markdown)


def test_upload_search_and_remove_a_hostile_document(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus, index = copy_index(built, tmp_path)
    at = _app(monkeypatch, corpus, index)
    at.file_uploader[0].set_value((HOSTILE_NAME, HOSTILE_DOC, "text/plain")).run()
    at.button(key="add_doc").click().run()
    assert not at.exception and not at.error
    notice = at.success[0].value
    assert "已添加《关于&lt;b&gt;加强&lt;/b&gt;" in notice and "新增" in notice and "现有 5 份文件" in notice
    assert (corpus / HOSTILE_NAME).is_file()

    ask(at, "严格立案审查")
    shown = html_shown(at)
    assert any("&lt;script&gt;alert(1)&lt;/script&gt;" in m for m in shown)
    assert any("关于&lt;b&gt;加强&lt;/b&gt;立案服务的通知&lt;script&gt;" in m for m in shown)
    assert not any(RAW_TAG.search(m) for m in shown)
    assert any("<script>alert(1)</script>" in t for t in copy_texts(at))  # the copy strip is a code block: plain text

    at.selectbox(key="remove_doc_id").set_value("恶意通知").run()
    at.checkbox(key="remove_sure-0").check().run()
    at.button(key="remove_doc").click().run()
    assert not at.exception and not at.error
    assert "移除" in at.success[0].value and "现有 4 份文件" in at.success[0].value
    assert not (corpus / HOSTILE_NAME).exists()


def test_bad_uploads_are_refused_with_a_message(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus, index = copy_index(built, tmp_path)
    at = _app(monkeypatch, corpus, index)
    at.file_uploader[0].set_value(("扫描件.pdf", b"%PDF-1.4 not really a pdf", "application/pdf")).run()
    at.button(key="add_doc").click().run()
    assert not at.exception
    assert plain(at.error[0]) == "未能添加 扫描件.pdf：PDF 文件已损坏"
    at.file_uploader[0].set_value(("broken2.txt", b"\x00\x01binary" * 40, "text/plain")).run()
    at.button(key="add_doc").click().run()
    # Chinese, and no server path (issue 13.6)
    assert plain(at.error[0]) == "未能添加 broken2.txt：是二进制数据，不是文字文件"
    assert sorted(p.name for p in corpus.iterdir()) == sorted(p.name for p in (built / "corpus").iterdir())


def test_first_start_builds_the_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = small_corpus(tmp_path / "corpus")
    at = _app(monkeypatch, corpus, tmp_path / "fresh-index")
    assert "已建立索引" in at.success[0].value and "现有 4 份文件" in at.success[0].value
    ask(at, "网上打官司")
    assert copy_texts(at)


def test_damaged_index_shows_what_to_do_and_rebuilds(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus, index = copy_index(built, tmp_path)
    (version,) = [p for p in index.iterdir() if p.is_dir()]
    dense = version / "dense.faiss"
    dense.write_bytes(dense.read_bytes()[:100])
    at = _app(monkeypatch, corpus, index)
    assert "无法打开文档索引" in plain(at.error[0]) and "重建索引" in plain(at.error[0])
    assert "Traceback" not in plain(at.error[0])
    at.button(key="rebuild").click().run()
    assert not at.exception and not at.error
    assert "索引已重建" in at.success[0].value
    ask(at, "法官惩戒")
    assert copy_texts(at)


def test_unavailable_model_is_a_message_not_a_traceback(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus, index = copy_index(built, tmp_path)
    at = _app(monkeypatch, corpus, index, model="st:/nonexistent/model")
    assert "无法加载向量模型" in plain(at.error[0]) and "INDEXER_MODEL" in plain(at.error[0])
    assert not at.button  # rebuilding would not help


def test_files_dropped_into_the_folder_are_picked_up_by_a_rescan(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus, index = copy_index(built, tmp_path)
    at = _app(monkeypatch, corpus, index)
    (corpus / "dropped.txt").write_bytes(HOSTILE_DOC)
    at.button(key="rescan").click().run()
    assert not at.exception and not at.error
    assert "新增 《dropped》" in at.success[0].value and "现有 5 份文件" in at.success[0].value
    assert len(at.dataframe[0].value) == 5


def test_model_and_index_are_loaded_once_per_process(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from indexer.search import Searcher

    corpus, index = copy_index(built, tmp_path)
    opened: list[str] = []
    original = Searcher.open.__func__  # type: ignore[attr-defined]

    def counting_open(cls: type[Searcher], index_dir: object, model: str | None = None) -> Searcher:
        opened.append(str(index_dir))
        return original(cls, index_dir, model)

    monkeypatch.setattr(Searcher, "open", classmethod(counting_open))
    first = ask(_app(monkeypatch, corpus, index), "网上打官司")
    second = ask(_app(monkeypatch, corpus, index), "法官惩戒")  # another session of the same process
    assert copy_texts(first) and copy_texts(second)
    assert opened == [str(index)]
