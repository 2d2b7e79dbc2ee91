from __future__ import annotations

import json
import random
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.errors import BadInputError, ModelUnavailableError
from indexer.segmentation import DATA_DIR
from indexer.tuning import (
    DEFAULT_MINED,
    DELTA_FILE,
    META_FILE,
    MINED_KINDS,
    RETRIEVED_SKIP,
    TrainingPair,
    TuneSettings,
    add_hard_negatives,
    add_retrieved_negatives,
    as_searched,
    batches,
    corpus_chunks,
    mine_pairs,
    pairs_from_file,
    refuse_evaluation_data,
    tune,
)

from .conftest import REFORM_PLAN

PLAN = "gd_courts_judicial_reform_2021"


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(REFORM_PLAN, folder / REFORM_PLAN.name)
    return folder


def _write_pairs(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text("query\trelevant\n" + "".join(f"{q}\t{r}\n" for q, r in rows), encoding="utf-8")
    return path


def test_pairs_from_a_question_file_cap_each_passage_and_skip_unknown_labels(corpus: Path, tmp_path: Path) -> None:
    chunks = corpus_chunks([corpus])
    rows = [(f"个人破产问题{i}", f"{PLAN}#5") for i in range(6)] + [("网上立案", f"{PLAN}#9,{PLAN}#999")]
    pairs = pairs_from_file(_write_pairs(tmp_path / "p.tsv", rows), chunks, max_per_passage=3, rng=random.Random(1))
    assert sum(p.key == f"{PLAN}#5" for p in pairs) == 3
    assert [p.key for p in pairs if p.query == "网上立案"] == [f"{PLAN}#9"]
    five = chunks[f"{PLAN}#5"]
    assert all(p.passage == five.body for p in pairs if p.key == five.key)


def test_evaluation_files_are_never_trained_on(corpus: Path, tmp_path: Path) -> None:
    (tmp_path / "eval").mkdir()
    held_out = _write_pairs(tmp_path / "eval" / "queries_dev.tsv", [("个人破产", f"{PLAN}#5")])
    with pytest.raises(BadInputError, match="evaluation data"):
        refuse_evaluation_data(held_out)
    with pytest.raises(BadInputError, match="evaluation data"):
        pairs_from_file(held_out, corpus_chunks([corpus]), 4, random.Random(0))


def test_mined_pairs_come_from_the_documents_structure(corpus: Path) -> None:
    chunks = corpus_chunks([corpus])
    pairs = mine_pairs(chunks, random.Random(0))
    origins = {p.origin for p in pairs}
    assert origins == {f"mined:{k}" for k in MINED_KINDS}
    five = chunks[f"{PLAN}#5"]
    heading = next(p for p in pairs if p.key == five.key and p.origin == "mined:headings")
    assert five.doc_title in heading.query and five.section in heading.query and heading.passage == five.body
    title = next(p for p in pairs if p.key == five.key + "/rest")
    assert title.query == five.measure_title and title.passage in five.body
    for p in pairs:
        if p.origin == "mined:sentence":
            # the query sentence is left out of the passage it must find
            assert p.query not in p.passage


def test_an_unknown_kind_of_mined_pairs_is_refused_before_any_training(corpus: Path, tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="unknown kinds of mined pairs: chapters"):
        tune([], [corpus], tmp_path / "out", mine=["sentence", "chapters"])
    assert not (tmp_path / "out").exists()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 12), st.integers(0, 12)), min_size=0, max_size=80), st.integers(2, 6))
def test_a_batch_never_holds_a_passage_or_a_query_twice(rows: list[tuple[int, int]], size: int) -> None:
    pairs = [TrainingPair(f"q{q}", f"passage {k}", f"d#{k}" + ("/rest" if i % 2 else ""), "t") for i, (q, k) in enumerate(rows)]
    out = batches(pairs, size, random.Random(3))
    seen_pairs = []
    for b in out:
        assert len(b) == size
        assert len({p.key.split("/")[0] for p in b}) == size and len({p.query for p in b}) == size
        seen_pairs.extend(b)
    # nothing is invented and nothing used twice
    assert len(seen_pairs) == len(set(map(id, seen_pairs))) and all(p in pairs for p in seen_pairs)


