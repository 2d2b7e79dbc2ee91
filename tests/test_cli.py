from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from indexer.cli import main

from .conftest import DATA, REFORM_PLAN, ROOT

CHUNK_FIELDS = {"chunk_id", "doc_id", "doc_title", "section", "measure_no", "measure_title", "text", "sentences", "citation"}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_chunks_json_contract(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "chunks", str(REFORM_PLAN), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert set(data) == {"doc", "chunks"}
    assert set(data["doc"]) >= {"doc_id", "title", "source", "date", "path"}
    assert data["doc"]["title"] == "2021年全省法院司法改革工作要点"
    assert len(data["chunks"]) == 24
    first = data["chunks"][0]
    assert set(first) >= CHUNK_FIELDS
    assert isinstance(first["measure_no"], int) and isinstance(first["sentences"], list)


def test_chunks_folder_prints_one_object_per_document(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "chunks", str(DATA), "--json")
    assert code == 0
    docs = [json.loads(line) for line in out.splitlines()]
    assert sorted(d["doc"]["doc_id"] for d in docs) == ["notice_items", "reform_plan_fullwidth", "rules_articles"]


def test_chunks_human_listing(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "chunks", str(REFORM_PLAN))
    assert code == 0
    assert "完善市场主体救治和退出机制" in out and "24 measures" in out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["chunks"], "required"),
        (["chunks", "/no/such/file.txt", "--json"], "no such file"),
        (["nonsense"], "invalid choice"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str], needle: str) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and needle in err


def test_unreadable_file_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"not a pdf at all")
    code, _, err = run(capsys, "chunks", str(bad), "--json")
    assert code == 2
    assert err.strip().startswith("error: cannot read") and "bad.pdf" in err and err.count("\n") == 1


def test_module_entry_point_runs() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "indexer", "chunks", str(REFORM_PLAN), "--json"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["doc"]["doc_id"] == "gd_courts_judicial_reform_2021"
