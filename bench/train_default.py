"""Train the package's default fusion ranker and confidence calibrator on training data only, with k-fold CV.

Training questions (never ../shared/eval):
  * bench/queries: 210 answerable and 90 unanswerable questions over the 21 shared documents;
  * ../shared/train/pairs.tsv over ../shared/corpus-laws: every pair of the DISC, LexEval and
    LawBench subsets and a seeded sample of the CAIL2018 criminal cases (the set leans heavily
    to criminal law).  Labels that judgments cite in nearly every civil case (民事诉讼法#264,
    #147, #67, 民事诉讼法解释#90; see the pairs' README) are dropped from a pair's labels.

5-fold cross-validation (folds drawn within each set) reports R@1, Hit@10 and MRR@10 of the
ranker with the original signals, then adding the law-structure signals, then the mined
associations (indexer/associations.py), and the calibration
(ECE of confidence against "the top-ranked measure is relevant", found rate, share relevant
when found, for the pairs also by source) of the calibrator, each fold trained on the other
four.  The calibrator's nearest_question evidence of a held-out question is its closeness to
the questions of the other folds, as a new question's is to all of them; --no-nearest-question
fits it without (as e5-small's is).  Then the models are fitted on everything and written to
--out, with the vectors of the questions the calibrator was fitted on.

    python bench/train_default.py --reform-index DIR --laws-index DIR [--cail 700] [--out FILE] [--no-nearest-question]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from indexer.answer import FOUND_THRESHOLD  # noqa: E402
from indexer.evaluation import Question, calibration_error, load_questions  # noqa: E402
from indexer.fusion import NEAREST_QUESTION, FusionModels, default_models_path  # noqa: E402
from indexer.search import CALIBRATION_FEATURES, FEATURES, Searcher  # noqa: E402
from indexer.training import Prepared, embed_all, fit_calibrator, fit_ranker, outcome_rows, prepare, question_vectors, scored  # noqa: E402

QUERIES = ROOT / "bench" / "queries"
sys.path.insert(0, str(ROOT / "bench"))
from pairs_split import for_ranker  # noqa: E402
from pairs_split import rows as pair_rows  # noqa: E402
from queries_split import QUESTION_FILES  # noqa: E402

STRUCTURE = ("section_bm25", "section_centroid", "doc_centroid", "doc_vote_dense", "doc_vote_bm25", "neighbour_bm25", "neighbour_measure")
MINED = ("assoc_bm25",)
BASE = tuple(f for f in FEATURES if f not in STRUCTURE + MINED)
#: the cross-validated signal sets, each adding to the one before; the shipped models read the last
SIGNAL_SETS = (
    ("original signals", BASE),
    ("with law-structure signals", tuple(f for f in FEATURES if f not in MINED)),
    ("with mined associations", FEATURES),
)


#: the set of questions that is measured in cross-validation but trains neither the ranker nor the calibrator
MEASURED_ONLY = "measured"


def sources() -> dict[str, str]:
    """Each pair's question → its source (cail2018_sihuajian, lawbench_3-1, lexeval_3_2, disc_subjective)."""
    return {r["query"]: r["source"] for r in pair_rows()}


def pairs_sample(n_cail: int, ranker_part_only: bool = False) -> list[Question]:
    """The pairs the ranker trains on; ``ranker_part_only`` keeps those the encoder was not tuned on (bench/pairs_split.py)."""
    rows = [r for r in pair_rows() if not ranker_part_only or for_ranker(r["query"])]
    cail = [i for i, r in enumerate(rows) if r["source"] == "cail2018_sihuajian"]
    keep = set(np.random.default_rng(0).choice(cail, min(n_cail, len(cail)), replace=False).tolist())
    return [
        Question(r["query"], frozenset(r["relevant"].split(",")))
        for i, r in enumerate(rows)
        if r["source"] != "cail2018_sihuajian" or i in keep
    ]


def _load_vectors(path: str | None, searcher: Searcher) -> set[str]:
    """Question vectors embedded by an earlier run (same encoder), into the searcher's cache."""
    if not path or not Path(path).is_file():
        return set()
    d = np.load(path, allow_pickle=False)
    if str(d["encoder"]) != searcher.encoder.model_id:
        return set()
    with searcher._qlock:
        for t, v in zip(d["texts"].tolist(), d["vectors"], strict=True):
            searcher._qcache[t] = v
    return set(d["texts"].tolist())


