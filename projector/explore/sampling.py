"""Which rows an interactive map draws when it cannot draw them all: a stratified sample.

Pure NumPy, so the report, the app and tests draw the same sample for the same seed.
"""

from __future__ import annotations

import numpy as np

__all__ = ["stratified_sample"]


def stratified_sample(labels: np.ndarray | None, n: int, size: int, seed: int = 0) -> np.ndarray:
    """``size`` rows of ``n`` (sorted), each label keeping its share (at least one row each)."""
    if size >= n:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    if labels is None:
        return np.sort(rng.choice(n, size=size, replace=False))
    chosen = []
    codes, counts = np.unique(labels, return_counts=True)
    quota = np.maximum(1, np.floor(counts * (size / n)).astype(np.int64))
    for code, take in zip(codes, quota):
        rows = np.flatnonzero(labels == code)
        chosen.append(rng.choice(rows, size=min(int(take), rows.size), replace=False))
    picked = np.concatenate(chosen)
    if picked.size < size:  # rounding down left room: fill uniformly from the rest
        rest = np.setdiff1d(np.arange(n), picked, assume_unique=False)
        picked = np.concatenate([picked, rng.choice(rest, size=min(size - picked.size, rest.size), replace=False)])
    return np.sort(picked[:size])
