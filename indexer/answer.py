"""Extractive answers: the sentences that answer a question, each with its citation.

Nothing is generated.  The answer quotes sentences of the retrieved measures
only, exactly as printed, each followed by the citation of its measure.

``confidence`` is the calibrated probability that the first answer sentence
cites a relevant measure (:mod:`indexer.training` fits it to exactly that
outcome).  The rule: ``found`` is true only when ``confidence`` is at least
:data:`FOUND_THRESHOLD` (0.6) — among answers given that confidence, at least
six in ten cite a relevant measure first.  Below it no sentence is quoted and
the hits are shown as 可能相关的条款 (possibly relevant clauses), without a
confident answer; when the corpus holds nothing relevant that is also what
the reader sees.
"""

from __future__ import annotations

import numpy as np

from .fusion import Calibrator
from .schema import Answer, AnswerSentence, Chunk
from .search import CALIBRATION_FEATURES, Filters, Searcher, SearchResult

#: an answer is given as found only at this calibrated confidence or above
FOUND_THRESHOLD = 0.6
#: at most this many sentences are quoted
MAX_SENTENCES = 3
#: a lower-ranked measure contributes a sentence only if it is nearly as relevant as the first
SECOND_HIT_RELEVANCE = 0.6


def decide(calibrator: Calibrator | None, result: SearchResult) -> tuple[bool, float]:
    """(found, confidence) for a search result."""
    if not result.hits or not result.evidence:
        return False, 0.0
    if calibrator is None:
        # untrained fallback: most of the question's words in the top measure
        conf = float(result.evidence.get("top_coverage_x", 0.0))
        return conf >= 0.5, conf
    x = np.array([result.evidence[f] for f in calibrator.features], dtype=float)
    p = calibrator.probability(x)
    # a calibrated model carries FOUND_THRESHOLD (indexer.training); older ones their own
    return p >= calibrator.threshold, p


_EDGE_PUNCT = " \t\u3000。．.；;：:，,、！!？?"


def is_heading(chunk: Chunk, sentence: str) -> bool:
    """True for a sentence that is only the measure's number and/or title: no content of its own to quote."""
    text = sentence.strip()
    if chunk.label and text.startswith(chunk.label):
        text = text[len(chunk.label) :]
    text = text.strip(_EDGE_PUNCT)
    title = chunk.measure_title.strip(_EDGE_PUNCT)
    return not text or (bool(title) and text == title)


def compose(result: SearchResult, found: bool, confidence: float, max_sentences: int = MAX_SENTENCES) -> Answer:
    """Pick the quoted sentences from a search result."""
    if not found:
        return Answer(result.query.raw, False, (), result.hits, confidence)
    picked: list[AnswerSentence] = []
    seen: set[str] = set()
    for hit, scores in zip(result.hits, result.sentence_scores, strict=False):
        if not scores:
            continue
        if hit.rank > 1 and hit.signals.get("relevance", 0.0) < SECOND_HIT_RELEVANCE:
            break
        # a heading alone (14.健全解决执行难长效机制。) answers nothing: quote the measure's content
        scores = [sc for sc in scores if not is_heading(hit.chunk, hit.chunk.sentences[sc[0]])]
        if not scores:
            continue
        best = scores[0][1]
        # the first measure may give two sentences when the second is nearly as good
        take = [scores[0]] + ([scores[1]] if hit.rank == 1 and len(scores) > 1 and scores[1][1] >= best - 0.05 else [])
        for pos, score in sorted(take):
            sentence = hit.chunk.sentences[pos].strip()
            if sentence in seen:
                continue
            seen.add(sentence)
            picked.append(AnswerSentence(sentence, hit.chunk.citation, hit.chunk.chunk_id, score))
            if len(picked) >= max_sentences:
                return Answer(result.query.raw, True, tuple(picked), result.hits, confidence)
    return Answer(result.query.raw, True, tuple(picked), result.hits, confidence)


def first_answer_chunk(ans: Answer) -> str | None:
    """``doc_id#measure_no`` of the measure the first answer sentence cites.

    For an answer that is not confident (no sentences), the measure it would
    quote first: the top-ranked one.  ``confidence`` is the probability that
    this measure is relevant.
    """
    if ans.sentences:
        cited = ans.sentences[0].chunk_id
        for h in ans.hits:
            if h.chunk.chunk_id == cited:
                return h.chunk.key
    return ans.hits[0].chunk.key if ans.hits else None


def answer(searcher: Searcher, question: str, top_k: int = 5, filters: Filters | None = None) -> Answer:
    """Answer ``question`` from the index: cited sentences plus the ranked measures."""
    result = searcher.search(question, top_k=max(top_k, 3), filters=filters)
    found, confidence = decide(searcher.calibrator, result)
    ans = compose(result, found, confidence)
    if len(ans.hits) > top_k:
        ans = Answer(ans.question, ans.found, ans.sentences, ans.hits[:top_k], ans.confidence)
    return ans


__all__ = ["CALIBRATION_FEATURES", "FOUND_THRESHOLD", "answer", "compose", "decide", "first_answer_chunk", "is_heading"]
