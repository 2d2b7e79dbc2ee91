"""How laws are built, as evidence for ranking: headings above an article, the law as a whole, neighbours.

A law's 编/章/节 headings say what its articles are about (人格权编 › 生命权、
身体权和健康权 frames 第一千零四条), and which law a question is about is
evidence for each of its articles.  Neither is embedded as a text prefix
(that made dense retrieval worse, see README); they are computed once per
loaded index from what the index already holds:

* a BM25 index over the section headings (their 第X编/章/节 labels stripped);
* one direction per section and per document: the normalised sum of its
  measure vectors (a centroid; no text is embedded again).

The signals that read them are in :mod:`indexer.signals`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .bm25 import BM25Index
from .segmentation import Segmenter
from .store import IndexData

#: heading labels (第四编, 第二章, 第一节, 第三部分) carry no meaning of their own
_LABEL = re.compile(r"第[一二三四五六七八九十百千零〇两0-9]+[编章节部分]")


@dataclass(frozen=True)
class LawStructure:
    """Per-index values the structure signals share (read-only once built)."""

    #: BM25 over the words of each section heading (row i = sections[i]); None without sections
    section_bm25: BM25Index | None
    #: unit vector of each section: its measures' vectors summed (zeros where unknown)
    section_vectors: np.ndarray | None
    #: unit vector of each document, likewise
    doc_vectors: np.ndarray | None

    @classmethod
    def build(cls, data: IndexData, segmenter: Segmenter, measure_vectors: np.ndarray | None) -> LawStructure:
        words = [segmenter.tokens(_LABEL.sub(" ", s)) for s in data.sections]
        section_bm25 = BM25Index.build(words) if words and any(words) else None
        n = len(data.chunks)
        if measure_vectors is None or n == 0:
            return cls(section_bm25, None, None)
        return cls(
            section_bm25,
            _group_directions(measure_vectors, data.chunk_section, len(data.sections)),
            _group_directions(measure_vectors, data.chunk_doc, len(data.doc_ids)),
        )


def _group_directions(vectors: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """Unit vector of the sum of ``vectors`` in each group.

    Chunks are stored document by document and a section's articles are
    consecutive, so runs of equal ``group`` are summed with one reduceat and
    only the runs are scattered: linear in the vectors, no per-row Python.
    """
    group = np.asarray(group, dtype=np.int64)
    out = np.zeros((n_groups, vectors.shape[1]), np.float32)
    if len(group) == 0 or n_groups == 0:
        return out
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    sums = np.add.reduceat(np.asarray(vectors, dtype=np.float32), starts, axis=0)
    np.add.at(out, group[starts], sums)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.maximum(norms, 1e-9)


__all__ = ["LawStructure"]
