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

from indexer.chunking import chunk_document
from indexer.export import DOCX_MIME, MARKDOWN_MIME
from indexer.loading import load_document

from .app_support import HOSTILE_DOC, HOSTILE_NAME, build_small_index, copy_index, small_corpus
from .conftest import DATA, REFORM_PLAN, ROOT

APP = str(ROOT / "app.py")
#: the first run loads the model and the index; a build takes a few seconds more
TIMEOUT = 120
PLAN_TITLE = "《2021年全省法院司法改革工作要点》"
#: measures (chunks) of the small corpus, as the chunker cuts it today
SMALL_MEASURES = sum(len(chunk_document(load_document(p))) for p in [REFORM_PLAN, *DATA.iterdir()])
RAW_TAG = re.compile(r"<\s*/?\s*(script|b|i|img)\b", re.I)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("app")
    build_small_index(root)
    return root


def _app(monkeypatch: pytest.MonkeyPatch, corpus: Path, index: Path, model: str | None = None) -> AppTest:
    monkeypatch.setenv("INDEXER_CORPUS", str(corpus))
    monkeypatch.setenv("INDEXER_INDEX", str(index))
    monkeypatch.setenv("INDEXER_DATA", str(Path(corpus).parent / "data"))
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
    # the nearest measures are still there, as possibly relevant and unconfirmed (confidence below 0.6)
    assert "可能相关的条款" in app.expander[-1].label
    meters = [m for m in html_shown(app) if "hl-meter" in m]
    assert meters and all(m.rstrip("</div>").endswith("低") for m in meters)  # never 高 for a measure that does not answer


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
    # issue 13.12: short, distinct labels, the full title on hover
    names = {r["label"]: r["name"] for r in bars}
    assert names["某某法院诉讼服务规则"] == "某某法院诉讼服务规则" and all(len(n) <= 16 for n in names.values())
    cards = [m for m in html_shown(app) if m.startswith('<div class="hl-title"') and "覆盖度" in m]
    assert cards[0].startswith('<div class="hl-title" title="2021年全省法院司法改革工作要点">2021年全省法院司法改革工作要点</div>')
    app.segmented_control(key="compare_by").set_value("year").run()
    cards = [m for m in html_shown(app) if m.startswith('<div class="hl-title"') and "覆盖度" in m]
    assert cards[0].startswith('<div class="hl-title" title="2021年">2021年</div>')
    (chart,) = app.get("vega_lite_chart")
    bars = pyarrow.ipc.open_stream(chart.proto.data.data).read_all().to_pylist()
    assert [b["name"] for b in bars] == ["2020年", "2021年", "2022年"]  # issue 13.13: a time line
    assert '"sort":null' in chart.proto.spec.replace(" ", "")


def cards(at: AppTest) -> list[str]:
    """The library's document cards, one HTML string each."""
    grid = next(m for m in html_shown(at) if m.startswith('<div class="lib-grid">'))
    return [html.unescape(c) for c in grid.split('<div class="lib-card">')[1:]]


def notice(at: AppTest) -> str:
    return plain(at.success[0])


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader[0].set_value((name, data, "text/plain")).run()
    at.button(key="add_doc").click().run()
    assert not at.exception, at.exception
    return at


def remove(at: AppTest, doc_id: str) -> AppTest:
    at.selectbox(key="remove_doc_id").set_value(doc_id).run()
    box = next(c for c in at.checkbox if c.key and c.key.startswith("remove_sure-"))
    box.check().run()
    at.button(key="remove_doc").click().run()
    assert not at.exception, at.exception
    return at


