"""Settle placed rows beside the fitted rows their original-space neighbours sit by.

UMAP's and t-SNE's optimisation leaves a new row where its neighbours' pulls balance, often
the middle of a spread of them, where other rows are nearer in the map. Here each new row
weighs a few spots: where the optimisation left it, just beside each of its nearest
neighbours, and halfway between the nearest and each of the others; and keeps the spot whose
map neighbourhood agrees best with its neighbourhood in the original space, its own spot
winning ties. The fitted map never moves. A pass compares against the positions before it; a
second pass sees the first's moves.

Agreement is scored at several scales at once, doubling from a handful of neighbours to the
region a reader takes in (:data:`SETTLE_SCALES`): at each scale ``s``, the share of the row's
``s`` nearest in the original space that are among the spot's ``s`` nearest in the map, summed
over scales. Scored at one scale only, a spot wins that scale and loses the others (scored
against 15 neighbours, the held-out rows of benchmarks/bench_placement.py kept fewer of their
5 nearest than with no settling at all); summed over doubling scales, it keeps more at every
scale from 3 to 80 neighbours on both of that benchmark's data sets and both methods.

Beside a neighbour, a row's very nearest in the map are that neighbour's own, so a last step
works coarse to fine: each row tries spots a little way toward each of its nearest few and
takes the one that best keeps its 1 to 3 nearest (:data:`FINE_SCALES`), among those that keep
all of the agreement above (benchmarks/README.md, placement).
"""

from __future__ import annotations

import numpy as np

from projector.device import usable_cpus

__all__ = ["settle", "SETTLE_SCALES", "FINE_SCALES"]

SETTLE_SCALES = (5, 10, 20, 40)
FINE_SCALES = (1, 2, 3)
_TOWARD = 5  # the fine step tries spots toward this many nearest neighbours,
_STEPS = (0.1, 0.25, 0.5, 0.75)  # at these fractions of the way
_CANDIDATES = 10  # spots beside the nearest this many neighbours
_PASSES = 2
_NUDGE = 1e-3  # of the map's typical spacing: beside a neighbour, not on it
_CHUNK = 2048  # new rows scored at once: bounds the (rows, spots, neighbours) arrays


