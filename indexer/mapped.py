"""Memory-mapped index arrays that are read at random rows.

The kernel reads ahead around every page fault (128 KB by default).  For the
float16 vectors used to re-score HNSW candidates and for the row-major BM25
copies, each query touches a few hundred scattered rows, so read-ahead pulls
in ~30x more of the file than is used: at a million chunks that made most of
those files resident after a few hundred queries.  ``MADV_RANDOM`` turns it
off for these mappings only.
"""

from __future__ import annotations

import logging
import mmap

import numpy as np

log = logging.getLogger(__name__)


def advise_random(array: np.ndarray) -> bool:
    """Tell the kernel that ``array``'s mapping is read at random; False if it is not a mapping."""
    obj: object = array
    while obj is not None:
        m = obj if isinstance(obj, mmap.mmap) else getattr(obj, "_mmap", None)
        if isinstance(m, mmap.mmap):
            try:
                m.madvise(mmap.MADV_RANDOM)
            except (AttributeError, OSError, ValueError) as exc:  # not on every platform
                log.debug("madvise not applied: %s", exc)
                return False
            return True
        obj = getattr(obj, "base", None)
    return False
