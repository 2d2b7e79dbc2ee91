"""Write the shipped e5-legal delta scaled by α: weight-space interpolation between e5-small and e5-legal.

Fine-tuned weights interpolated towards the pre-trained ones (WiSE-FT) often hold
up better on questions unlike the training data, at a small cost on questions
like it.  Consultation questions are unlike most training pairs, so this was
measured: each folder written here is a tuned model (``--model e5-tuned:DIR``)
whose layers are the converted e5-small's plus α × the shipped delta (α = 0:
e5-small, α = 1: e5-legal).  The README's *Adapting the encoder* gives the
figures and the commands that compare them.

``--with DIR`` (repeatable) averages the shipped delta with other tuning runs'
deltas from the same base first (a model soup: fine-tunes of one model that each
fit another kind of question may, averaged, fit both), then scales by α.

    python bench/interpolate_delta.py --out DIR --alpha 0.5 [--alpha 0.75] [--with TUNED_DIR …]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from indexer.e5convert import DELTA_FILE, META_FILE, delta_file  # noqa: E402
from indexer.encoders import LEGAL_DELTA  # noqa: E402


def interpolate(alpha: float, out: Path, source: Path = LEGAL_DELTA, others: tuple[Path, ...] = ()) -> str:
    """Write the mean of ``source``'s and ``others``' deltas times ``alpha`` (same dtype) with ``source``'s metadata into ``out``; return its SHA-256."""
    out.mkdir(parents=True, exist_ok=True)
    folders = (source, *others)
    deltas = [load_file(str(delta_file(f))) for f in folders]
    delta = deltas[0]
    for f, d in zip(others, deltas[1:], strict=True):
        if d.keys() != delta.keys() or any(d[k].shape != delta[k].shape for k in delta):
            sys.exit(f"{f}: its delta changes other layers than {source}'s; a soup needs runs of the same settings")
    target = out / DELTA_FILE
    mean = {k: sum(d[k].astype(np.float32) for d in deltas) / len(deltas) for k in delta}
    save_file({k: (v * alpha).astype(delta[k].dtype) for k, v in mean.items()}, str(target))
    meta = json.loads((source / META_FILE).read_text(encoding="utf-8"))
    meta["delta_sha256"] = hashlib.sha256(target.read_bytes()).hexdigest()
    shas = [hashlib.sha256(delta_file(f).read_bytes()).hexdigest() for f in folders]
    meta["interpolated"] = {"alpha": alpha, "from_delta_sha256": shas[0] if len(shas) == 1 else shas}
    (out / META_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    return meta["delta_sha256"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="a folder per α is written inside it (a050 for α = 0.5)")
    ap.add_argument("--alpha", type=float, action="append", required=True)
    ap.add_argument("--with", dest="others", action="append", default=[], metavar="TUNED_DIR", help="average with this run's delta first")
    args = ap.parse_args()
    for alpha in args.alpha:
        if not 0.0 <= alpha <= 2.0:
            sys.exit(f"--alpha {alpha}: use a value between 0 and 2")
        folder = Path(args.out) / f"a{round(alpha * 100):03d}"
        print(f"{folder}\t{interpolate(alpha, folder, others=tuple(Path(o) for o in args.others))}")


if __name__ == "__main__":
    main()