def settle(fixed: np.ndarray, placed: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``placed`` (M, dims) moved where each row's map neighbours best match ``rows`` (M, k).

    ``rows`` are each new row's nearest rows in the original space, nearest first, fitted rows
    numbered 0..N-1 and new rows from N (as ``placement._with_new_rows`` gives them); ``k`` of
    at least ``max(SETTLE_SCALES)`` lets every scale count.
    """
    from scipy.spatial import cKDTree

    m, k = rows.shape
    n = len(fixed)
    scales = _scales(SETTLE_SCALES, k, n + m - 1)
    points = placed.astype(np.float64).copy()
    fixed = fixed.astype(np.float64)
    spacing = float(np.median(cKDTree(fixed).query(fixed[: min(n, 2000)], 2)[0][:, 1])) if n > 1 else 1.0
    spacing = spacing if np.isfinite(spacing) and spacing > 0 else 1.0
    for _ in range(_PASSES):
        everywhere = np.concatenate([fixed, points])
        tree = cKDTree(everywhere)
        moved = points.copy()
        for start in range(0, m, _CHUNK):
            part = slice(start, min(m, start + _CHUNK))
            candidates = _candidates(points[part], everywhere[rows[part, : min(_CANDIDATES, k)]], spacing)
            ranks = _original_ranks(tree, candidates, rows[part], n + np.arange(part.start, part.stop), int(scales.max()))
            best = np.argmax(_agreement(ranks, scales), axis=1)  # first maximum: the own spot wins ties
            moved[part] = candidates[np.arange(len(best)), best]
        points = moved
    return _refine(fixed, points, rows, scales).astype(np.float32)


def _refine(fixed: np.ndarray, points: np.ndarray, rows: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """Each row moved a little toward one of its nearest few where that keeps more of its 1-3
    nearest, never losing agreement at ``scales``; the own spot wins ties."""
    from scipy.spatial import cKDTree

    m, k = rows.shape
    n = len(fixed)
    fine = _scales(FINE_SCALES, k, n + m - 1)
    everywhere = np.concatenate([fixed, points])
    tree = cKDTree(everywhere)
    top = int(max(scales.max(), fine.max()))
    moved = points.copy()
    for start in range(0, m, _CHUNK):
        part = slice(start, min(m, start + _CHUNK))
        here = points[part][:, None, :]
        toward = everywhere[rows[part, : min(_TOWARD, k)]] - here
        candidates = np.concatenate([here, *(here + step * toward for step in _STEPS)], axis=1)
        ranks = _original_ranks(tree, candidates, rows[part], n + np.arange(part.start, part.stop), top)
        coarse = _agreement(ranks, scales)
        kept = coarse >= coarse[:, :1] - 1e-9
        best = np.argmax(np.where(kept, _agreement(ranks, fine), -np.inf), axis=1)
        moved[part] = candidates[np.arange(len(best)), best]
    return moved


def _scales(wanted: tuple[int, ...], k: int, others: int) -> np.ndarray:
    """The scales of ``wanted`` that fit both the neighbours given and the rows there are."""
    limit = max(1, min(k, others))
    scales = [s for s in wanted if s <= limit]
    return np.asarray(scales or [limit])


def _candidates(points: np.ndarray, spots: np.ndarray, spacing: float) -> np.ndarray:
    """(m, 1 + 2c - 1, dims): the own spot first, beside each of ``c`` neighbours, halfway from the nearest to each other."""
    away = points[:, None, :] - spots
    norm = np.linalg.norm(away, axis=2, keepdims=True)
    spots = spots + _NUDGE * spacing * np.where(norm > 0, away / np.maximum(norm, 1e-300), 0.0)
    between = (spots[:, :1] + spots[:, 1:]) / 2.0
    return np.concatenate([points[:, None, :], spots, between], axis=1)


def _original_ranks(tree, candidates: np.ndarray, rows: np.ndarray, own: np.ndarray, top: int) -> np.ndarray:
    """(m, spots, top): each spot's ``top`` nearest in the map (the row itself left out), as
    their rank among the row's nearest in the original space (``rows``), or ``top`` if not there."""
    m, c, dims = candidates.shape
    found = tree.query(candidates.reshape(-1, dims), top + 1, workers=usable_cpus())[1].reshape(m, c, top + 1)
    found = np.take_along_axis(found, np.argsort(found == own[:, None, None], axis=2, kind="stable"), axis=2)[..., :top]
    return _rank_among(rows[:, :top], found)


def _agreement(original_rank: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """(m, spots): at each scale s, the share of a row's s nearest among a spot's s nearest in the map, summed."""
    map_rank = np.arange(original_rank.shape[2])
    score = np.zeros(original_rank.shape[:2])
    for s in scales:
        score += ((map_rank < s) & (original_rank < s)).sum(axis=2) / s
    return score


def _rank_among(rows: np.ndarray, found: np.ndarray) -> np.ndarray:
    """For each id in ``found`` (m, c, t), its position in its row of ``rows`` (m, t), or t when absent."""
    m, t = rows.shape
    span = int(max(rows.max(initial=0), found.max(initial=0))) + 1
    keys = rows.astype(np.int64) + np.arange(m, dtype=np.int64)[:, None] * span
    order = np.argsort(keys, axis=None)
    sorted_keys = keys.ravel()[order]
    queries = found.astype(np.int64) + np.arange(m, dtype=np.int64)[:, None, None] * span
    at = np.minimum(np.searchsorted(sorted_keys, queries), sorted_keys.size - 1)
    hit = sorted_keys[at] == queries
    return np.where(hit, order[at] % t, t)
