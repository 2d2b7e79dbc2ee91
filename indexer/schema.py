"""The data that flows through the package: documents, chunks, hits and answers.

All of them are frozen dataclasses so that a value handed to the page, the CLI
or a cache can never be changed behind the holder's back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import PurePath
from typing import Any


def year_of(date: str) -> int | None:
    """The year of a ``YYYY-MM-DD`` date, or None when there is no date."""
    return int(date[:4]) if date[:4].isdigit() else None


@dataclass(frozen=True)
class Document:
    """One loaded source file, cleaned of page boilerplate.

    ``paragraphs`` is the body: the title, the page furniture (打印, 字号,
    责任编辑, markdown markers…) and the metadata lines are gone; everything
    else is there, in order, one paragraph per item, text as printed.
    """

    doc_id: str
    title: str
    source: str
    date: str
    path: str
    fmt: str
    content_hash: str
    paragraphs: tuple[str, ...]
    warnings: tuple[str, ...] = ()

    @property
    def year(self) -> int | None:
        return year_of(self.date)

    def meta(self) -> dict[str, Any]:
        """The document fields of the CLI contract."""
        return {
            "doc_id": self.doc_id,
            "title": self.title,
            "source": self.source,
            "date": self.date,
            "path": self.path,
        }


@dataclass(frozen=True)
class DocumentRecord:
    """One document as an index's manifest records it (``manifest["documents"][doc_id]``).

    Everything that reads indexed documents (search filters, the catalogue,
    comparisons, exports) reads them through this record, never the raw JSON.
    """

    doc_id: str
    title: str
    source: str = ""
    date: str = ""
    path: str = ""
    fmt: str = ""
    content_hash: str = ""
    #: the numbering scheme it was chunked under (article, numbered, item, whole)
    scheme: str = ""
    #: how many chunks it has in the index: its measures and the passages beside them (preambles, intros)
    chunks: int = 0
    #: how many of those are numbered measures
    measures: int = 0
    #: how much of its body the chunks hold (``chunking.Coverage.to_dict()``; empty when not recorded)
    coverage: Mapping[str, Any] = field(default_factory=dict)
    #: warning codes of loading the file (kept for reuse by later builds)
    load_warnings: tuple[str, ...] = ()
    #: warning codes shown to people: loading and chunking
    warnings: tuple[str, ...] = ()
    #: which folder of the library holds the file (``corpus``: the samples, ``data``: uploads), and its path there
    root: str = ""
    file: str = ""

    @property
    def year(self) -> int | None:
        return year_of(self.date)

    @property
    def lost_paragraphs(self) -> int:
        """Paragraphs of body text in no chunk (the chunker misread part of the document)."""
        return int(self.coverage.get("lost_paragraphs", 0))

    @property
    def file_name(self) -> str:
        """The file's name only (the page never shows where the corpus lives on the server)."""
        return PurePath(self.path).name

    @classmethod
    def of(
        cls,
        doc: Document,
        scheme: str,
        chunks: int,
        measures: int | None = None,
        coverage: Mapping[str, Any] | None = None,
        notes: tuple[str, ...] = (),
    ) -> DocumentRecord:
        """The record of a loaded document cut into ``chunks`` chunks (``measures`` of them measures) under ``scheme``.

        Its warnings are the loader's, ``no_measures`` when nothing is numbered, then ``notes``.
        """
        measures = chunks if measures is None else measures
        warnings = doc.warnings + (() if measures else ("no_measures",)) + notes
        return cls(
            doc.doc_id,
            doc.title,
            doc.source,
            doc.date,
            doc.path,
            doc.fmt,
            doc.content_hash,
            scheme,
            chunks,
            measures,
            dict(coverage or {}),
            doc.warnings,
            warnings,
        )

    def to_manifest(self) -> dict[str, Any]:
        """The manifest's entry: every field, tuples as lists."""
        fields = asdict(self)
        if not (self.root and self.file):  # not inside the library's folders: its path says where it is
            del fields["root"], fields["file"]
        return {k: list(v) if isinstance(v, tuple) else v for k, v in fields.items()}

    @classmethod
    def from_manifest(cls, doc_id: str, m: dict[str, Any]) -> DocumentRecord:
        return cls(
            doc_id=doc_id,
            title=str(m.get("title") or doc_id),
            source=str(m.get("source") or ""),
            date=str(m.get("date") or ""),
            path=str(m.get("path") or ""),
            fmt=str(m.get("fmt") or PurePath(str(m.get("path") or "")).suffix.lstrip(".")),
            content_hash=str(m.get("content_hash") or ""),
            scheme=str(m.get("scheme") or ""),
            chunks=int(m.get("chunks") or 0),
            measures=int(m.get("measures", m.get("chunks")) or 0),
            coverage=dict(m["coverage"]) if isinstance(m.get("coverage"), dict) else {},
            load_warnings=tuple(str(w) for w in m.get("load_warnings", ())),
            warnings=tuple(str(w) for w in m.get("warnings", ())),
            root=m["root"] if isinstance(m.get("root"), str) else "",
            file=m["file"] if isinstance(m.get("file"), str) else "",
        )

    def document(self) -> Document:
        """The document as loaded, without its paragraphs (a build takes its chunks from the index)."""
        return Document(self.doc_id, self.title, self.source, self.date, self.path, self.fmt, self.content_hash, (), self.load_warnings)


