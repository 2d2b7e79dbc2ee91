from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from indexer.schema import Document, DocumentRecord, year_of

_text = st.text(max_size=20)


def test_a_record_of_a_loaded_document() -> None:
    doc = Document(
        "plan", "改革要点", "广东高院", "2021-11-10", "/srv/corpus/plan.txt", "txt", "ab" * 32, ("一、甲。",), ("encoding_detected",)
    )
    r = DocumentRecord.of(doc, "numbered", 24)
    assert (r.doc_id, r.title, r.scheme, r.chunks, r.year, r.file_name) == ("plan", "改革要点", "numbered", 24, 2021, "plan.txt")
    assert r.load_warnings == r.warnings == ("encoding_detected",) and r.measures == 24 and r.lost_paragraphs == 0
    assert DocumentRecord.of(doc, "whole", 0).warnings == ("encoding_detected", "no_measures")
    lost = DocumentRecord.of(doc, "numbered", 3, 2, {"lost_paragraphs": 4}, ("4 段未归入任何条款",))
    assert (lost.chunks, lost.measures, lost.lost_paragraphs) == (3, 2, 4) and lost.warnings[-1] == "4 段未归入任何条款"
    # what a build keeps of it: everything but the paragraphs
    assert r.document() == Document(
        *[getattr(doc, f) for f in ("doc_id", "title", "source", "date", "path", "fmt", "content_hash")], (), doc.warnings
    )


@given(_text, _text, _text, st.integers(min_value=0, max_value=10_000), st.lists(_text, max_size=3))
def test_records_round_trip_through_the_manifest(title: str, source: str, date: str, chunks: int, warnings: list[str]) -> None:
    coverage = {"measures": chunks, "passages": 0, "unchunked_by_role": {"title": 1}, "lost_paragraphs": 0, "lost_chars": 0}
    r = DocumentRecord(
        "d",
        title or "d",
        source,
        date,
        "corpus/d.md",
        "md",
        "0" * 64,
        "article",
        chunks,
        chunks,
        coverage,
        tuple(warnings),
        tuple(warnings),
    )
    m = r.to_manifest()
    assert DocumentRecord.from_manifest("d", m) == r
    assert {"doc_id", "title", "source", "date", "path"} <= set(m)


def test_a_sparse_manifest_entry_has_defaults() -> None:
    r = DocumentRecord.from_manifest("notice", {"path": "corpus/notice.html"})
    assert (r.title, r.fmt, r.chunks, r.measures, r.coverage, r.year, r.warnings) == ("notice", "html", 0, 0, {}, None, ())
    assert DocumentRecord.from_manifest("old", {"chunks": 5}).measures == 5
    assert year_of("2019-05-01") == 2019 and year_of("") is None
