"""Fine-tune e5-small the way the shipped delta was made (training data only, never ../shared/eval).

    python bench/tune_default.py --work DIR [--steps N] [--threads 2]

Tunes on the encoder's part of ../shared/train/pairs.tsv (bench/pairs_split.py;
the other fifth is left for the fusion ranker), plus pairs mined from the
structure of ../shared/corpus-laws and ../shared/corpus, each pair with a
neighbouring article of the same law as a hard negative, and writes the delta
to DIR/delta (then ``--model e5-tuned:DIR/delta``).  The shipped delta,
``indexer/data/encoders/e5-legal/``, is DIR/delta of a run with the defaults
(300 steps, about 35 minutes on this 2-core machine when it is otherwise idle;
its tune.json records how it was made).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from pairs_split import write_part  # noqa: E402

sys.path.insert(0, str(ROOT))
from indexer.tuning import DEFAULT_MINED, NEGATIVE_SOURCES, TuneSettings  # noqa: E402

SHARED = ROOT.parent / "shared"
#: the recipe (tune's defaults); this script adds the data, the steps and the threads
DEFAULTS = TuneSettings()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True, type=Path)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--layers", type=int, default=DEFAULTS.layers)
    ap.add_argument("--lr", type=float, default=DEFAULTS.learning_rate)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-per-passage", type=int, default=DEFAULTS.max_per_passage)
    ap.add_argument(
        "--no-hard-negatives",
        dest="hard_negatives",
        action="store_false",
        help="in-batch negatives only (the shipped delta also shows each pair a neighbouring article as a hard negative)",
    )
    ap.add_argument("--negatives", choices=NEGATIVE_SOURCES, default=DEFAULTS.negatives)
    ap.add_argument("--max-query-tokens", type=int, default=DEFAULTS.max_query_tokens)
    ap.add_argument(
        "--expand-queries",
        dest="expand_queries",
        action=argparse.BooleanOptionalAction,
        default=DEFAULTS.expand_queries,
        help="train on each question as search embeds it (thesaurus terms appended)",
    )
    ap.add_argument("--mine", default=",".join(DEFAULT_MINED), help="kinds of mined pairs (see python -m indexer tune --help)")
    ap.add_argument(
        "--extra-pairs",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="more query/relevant files to tune on, e.g. bench/queries/set_a.tsv (repeatable; never ../shared/eval)",
    )
    args = ap.parse_args()
    pairs = args.work / "pairs_tune.tsv"
    n = write_part(pairs, ranker=False)
    print(f"{n} pairs for tuning in {pairs}", file=sys.stderr)
    cmd = [
        sys.executable,
        "-m",
        "indexer",
        "tune",
        "--pairs",
        str(pairs),
        *[x for f in args.extra_pairs for x in ("--pairs", str(f.resolve()))],
        "--corpus",
        str(SHARED / "corpus-laws"),
        "--corpus",
        str(SHARED / "corpus"),
        "--out",
        str(args.work / "delta"),
        "--steps",
        str(args.steps),
        "--layers",
        str(args.layers),
        "--lr",
        str(args.lr),
        "--threads",
        str(args.threads),
        "--max-per-passage",
        str(args.max_per_passage),
        "--mine",
        args.mine,
        "--hard-negatives" if args.hard_negatives else "--no-hard-negatives",
        "--negatives",
        args.negatives,
        "--max-query-tokens",
        str(args.max_query_tokens),
        "--expand-queries" if args.expand_queries else "--no-expand-queries",
    ]
    print(" ".join(cmd), file=sys.stderr)
    raise SystemExit(subprocess.call(cmd, cwd=ROOT))


if __name__ == "__main__":
    main()
