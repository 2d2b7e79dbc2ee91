"""The text units of a measure that are embedded and tokenised, shared by the build and the search.

The build embeds and indexes exactly these units and the search scores them,
so both sides take them from here: neither can drift from the other, and the
query path needs nothing from the build or the chunker.

* the **sentences** of a measure, its number label (``5.``, ``第三条``) stripped;
* its **title** where the title says something (not just 第三条);
* **character pairs** of a text, for the bigram BM25;
* the **text key** of an embedded text (the embedding cache key) and the
  **fingerprint** of a chunk (the token cache key).
"""

from __future__ import annotations

import hashlib

from .schema import Chunk
from .segmentation import Segmenter, normalise


def text_key(text: str) -> bytes:
    """The embedding cache key of a text: its SHA-1 (20 bytes)."""
    return hashlib.sha1(text.encode("utf-8")).digest()


def embedded_sentences(chunk: Chunk) -> list[tuple[int, str]]:
    """(position in ``chunk.sentences``, embedded text) of each embedded sentence."""
    out = []
    for i, s in enumerate(chunk.sentences):
        if i == 0 and chunk.label and s.startswith(chunk.label):
            s = s[len(chunk.label) :]
        s = s.strip()
        if s:
            out.append((i, s))
    return out or [(0, chunk.body.strip() or chunk.text)]


def sentence_texts(chunk: Chunk) -> list[str]:
    """The sentences that are embedded: number label stripped, blanks dropped."""
    return [text for _, text in embedded_sentences(chunk)]


def title_text(chunk: Chunk) -> str | None:
    """The measure title when it says something (not just 第三条, nor 引言, the title of a preamble)."""
    if chunk.kind == "passage" and not chunk.section:
        return None
    t = chunk.measure_title.strip()
    return t if t and t != chunk.label and t != chunk.doc_title else None


def chunk_fingerprint(chunk: Chunk) -> str:
    """Identifies what is tokenised of a chunk (its title and text): the key of its cached tokens."""
    return hashlib.sha1(f"{chunk.measure_title}\x00{chunk.text}".encode()).hexdigest()


def chunk_tokens(segmenter: Segmenter, chunk: Chunk) -> tuple[list[str], list[str]]:
    """BM25 tokens of a chunk's body, and of its title."""
    title = title_text(chunk)
    return segmenter.tokens(chunk.body), (segmenter.tokens(title) if title else [])


def char_bigrams(text: str) -> list[str]:
    """Overlapping character pairs of the normalised text (CJK, digits, letters)."""
    s = "".join(ch for ch in normalise(text) if ch.isalnum())
    return [s[i : i + 2] for i in range(len(s) - 1)]


__all__ = ["char_bigrams", "chunk_fingerprint", "chunk_tokens", "embedded_sentences", "sentence_texts", "text_key", "title_text"]