def _save_vectors(path: str | None, searcher: Searcher) -> None:
    if not path:
        return
    old = {}
    if Path(path).is_file():
        d = np.load(path, allow_pickle=False)
        if str(d["encoder"]) == searcher.encoder.model_id:
            old = dict(zip(d["texts"].tolist(), d["vectors"], strict=True))
    old.update(searcher._qcache)
    texts = list(old)
    np.savez(path, encoder=searcher.encoder.model_id, texts=np.array(texts), vectors=np.stack([old[t] for t in texts]))


def prepared_sets(
    reform: Searcher,
    laws: Searcher,
    pairs: list[Question],
    vector_cache: str | None,
    encoder_saw: Sequence[str] = (),
    consult: Sequence[str] = (),
    measure: Sequence[str] = (),
) -> dict[str, list[Prepared]]:
    """The training sets prepared on their indexes: "reform", bench/queries (answerable, then unanswerable), and "pairs".

    ``consult`` names files of questions over corpus-laws (bench/consult/), a third set "consult";
    ``measure`` more such files, a set "measured" that is measured but never trained on (see :data:`MEASURED_ONLY`).
    Questions listed in the files ``encoder_saw`` were tuned on by the encoder: its dense scores on them
    are too good, so they neither train the ranker nor measure it.
    """
    t0 = time.time()
    seen = {q.query for f in encoder_saw for q in load_questions(f)}
    answerable = [q for f in QUESTION_FILES for q in load_questions(QUERIES / f) if q.relevant and q.query not in seen]
    unanswerable = [q for f in ("unanswerable_a.tsv", "unanswerable_b.tsv") for q in load_questions(QUERIES / f) if not q.relevant]
    sets = {"reform": (reform, answerable + unanswerable), "pairs": (laws, pairs)}
    for name, files in (("consult", consult), (MEASURED_ONLY, measure)):
        if files:
            sets[name] = (laws, [q for f in files for q in load_questions(f) if q.relevant and q.query not in seen])
    prepared = {}
    for name, (searcher, qs) in sets.items():
        cached = _load_vectors(vector_cache, searcher)
        embed_all(searcher, [q for q in qs if searcher.parse(q.query).dense_text not in cached])
        _save_vectors(vector_cache, searcher)
        prepared[name] = prepare(searcher, qs)
        print(f"{name}: {len(qs)} questions prepared ({time.time() - t0:.0f} s)", file=sys.stderr)
    return prepared


def extra_signal_experiment(
    doc: str | None, measure: Sequence[str] = ()
) -> tuple[argparse.Namespace, dict[str, list[Prepared]], dict[str, list[np.ndarray]]]:
    """The command line, training sets and folds of a bench script that cross-validates one more signal column.

    The folds are this script's (bench/queries' unanswerable questions are in them, though they train nothing there).
    ``measure`` names files of questions over corpus-laws for a set measured but never trained on (:data:`MEASURED_ONLY`).
    """
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reform-index", required=True)
    ap.add_argument("--laws-index", required=True)
    ap.add_argument("--vector-cache", default=None, metavar="NPZ")
    ap.add_argument("--folds", type=int, default=5)
    args = ap.parse_args()
    reform, laws = Searcher.open(args.reform_index, with_models=False), Searcher.open(args.laws_index, with_models=False)
    prepared = prepared_sets(reform, laws, pairs_sample(700, ranker_part_only=True), args.vector_cache, measure=measure)
    rng = np.random.default_rng(0)
    return args, prepared, {g: np.array_split(rng.permutation(len(ps)), args.folds) for g, ps in prepared.items()}


