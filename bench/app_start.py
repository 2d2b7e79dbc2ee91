"""Time from `streamlit run app.py` to the first answered question in a real browser.

Two cases on the default corpus (corpus/):

* ``fresh``  — an empty index folder and an empty model cache (a fresh machine): the page
  converts the bundled e5-small into the default encoder's torch model once, then builds
  the index (with its progress bar);
* ``built``  — an index that is already up to date (the model cache the fresh run filled).

Each run starts a new server process, so the model and the index are loaded
from disk every time.  The browser (Debian's chromium, driven by Playwright) is
started before the clock starts: its own start-up is not the page's.  Reported
per run: the server answering its health check, the search box on screen, and
the answer on screen; medians over the runs.

    python bench/app_start.py --runs 5

Not a test: nothing is asserted.  Results also go to bench/out/app_start.json.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUESTION = "个人破产相关改革"
ANSWERED = ("文件中的规定", "未找到相关条款")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def command(port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(ROOT / "app.py"),
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
    ]


def one_run(browser, corpus: Path, index: Path, model_cache: Path, timeout: float = 900.0) -> dict[str, float]:
    """Seconds from launching the server to: health check, search box, answer."""
    port = free_port()
    # an empty data folder of its own: the users' documents of this checkout would change what is timed
    data = index.parent / f"{index.name}-data"
    env = {
        **os.environ,
        "INDEXER_CORPUS": str(corpus),
        "INDEXER_INDEX": str(index),
        "INDEXER_DATA": str(data),
        "INDEXER_MODEL_CACHE": str(model_cache),
    }
    env.pop("INDEXER_MODEL", None)
    url = f"http://127.0.0.1:{port}"
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    with tempfile.TemporaryFile() as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen(command(port), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            while True:
                if proc.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(f"streamlit exited: {log.read().decode(errors='replace')}")
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as r:
                        if r.status == 200:
                            break
                except OSError:
                    time.sleep(0.05)
                if time.perf_counter() - t0 > timeout:
                    raise RuntimeError("server did not start")
            healthy = time.perf_counter() - t0
            page.goto(url)
            box = page.get_by_label("输入问题或关键词（回车检索）")
            box.wait_for(timeout=timeout * 1000)
            ready = time.perf_counter() - t0
            box.fill(QUESTION)
            box.press("Enter")
            page.locator(f"text=/{'|'.join(ANSWERED)}/").first.wait_for(timeout=timeout * 1000)
            answered = time.perf_counter() - t0
        finally:
            page.close()
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
    return {"server_up_s": healthy, "search_box_s": ready, "answered_s": answered}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per case (default 3)")
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus", help="documents (default corpus/)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(ROOT))
    from tests.app_support import CHROMIUM, CHROMIUM_ARGS  # the browser tests' launch settings

    print("server command:", " ".join(command(0)).replace(" 0 ", " PORT "), f"(INDEXER_CORPUS={args.corpus})")
    print(f"question: {QUESTION}; {args.runs} runs per case; {os.cpu_count()} cores\n")
    results: dict[str, list[dict[str, float]]] = {"fresh": [], "built": []}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        # the first fresh run leaves a built index behind: the "built" runs start from it
        built = Path(tmp) / "fresh-0"
        for case in ("fresh", "built"):
            for i in range(args.runs):
                index = Path(tmp) / f"fresh-{i}" if case == "fresh" else built
                r = one_run(browser, args.corpus, index, Path(tmp) / (f"model-cache-{i}" if case == "fresh" else "model-cache-0"))
                results[case].append(r)
                print(
                    f"{case:5}  run {i + 1}: server up {r['server_up_s']:.2f} s, search box {r['search_box_s']:.2f} s, answered {r['answered_s']:.2f} s"
                )
        browser.close()
    print()
    summary = {}
    for case, runs in results.items():
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        summary[case] = med
        print(
            f"median {case:5} ({len(runs)} runs): server up {med['server_up_s']:.2f} s, "
            f"search box {med['search_box_s']:.2f} s, first answer {med['answered_s']:.2f} s"
        )
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "app_start.json").write_text(json.dumps({"runs": results, "median": summary}, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
