"""The command-line interface: ``python -m indexer chunks|build|search|ask|eval|train|feedback|tune``.

Output contract: ``--json`` prints machine-readable JSON on stdout.  Errors are
one line on stderr, exit status 2 for bad usage or input, 1 for other failures;
no traceback reaches the user (set ``INDEXER_DEBUG=1`` to see one).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from .encoders import DEFAULT_MODEL
from .errors import BadInputError, IndexerError
from .service import FORMATS, IndexService

log = logging.getLogger(__name__)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        raise BadInputError(f"{self.prog}: {message} (see --help)")


def _dump(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


# --------------------------------------------------------------------------- chunks


def cmd_chunks(args: argparse.Namespace) -> int:
    for doc, layout, cov in IndexService.chunk(args.path):
        if args.json:
            # every paragraph in no chunk, with its role: title, metadata, heading, closing — anything else is lost text
            unchunked = [{"paragraph": i, "role": layout.roles[i], "text": doc.paragraphs[i]} for i in layout.unchunked()]
            chunks = [c.to_dict() for c in layout.chunks]
            _dump({"doc": doc.meta(), "chunks": chunks, "scheme": layout.scheme, "coverage": cov.to_dict(), "unchunked": unchunked})
            continue
        print(f"{doc.title}  [{doc.doc_id}; {doc.source or '?'}; {doc.date or '?'}; {cov.measures} measures, {cov.passages} passages]")
        for c in layout.chunks:
            print(f"  {str(c.measure_no) + c.measure_suffix if c.measure_no else '—':>6}  {c.section[:24]:<24}  {c.measure_title[:40]}")
        named = ", ".join(f"{role} {n}" for role, n in sorted(cov.unchunked.items()))
        print(f"  in no chunk: {named or 'nothing'}" + (f" — {cov.warning}" if cov.lost_paragraphs else ""))
    return 0


# --------------------------------------------------------------------------- build


def cmd_build(args: argparse.Namespace) -> int:
    report = IndexService(args.corpus, args.index, args.model).build(force=args.force, progress=not args.quiet, lock_timeout=args.wait)
    if args.json:
        _dump(report.to_dict())
        return 0
    if report.up_to_date:
        print(f"index {report.index_dir} is up to date ({report.documents} documents, {report.chunks} measures)")
    else:
        changes = ", ".join(
            f"{len(v)} {k}" for k, v in (("added", report.added), ("changed", report.changed), ("removed", report.removed)) if v
        )
        print(
            f"built {report.index_dir} ({report.version}): {report.documents} documents, {report.chunks} measures"
            f"{'; ' + changes if changes else ''}; embedded {report.texts_embedded} texts ({report.tokens_embedded} tokens), "
            f"reused {report.texts_reused}; {report.seconds:.1f} s"
        )
    # skipped files are not listed here: loading already warned about each one, once (on stderr)
    for doc_id, paragraphs, chars in report.unchunked:
        print(
            f"  {doc_id}: {paragraphs} 段未归入任何条款 ({chars} characters of body text in no measure; see python -m indexer chunks FILE)",
            file=sys.stderr,
        )
    return 0


# --------------------------------------------------------------------------- search / ask


def _service(args: argparse.Namespace) -> IndexService:
    return IndexService(None, args.index, args.model)


def _filters(args: argparse.Namespace):  # noqa: ANN202
    from .search import Filters

    return Filters.make(doc_ids=args.doc or (), years=args.year or ())


def _read_queries(path: str) -> list[str]:
    """The queries of a file, one a line; blank lines are skipped.

    Every line is checked before the first search, so a bad line stops the run
    with its line number and no partial output: a line with nothing to search
    for (only control characters, e.g. a NUL byte) is an error, not a skip,
    because skipping it would shift every later result against its line.
    """
    from .segmentation import normalise

    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    except FileNotFoundError:
        raise BadInputError(f"no such queries file: {path}") from None
    except (UnicodeDecodeError, IsADirectoryError) as exc:
        raise BadInputError(f"cannot read queries file {path}: {exc.__class__.__name__} (one UTF-8 query a line)") from None
    queries = []
    for no, line in enumerate(lines, 1):
        line = line.strip()
        if not line:
            continue
        if not normalise(line).split():
            raise BadInputError(f"queries file {path}, line {no}: nothing to search for (only control characters); fix or delete the line")
        queries.append(line)
    if not queries:
        raise BadInputError(f"no queries in {path}: write one query a line")
    return queries


def _print_hits(hits: Sequence[Any]) -> None:
    for h in hits:
        c = h.chunk
        print(f"{h.rank:>2}. [{h.score:7.3f}] {c.citation}")
        print(f"    {c.measure_title}")
        print(f"    {c.body[:120]}{'…' if len(c.body) > 120 else ''}")


def cmd_search(args: argparse.Namespace) -> int:
    if (args.query is None) == (args.queries is None):
        raise BadInputError("give either a QUERY or --queries FILE")
    queries = [args.query] if args.query is not None else _read_queries(args.queries)
    if args.query is not None and not args.query.strip():
        raise BadInputError("empty query: type a question or some key words")
    view = _service(args).view()
    filters = _filters(args)
    for q in queries:
        result = view.search(q, top_k=args.top_k, mode=args.mode, filters=filters or None)
        if args.json:
            _dump(result.to_dict())
        else:
            print(f"{q}  ({result.latency_ms:.1f} ms, {args.mode})")
            _print_hits(result.hits)
            if not result.hits:
                print("    未找到相关条款 (nothing relevant found)")
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    if not args.question.strip():
        raise BadInputError("empty question: type a question or some key words")
    result = _service(args).ask(args.question, top_k=args.top_k, filters=_filters(args) or None)
    if args.json:
        _dump(result.to_dict())
        return 0
    if not result.found:
        print("未找到相关条款可以确定作答 (no confident answer: confidence below 0.6)")
    for s in result.sentences:
        print(f"{s.sentence}\n  ——{s.citation}")
    if result.hits:
        print("\n相关条款:" if result.found else "\n可能相关的条款 (possibly relevant, unconfirmed):")
        _print_hits(result.hits)
    return 0


# --------------------------------------------------------------------------- eval / train


def cmd_eval(args: argparse.Namespace) -> int:
    from .evaluation import format_table, load_questions

    questions = load_questions(args.queries)
    if not questions:
        raise BadInputError(f"no questions in {args.queries}")
    view = _service(args).view()
    modes = args.modes.split(",") if args.modes else ["bm25", "dense", "hybrid"]
    unknown = [m for m in modes if m not in ("bm25", "dense", "hybrid")]
    if unknown:
        raise BadInputError(f"unknown mode {unknown[0]!r} in --modes (use bm25, dense, hybrid)")
    results = view.evaluate(questions, modes=modes) if any(q.relevant for q in questions) else {}
    answers = view.evaluate_answers(questions) if args.answers or not results else None
    if args.json:
        _dump(
            {
                "queries": args.queries,
                "index": args.index,
                "encoder": view.encoder,
                "ranker": view.ranker,
                "rankings": results,
                "answers": answers,
            }
        )
        return 0
    ranking = view.ranker
    print(
        f"{args.queries}  (index {args.index}, encoder {view.encoder}, {view.chunks} measures, "
        f"ranker {ranking['id']} ({ranking['kind']}, {ranking['origin'] or 'untrained'}))"
    )
    if results:
        print(format_table(results))
    if answers:
        print(
            f"answers: found {answers['found_when_answerable']:.3f} of {answers['answerable']} answerable "
            f"(cited {answers['cited_when_found']:.3f}); not found {answers['not_found_when_unanswerable']:.3f} "
            f"of {answers['unanswerable']} unanswerable"
        )
        print(
            f"first answer sentence cites a relevant measure: {answers['first_relevant']:.3f} of answerable, "
            f"{answers['first_relevant_when_found']:.3f} when found; mean confidence {answers['mean_confidence']:.3f}, "
            f"ECE {answers['ece']:.3f}"
        )
    return 0


def cmd_tune(args: argparse.Namespace) -> int:
    from .tuning import DEFAULT_MINED, TuneSettings, tune

    settings = TuneSettings(
        steps=args.steps,
        batch_size=args.batch_size,
        layers=args.layers,
        learning_rate=args.lr,
        max_per_passage=args.max_per_passage,
        max_query_tokens=args.max_query_tokens,
        max_passage_tokens=args.max_passage_tokens,
        seed=args.seed,
        threads=args.threads,
        hard_negatives=args.hard_negatives,
        negatives=args.negatives,
        expand_queries=args.expand_queries,
    )
    if settings.batch_size < 2 or not 1 <= settings.layers <= 12 or settings.steps < 0 or settings.threads < 1:
        raise BadInputError("tune needs --batch-size ≥ 2, --layers between 1 and 12, --steps ≥ 0 and --threads ≥ 1")
    if min(settings.max_query_tokens, settings.max_passage_tokens) < 8 or max(settings.max_query_tokens, settings.max_passage_tokens) > 512:
        raise BadInputError("tune needs --max-query-tokens and --max-passage-tokens between 8 and 512")

    def progress(step: int, total: int, loss: float) -> None:
        if not args.quiet and (step == 1 or step % 10 == 0 or step == total):
            print(f"step {step}/{total}  loss {loss:.3f}", file=sys.stderr, flush=True)

    if args.no_mine and args.mine:
        raise BadInputError("tune got both --no-mine and --mine: give one (--mine KINDS picks which mined pairs to add)")
    mine: bool | list[str] = (
        False if args.no_mine else [k.strip() for k in args.mine.split(",") if k.strip()] if args.mine else list(DEFAULT_MINED)
    )
    meta = tune(args.pairs or [], args.corpus, args.out, settings, mine=mine, progress=progress)
    if args.json:
        _dump(meta)
    else:
        print(
            f"wrote {args.out}: {meta['steps']} steps on {sum(meta['pairs'].values())} pairs, loss {meta['loss_first_10']:.3f} → "
            f"{meta['loss_last_10']:.3f}, {meta['seconds']:.0f} s; use it with --model e5-tuned:{args.out}"
        )
    return 0


def cmd_feedback(args: argparse.Namespace) -> int:
    from .feedback import FEEDBACK_FILE, write_questions

    got = _service(args).feedback_questions()
    if not got.choices:
        print(
            f"no choices recorded in {Path(args.index) / FEEDBACK_FILE}; run the page with INDEXER_FEEDBACK=1 to record them",
            file=sys.stderr,
        )
    if args.json:
        rows = [{"query": q.query, "relevant": sorted(q.relevant)} for q in got.answerable]
        none = [q.query for q in got.unanswerable]
        print(json.dumps({"questions": rows, "unanswerable": none, "choices": got.choices, "dropped": got.dropped}, ensure_ascii=False))
    else:
        text = write_questions(args.out, got.answerable)
        if not args.out:
            sys.stdout.write(text)
        if args.unanswerable_out:
            write_questions(args.unanswerable_out, got.unanswerable)
    if got.choices:
        gone = f"; {got.dropped} dropped (measures no longer in the index)" if got.dropped else ""
        where = f" → {args.out}" if args.out and not args.json else ""
        none = f"; {len(got.unanswerable)} marked as answered by none of the measures shown" if got.unanswerable else ""
        print(f"{len(got.answerable)} questions from {got.choices} records{gone}{where}{none}", file=sys.stderr)
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from .associations import table_for
    from .evaluation import load_questions

    questions = [q for path in args.queries for q in load_questions(path)]
    unanswerable = [q for path in args.unanswerable or [] for q in load_questions(path) if not q.relevant]
    answerable = [q for q in questions if q.relevant]
    if not answerable:
        raise BadInputError(f"no answerable questions (with relevant measures) in {', '.join(args.queries)}")
    version, models = _service(args).train(answerable, unanswerable, mine_associations=args.mine_associations)
    if args.out:
        models.save(Path(args.out))
    ranker, calibrator = models.ranker, models.calibrator
    assert ranker is not None
    print(
        f"wrote {args.index} ({version}): models {models.id}, ranker over {len(ranker.features)} signals "
        f"from {ranker.info['questions']} questions",
        end="",
    )
    print(f"; calibrator threshold {calibrator.threshold:.2f}" if calibrator else "", end="")
    cv = ranker.info.get("associations_cv_mrr10")
    if args.mine_associations and cv is None:
        print("; associations: none mined (too few questions share a word)", end="")
    elif cv is not None:
        verdict = f"kept, {len(table_for(models.associations))} words in all" if models.associations else "not kept, the package's serve"
        print(f"; mined associations {verdict} (cross-validated MRR@10 {cv['without']:.3f} without, {cv['with']:.3f} with)", end="")
    print()
    return 0


# --------------------------------------------------------------------------- main


def _top_k(value: str) -> int:
    """``--top-k``: a whole number from 1 to the search's maximum (argparse reports anything else)."""
    from .search import MAX_TOP_K

    try:
        k = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if not 1 <= k <= MAX_TOP_K:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_TOP_K}, not {k}")
    return k


