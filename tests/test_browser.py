"""The page in a real browser: Debian's chromium driven by Playwright against `streamlit run app.py`.

Screenshots at 1280 px and 400 px wide go to ``screenshots/`` (git-ignored) so
that a person can look at them.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import docx
import pytest

from .app_support import CHROMIUM, CHROMIUM_ARGS, HOSTILE_DOC, HOSTILE_NAME, build_small_index, copy_index
from .conftest import ROOT

SHOTS = ROOT / "screenshots"
WIDTHS = (1280, 400)
#: generous: the first question of a fresh server loads the model
WAIT_MS = 120_000

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is absent (apt-get install chromium fonts-wqy-microhei)"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright for Python is not installed")
expect = sync_api.expect


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def streamlit_server(corpus: Path, index: Path, log: Path, **settings: str) -> Iterator[str]:
    """`streamlit run app.py` on a free local port, with ``settings`` as environment; yields its URL once it answers its health check."""
    port = free_port()
    env = {**os.environ, "INDEXER_CORPUS": str(corpus), "INDEXER_INDEX": str(index)}
    env.pop("INDEXER_MODEL", None)
    env.pop("INDEXER_FEEDBACK", None)
    env.update(settings)
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true"]
    # a fixed local address: no network lookups, nothing reachable from outside
    cmd += ["--server.port", str(port), "--server.address", "127.0.0.1"]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 90
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"streamlit exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"streamlit did not start:\n{log.read_text(errors='replace')}")
                time.sleep(0.3)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("browser")
    build_small_index(root)
    return root


@pytest.fixture(scope="module")
def server(built: Path) -> Iterator[str]:
    with streamlit_server(built / "corpus", built / "index", built / "streamlit.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def open_page(browser: object, url: str, width: int) -> tuple[object, list[str]]:
    context = browser.new_context(viewport={"width": width, "height": 900}, accept_downloads=True, locale="zh-CN")  # type: ignore[attr-defined]
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url)
    page = context.new_page()
    dialogs: list[str] = []

    def on_dialog(dialog: object) -> None:
        dialogs.append(dialog.message)  # type: ignore[attr-defined]
        dialog.dismiss()  # type: ignore[attr-defined]

    page.on("dialog", on_dialog)
    page.goto(url)
    page.get_by_label("输入问题或关键词（回车检索）").wait_for(timeout=WAIT_MS)
    return page, dialogs


def screenshot(page: object, name: str) -> Path:
    """The whole page, not just the viewport: Streamlit scrolls inside its main container."""
    SHOTS.mkdir(exist_ok=True)
    width = page.viewport_size["width"]  # type: ignore[attr-defined]
    page.wait_for_timeout(800)  # type: ignore[attr-defined]
    height = page.evaluate(  # type: ignore[attr-defined]
        """() => Math.max(document.documentElement.scrollHeight,
            ...['[data-testid="stMain"]', '[data-testid="stAppViewContainer"]'].map(s => (document.querySelector(s) || {}).scrollHeight || 0))"""
    )
    page.set_viewport_size({"width": width, "height": min(int(height) + 40, 8000)})  # type: ignore[attr-defined]
    page.wait_for_timeout(800)  # type: ignore[attr-defined]
    path = SHOTS / name
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    page.set_viewport_size({"width": width, "height": 900})  # type: ignore[attr-defined]
    return path


def ask(page: object, question: str) -> None:
    box = page.get_by_label("输入问题或关键词（回车检索）")  # type: ignore[attr-defined]
    box.fill(question)
    box.press("Enter")


def settle(page: object) -> None:
    """Wait until the page's script run is over: a click during a run can be undone by the run that follows."""
    page.wait_for_function(  # type: ignore[attr-defined]
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=WAIT_MS
    )


def tab(page: object, name: str) -> None:
    settle(page)
    page.get_by_role("tab", name=re.compile(name)).click()  # type: ignore[attr-defined]


