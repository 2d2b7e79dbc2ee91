"""其他文件中的相似条款: measures of other documents that deal with what a measure deals with.

A measure's similar measures are ranked by the same hybrid machinery as a
search (candidates from BM25 and the vectors, the same signals, the learned
fusion), with the measure itself as the question and its document filtered
out.  The question's words are the measure's title where it has a real one
(a reform plan's measure states its subject there: 健全法官惩戒及违法审判责任追究制度;
its body lists a dozen actions), else its text; the question's vector is the
measure's own vector from the index, so no text is embedded and a similar
list costs a few milliseconds.  The measure vector alone (cosine, what the
page showed before) ranked general measures such as 在线诉讼规则第二条 above
the ones sharing the subject; ``bench/similar_eval.py`` measures both on
labelled counterparts.

Only the searcher's public methods are used.
"""

from __future__ import annotations

import re

import numpy as np

from .query import MAX_QUERY_CHARS
from .schema import Chunk, Hit
from .search import Searcher
from .signals import SIGNALS

#: the text of a long measure is cut at a sentence end before this many characters (the question limit)
QUERY_CHARS = MAX_QUERY_CHARS
_SENTENCE_END = re.compile(r"(?<=[。；！？])")


def measure_query(chunk: Chunk, limit: int = QUERY_CHARS) -> str:
    """The words a measure asks the other documents about: its title where it has a real one, else its text.

    The number label is dropped; a text longer than ``limit`` is cut after
    its last full sentence that fits (a measure's opening says what it is about).
    """
    title = chunk.measure_title.strip()
    if title and title not in (chunk.label, chunk.citation) and not title.startswith("第"):
        return title[:limit]
    body = re.sub(r"\s+", " ", chunk.body.strip())
    if len(body) <= limit:
        return body
    cut = ""
    for part in _SENTENCE_END.split(body):
        if len(cut) + len(part) > limit:
            break
        cut += part
    return cut or body[:limit]


def similar_measures(searcher: Searcher, chunk_id: str, top_k: int = 3) -> list[Hit]:
    """The ``top_k`` measures of other documents most similar to ``chunk_id``, best first.

    Raises :class:`~indexer.errors.BadInputError` for a measure not in the index.
    """
    row = searcher.position(chunk_id)
    chunk = searcher.data.chunks[row]
    own = searcher.data.doc_ids.index(chunk.doc_id)
    others = np.asarray(searcher.data.chunk_doc) != own
    if not others.any():
        return []
    query = searcher.parse(measure_query(chunk))
    vector = np.asarray(searcher.data.dense.vectors(np.array([row]))[0], dtype=np.float32)
    candidates = searcher.candidates(query, vector, others)
    names = tuple(SIGNALS)
    features = searcher.features(candidates, names)
    fused = searcher.rank(candidates, features, names)
    hits, _, _ = searcher.evidence(candidates, features, names, fused, top_k)
    return list(hits)


__all__ = ["QUERY_CHARS", "measure_query", "similar_measures"]