def _switch(p: argparse.ArgumentParser, dest: str, default: bool, on: str, off: str) -> None:
    """``--NAME`` / ``--no-NAME`` for a setting, given together refused as a usage error."""
    flag = dest.replace("_", "-")
    group = p.add_mutually_exclusive_group()
    group.add_argument(f"--{flag}", dest=dest, action="store_true", help=on)
    group.add_argument(f"--no-{flag}", dest=dest, action="store_false", help=off)
    p.set_defaults(**{dest: default})


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m indexer", description="Semantic search and cited answers over Chinese judicial-reform documents.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details to stderr")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("chunks", help="split a document (or every document in a folder) into cited measures")
    p.add_argument("path", help=f"a document ({', '.join(FORMATS.suffixes)}) or a folder of them")
    p.add_argument("--json", action="store_true", help="print JSON: one object per document")
    p.set_defaults(func=cmd_chunks)

    def index_args(p: argparse.ArgumentParser, model_help: str) -> None:
        p.add_argument("--index", default="embeddings", metavar="DIR", help="index folder (default: embeddings)")
        p.add_argument("--model", default=None, metavar="MODEL", help=model_help)

    p = sub.add_parser("build", help="build or update the index of a corpus folder")
    p.add_argument("--corpus", default="corpus", metavar="DIR", help="folder of documents (default: corpus)")
    index_args(p, f"encoder: {DEFAULT_MODEL} (the default), e5-small (4-bit, no torch) or st:NAME (a local sentence-transformers model)")
    p.add_argument("--force", action="store_true", help="rebuild even when nothing changed")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    from .store import LOCK_TIMEOUT

    p.add_argument(
        "--wait",
        type=float,
        default=LOCK_TIMEOUT,
        metavar="SECONDS",
        help=f"how long to wait for another build of the same index to finish (default {LOCK_TIMEOUT:.0f})",
    )
    p.add_argument("--json", action="store_true", help="print the build report as JSON")
    p.set_defaults(func=cmd_build)

    from .search import MAX_TOP_K, MODES

    def search_args(p: argparse.ArgumentParser) -> None:
        index_args(p, "encoder (default: the one the index was built with)")
        p.add_argument("--top-k", type=_top_k, default=10, metavar="K", help=f"number of results, 1–{MAX_TOP_K} (default 10)")
        p.add_argument("--doc", action="append", metavar="DOC_ID", help="only this document (repeatable)")
        p.add_argument("--year", action="append", type=int, metavar="YEAR", help="only documents of this year (repeatable)")
        p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("search", help="ranked, cited measures for a query")
    p.add_argument("query", nargs="?", help="the query")
    p.add_argument("--queries", metavar="FILE", help="one query a line; prints JSON Lines, the index loaded once")
    p.add_argument("--mode", choices=MODES, default="hybrid", help="ranking (default hybrid)")
    search_args(p)
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("ask", help="an extractive, cited answer to a question")
    p.add_argument("question")
    search_args(p)
    p.set_defaults(func=cmd_ask, top_k=5)

    p = sub.add_parser("eval", help="R@1, Hit@5, Hit@10, MRR@10, nDCG@10 of bm25, dense and hybrid on labelled questions")
    p.add_argument("--queries", required=True, metavar="FILE", help="TSV with columns query and relevant (doc_id#measure_no,…)")
    index_args(p, "encoder (default: the one the index was built with)")
    p.add_argument("--modes", default=None, help="comma-separated subset of bm25,dense,hybrid")
    p.add_argument(
        "--answers", action="store_true", help="also score the answers: found/not-found, first sentence relevant, calibration (ECE)"
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("train", help="train the fusion ranker and the found/not-found calibrator; publishes a new index version")
    p.add_argument("--queries", required=True, action="append", metavar="FILE", help="answerable training questions (TSV; repeatable)")
    p.add_argument(
        "--unanswerable", action="append", metavar="FILE", help="unanswerable training questions (TSV, empty relevant; repeatable)"
    )
    p.add_argument("--out", metavar="FILE", help="also write the models to FILE (e.g. to ship them as an encoder's default)")
    p.add_argument(
        "--mine-associations",
        action="store_true",
        help="also mine word associations from the answerable questions (their words → the words of the measures that answer "
        "them), added to the package's table; kept, and carried by the models, only if cross-validation on the questions "
        "ranks better (both figures are printed)",
    )
    index_args(p, "encoder (default: the one the index was built with)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        "feedback",
        help="the measures users chose for their questions (logged by the page with INDEXER_FEEDBACK=1) as training questions",
    )
    p.add_argument("--out", metavar="FILE", help="write the query<TAB>relevant TSV here (default: standard output)")
    p.add_argument(
        "--unanswerable-out",
        metavar="FILE",
        help="also write the questions marked 以上都不相关 here (empty relevant), for train --unanswerable",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    index_args(p, "encoder (default: the one the index was built with)")
    p.set_defaults(func=cmd_feedback)

    p = sub.add_parser(
        "tune",
        help="fine-tune e5-small on question → measure pairs (in-batch negatives); writes a delta usable as --model e5-tuned:DIR",
    )
    p.add_argument(
        "--pairs", action="append", metavar="FILE", help="TSV with columns query and relevant (chunk ids of --corpus documents; repeatable)"
    )
    p.add_argument(
        "--corpus", action="append", required=True, metavar="DIR", help="documents the pairs cite, also mined for pairs (repeatable)"
    )
    p.add_argument("--out", required=True, metavar="DIR", help="folder for delta.safetensors and tune.json")
    # the defaults are TuneSettings' and DEFAULT_MINED (the shipped delta's recipe), stated once in tuning.py
    from .tuning import DEFAULT_MINED, NEGATIVE_SOURCES, TuneSettings

    p.add_argument("--no-mine", action="store_true", help="do not add pairs mined from the documents' own structure")
    p.add_argument(
        "--mine",
        metavar="KINDS",
        help="which mined pairs to add, comma-separated: headings (law title and headings ↔ article), title (measure title ↔ "
        f"the rest), sentence (one sentence ↔ the rest of its measure); default {','.join(DEFAULT_MINED)}",
    )
    d = TuneSettings()
    p.add_argument("--steps", type=int, default=d.steps, help="training steps (default 0: one pass over the pairs)")
    p.add_argument(
        "--batch-size",
        type=int,
        default=d.batch_size,
        help=f"pairs per step; the others in the batch are the negatives (default {d.batch_size})",
    )
    p.add_argument("--layers", type=int, default=d.layers, help=f"how many top transformer layers are trained (default {d.layers})")
    p.add_argument("--lr", type=float, default=d.learning_rate, help=f"peak learning rate (default {d.learning_rate:g})")
    p.add_argument(
        "--max-per-passage",
        type=int,
        default=d.max_per_passage,
        help=f"at most this many questions per cited measure (default {d.max_per_passage})",
    )
    p.add_argument(
        "--max-query-tokens",
        type=int,
        default=d.max_query_tokens,
        help=f"questions are cut to this many tokens (default {d.max_query_tokens})",
    )
    p.add_argument(
        "--max-passage-tokens",
        type=int,
        default=d.max_passage_tokens,
        help=f"passages are cut to this many tokens (default {d.max_passage_tokens})",
    )
    _switch(
        p,
        "hard_negatives",
        d.hard_negatives,
        "show each pair a neighbouring measure of the same document as a negative (right law, wrong article; the default)",
        "in-batch negatives only",
    )
    p.add_argument(
        "--negatives",
        choices=NEGATIVE_SOURCES,
        default=d.negatives,
        help="where the questions' hard negatives come from: neighbouring measures of the answer, or the measures the "
        f"untrained model ranks high for the question (mined pairs always take a neighbour; default {d.negatives})",
    )
    _switch(
        p,
        "expand_queries",
        d.expand_queries,
        "train on each question as search embeds it, with the thesaurus's legal terms appended",
        "train on the bare questions (the default)",
    )
    p.add_argument("--seed", type=int, default=d.seed, help=f"random seed (default {d.seed})")
    p.add_argument("--threads", type=int, default=d.threads, help=f"CPU threads (default {d.threads}; same seed and threads → same result)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.add_argument("--json", action="store_true", help="print tune.json's contents as JSON")
    p.set_defaults(func=cmd_tune)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    debug = os.environ.get("INDEXER_DEBUG") == "1"
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        logging.basicConfig(
            level=logging.INFO if args.verbose else logging.WARNING,
            format="%(levelname)s: %(message)s",
            stream=sys.stderr,
        )
        return int(args.func(args) or 0)
    except IndexerError as exc:
        if debug:
            raise
        print(f"error: {_one_line(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # the last line of defence: no traceback for users
        if debug:
            raise
        print(f"error: unexpected {exc.__class__.__name__}: {_one_line(str(exc))} (set INDEXER_DEBUG=1 for details)", file=sys.stderr)
        return 1


def _one_line(text: str) -> str:
    return " ".join(text.split())