def upload(page: object, name: str, data: bytes) -> None:
    """Hand a file to the library tab's uploader and wait until the page has it (the add button enabled).

    A file set while a script run re-renders the uploader can be dropped with the old element, leaving the
    button disabled: seen once in CI. So the hand-over waits for a quiet page and is retried until the
    page shows the file.
    """
    uploader = page.locator('[data-testid="stFileUploader"]')  # type: ignore[attr-defined]
    add = page.get_by_role("button", name="加入文库并更新索引")  # type: ignore[attr-defined]
    expect(uploader).to_be_visible(timeout=WAIT_MS)
    deadline = time.monotonic() + WAIT_MS / 1000
    while True:
        settle(page)
        uploader.locator('input[type="file"]').set_input_files(files=[{"name": name, "mimeType": "text/plain", "buffer": data}])
        try:
            expect(add).to_be_enabled(timeout=20_000)
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise


@pytest.mark.parametrize("width", WIDTHS)
def test_search_copy_export_compare_and_documents(server: str, browser: object, width: int, tmp_path: Path) -> None:
    page, dialogs = open_page(browser, server, width)
    assert page.title() == "司法改革文件检索"
    # a tool, not a demo: no Deploy button, no developer menu
    assert page.locator('[data-testid="stAppDeployButton"]').count() == 0
    assert page.get_by_role("button", name="Deploy").count() == 0

    ask(page, "个人破产相关改革")
    expect(page.get_by_text("文件中的规定")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("mark.hl-term", has_text="个人破产").first).to_be_visible()
    expect(page.locator("mark.hl-sent").first).to_be_visible()
    expect(page.get_by_text("第一部分第5项").first).to_be_visible()
    # the layout fits the window: nothing wider than the viewport
    assert page.evaluate("document.documentElement.scrollWidth") <= width

    # one click copies "clause text\n——citation"
    strip = page.locator('[data-testid="stCode"]').first
    strip.hover()
    strip.get_by_role("button", name="Copy to clipboard").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("5.完善市场主体救治和退出机制。")
    assert copied.endswith("\n——《2021年全省法院司法改革工作要点》（广东高院，2021年11月10日）第一部分第5项")
    screenshot(page, f"search-{width}.png")

    # collect the first result and export it as Word
    page.get_by_role("button", name="＋ 加入摘录").first.click()
    expect(page.get_by_role("button", name=re.compile("已加入摘录")).first).to_be_visible(timeout=WAIT_MS)
    tab(page, "摘录导出")
    expect(page.get_by_text("已选 1 条")).to_be_visible(timeout=WAIT_MS)
    with page.expect_download(timeout=WAIT_MS) as download:
        page.get_by_role("button", name="下载 Word（.docx）").click()
    assert download.value.suggested_filename == "摘录条款.docx"
    saved = tmp_path / "export.docx"
    download.value.save_as(saved)
    paragraphs = [p.text for p in docx.Document(str(saved)).paragraphs]
    clause, citation = copied.rsplit("\n——", 1)
    assert clause.splitlines()[0] in paragraphs and f"——{citation}" in paragraphs
    screenshot(page, f"export-{width}.png")

    # researchers: one theme against every document
    tab(page, "主题比较")
    theme = page.get_by_label("主题（回车比较）")
    theme.fill("法官惩戒")
    theme.press("Enter")
    expect(page.get_by_text("的覆盖程度")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator('[data-testid="stVegaLiteChart"]')).to_be_visible(timeout=WAIT_MS)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    screenshot(page, f"compare-{width}.png")

    tab(page, "文档库")
    expect(page.get_by_text("已收录 4 份文件")).to_be_visible(timeout=WAIT_MS)
    screenshot(page, f"documents-{width}.png")
    assert not dialogs


