from __future__ import annotations

from pathlib import Path

import numpy as np

from indexer.mapped import advise_random


def test_a_memory_mapped_array_is_advised_and_still_reads_the_same(tmp_path: Path) -> None:
    data = np.arange(4096, dtype=np.float32).reshape(64, 64)
    np.save(tmp_path / "a.npy", data)
    mapped = np.asarray(np.load(tmp_path / "a.npy", mmap_mode="r"))
    assert advise_random(mapped)
    np.testing.assert_array_equal(mapped[[3, 60, 7]], data[[3, 60, 7]])


def test_an_array_in_memory_is_left_alone() -> None:
    assert not advise_random(np.zeros(10))