def test_hard_negatives_are_nearby_measures_of_the_same_document_never_a_relevant_one(corpus: Path) -> None:
    chunks = corpus_chunks([corpus])
    keys = [k for k in chunks if chunks[k].body]
    order = {k: i for i, k in enumerate(chunks)}
    # the question is relevant to #5 and #6, so #6 may never be its negative
    pairs = [TrainingPair("个人破产", chunks[k].body, k, "t") for k in (f"{PLAN}#5", f"{PLAN}#6")]
    pairs.append(TrainingPair("法官惩戒", chunks[keys[0]].body, keys[0] + "/rest", "mined:title"))
    for seed in range(20):
        out = add_hard_negatives(pairs, chunks, random.Random(seed))
        assert [p.key for p in out] == [p.key for p in pairs]
        for p in out:
            base = p.key.split("/")[0]
            assert p.negative_key != base and chunks[p.negative_key].doc_id == chunks[base].doc_id
            assert 1 <= abs(order[p.negative_key] - order[base]) <= 3 and p.negative == chunks[p.negative_key].body
        assert {p.negative_key for p in out[:2]}.isdisjoint({f"{PLAN}#5", f"{PLAN}#6"})
    # a batch never shows a pair's negative as another pair's positive
    hard = add_hard_negatives(pairs, chunks, random.Random(0))
    for b in batches(hard * 3, 2, random.Random(1)):
        positives = {p.key.split("/")[0] for p in b}
        assert not positives & {p.negative_key for p in b}


def _char_vectors(texts: list[str], is_query: bool) -> np.ndarray:
    """A fake encoder: normalised character counts."""
    out = np.zeros((len(texts), 512), np.float32)
    for i, t in enumerate(texts):
        for ch in t:
            out[i, ord(ch) % 512] += 1
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def test_retrieved_negatives_are_what_the_model_ranks_high_but_never_a_labelled_or_the_best_unlabelled(corpus: Path) -> None:
    chunks = corpus_chunks([corpus])
    keys = sorted(k for k, c in chunks.items() if c.body)
    query = "个人破产制度改革试点"
    labelled = {f"{PLAN}#5", f"{PLAN}#6"}
    pairs = [TrainingPair(query, chunks[k].body, k, "t") for k in sorted(labelled)]
    sims = _char_vectors([query], True) @ _char_vectors([chunks[k].body for k in keys], False).T
    ranking = [keys[j] for j in np.argsort(-sims[0], kind="stable") if keys[j] not in labelled]
    drawn = set()
    for seed in range(30):
        out = add_retrieved_negatives(pairs, chunks, random.Random(seed), _char_vectors, depth=8)
        assert [p.key for p in out] == [p.key for p in pairs]
        for p in out:
            assert p.negative_key not in labelled and p.negative == chunks[p.negative_key].body
            # passed over: the best unlabelled measures (often relevant but unlabelled); drawn from the rest of the 8 best
            assert p.negative_key in ranking[RETRIEVED_SKIP:8]
            drawn.add(p.negative_key)
    assert len(drawn) > 1
    # a question labelled with many measures, its best-ranked ones: ranked deeper, it still keeps the full draw
    many = "法官惩戒制度"
    order = np.argsort(-(_char_vectors([many], True) @ _char_vectors([chunks[k].body for k in keys], False).T)[0], kind="stable")
    top = [keys[j] for j in order]
    labelled_many = top[:16]
    both = pairs + [TrainingPair(many, chunks[k].body, k, "t") for k in labelled_many]
    drawn_many = set()
    for seed in range(200):
        out = add_retrieved_negatives(both, chunks, random.Random(seed), _char_vectors, depth=8)
        drawn_many |= {p.negative_key for p in out if p.query == many}
    assert drawn_many == set(top[16 + RETRIEVED_SKIP : 16 + 8])
    assert add_retrieved_negatives(pairs, chunks, random.Random(3), _char_vectors) == add_retrieved_negatives(
        pairs, chunks, random.Random(3), _char_vectors
    )
    assert add_retrieved_negatives([], chunks, random.Random(0), _char_vectors) == []