def test_html_in_a_document_and_a_query_shows_as_text(built: Path, browser: object, tmp_path: Path) -> None:
    corpus, index = copy_index(built, tmp_path)
    with streamlit_server(corpus, index, tmp_path / "streamlit.log") as url:
        page, dialogs = open_page(browser, url, 1280)
        tab(page, "文档库")
        upload(page, HOSTILE_NAME, HOSTILE_DOC)
        page.get_by_role("button", name="加入文库并更新索引").click()
        expect(page.get_by_text("已添加《关于<b>加强</b>立案服务的通知<script>alert(1)</script>》", exact=False)).to_be_visible(
            timeout=WAIT_MS
        )

        tab(page, "检索")
        ask(page, "<b>严格</b>立案审查<script>alert(2)</script><img src=x onerror=alert(3)>")
        expect(page.get_by_text("<script>alert(1)</script>对于申请立案的材料", exact=False).first).to_be_visible(timeout=WAIT_MS)
        expect(page.get_by_text("<b>严格</b>", exact=False).first).to_be_visible()
        # nothing from the document or the query became markup
        rendered = ".hl-text, .hl-title, .hl-meta, .hl-cite"
        assert page.locator(f":is({rendered}) :is(b, i, img, script)").count() == 0
        assert page.locator("img[src=x]").count() == 0
        assert page.locator("script", has_text="alert(").count() == 0
        screenshot(page, "hostile-1280.png")
        assert not dialogs


def test_a_measure_added_to_the_excerpt_is_logged_with_its_question(built: Path, browser: object, tmp_path: Path) -> None:
    from indexer.feedback import FeedbackLog

    corpus, index = copy_index(built, tmp_path)
    with streamlit_server(corpus, index, tmp_path / "streamlit.log", INDEXER_FEEDBACK="1") as url:
        page, dialogs = open_page(browser, url, 1280)
        ask(page, "法官惩戒")
        expect(page.get_by_text("已开启训练记录", exact=False).first).to_be_visible(timeout=WAIT_MS)
        settle(page)
        page.get_by_role("button", name="＋ 加入摘录").first.click()
        expect(page.get_by_role("button", name=re.compile("已加入摘录")).first).to_be_visible(timeout=WAIT_MS)
        settle(page)
        choices = FeedbackLog(index).choices()
        assert [c.query for c in choices] == ["法官惩戒"] and choices[0].chunk_id
        assert not dialogs


def test_two_people_at_once(server: str, browser: object) -> None:
    judge, _ = open_page(browser, server, 1280)
    clerk, _ = open_page(browser, server, 400)
    # both questions are in flight before either answer is awaited
    ask(judge, "法官惩戒")
    ask(clerk, "网上打官司")
    expect(judge.get_by_text("第二部分第9项").first).to_be_visible(timeout=WAIT_MS)
    expect(clerk.get_by_text("第四部分第19项").first).to_be_visible(timeout=WAIT_MS)


def _overlaps(a: dict[str, float], b: dict[str, float]) -> bool:
    return a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] and b["top"] < a["bottom"]


