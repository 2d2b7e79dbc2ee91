"""The command-line interface: ``python -m indexer chunks|build|search|ask|eval``.

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

from .chunking import segment_document
from .errors import BadInputError, IndexerError
from .loading import SUPPORTED_SUFFIXES, load_corpus, load_document

log = logging.getLogger(__name__)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        raise BadInputError(f"{self.prog}: {message} (see --help)")


def _dump(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


# --------------------------------------------------------------------------- chunks


def cmd_chunks(args: argparse.Namespace) -> int:
    path = Path(args.path)
    if path.is_dir():
        result = load_corpus(path)
        docs = list(result.documents)
    elif path.exists():
        docs = [load_document(path)]
    else:
        raise BadInputError(f"no such file or folder: {args.path}")
    for doc in docs:
        layout = segment_document(doc)
        if args.json:
            _dump({"doc": doc.meta(), "chunks": [c.to_dict() for c in layout.chunks]})
            continue
        print(f"{doc.title}  [{doc.doc_id}; {doc.source or '?'}; {doc.date or '?'}; {len(layout.chunks)} measures]")
        for c in layout.chunks:
            print(f"  {c.measure_no:>3}  {c.section[:24]:<24}  {c.measure_title[:40]}")
    return 0


# --------------------------------------------------------------------------- main


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m indexer", description="Semantic search and cited answers over Chinese judicial-reform documents.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details to stderr")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("chunks", help="split a document (or every document in a folder) into cited measures")
    p.add_argument("path", help=f"a document ({', '.join(SUPPORTED_SUFFIXES)}) or a folder of them")
    p.add_argument("--json", action="store_true", help="print JSON: one object per document")
    p.set_defaults(func=cmd_chunks)
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