def extra_signal_metrics(
    every: list[tuple[str, int, Prepared]],
    folds: dict[str, list[np.ndarray]],
    names: tuple[str, ...],
    matrix: Callable[[int, list[int]], np.ndarray],
    groups: Callable[[Prepared], list[str]] | None = None,
) -> dict[str, dict[str, float]]:
    """R@1, Hit@10 and MRR@10 by set and by source of the pairs, for a ranker over the shipped signals plus ``names``.

    ``every`` lists the (set, index, prepared question) of :func:`extra_signal_experiment`'s sets;
    ``matrix(n, memory)`` gives question ``n``'s columns, the extra ones computed from the questions
    ``memory`` only: for a training question the fold's other training questions, for a held-out one
    all of them (as a new question is served).  ``groups(p)`` names more groups a pair counts in.
    """
    from indexer.fusion import train_ranker
    from indexer.training import RANKER_L2, RANKER_MONOTONE

    source_of = sources()
    features, monotone = (*FEATURES, *names), (*RANKER_MONOTONE, *names)
    firsts: dict[str, list[int | None]] = defaultdict(list)
    for k in range(len(next(iter(folds.values())))):
        held = {g: set(folds[g][k].tolist()) for g in folds}
        train = [n for n, (g, i, _) in enumerate(every) if i not in held[g]]
        lists = [(matrix(n, [t for t in train if t != n]), every[n][2].y) for n in train]
        ranker = train_ranker(lists, features, l2=RANKER_L2, monotone=monotone)
        for n, (g, i, p) in enumerate(every):
            if i not in held[g] or not p.question.relevant:
                continue
            first = first_relevant(ranker.score(matrix(n, train)), p.y)
            firsts[g].append(first)
            if g == "pairs":
                for group in (source_of.get(p.question.query, "?"), *(groups(p) if groups else ())):
                    firsts[group].append(first)
    return first_metrics(firsts)


def first_relevant(scores: np.ndarray, y: np.ndarray) -> int | None:
    """Rank (0-based) of the first relevant candidate among the ten best by ``scores``; None when none is."""
    order = np.argsort(-scores, kind="stable")[:10]
    return next((i for i, j in enumerate(order) if y[j] > 0), None)


def first_metrics(firsts: dict[str, list[int | None]]) -> dict[str, dict[str, float]]:
    """R@1, Hit@10 and MRR@10 of each group of questions, from their :func:`first_relevant` ranks."""
    return {
        g: {
            "questions": len(fs),
            "R@1": round(float(np.mean([f == 0 for f in fs])), 3),
            "Hit@10": round(float(np.mean([f is not None for f in fs])), 3),
            "MRR@10": round(float(np.mean([0.0 if f is None else 1 / (f + 1) for f in fs])), 3),
        }
        for g, fs in firsts.items()
    }