@pytest.mark.parametrize("width", WIDTHS)
def test_copy_strip_answer_box_library_and_uploader_layout(server: str, browser: object, width: int) -> None:
    """Issue 13.11/13.17/13.6: the copy strip shows the whole clause and its citation, its button covers no text;
    the answer box has room below its last line; the library reads as cards at 400 px; the uploader speaks Chinese."""
    page, dialogs = open_page(browser, server, width)
    ask(page, "个人破产相关改革")
    expect(page.get_by_text("文件中的规定")).to_be_visible(timeout=WAIT_MS)

    strip = page.locator('[data-testid="stCode"]').first
    strip.scroll_into_view_if_needed()
    text = strip.locator("code").inner_text()
    assert text.startswith("5.完善市场主体救治和退出机制。") and text.rstrip().endswith("第一部分第5项")
    layout = strip.evaluate(
        """(el) => {
            const code = el.querySelector('code');
            const button = el.querySelector('button');
            const range = document.createRange();
            range.selectNodeContents(code);
            const box = (r) => ({left: r.left, right: r.right, top: r.top, bottom: r.bottom});
            return {lines: Array.from(range.getClientRects()).map(box), button: box(button.getBoundingClientRect()),
                    scroll: code.scrollWidth - code.clientWidth, pre: box(el.querySelector('pre').getBoundingClientRect()),
                    opacity: getComputedStyle(button.parentElement).opacity};
        }"""
    )
    assert layout["scroll"] <= 1  # wrapped: nothing hidden to the right
    assert all(line["right"] <= layout["pre"]["right"] + 1 for line in layout["lines"])
    assert not any(_overlaps(line, layout["button"]) for line in layout["lines"] if line["right"] > line["left"])
    assert layout["button"]["right"] - layout["button"]["left"] > 0 and float(layout["opacity"]) == 1.0  # always shown

    gap = page.locator("div.hl-answer").first.evaluate(
        """(el) => {
            const box = el.closest('[data-testid="stVerticalBlockBorderWrapper"]') || el.parentElement;
            const last = el.querySelectorAll('.hl-text');
            return box.getBoundingClientRect().bottom - last[last.length - 1].getBoundingClientRect().bottom;
        }"""
    )
    assert gap >= 8, gap
    screenshot(page, f"copy-strip-{width}.png")

    tab(page, "文档库")
    expect(page.get_by_text("已收录 4 份文件")).to_be_visible(timeout=WAIT_MS)
    cards = page.locator("div.lib-card")
    expect(cards.first).to_be_visible()
    assert cards.count() == 4
    for i in range(cards.count()):
        box = cards.nth(i).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width  # no card runs off the screen
    expect(page.locator("div.lib-card", has_text="gd_courts_judicial_reform_2021.txt")).to_contain_text("广东高院")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # the uploader in Chinese, Streamlit's English words hidden
    zone = page.locator('[data-testid="stFileUploaderDropzone"]')
    zone.scroll_into_view_if_needed()
    words = zone.evaluate(
        """(el) => {
            const inst = el.querySelector('[data-testid="stFileUploaderDropzoneInstructions"] > div');
            const label = el.querySelector('button [data-testid="stMarkdownContainer"] p');
            return {before: getComputedStyle(inst, '::before').content, after: getComputedStyle(label, '::after').content,
                    label: getComputedStyle(label).fontSize,
                    visible: Array.from(inst.querySelectorAll('span, small')).filter(e => e.offsetParent !== null && e.innerText.trim()).map(e => e.innerText)};
        }"""
    )
    assert "可把文件拖到这里 · 单个文件不超过 10 MB" in words["before"] and "选择文件" in words["after"]
    assert words["visible"] == [] and words["label"] == "0px"  # "10MB per file • TXT…" and "Upload" hidden
    screenshot(page, f"library-{width}.png")
    assert not dialogs


def test_the_page_serves_others_while_a_large_upload_is_indexed(built: Path, browser: object, tmp_path: Path) -> None:
    """Issue 14.4 (page): a large upload is indexed with a progress bar; another session searches meanwhile."""
    corpus, index = copy_index(built, tmp_path)
    lines = ["关于大规模诉讼服务改革的实施细则", "发布时间：2024-01-02 来源：测试法院", ""]
    lines += [f"第{n}条 第{n}号诉讼服务中心应当在{n}个工作日内完成第{n}批案件材料的电子化归档。" for n in range(1, 361)]
    big = "\n".join(lines).encode()
    with streamlit_server(corpus, index, tmp_path / "streamlit.log") as url:
        clerk, _ = open_page(browser, url, 1280)
        judge, _ = open_page(browser, url, 400)
        tab(clerk, "文档库")
        upload(clerk, "大文件.txt", big)
        clerk.get_by_role("button", name="加入文库并更新索引").click()
        expect(clerk.locator('[data-testid="stProgress"]')).to_be_visible(timeout=WAIT_MS)
        ask(judge, "网上打官司")
        expect(judge.get_by_text("第四部分第19项").first).to_be_visible(timeout=WAIT_MS)
        # the judge had an answer while the clerk's upload was still being indexed
        assert clerk.locator('[data-testid="stProgress"]').count() >= 1
        assert clerk.get_by_text("已添加《关于大规模诉讼服务改革的实施细则》").count() == 0
        expect(clerk.get_by_text("已添加《关于大规模诉讼服务改革的实施细则》", exact=False)).to_be_visible(timeout=600_000)
