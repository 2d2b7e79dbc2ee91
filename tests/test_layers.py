"""The import graph runs one way: app/CLI → service → search/answer/compare → store, dense, BM25, fusion, query → leaves.

Read from the source (imports inside functions count; ``if TYPE_CHECKING:`` blocks do not),
so a shortcut added anywhere fails here rather than in a review.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from .conftest import ROOT

PACKAGE = ROOT / "indexer"

#: what a question touches on its way to ranked, cited measures
QUERY_PATH = (
    "search",
    "answer",
    "compare",
    "signals",
    "store",
    "dense",
    "bm25",
    "fusion",
    "query",
    "associations",
    "units",
    "numerals",
    "segmentation",
    "schema",
)
#: building, parsing documents and the public facade: never imported by the query path
NOT_ON_THE_QUERY_PATH = {"build", "chunking", "loading", "corpus", "training", "service", "catalog", "cli"}


def _imports(path: Path) -> set[str]:
    """Modules of the package that ``path`` imports at run time."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for child in node.body for n in ast.walk(child))
    out = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:
                out.add(node.module.split(".")[0])
            elif node.level == 1:
                out.update(a.name for a in node.names)
            elif node.module and node.module.startswith("indexer."):
                out.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            out.update(a.name.split(".")[1] for a in node.names if a.name.startswith("indexer."))
    return out


def _closure(module: str) -> set[str]:
    seen: set[str] = set()
    todo = [module]
    while todo:
        for dep in _imports(PACKAGE / f"{todo.pop()}.py"):
            if dep not in seen and (PACKAGE / f"{dep}.py").exists():
                seen.add(dep)
                todo.append(dep)
    return seen


@pytest.mark.parametrize("module", QUERY_PATH)
def test_the_query_path_imports_neither_the_build_nor_the_chunker(module: str) -> None:
    assert _closure(module) & NOT_ON_THE_QUERY_PATH == set()


def test_the_page_and_the_cli_go_through_the_service() -> None:
    page = (ROOT / "app.py").read_text(encoding="utf-8")
    for bypass in ("Searcher", "build_index", ".manifest", "compare_theme(", "list_documents(", "clause_from_hit(", "ix.answer("):
        assert bypass not in page, bypass
    assert "IndexService" in page and "IndexView" in page
    assert _imports(PACKAGE / "cli.py") & {"build", "training", "answer", "chunking", "loading", "compare", "catalog"} == set()


def test_the_leaves_import_nothing_above_them() -> None:
    assert _imports(PACKAGE / "numerals.py") == set()
    assert _imports(PACKAGE / "units.py") <= {"schema", "segmentation"}
    assert _imports(PACKAGE / "schema.py") == set()
