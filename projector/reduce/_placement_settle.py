"""Settle placed rows beside the fitted rows their original-space neighbours sit by.

UMAP's and t-SNE's optimisation leaves a new row where its neighbours' pulls balance, often
the middle of a spread of them, where other rows are nearer in the map. Here each new row
weighs a few spots: where the optimisation left it, just beside each of its nearest
neighbours, and halfway between the nearest and each of the others; and keeps the spot whose map neighbours share the most with its neighbours in the
original space (the ``k`` it was placed with), its own spot winning ties. The fitted map never
moves. A pass compares against the positions before it; a second pass sees the first's moves.
"""

from __future__ import annotations

import numpy as np

__all__ = ["settle"]

_CANDIDATES = 5  # spots beside the nearest this many neighbours
_PASSES = 2
_NUDGE = 1e-3  # of the map's typical spacing: beside a neighbour, not on it


def settle(fixed: np.ndarray, placed: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``placed`` (M, dims) moved where each row's map neighbours best match ``rows`` (M, k).

    ``rows`` are each new row's nearest rows in the original space, fitted rows numbered
    0..N-1 and new rows from N (as ``placement._with_new_rows`` gives them).
    """
    from scipy.spatial import cKDTree

    m, k = rows.shape
    n = len(fixed)
    points = placed.astype(np.float64).copy()
    fixed = fixed.astype(np.float64)
    spacing = float(np.median(cKDTree(fixed).query(fixed[: min(n, 2000)], 2)[0][:, 1])) if n > 1 else 1.0
    spacing = spacing if np.isfinite(spacing) and spacing > 0 else 1.0
    c = min(_CANDIDATES, k)
    for _ in range(_PASSES):
        everywhere = np.concatenate([fixed, points])
        tree = cKDTree(everywhere)
        spots = everywhere[rows[:, :c]]  # (m, c, dims)
        away = points[:, None, :] - spots
        norm = np.linalg.norm(away, axis=2, keepdims=True)
        spots = spots + _NUDGE * spacing * np.where(norm > 0, away / np.maximum(norm, 1e-300), 0.0)
        between = (spots[:, :1] + spots[:, 1:]) / 2.0  # halfway from the nearest to each of the others
        candidates = np.concatenate([points[:, None, :], spots, between], axis=1)  # own spot first
        found = tree.query(candidates.reshape(-1, points.shape[1]), k + 1)[1].reshape(m, candidates.shape[1], k + 1)
        own = (n + np.arange(m))[:, None, None]
        shared = (found[..., :, None] == rows[:, None, None, :]).any(axis=3) & (found != own)
        score = shared.sum(axis=2)
        best = np.argmax(score, axis=1)  # first maximum: the own spot wins ties
        points = candidates[np.arange(m), best]
    return points.astype(np.float32)
