"""Mine the package's word associations (indexer/data/associations.tsv) from training pairs only.

Source: the encoder's part of ../shared/train/pairs.tsv (bench/pairs_split.py), so the
ranker, trained on the other part, sees the signal as it will be on new questions; without
the CAIL2018 criminal cases, which are four fifths of the pairs and would fill the table with
the vocabulary of four charges (on training CV the table with them helped case narratives
more but consultation-style questions less; see README, *Retrieval quality*).  Articles are
the chunks of ../shared/corpus-laws, tokenised as the BM25 index tokenises them.  Never
../shared/eval.

    python bench/mine_associations.py [--laws ../shared/corpus-laws] [--out indexer/data/associations.tsv]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from pairs_split import for_ranker  # noqa: E402
from pairs_split import rows as pair_rows  # noqa: E402

from indexer.associations import ASSOCIATIONS, MIN_COUNT, MIN_PMI, TOP_TERMS, Example, mine, write  # noqa: E402
from indexer.query import parse_query  # noqa: E402
from indexer.segmentation import default_segmenter  # noqa: E402
from indexer.service import IndexService  # noqa: E402
from indexer.units import chunk_tokens  # noqa: E402

LEFT_OUT = ("cail2018_sihuajian",)


def mine_table(laws: Path) -> tuple[dict[str, tuple[tuple[str, float], ...]], list[str], int]:
    """The table, its header and how many pairs it was mined from (the pairs read by bench/pairs_split.py)."""
    seg = default_segmenter()
    # the same tokens as the BM25 index holds for each article, and as a question gets at search time
    articles = {c.key: tuple(chunk_tokens(seg, c)[0]) for _doc, layout, _cov in IndexService.chunk(laws) for c in layout.chunks}
    rows = [r for r in pair_rows() if not for_ranker(r["query"]) and r["source"] not in LEFT_OUT]
    examples = []
    for r in rows:
        arts = tuple(articles[k] for k in r["relevant"].split(",") if k in articles)
        examples.append(Example(tuple(parse_query(r["query"], seg, None).tokens), arts))
    used = [e for e in examples if e.articles]
    sources = Counter(r["source"] for r, e in zip(rows, examples, strict=True) if e.articles)
    header = [
        "Question word (left) → the article terms that the articles cited for questions holding it use unusually often",
        "(right, term:strength; strength = P(term in cited articles | word in question) × PMI, summed over the question's",
        "words at query time).  Feeds the fusion signal assoc_bm25 (indexer/associations.py); not edited by hand.",
        "",
        f"Mined by bench/mine_associations.py from {len(used)} training pairs of ../shared/train/pairs.tsv, the encoder's part",
        f"(bench/pairs_split.py): {', '.join(f'{s} {n}' for s, n in sorted(sources.items()))}; the CAIL2018 criminal cases left out.",
        "Licences: LexEval MIT, LawBench Apache-2.0, DISC-LawLLM Apache-2.0; the case facts are court judgments, which PRC",
        "copyright does not protect (Copyright Law art. 5); see the pairs' README.  Never mined from ../shared/eval.",
        f"Kept: word and pair each seen in ≥ {MIN_COUNT} questions, PMI > {MIN_PMI}, the best {TOP_TERMS} terms per word.",
        "",
    ]
    return mine(used), header, len(used)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--laws", default=str(ROOT.parent / "shared" / "corpus-laws"))
    ap.add_argument("--out", default=str(ASSOCIATIONS))
    args = ap.parse_args()
    table, header, pairs = mine_table(Path(args.laws))
    write(Path(args.out), table, header)
    print(f"{len(table)} words from {pairs} pairs → {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
