"""Training questions from use: the measures users chose for a question.

A judge who asks 判决赢了但是拿不到钱 and adds 第18条 to the excerpt has said which
measure answers that question.  When the page runs with ``INDEXER_FEEDBACK=1``
each such choice is appended to ``feedback.tsv`` in the index folder (time,
question, chunk id; nothing else, and it never leaves the machine).
``python -m indexer feedback --index DIR --out FILE`` turns the log into a
``query<TAB>relevant`` file (one row per question, every measure chosen for it),
the format ``train --queries`` and ``tune --pairs`` read: the court's own logs.

A choice is a positive label only: removing a measure from the excerpt later is
not recorded as "not relevant" (the user may simply be done with it).  The page
also offers 以上都不相关: the question is logged with :data:`NOTHING`, and is
exported as a question whose top-ranked measure was wrong — the outcome the
found/not-found calibrator learns (``train --unanswerable``).
"""

from __future__ import annotations

import csv
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from .errors import BadInputError, IndexWriteError
from .evaluation import Question

log = logging.getLogger(__name__)

FEEDBACK_FILE = "feedback.tsv"
HEADER = "time\tquery\tchunk_id\n"
HEADER_FIELDS = HEADER.strip().split("\t")
#: a question longer than the page accepts is not one of its questions
MAX_QUERY_CHARS = 500
#: recorded in place of a chunk id: none of the measures shown answers the question (the calibrator's negatives)
NOTHING = "-"


@dataclass(frozen=True)
class Choice:
    """One measure chosen for one question."""

    time: str
    query: str
    chunk_id: str


def _clean(text: str) -> str:
    # one field on one line: tabs and line breaks would split the record
    return " ".join(text.split())


class FeedbackLog:
    """The append-only log of choices in an index folder."""

    def __init__(self, index_dir: str | Path) -> None:
        self.path = Path(index_dir) / FEEDBACK_FILE

    def record(self, query: str, chunk_id: str, when: float | None = None) -> Choice:
        """Append one choice; raises :class:`IndexWriteError` when the log cannot be written."""
        q, c = _clean(query), _clean(chunk_id)
        if not q or not c or len(q) > MAX_QUERY_CHARS:
            raise BadInputError("a choice needs a question (at most 500 characters) and a measure")
        choice = Choice(time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(when)), q, c)
        line = f"{choice.time}\t{choice.query}\t{choice.chunk_id}\n".encode()
        try:
            if not self.path.exists():
                self._create()
            # O_APPEND and one write per record: concurrent sessions never interleave within a line
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)
        except OSError as exc:
            raise IndexWriteError(
                f"cannot record the choice in {self.path} ({exc.strerror or exc}); check the index folder's permissions"
            ) from None
        return choice

    def _create(self) -> None:
        # the header and the file appear together: two sessions that both found no log must not both
        # write a header (one would land between the other's records), so the header is written to a
        # private file first and linked into place, which fails for all but the first
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".feedback-", suffix=".tmp")
        try:
            try:
                os.write(fd, HEADER.encode())
            finally:
                os.close(fd)
            try:
                os.link(tmp, self.path)
            except FileExistsError:
                pass
            except OSError:
                # a file system without hard links: create exclusively, a far smaller window
                try:
                    fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                except FileExistsError:
                    return
                try:
                    os.write(fd, HEADER.encode())
                finally:
                    os.close(fd)
        finally:
            Path(tmp).unlink(missing_ok=True)

    def choices(self) -> list[Choice]:
        """Every recorded choice, oldest first; malformed lines are skipped with a warning."""
        if not self.path.is_file():
            return []
        out, bad = [], 0
        with self.path.open(encoding="utf-8", errors="replace", newline="") as fh:
            for row in csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
                # anywhere, not only first: logs written before the header was created atomically may repeat it
                if row == HEADER_FIELDS:
                    continue
                if len(row) != 3 or not all(field.strip() for field in row):
                    bad += 1
                    continue
                out.append(Choice(*(field.strip() for field in row)))
        if bad:
            log.warning("%s: %d malformed lines skipped", self.path, bad)
        return out


@dataclass(frozen=True)
class Collected:
    """The log as training questions."""

    #: one per question with a chosen measure: every measure chosen for it (labels, ``doc_id#measure_no``)
    answerable: tuple[Question, ...]
    #: questions marked as answered by none of the measures shown, and never answered by a choice
    unanswerable: tuple[Question, ...]
    #: records read
    choices: int
    #: choices of measures the index no longer holds
    dropped: int


def aggregate(choices: Iterable[Choice], label_of: Callable[[str], str | None] | None = None) -> Collected:
    """The choices grouped by question text, in order of first record.

    ``label_of`` maps a chunk id to the label training files use for it
    (``doc_id#measure_no``), or to None when the index no longer holds it
    (a document removed or renumbered): such choices are dropped.  A question
    marked :data:`NOTHING` counts as unanswerable unless a measure was chosen
    for it too (the user found one after all).
    """
    chosen: dict[str, dict[str, None]] = {}
    nothing: dict[str, None] = {}
    n = dropped = 0
    for c in choices:
        n += 1
        if c.chunk_id == NOTHING:
            nothing[c.query] = None
            continue
        label = label_of(c.chunk_id) if label_of is not None else c.chunk_id
        if label is None:
            dropped += 1
            continue
        chosen.setdefault(c.query, {})[label] = None
    return Collected(
        tuple(Question(q, frozenset(ids)) for q, ids in chosen.items()),
        tuple(Question(q, frozenset()) for q in nothing if q not in chosen),
        n,
        dropped,
    )


def write_questions(path: str | Path | None, questions: Iterable[Question]) -> str:
    """The questions as a ``query<TAB>relevant`` TSV (written to ``path`` when given); returns the text."""
    lines = ["query\trelevant"] + [f"{q.query}\t{','.join(sorted(q.relevant))}" for q in questions]
    text = "\n".join(lines) + "\n"
    if path is not None:
        try:
            Path(path).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise BadInputError(f"cannot write {path} ({exc.strerror or exc}); choose another --out file") from None
    return text


__all__ = ["FEEDBACK_FILE", "NOTHING", "Choice", "Collected", "FeedbackLog", "aggregate", "write_questions"]