@dataclass(frozen=True)
class Chunk:
    """Exactly one numbered measure (or article) of one document.

    ``text`` is the measure as printed, paragraphs joined by newlines, its
    number label (``5.``, ``第二十三条``) included.  ``sentences`` split the
    text: ``"".join(sentences) == text.replace("\\n", "")``.

    An article inserted by amendment (第一百三十三条之一) keeps its base number
    in ``measure_no`` (133) and its suffix in ``measure_suffix`` (``之一``); the
    suffix is empty for every other measure.  A *passage* — a preamble or the
    introduction of a section, text that belongs to no numbered measure — has
    ``measure_no`` 0 and a chunk_id naming its place (``doc#引言``,
    ``doc#第二部分引言``).
    """

    chunk_id: str
    doc_id: str
    doc_title: str
    section: str
    measure_no: int
    measure_title: str
    text: str
    sentences: tuple[str, ...]
    citation: str
    label: str = ""
    measure_suffix: str = ""

    @property
    def kind(self) -> str:
        """``measure`` for a numbered measure or article, ``passage`` for a preamble or section introduction."""
        return "passage" if self.measure_no == 0 else "measure"

    @property
    def key(self) -> str:
        """``doc_id#measure_no`` (``doc_id#133之一`` for an inserted article), the form the evaluation labels use.

        A passage's key is its chunk_id.
        """
        if self.measure_no == 0:
            return self.chunk_id
        return f"{self.doc_id}#{self.measure_no}{self.measure_suffix}"

    @property
    def body(self) -> str:
        """The text without its number label, for matching and embedding."""
        return self.text[len(self.label) :].lstrip() if self.label else self.text

    def to_dict(self) -> dict[str, Any]:
        return {
            "chunk_id": self.chunk_id,
            "doc_id": self.doc_id,
            "doc_title": self.doc_title,
            "section": self.section,
            "measure_no": self.measure_no,
            "measure_title": self.measure_title,
            "text": self.text,
            "sentences": list(self.sentences),
            "citation": self.citation,
            "label": self.label,
            "measure_suffix": self.measure_suffix,
            "kind": self.kind,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Chunk:
        return cls(
            chunk_id=d["chunk_id"],
            doc_id=d["doc_id"],
            doc_title=d["doc_title"],
            section=d["section"],
            measure_no=int(d["measure_no"]),
            measure_title=d["measure_title"],
            text=d["text"],
            sentences=tuple(d["sentences"]),
            citation=d["citation"],
            label=d.get("label", ""),
            measure_suffix=d.get("measure_suffix", ""),
        )


@dataclass(frozen=True)
class Hit:
    """One ranked search result: a chunk, its fused score and its evidence."""

    rank: int
    score: float
    chunk: Chunk
    #: indices into ``chunk.sentences`` of the sentences that best match the query
    evidence: tuple[int, ...] = ()
    #: per-signal scores that went into ``score`` (for display and debugging)
    signals: dict[str, float] = field(default_factory=dict, compare=False, hash=False)

    def to_dict(self) -> dict[str, Any]:
        c = self.chunk
        return {
            "rank": self.rank,
            "score": round(float(self.score), 6),
            "chunk_id": c.chunk_id,
            "doc_id": c.doc_id,
            "doc_title": c.doc_title,
            "section": c.section,
            "measure_no": c.measure_no,
            "measure_suffix": c.measure_suffix,
            "measure_title": c.measure_title,
            "text": c.text,
            "citation": c.citation,
            "evidence": [c.sentences[i] for i in self.evidence],
        }


@dataclass(frozen=True)
class AnswerSentence:
    """One sentence of an extractive answer, quoted exactly, with its citation."""

    sentence: str
    citation: str
    chunk_id: str
    score: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"sentence": self.sentence, "citation": self.citation, "chunk_id": self.chunk_id}


@dataclass(frozen=True)
class Answer:
    """The extractive answer to a question: cited sentences plus the ranked hits.

    ``found`` is false when nothing in the corpus answers the question; then
    ``sentences`` is empty.
    """

    question: str
    found: bool
    sentences: tuple[AnswerSentence, ...]
    hits: tuple[Hit, ...]
    confidence: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "found": self.found,
            "confidence": round(float(self.confidence), 4),
            "answer": [s.to_dict() for s in self.sentences],
            "hits": [h.to_dict() for h in self.hits],
        }