def test_as_searched_trains_on_the_text_search_embeds() -> None:
    from indexer.query import Thesaurus, parse_query
    from indexer.segmentation import Segmenter

    question = "判决赢了但是拿不到钱怎么办"
    pairs = [TrainingPair(question, "p", "k1", "t"), TrainingPair("   ", "p", "k2", "t")]
    out = as_searched(pairs)
    expected = parse_query(question, Segmenter(), Thesaurus())
    # the thesaurus's legal terms are appended, as search appends them to the embedded question
    assert expected.expansions and out[0].query == expected.dense_text and "执行" in out[0].query
    assert out[0].query.startswith(expected.text) and out[0].passage == "p" and out[0].key == "k1"
    # a query search would refuse stays as it is, rather than failing the run
    assert out[1] == pairs[1]


# --- the tune command in miniature (real converted model, a few steps on a few pairs) ---


@pytest.fixture(scope="module")
def mini_tuned(converted_e5: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("tune")
    corpus = root / "corpus"
    corpus.mkdir()
    shutil.copy(REFORM_PLAN, corpus / REFORM_PLAN.name)
    pairs = _write_pairs(root / "pairs.tsv", [("个人破产", f"{PLAN}#5"), ("网上打官司", f"{PLAN}#9"), ("法官惩戒", f"{PLAN}#14")])
    mini = TuneSettings(steps=2, batch_size=4, layers=1, max_query_tokens=32, max_passage_tokens=48, seed=5, hard_negatives=False)
    tune([pairs], [corpus], root / "a", mini, mine=True)
    tune([pairs], [corpus], root / "b", mini, mine=True)
    tune([pairs], [corpus], root / "hard", replace(mini, hard_negatives=True), mine=True)
    tune([pairs], [corpus], root / "retrieved", replace(mini, hard_negatives=True, negatives="retrieved"), mine=True)
    questions_only = replace(mini, steps=1, batch_size=3)
    tune([pairs], [corpus], root / "bare", questions_only, mine=False)
    tune([pairs], [corpus], root / "expanded", replace(questions_only, expand_queries=True), mine=False)
    return root, corpus, pairs


def test_tune_writes_a_small_fp16_delta_of_the_top_layers_only(mini_tuned: tuple[Path, Path, Path]) -> None:
    from safetensors.numpy import load_file

    root = mini_tuned[0]
    delta = load_file(str(root / "a" / DELTA_FILE))
    assert delta and all(k.startswith("encoder.layer.11.") for k in delta)
    assert all(v.dtype == np.float16 for v in delta.values()) and any(np.abs(v).max() > 0 for v in delta.values())
    meta = json.loads((root / "a" / META_FILE).read_text(encoding="utf-8"))
    assert meta["steps"] == 2 and meta["settings"]["seed"] == 5 and meta["pairs"]["pairs.tsv"] == 3
    # one headings pair per measure of the plan
    assert meta["pairs"]["mined:headings"] == len(corpus_chunks([mini_tuned[1]])) and len(meta["base_source_sha256"]) == 64
    # with hard negatives the loss sees a third column, and the delta differs
    hard = json.loads((root / "hard" / META_FILE).read_text(encoding="utf-8"))
    assert hard["settings"]["hard_negatives"] is True and not meta["settings"]["hard_negatives"]
    assert hard["delta_sha256"] != meta["delta_sha256"]
    # negatives the untrained model ranks high instead of neighbours: recorded, and another delta
    retrieved = json.loads((root / "retrieved" / META_FILE).read_text(encoding="utf-8"))
    assert retrieved["settings"]["negatives"] == "retrieved" and hard["settings"]["negatives"] == "neighbours"
    assert retrieved["delta_sha256"] != hard["delta_sha256"]
    # trained on the questions as search embeds them (网上打官司 gains 在线诉讼…): recorded, and another delta
    bare, expanded = (json.loads((root / d / META_FILE).read_text(encoding="utf-8")) for d in ("bare", "expanded"))
    assert expanded["settings"]["expand_queries"] is True and bare["settings"]["expand_queries"] is False
    assert expanded["delta_sha256"] != bare["delta_sha256"]


def test_tune_is_reproducible(mini_tuned: tuple[Path, Path, Path]) -> None:
    root = mini_tuned[0]
    assert (root / "a" / DELTA_FILE).read_bytes() == (root / "b" / DELTA_FILE).read_bytes()


def test_a_tuned_delta_is_an_encoder_whose_hash_the_index_records(mini_tuned: tuple[Path, Path, Path], tmp_path: Path) -> None:
    from indexer.build import build_index
    from indexer.encoders import get_encoder
    from indexer.store import read_manifest

    root, corpus, _ = mini_tuned
    tuned, base = get_encoder(f"e5-tuned:{root / 'a'}"), get_encoder("e5-small-st")
    assert tuned.model_id.startswith(f"e5-tuned:{root / 'a'}@") and tuned.spec == f"e5-tuned:{root / 'a'}"
    text = ["支持深圳试行个人破产制度"]
    a, b = tuned.encode_passages(text), base.encode_passages(text)
    assert not np.allclose(a, b) and float((a * b).sum()) > 0.9
    build_index(corpus, tmp_path / "index", encoder=tuned)
    enc = read_manifest(tmp_path / "index")["encoder"]
    assert enc["adapter_sha256"] == tuned.fingerprint["adapter_sha256"] and enc["spec"] == tuned.spec


def test_a_delta_for_other_weights_or_a_missing_one_is_refused(mini_tuned: tuple[Path, Path, Path], tmp_path: Path) -> None:
    from indexer.encoders import ConvertedE5Encoder

    other = tmp_path / "other"
    shutil.copytree(mini_tuned[0] / "a", other)
    meta = json.loads((other / META_FILE).read_text(encoding="utf-8"))
    (other / META_FILE).write_text(json.dumps({**meta, "base_source_sha256": "0" * 64}), encoding="utf-8")
    with pytest.raises(ModelUnavailableError, match="other e5-small weights"):
        ConvertedE5Encoder("e5-tuned:x", delta=other)
    with pytest.raises(ModelUnavailableError, match="python -m indexer tune"):
        ConvertedE5Encoder("e5-tuned:y", delta=tmp_path / "nothing-here")


def test_the_tune_command_refuses_evaluation_data_and_runs_in_miniature(
    mini_tuned: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from indexer.cli import main

    _, corpus, pairs = mini_tuned
    (tmp_path / "eval").mkdir()
    held_out = shutil.copy(pairs, tmp_path / "eval" / "statute_dev.tsv")
    assert main(["tune", "--pairs", str(held_out), "--corpus", str(corpus), "--out", str(tmp_path / "x")]) == 2
    assert "evaluation data" in capsys.readouterr().err and not (tmp_path / "x").exists()
    both = ["tune", "--pairs", str(pairs), "--corpus", str(corpus), "--out", str(tmp_path / "y"), "--no-mine", "--mine", "title"]
    assert main(both) == 2 and "both --no-mine and --mine" in capsys.readouterr().err and not (tmp_path / "y").exists()
    argv = ["tune", "--pairs", str(pairs), "--corpus", str(corpus), "--out", str(tmp_path / "t"), "--steps", "1", "--batch-size", "3"]
    assert main([*argv, "--layers", "1", "--quiet", "--json"]) == 0
    meta = json.loads(capsys.readouterr().out)
    assert meta["steps"] == 1 and (tmp_path / "t" / DELTA_FILE).is_file()
    # unless told otherwise, the shipped delta's recipe: hard negatives, sentence and title pairs mined
    assert meta["settings"]["hard_negatives"] is True and meta["mined"] == ["sentence", "title"]


def test_the_tune_command_defaults_to_the_shipped_recipe() -> None:
    from indexer.cli import build_parser

    base = ["tune", "--corpus", "c", "--out", "o"]
    args = build_parser().parse_args(base)
    shipped = json.loads((DATA_DIR / "encoders" / "e5-legal" / META_FILE).read_text(encoding="utf-8"))
    chosen = {
        "layers": args.layers,
        "learning_rate": args.lr,
        "max_per_passage": args.max_per_passage,
        "hard_negatives": args.hard_negatives,
    }
    assert chosen == {k: shipped["settings"][k] for k in chosen} == {k: getattr(TuneSettings(), k) for k in chosen}
    assert args.mine is None and set(DEFAULT_MINED) == set(shipped["mined"])
    assert build_parser().parse_args([*base, "--no-hard-negatives"]).hard_negatives is False
    assert args.expand_queries is TuneSettings().expand_queries
    assert build_parser().parse_args([*base, "--expand-queries"]).expand_queries is True
    with pytest.raises(BadInputError, match="not allowed with"):
        build_parser().parse_args([*base, "--hard-negatives", "--no-hard-negatives"])
    assert args.negatives == TuneSettings().negatives == shipped["settings"].get("negatives", "neighbours")
    assert build_parser().parse_args([*base, "--negatives", "retrieved"]).negatives == "retrieved"
    with pytest.raises(BadInputError, match="invalid choice"):
        build_parser().parse_args([*base, "--negatives", "random"])


# --------------------------------------------------------------------------- bench/consult


CONSULT = Path(__file__).resolve().parents[1] / "bench" / "consult"


def _consult_questions() -> dict[str, list]:
    from indexer.evaluation import load_questions

    return {str(f.relative_to(CONSULT)): load_questions(f) for f in sorted(CONSULT.glob("**/*.tsv"))}


def test_written_consultation_questions_are_well_formed_training_data() -> None:
    """bench/consult: 100 distinct questions per area (set2/: 50 more), each with 1-3 labels of the form LAW#N (or LAW#N之一)."""
    import re

    files = _consult_questions()
    assert len(files) == 16, sorted(files)
    every = [q for qs in files.values() for q in qs]
    assert all(len(qs) == (50 if name.startswith("set2") else 100) for name, qs in files.items()), {k: len(v) for k, v in files.items()}
    assert len({q.query for q in every}) == len(every)
    assert all(
        1 <= len(q.relevant) <= 3 and all(re.fullmatch(r"[^#\s]+#[1-9][0-9]*(之[一二三四五六七八九十]+)?", k) for k in q.relevant)
        for q in every
    )


def test_written_questions_cite_real_articles_without_copying_them() -> None:
    """Every label is an article of ../shared/corpus-laws, and no question copies 8+ characters of the articles it cites."""
    from .conftest import SHARED

    if not (SHARED / "corpus-laws").is_dir():
        pytest.skip("../shared/corpus-laws is absent: the laws sit beside the project checkout")
    chunks = corpus_chunks([SHARED / "corpus-laws"])
    unknown, copies = [], []
    for qs in _consult_questions().values():
        for q in qs:
            for key in q.relevant:
                if key not in chunks:
                    unknown.append((q.query, key))
                    continue
                body = chunks[key].body
                if any(q.query[i : i + 8] in body for i in range(len(q.query) - 7)):
                    copies.append((q.query, key))
    assert not unknown and not copies, (unknown[:5], copies[:5])


def test_written_questions_share_nothing_with_the_evaluation_questions() -> None:
    """No written question is near any evaluation question: character 4-gram Jaccard below 0.3 (measured max 0.08)."""
    from indexer.segmentation import normalise

    from .conftest import evaluation_questions

    def grams(s: str) -> frozenset[str]:
        s = normalise(s)
        return frozenset(s[i : i + 4] for i in range(len(s) - 3))

    evaluation = [grams(q) for q in evaluation_questions()]
    if not evaluation:
        pytest.skip("../shared/eval is absent: the evaluation questions sit beside the project checkout")
    near = 0
    for qs in _consult_questions().values():
        for q in qs:
            g = grams(q.query)
            near += any(len(g & e) / len(g | e) >= 0.3 for e in evaluation if g | e)
    assert near == 0, f"{near} written questions are near an evaluation question"
