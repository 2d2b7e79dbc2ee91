from __future__ import annotations

import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.errors import BadInputError, IndexWriteError
from indexer.evaluation import Question, load_questions
from indexer.feedback import FEEDBACK_FILE, NOTHING, Choice, Collected, FeedbackLog, aggregate, write_questions


def test_choices_are_appended_and_read_back_in_order(tmp_path: Path) -> None:
    log = FeedbackLog(tmp_path)
    assert log.choices() == [] and aggregate(log.choices()) == Collected((), (), 0, 0)
    a = log.record("判决赢了但是拿不到钱", "gd#18", when=0)
    log.record("法官惩戒", "judges_law#46")
    log.record("判决赢了但是拿不到钱", "gd#19")
    assert (tmp_path / FEEDBACK_FILE).read_text(encoding="utf-8").startswith("time\tquery\tchunk_id\n")
    choices = log.choices()
    assert choices[0] == a and [c.chunk_id for c in choices] == ["gd#18", "judges_law#46", "gd#19"]
    got = aggregate(log.choices())
    assert got.choices == 3 and got.dropped == 0 and got.unanswerable == ()
    assert got.answerable == (
        Question("判决赢了但是拿不到钱", frozenset({"gd#18", "gd#19"})),
        Question("法官惩戒", frozenset({"judges_law#46"})),
    )


def test_tabs_and_line_breaks_never_split_a_record(tmp_path: Path) -> None:
    log = FeedbackLog(tmp_path)
    log.record("第一行\n第二行\t还有", "doc#1")
    assert [c.query for c in log.choices()] == ["第一行 第二行 还有"]
    with pytest.raises(BadInputError):
        log.record("   ", "doc#1")
    with pytest.raises(BadInputError):
        log.record("问题", "")
    with pytest.raises(BadInputError):
        log.record("长" * 501, "doc#1")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.text(min_size=1, max_size=40), st.from_regex(r"[a-z_]{1,8}#[0-9]{1,3}", fullmatch=True)), max_size=8))
def test_any_question_is_one_record(tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[str, str]]) -> None:
    log = FeedbackLog(tmp_path_factory.mktemp("log"))
    kept = []
    for q, c in rows:
        if not " ".join(q.split()):
            continue
        log.record(q, c)
        kept.append((" ".join(q.split()), c))
    assert [(c.query, c.chunk_id) for c in log.choices()] == kept


def test_malformed_lines_are_skipped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / FEEDBACK_FILE).write_text("time\tquery\tchunk_id\nbroken line\n2026-01-01T00:00:00\t问题\tdoc#1\n\t\t\n", encoding="utf-8")
    assert [c.query for c in FeedbackLog(tmp_path).choices()] == ["问题"]
    assert "2 malformed lines skipped" in caplog.text


def test_concurrent_sessions_write_whole_lines(tmp_path: Path) -> None:
    log = FeedbackLog(tmp_path)

    def work(n: int) -> None:
        for i in range(50):
            log.record(f"问题{n}-{i}" * 20, f"doc#{i}")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    choices = log.choices()
    assert len(choices) == 200 and all(c.query.startswith("问题") for c in choices)
    assert (tmp_path / FEEDBACK_FILE).read_text(encoding="utf-8").count("time\tquery") == 1


def test_sessions_that_all_find_no_log_write_one_header(tmp_path: Path) -> None:
    for attempt in range(20):
        log = FeedbackLog(tmp_path / str(attempt))
        log.path.parent.mkdir()
        start = threading.Barrier(6)

        def work(n: int, log: FeedbackLog = log, start: threading.Barrier = start) -> None:
            start.wait()
            log.record(f"问题{n}", f"doc#{n}")

        threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        text = log.path.read_text(encoding="utf-8")
        assert text.startswith("time\tquery\tchunk_id\n") and text.count("time\tquery") == 1
        assert sorted(c.chunk_id for c in log.choices()) == [f"doc#{n}" for n in range(6)]
        # the header is linked into place from a private file, which never stays behind
        assert [f.name for f in log.path.parent.iterdir()] == [FEEDBACK_FILE]


def test_a_header_repeated_by_an_older_version_is_not_a_choice(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    log = FeedbackLog(tmp_path)
    row = "2026-01-01T00:00:00\t问题\tdoc#1\n"
    log.path.write_text("time\tquery\tchunk_id\n" + row + "time\tquery\tchunk_id\n" + row, encoding="utf-8")
    assert [c.chunk_id for c in log.choices()] == ["doc#1", "doc#1"] and "malformed" not in caplog.text


def test_an_unwritable_index_folder_is_an_index_write_error(tmp_path: Path) -> None:
    with pytest.raises(IndexWriteError, match="cannot record the choice"):
        FeedbackLog(tmp_path / "missing").record("问题", "doc#1")


def test_choices_of_measures_no_longer_indexed_are_dropped_and_ids_become_labels() -> None:
    choices = [Choice("t", "问题", "doc#3~2"), Choice("t", "问题", "gone#1"), Choice("t", "别的", "doc#4")]
    labels = {"doc#3~2": "doc#3", "doc#4": "doc#4"}
    got = aggregate(choices, labels.get)
    assert got.dropped == 1 and got.answerable == (Question("问题", frozenset({"doc#3"})), Question("别的", frozenset({"doc#4"})))


def test_questions_marked_as_answered_by_nothing_shown_are_unanswerable_unless_answered() -> None:
    choices = [Choice("t", "红烧肉怎么做", NOTHING), Choice("t", "改了主意", NOTHING), Choice("t", "改了主意", "doc#1")]
    got = aggregate(choices, {"doc#1": "doc#1"}.get)
    assert got.unanswerable == (Question("红烧肉怎么做", frozenset()),)
    assert got.answerable == (Question("改了主意", frozenset({"doc#1"})),) and got.choices == 3 and got.dropped == 0


def test_the_questions_file_is_what_train_and_tune_read(tmp_path: Path) -> None:
    questions = [Question("判决赢了但是拿不到钱", frozenset({"gd#19", "gd#18"})), Question("法官惩戒", frozenset({"judges_law#46"}))]
    text = write_questions(tmp_path / "q.tsv", questions)
    assert text.splitlines()[1] == "判决赢了但是拿不到钱\tgd#18,gd#19"
    assert load_questions(tmp_path / "q.tsv") == questions
    write_questions(tmp_path / "u.tsv", [Question("红烧肉怎么做", frozenset())])
    assert load_questions(tmp_path / "u.tsv") == [Question("红烧肉怎么做", frozenset())]
    with pytest.raises(BadInputError, match="cannot write"):
        write_questions(tmp_path / "no" / "q.tsv", questions)
