"""Shared fixtures: paths to the project's corpus and to ``../shared`` data."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
CORPUS = ROOT / "corpus"
SHARED = ROOT.parent / "shared"
REFORM_PLAN = CORPUS / "gd_courts_judicial_reform_2021.txt"

requires_shared = pytest.mark.skipif(
    not (SHARED / "corpus").is_dir(),
    reason="../shared is absent: the shared corpus and labelled questions sit beside the project checkout (CI has them)",
)


def shared_catalogue() -> list[dict[str, str]]:
    """Rows of ../shared/CORPUS.tsv (empty when ../shared is absent)."""
    tsv = SHARED / "CORPUS.tsv"
    if not tsv.is_file():
        return []
    with tsv.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))
