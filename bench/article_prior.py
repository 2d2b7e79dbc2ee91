"""Would an article prior help the ranker?  5-fold CV of the shipped signals plus one more column.

The prior is log(1 + how often the encoder's part of ../shared/train/pairs.tsv cites the
candidate article), the boilerplate civil-procedure labels left out (see the pairs' README),
counted without or with the CAIL2018 criminal cases.  A measure no pair cites gets 0, so
reform plans are untouched.  The ranker's part of the pairs (bench/pairs_split.py) is what
the ranker trains and is measured on, as in bench/train_default.py, so no question's own
labels are counted in its prior.  The README (*Retrieval quality*, "Tried … not kept")
gives the figures; never run on ../shared/eval.

    python bench/article_prior.py --reform-index DIR --laws-index DIR [--vector-cache NPZ]
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from pairs_split import for_ranker  # noqa: E402
from pairs_split import rows as pair_rows  # noqa: E402
from train_default import extra_signal_experiment, extra_signal_metrics  # noqa: E402

from indexer.training import Prepared  # noqa: E402

#: labels civil judgments cite in nearly every case (as bench/train_default.py drops them)
BOILERPLATE = frozenset({"民事诉讼法#264", "民事诉讼法#147", "民事诉讼法#67", "民事诉讼法解释#90"})


def citation_counts(with_cail: bool) -> Counter[str]:
    """How often the pairs the encoder was tuned on cite each article."""
    counts: Counter[str] = Counter()
    for r in pair_rows():
        if for_ranker(r["query"]) or (r["source"] == "cail2018_sihuajian" and not with_cail):
            continue
        counts.update(k for k in r["relevant"].split(",") if k not in BOILERPLATE)
    return counts


def kind(p: Prepared) -> list[str]:
    """The pair's kind of law: criminal (every label an article of 刑法) or civil and other."""
    return ["pairs: criminal" if all(r.startswith("刑法#") for r in p.question.relevant) else "pairs: civil and other"]


def main() -> None:
    _, prepared, folds = extra_signal_experiment(__doc__)
    every = [(g, i, p) for g, ps in prepared.items() for i, p in enumerate(ps)]
    report = {}
    for label, counts in (
        ("without the prior", Counter()),
        ("prior without CAIL", citation_counts(False)),
        ("prior with CAIL", citation_counts(True)),
    ):
        columns = [
            np.column_stack([p.X, [np.log1p(counts[p.searcher.data.chunks[int(c)].key]) for c in p.candidates.ids]]) for _, _, p in every
        ]
        report[label] = extra_signal_metrics(every, folds, ("article_prior",), lambda n, _memory, columns=columns: columns[n], kind)
        print(label, json.dumps(report[label], ensure_ascii=False), file=sys.stderr)
    print(json.dumps(report, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
