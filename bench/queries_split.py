"""Split bench/queries' labelled questions in two with no measure in common (for tuning the encoder on some).

Questions that share a labelled measure are kept together (connected by their labels), and whole groups
are drawn at random (seeded) into the tuning part until it holds about ``--share`` of the questions.  The
other part then asks only about measures the tuned encoder never saw a question for: a measure of what
tuning on a court's own questions does for questions about other measures.  Never ../shared/eval.

    python bench/queries_split.py --out DIR [--share 0.6] [--seed 0]   # writes DIR/tune.tsv and DIR/held.tsv

``--questions FILE`` (repeatable) splits those files instead, e.g. bench/consult/*.tsv, the questions
written for corpus-laws.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from indexer.evaluation import Question, load_questions  # noqa: E402
from indexer.feedback import write_questions  # noqa: E402

QUESTION_FILES = ("set_a.tsv", "set_b.tsv")


def split(questions: list[Question], share: float, seed: int) -> tuple[list[Question], list[Question]]:
    """(tuning part, held part): no measure is labelled in both."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for q in questions:
        first, *rest = sorted(q.relevant)
        for label in rest:
            parent[find(label)] = find(first)
    groups: dict[str, list[Question]] = {}
    for q in questions:
        groups.setdefault(find(min(q.relevant)), []).append(q)
    order = sorted(groups)
    random.Random(seed).shuffle(order)
    tune: list[Question] = []
    held: list[Question] = []
    for g in order:
        (tune if len(tune) < share * len(questions) else held).extend(groups[g])
    return tune, held


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--share", type=float, default=0.6)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--questions", action="append", type=Path, default=[], metavar="FILE", help="split these files (default: bench/queries)"
    )
    args = ap.parse_args()
    files = args.questions or [ROOT / "bench" / "queries" / f for f in QUESTION_FILES]
    questions = [q for f in files for q in load_questions(f) if q.relevant]
    tune, held = split(questions, args.share, args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    write_questions(args.out / "tune.tsv", tune)
    write_questions(args.out / "held.tsv", held)
    labels = {k for q in tune for k in q.relevant}
    assert not any(q.relevant & labels for q in held)
    print(f"{len(tune)} questions to tune on ({len(labels)} measures), {len(held)} held out", file=sys.stderr)


if __name__ == "__main__":
    main()
