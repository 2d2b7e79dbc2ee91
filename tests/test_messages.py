"""The Chinese message catalogue: every kind the package raises has an entry, no entry leaks a path."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from indexer import errors
from indexer.loading import load_corpus, load_document
from indexer.messages import MESSAGES, error_text, strip_paths, text, warning_text

from .conftest import ROOT

CJK = re.compile(r"[\u4e00-\u9fff]")
#: warning codes the loader and the build put in Document.warnings / the manifest
WARNING_CODES = re.compile(r"""warnings\.append\(["']([a-z_]+)["']\)|\["(no_measures)"\]""")


def _callee(node: ast.Call) -> str:
    f = node.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


def kinds_used_in_package() -> set[str]:
    """``kind="…"`` of every error raised (``…Error(...)``) or file skipped (``skip(...)``), and the warning codes."""
    found: set[str] = set()
    for path in (ROOT / "indexer").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Call) and (_callee(node).endswith("Error") or _callee(node) == "skip"):
                found.update(k.value.value for k in node.keywords if k.arg == "kind" and isinstance(k.value, ast.Constant))
        found.update(k for pair in WARNING_CODES.findall(source) for k in pair if k)
    return found


def test_every_kind_raised_by_the_package_has_a_chinese_entry() -> None:
    used = kinds_used_in_package()
    assert {"binary", "encoding", "empty", "duplicate", "encoding_detected", "no_date"} <= used  # the scan finds them
    assert not used - set(MESSAGES), f"kinds without a catalogue entry: {sorted(used - set(MESSAGES))}"


def test_every_error_class_has_a_generic_entry() -> None:
    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.IndexerError)]
    assert len(classes) >= 7
    for cls in classes:
        assert cls.kind in MESSAGES, cls


@pytest.mark.parametrize("kind", sorted(MESSAGES))
def test_entries_are_chinese_and_fill_with_their_fields(kind: str) -> None:
    template = MESSAGES[kind]
    assert CJK.search(template)
    names = [f for _, f, _, _ in string.Formatter().parse(template) if f]
    filled = text(kind, **dict.fromkeys(names, "值"))
    assert "{" not in filled and "…" not in filled
    assert "值" in filled or not names


def test_a_binary_file_is_described_in_chinese_without_its_folder(tmp_path: Path) -> None:
    bad = tmp_path / "secret" / "broken2.txt"
    bad.parent.mkdir()
    bad.write_bytes(b"\x00\x01\x02binary" * 50)
    with pytest.raises(errors.UnreadableDocumentError) as info:
        load_document(bad)
    assert str(tmp_path) in str(info.value)  # the CLI's English message names the file it read
    shown = error_text(info.value)
    assert shown == "是二进制数据，不是文字文件" and str(tmp_path) not in shown


def test_skips_carry_their_kind_and_fields(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("关于立案的通知\n一、严格立案审查。\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("关于立案的通知\n一、严格立案审查。\n", encoding="utf-8")
    (tmp_path / "zero.md").write_bytes(b"")
    result = load_corpus(tmp_path)
    by_name = {Path(s.path).name: s for s in result.skipped}
    assert by_name["zero.md"].kind == "empty"
    dup = by_name["b.txt"]
    assert dup.kind == "duplicate" and dict(dup.fields) == {"title": "关于立案的通知", "other": "a.txt"}
    assert text(dup.kind, **dict(dup.fields)) == "与已收录的《关于立案的通知》（a.txt）内容相同，未收录"


def test_errors_show_their_kind_or_their_class_text() -> None:
    assert error_text(errors.IndexDamagedError("index file dense.faiss is damaged in /srv/x")) == MESSAGES["index_damaged"]
    assert error_text(errors.BadInputError("something", kind="no_such_kind")) == MESSAGES["bad_input"]
    assert error_text(errors.IndexerError("busy", kind="build_busy")) == MESSAGES["build_busy"]
    assert error_text(ValueError("boom /srv/secret")) == MESSAGES["unexpected"]
    assert "/srv" not in error_text(errors.BadInputError("x", kind="cannot_open", error="/srv/data/a.txt: denied"))


def test_warnings_are_shown_in_chinese() -> None:
    assert warning_text("encoding_detected") == MESSAGES["encoding_detected"]
    assert warning_text("from /home/user/corpus/x.txt") == "from x.txt"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("cannot read /work/main/corpus/a.txt: binary", "cannot read a.txt: binary"),
        ("无法读取 /srv/数据/上传/通知.docx。", "无法读取 通知.docx。"),
        (r"cannot read C:\Users\clerk\corpus\a.txt", "cannot read a.txt"),
        ("第3/4项 and 1/2 and https://x/y", "第3/4项 and 1/2 and https://x/y"),
    ],
)
def test_strip_paths_keeps_only_file_names(raw: str, shown: str) -> None:
    assert strip_paths(raw) == shown


@given(st.lists(st.text(alphabet="abc数据_-.", min_size=1, max_size=6), min_size=1, max_size=5), st.text(alphabet="x文.", min_size=1))
def test_strip_paths_never_leaves_a_folder(folders: list[str], name: str) -> None:
    folders = [f for f in folders if f not in (".", "..")] or ["srv"]
    path = "/" + "/".join(folders) + "/" + name
    assert strip_paths(f"读取 {path} 失败") == f"读取 {name} 失败"
