"""Helpers shared by the page's tests: a small multi-document corpus and its e5 index."""

from __future__ import annotations

import shutil
from pathlib import Path

from .conftest import DATA, reform_plan_corpus

#: Debian's chromium (a browser download fails on these machines), started quietly
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

#: a document whose title and text carry HTML and script, uploaded by the escaping tests
HOSTILE_NAME = "恶意通知.txt"
HOSTILE_DOC = """关于<b>加强</b>立案服务的通知<script>alert(1)</script>
发布时间：2023-05-01 来源：测试法院

一、<b>严格</b>立案审查。<script>alert(1)</script>对于申请立案的材料，应当当场登记立案。
二、推进网上立案。当事人可以通过<i>网上</i>平台申请立案，法院应当及时审查。
""".encode()


def small_corpus(dest: Path) -> Path:
    """The 2021 reform plan plus the three small documents of tests/data: four documents, three years."""
    reform_plan_corpus(dest)
    for src in DATA.iterdir():
        if src.is_file():
            shutil.copy(src, dest / src.name)
    return dest


#: the first build of the session, kept untouched; later callers get a copy (a build takes seconds, a copy milliseconds)
_pristine: Path | None = None


def build_small_index(root: Path) -> tuple[Path, Path]:
    """(corpus, index) under ``root``: the small corpus indexed with the real bundled e5-small model.

    The first call builds (about 5 s) and keeps a pristine copy beside ``root``;
    later calls in the same test session copy it, so every caller owns its files.
    """
    global _pristine
    if _pristine is not None and (_pristine / "index").is_dir():
        return copy_index(_pristine, root)
    from indexer.build import build_index

    corpus = small_corpus(root / "corpus")
    build_index(corpus, root / "index", model="e5-small")
    pristine = root.parent / f"{root.name}-pristine"
    copy_index(root, pristine)
    _pristine = pristine
    return corpus, root / "index"


def copy_index(src_root: Path, dest_root: Path) -> tuple[Path, Path]:
    """A private copy of a built corpus and index, for a test that changes them."""
    shutil.copytree(src_root / "corpus", dest_root / "corpus")
    shutil.copytree(src_root / "index", dest_root / "index")
    return dest_root / "corpus", dest_root / "index"