def rank_metrics(prepared, ranker) -> np.ndarray:
    out = np.zeros(3)
    for p in prepared:
        first = first_relevant(scored(p, ranker), p.y)
        if first is not None:
            out += [first == 0, 1, 1 / (first + 1)]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reform-index", required=True)
    ap.add_argument("--laws-index", required=True)
    ap.add_argument("--cail", type=int, default=700, help="CAIL2018 criminal cases sampled from the pairs (seed 0)")
    ap.add_argument(
        "--ranker-part-only",
        action="store_true",
        help="train on the fifth of the pairs kept from tuning (for a tuned encoder, whose dense scores on its own training pairs are too good)",
    )
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--vector-cache", default=None, metavar="NPZ", help="keep question vectors here between runs")
    ap.add_argument("--out", default=None, help="where to write the models (default: the package's default for the encoder)")
    ap.add_argument(
        "--encoder-saw",
        action="append",
        default=[],
        metavar="FILE",
        help="questions the encoder was tuned on (bench/tune_default.py --extra-pairs FILE): left out of ranking and measuring",
    )
    ap.add_argument(
        "--questions",
        action="append",
        default=[],
        metavar="FILE",
        help="questions over corpus-laws written for training (bench/consult/*.tsv): a third set, trained on and measured",
    )
    ap.add_argument(
        "--measure",
        action="append",
        default=[],
        metavar="FILE",
        help="questions over corpus-laws to measure in cross-validation only (never trained on)",
    )
    ap.add_argument(
        "--no-nearest-question",
        action="store_true",
        help="fit the calibrator without the closeness to its training questions (e5-small's: in CV it calibrated worse with it)",
    )
    args = ap.parse_args()
    evidence = tuple(f for f in CALIBRATION_FEATURES if not (args.no_nearest_question and f == NEAREST_QUESTION))
    cols = [CALIBRATION_FEATURES.index(f) for f in evidence]
    t0 = time.time()
    # the indexes' own models play no part, and after a change of signals they are refused
    reform, laws = Searcher.open(args.reform_index, with_models=False), Searcher.open(args.laws_index, with_models=False)
    prepared = prepared_sets(
        reform, laws, pairs_sample(args.cail, args.ranker_part_only), args.vector_cache, args.encoder_saw, args.questions, args.measure
    )
    source_of = sources()
    rng = np.random.default_rng(0)
    folds = {g: np.array_split(rng.permutation(len(p)), args.folds) for g, p in prepared.items()}
    report: dict = {"questions": {g: len(p) for g, p in prepared.items()}, "folds": args.folds, "cv": {}}
    for label, features in SIGNAL_SETS:
        sums = {g: np.zeros(3) for g in prepared}
        counts = {g: 0 for g in prepared}
        conf = {g: [] for g in prepared}
        hit = {g: [] for g in prepared}
        by_source: dict[str, list[float]] = {}
        conf_by_source: dict[str, list[tuple[float, float]]] = {}
        for k in range(args.folds):
            held = {g: set(folds[g][k].tolist()) for g in prepared}
            train = [p for g, ps in prepared.items() if g != MEASURED_ONLY for i, p in enumerate(ps) if i not in held[g]]
            ranker = fit_ranker(train, features)
            cal = fit_calibrator(*outcome_rows(train, ranker), features=evidence)
            for g, ps in prepared.items():
                test = [ps[i] for i in folds[g][k]]
                answerable_test = [p for p in test if p.question.relevant]
                sums[g] += rank_metrics(answerable_test, ranker)
                counts[g] += len(answerable_test)
                if g == "pairs":
                    for p in answerable_test:
                        by_source.setdefault(source_of.get(p.question.query, "?"), []).append(rank_metrics([p], ranker)[2])
                # nearest_question against the questions this fold's calibrator was fitted on, as served
                rows, labels = outcome_rows(test, ranker, reference=question_vectors(train))
                conf[g] += [cal.probability(r[cols]) for r in rows]
                hit[g] += labels.tolist()
                if g == "pairs":
                    # outcome_rows keeps the questions with candidates, in order
                    kept = [p for p in test if len(p.candidates)]
                    for p, r, h in zip(kept, rows, labels, strict=True):
                        conf_by_source.setdefault(source_of.get(p.question.query, "?"), []).append((cal.probability(r[cols]), h))
        out = {}
        for g in prepared:
            c, h = np.array(conf[g]), np.array(hit[g]) > 0
            ece, _ = calibration_error(c, h)
            found = c >= FOUND_THRESHOLD
            r1, h10, mrr = sums[g] / max(1, counts[g])
            out[g] = {
                "R@1": round(r1, 3),
                "Hit@10": round(h10, 3),
                "MRR@10": round(mrr, 3),
                "ECE": round(ece, 3),
                "mean_confidence": round(float(c.mean()), 3),
                "top_relevant": round(float(h.mean()), 3),
                "found_rate": round(float(found.mean()), 3),
                "top_relevant_when_found": round(float(h[found].mean()), 3) if found.any() else None,
            }
        # the sources differ in kind: case narratives (CAIL, LawBench, LexEval) and consultation questions (DISC)
        out["pairs"]["MRR@10 by source"] = {k: [round(float(np.mean(v)), 3), len(v)] for k, v in sorted(by_source.items())}
        out["pairs"]["ECE, mean confidence and share right by source"] = {
            k: [round(calibration_error(np.array([c for c, _ in v]), np.array([h > 0 for _, h in v]))[0], 3)]
            + [round(float(np.mean([x[i] for x in v])), 3) for i in (0, 1)]
            for k, v in sorted(conf_by_source.items())
        }
        report["cv"][label] = out
        print(label, json.dumps(out, ensure_ascii=False), file=sys.stderr)
    # the shipped models: every training question, every signal
    everything = [p for g, ps in prepared.items() if g != MEASURED_ONLY for p in ps]
    info = {"training": "bench/queries + ../shared/train/pairs.tsv (bench/train_default.py)", "questions": len(everything)}
    if args.questions:
        info["training"] += " + " + ", ".join(Path(f).name for f in args.questions)
    if args.encoder_saw:
        info["left_out"] = f"the questions of {', '.join(Path(f).name for f in args.encoder_saw)} (the encoder was tuned on them)"
    ranker = fit_ranker(everything, FEATURES, info=info)
    calibrator = fit_calibrator(*outcome_rows(everything, ranker), info={"outcome": "top-ranked measure relevant"}, features=evidence)
    models = FusionModels.make(
        reform.encoder.model_id,
        ranker,
        calibrator,
        origin="default",
        questions=None if args.no_nearest_question else question_vectors(everything),
    )
    out_path = Path(args.out) if args.out else default_models_path(reform.encoder.model_id)
    models.save(out_path)
    report["written"] = str(out_path)
    report["seconds"] = round(time.time() - t0)
    print(json.dumps(report, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