def test_documents_view_lists_every_document_as_cards(app: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 13.17: cards (readable at 400 px) instead of a table that shows only its first column."""
    shown = cards(app)
    assert len(shown) == 4 and not app.dataframe
    plan = next(c for c in shown if "2021年全省法院司法改革工作要点" in c)
    assert "广东高院" in plan and "2021-11-10" in plan and "24 条" in plan and "gd_courts_judicial_reform_2021.txt" in plan
    assert any("已收录 4 份文件，共" in m.value for m in app.markdown)


def test_choices_are_logged_with_their_question_only_when_asked_to(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from indexer.feedback import FEEDBACK_FILE, NOTHING, FeedbackLog

    corpus, index = copy_index(built, tmp_path)
    monkeypatch.delenv("INDEXER_FEEDBACK", raising=False)
    at = ask(_app(monkeypatch, corpus, index), "法官惩戒")
    next(b for b in at.button if b.key and b.key.startswith("sel-q-")).click().run()
    assert len(at.session_state["selection"]) == 1 and not (index / FEEDBACK_FILE).exists()
    assert not any(b.key == "nothing" for b in at.button)

    monkeypatch.setenv("INDEXER_FEEDBACK", "1")
    at = ask(_app(monkeypatch, corpus, index), "法官惩戒")
    assert any("已开启训练记录" in c.value for c in at.caption)
    add = [b for b in at.button if b.key and b.key.startswith("sel-q-")][1]
    add.click().run()
    chosen = list(at.session_state["selection"])
    assert not at.exception and len(chosen) == 1
    assert [(c.query, c.chunk_id) for c in FeedbackLog(index).choices()] == [("法官惩戒", chosen[0])]
    # taking it out of the excerpt is not a label
    next(b for b in at.button if b.key == add.key).click().run()
    assert not at.session_state["selection"] and len(FeedbackLog(index).choices()) == 1
    # 以上都不相关: the question, marked as answered by none of the measures shown
    next(b for b in at.button if b.key == "nothing").click().run()
    assert any("已记为「以上都不相关」" in c.value for c in at.caption) and not any(b.key == "nothing" for b in at.button)
    assert [c.chunk_id for c in FeedbackLog(index).choices()] == [chosen[0], NOTHING]
    # a log that cannot be written costs the log, never the excerpt
    (index / FEEDBACK_FILE).unlink()
    (index / FEEDBACK_FILE).mkdir()
    add.click().run()
    assert not at.exception and not at.error and len(at.session_state["selection"]) == 1


def test_library_csv_download_neutralises_formulas(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 14.15: a title starting with = + - @ is not a spreadsheet formula in the offered CSV."""
    corpus, index = copy_index(built, tmp_path)
    downloads = _capture_downloads(monkeypatch)
    at = _app(monkeypatch, corpus, index)
    upload(
        at,
        "formula.txt",
        '=HYPERLINK("http://x","点我")\n发布时间：2023-05-01\n\n一、严格立案审查。对于材料，应当当场登记立案。\n'.encode(),
    )
    assert not at.error
    csv_file = [d for d in downloads if d["filename"] == "文件清单.csv"][-1]
    text = csv_file["data"].decode("utf-8-sig")
    assert "'=HYPERLINK(" in text and not any(line.startswith("=") for line in text.splitlines())
    assert text.splitlines()[0].startswith("标题,发布机关,日期")


def test_upload_search_and_remove_a_hostile_document(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus, index = copy_index(built, tmp_path)
    at = upload(_app(monkeypatch, corpus, index), HOSTILE_NAME, HOSTILE_DOC)
    assert not at.error
    # issue 13.7: the upload notice names the title once, with the file
    assert (
        notice(at)
        == f"已添加《关于<b>加强</b>立案服务的通知<script>alert(1)</script>》（恶意通知.txt，2 条条款）。现有 5 份文件，共 {SMALL_MEASURES + 2} 条条款。"
    )
    assert (tmp_path / "data" / HOSTILE_NAME).is_file() and not (corpus / HOSTILE_NAME).exists()  # issue 13.4: not in corpus/

    ask(at, "严格立案审查")
    shown = html_shown(at)
    assert any("&lt;script&gt;alert(1)&lt;/script&gt;" in m for m in shown)
    assert any("关于&lt;b&gt;加强&lt;/b&gt;立案服务的通知&lt;script&gt;" in m for m in shown)
    assert not any(RAW_TAG.search(m) for m in shown)
    assert any("<script>alert(1)</script>" in t for t in copy_texts(at))  # the copy strip is a code block: plain text

    remove(at, "恶意通知")
    assert not at.error
    assert notice(at).startswith("移除《关于<b>加强</b>") and "现有 4 份文件" in notice(at)
    assert not (tmp_path / "data" / HOSTILE_NAME).exists()


def test_an_identical_copy_is_refused_and_the_original_kept(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 13.1: the same bytes under a new name are refused; the original, its id and citations stay."""
    corpus, index = copy_index(built, tmp_path)
    at = upload(_app(monkeypatch, corpus, index), "notice_bankruptcy.txt", HOSTILE_DOC)
    before = {c.split("</div>")[0] for c in cards(at)}
    upload(at, "copy_of_notice.txt", HOSTILE_DOC)
    assert plain(at.error[0]) == (
        "未能添加 copy_of_notice.txt：与已收录的《关于<b>加强</b>立案服务的通知<script>alert(1)</script>》（notice_bankruptcy.txt）内容相同，未添加"
    )
    assert not (tmp_path / "data" / "copy_of_notice.txt").exists()
    assert {c.split("</div>")[0] for c in cards(at)} == before
    assert any(
        o.startswith("关于<b>加强</b>") and "（notice_bankruptcy.txt · 测试法院" in o for o in at.selectbox(key="remove_doc_id").options
    )


def test_documents_with_one_title_can_be_told_apart(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 13.2: options show file name, issuer and date; the confirmation names the file."""
    corpus, index = copy_index(built, tmp_path)
    for i, (court, day) in enumerate((("甲法院", "2023-05-01"), ("乙法院", "2023-06-01"), ("丙法院", "2023-07-01"))):
        (corpus / f"通知{i}.txt").write_text(
            f"关于立案的通知\n发布时间：{day} 来源：{court}\n\n一、严格立案审查{i}。当场登记立案。\n", encoding="utf-8"
        )
    at = _app(monkeypatch, corpus, index)
    options = [o for o in at.selectbox(key="remove_doc_id").options if o.startswith("关于立案的通知")]
    assert options == [
        "关于立案的通知（通知2.txt · 丙法院 · 2023-07-01）",
        "关于立案的通知（通知1.txt · 乙法院 · 2023-06-01）",
        "关于立案的通知（通知0.txt · 甲法院 · 2023-05-01）",
    ]
    assert sorted(o for o in at.multiselect(key="f_docs").options if o.startswith("关于立案的通知")) == sorted(options)
    at.selectbox(key="remove_doc_id").set_value("通知1").run()
    box = next(c for c in at.checkbox if c.key and c.key.startswith("remove_sure-"))
    assert box.label == "确认移除《关于立案的通知》：文件 通知1.txt 将从文库中隐藏（样例文件本身保留，可随时恢复）"
    assert at.button(key="remove_doc").proto.disabled  # nothing happens before the confirmation


def test_bad_uploads_are_refused_with_a_message(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus, index = copy_index(built, tmp_path)
    at = _app(monkeypatch, corpus, index)
    at.file_uploader[0].set_value(("扫描件.pdf", b"%PDF-1.4 not really a pdf", "application/pdf")).run()
    at.button(key="add_doc").click().run()
    assert not at.exception
    assert plain(at.error[0]) == "未能添加 扫描件.pdf：PDF 文件已损坏"
    upload(at, "broken2.txt", b"\x00\x01binary" * 40)
    # Chinese, and no server path (issue 13.6)
    assert plain(at.error[0]) == "未能添加 broken2.txt：是二进制数据，不是文字文件"
    # an Office lock-file name is refused, not "added" and then never indexed (issue 14.7)
    upload(at, "~$lock.txt", HOSTILE_DOC)
    assert plain(at.error[0]).startswith("未能添加 ~$lock.txt：以「.」或「~$」开头的文件名")
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").iterdir())
    assert sorted(p.name for p in corpus.iterdir()) == sorted(p.name for p in (built / "corpus").iterdir())


def test_uploader_and_limits_are_labelled_in_chinese(app: AppTest) -> None:
    uploader = app.file_uploader[0]
    assert uploader.label.startswith("支持 .txt / .md / .html / .docx") and "10 MB" in uploader.label
    assert "其他人仍可正常检索" in uploader.help


@pytest.mark.slow
def test_first_start_builds_the_index_and_summarises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 13.7: the first-start notice is a summary, not a list of file names."""
    corpus = small_corpus(tmp_path / "corpus")
    (corpus / "zero.md").write_bytes(b"")
    at = _app(monkeypatch, corpus, tmp_path / "fresh-index")
    assert notice(at) == f"索引已更新：已收录 4 份文件，共 {SMALL_MEASURES} 条条款；1 个文件未能收录（原因见「文档库」）。"
    ask(at, "网上打官司")
    assert copy_texts(at)


def test_damaged_index_shows_what_to_do_and_rebuilds(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus, index = copy_index(built, tmp_path)
    (version,) = [p for p in index.iterdir() if p.is_dir()]
    dense = version / "dense.faiss"
    dense.write_bytes(dense.read_bytes()[:100])
    at = _app(monkeypatch, corpus, index)
    assert plain(at.error[0]).startswith("无法打开文档索引：文档索引文件损坏或不完整。请点击「重建索引」")
    assert "Traceback" not in plain(at.error[0]) and str(tmp_path) not in plain(at.error[0])
    at.button(key="rebuild").click().run()
    assert not at.exception and not at.error
    # issue 13.7: said once; issue 13.5: the vectors that are still intact are reused, not computed again
    assert notice(at).startswith(f"索引已重建：现有 4 份文件，共 {SMALL_MEASURES} 条条款（复用 ") and notice(at).count("重建") == 1
    assert "新计算 0 段" in notice(at)
    ask(at, "法官惩戒")
    assert copy_texts(at)


def test_every_index_error_offers_a_rebuild_and_logs_the_traceback(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 14.9 (page) and 14.13: an unexpected failure opening the index still offers 重建索引; the server
    log carries the real traceback, the page no server path."""
    from indexer.search import Searcher

    corpus, index = copy_index(built, tmp_path)

    def broken_open(cls: type[Searcher], index_dir: object, model: str | None = None) -> Searcher:
        raise OverflowError(f"unexpected value in {index_dir}/manifest.json")

    monkeypatch.setattr(Searcher, "open", classmethod(broken_open))
    with caplog.at_level("ERROR", logger="indexer.app"):
        at = _app(monkeypatch, corpus, index)
    assert plain(at.error[0]).startswith("无法打开文档索引：出现意外错误（详情已记录在服务器日志中）")
    assert str(tmp_path) not in plain(at.error[0]) and at.button(key="rebuild")
    (record,) = [r for r in caplog.records if r.name == "indexer.app"]
    assert record.exc_info and record.exc_info[0] is OverflowError  # not "NoneType: None"
    assert "broken_open" in caplog.text  # the traceback itself


def test_unavailable_model_is_a_message_not_a_traceback(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus, index = copy_index(built, tmp_path)
    at = _app(monkeypatch, corpus, index, model="st:/nonexistent/model")
    assert "无法加载向量模型" in plain(at.error[0]) and "INDEXER_MODEL" in plain(at.error[0])
    assert not at.button  # rebuilding would not help


def test_a_rescan_names_titles_and_lists_new_bad_files(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issues 13.3 and 13.7: new files named by title; bad files dropped in are listed with their reasons."""
    corpus, index = copy_index(built, tmp_path)
    at = _app(monkeypatch, corpus, index)
    (corpus / "dropped.txt").write_bytes(HOSTILE_DOC)
    (corpus / "broken2.txt").write_bytes(b"\x00\x01\x02" * 100)
    (corpus / "zero.md").write_bytes(b"")
    at.button(key="rescan").click().run()
    assert not at.exception and not at.error
    assert notice(at).startswith(
        f"新增《关于<b>加强</b>立案服务的通知<script>alert(1)</script>》。现有 5 份文件，共 {SMALL_MEASURES + 2} 条条款；2 个文件未能收录"
    )
    assert len(cards(at)) == 5
    warning = plain(at.warning[0])
    assert "未能收录 2 个文件" in warning and "broken2.txt：是二进制数据，不是文字文件" in warning and "zero.md：是空文件" in warning
    at.button(key="rescan").click().run()
    assert notice(at).startswith("文件没有变化。现有 5 份文件") and "zero.md" in plain(at.warning[0])


def test_removing_a_sample_hides_it_and_it_can_be_restored(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 13.4: a shipped sample is hidden, never deleted; 恢复 brings it back."""
    corpus, index = copy_index(built, tmp_path)
    at = remove(_app(monkeypatch, corpus, index), "rules_articles")
    assert notice(at).startswith("移除《某某法院诉讼服务规则》") and len(cards(at)) == 3
    assert (corpus / "rules_articles.html").is_file()
    at.button(key="restore_samples").click().run()
    assert not at.exception and not at.error
    assert notice(at).startswith("已恢复样例文件。新增《某某法院诉讼服务规则》") and len(cards(at)) == 4
    assert not [b for b in at.button if b.key == "restore_samples"]


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
