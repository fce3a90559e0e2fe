"""UMAP's fuzzy neighbour graph and curve parameters, in numpy and scipy (no numba).

Follows McInnes et al. (2018) and umap-learn's ``fuzzy_simplicial_set``: per-point local
connectivity ``rho`` and bandwidth ``sigma`` found by a vectorised binary search, membership
strengths ``exp(-(d - rho) / sigma)``, then the fuzzy union ``A + A.T - A * A.T``. Written
here because importing umap-learn compiles numba code for seconds on every fresh process.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["fuzzy_graph", "sampled_edges", "find_ab"]

_SMOOTH_K_TOLERANCE = 1e-5
_MIN_K_DIST_SCALE = 1e-3


def fuzzy_graph(indices: np.ndarray, distances: np.ndarray, n_neighbors: int) -> sp.coo_matrix:
    """The symmetric fuzzy graph from a self-excluded kNN graph (N, k >= n_neighbors - 1)."""
    n = len(indices)
    k = max(1, min(n_neighbors - 1, indices.shape[1]))
    idx = indices[:, :k]
    dist = distances[:, :k].astype(np.float64)
    rho, sigma = _smooth_knn_dist(dist, target=np.log2(n_neighbors))
    weights = np.exp(-np.clip(dist - rho[:, None], 0.0, None) / sigma[:, None])
    rows = np.repeat(np.arange(n), k)
    graph = sp.coo_matrix((weights.ravel(), (rows, idx.ravel())), shape=(n, n)).tocsr()
    graph.sum_duplicates()
    transpose = graph.T.tocsr()
    product = graph.multiply(transpose)
    union = (graph + transpose - product).tocoo()
    union.eliminate_zeros()
    return union


def sampled_edges(graph: sp.coo_matrix, n_epochs: int) -> sp.coo_matrix:
    """The edges a layout of ``n_epochs`` samples at least once (umap-learn drops the rest).

    An edge of weight w is sampled every max(w) / w epochs, so one weaker than max / n_epochs
    never pulls: the layout's real graph, whose parts can drift apart, is this one.
    """
    keep = graph.data >= graph.data.max() / float(n_epochs)
    if keep.all():
        return graph
    return sp.coo_matrix((graph.data[keep], (graph.row[keep], graph.col[keep])), shape=graph.shape)


def _smooth_knn_dist(dist: np.ndarray, target: float, n_iter: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Per-row rho (distance to the nearest neighbour) and sigma with sum exp(-(d-rho)/sigma) = target."""
    positive = np.where(dist > 0, dist, np.inf)
    rho = positive.min(axis=1)
    rho[~np.isfinite(rho)] = 0.0
    gap = np.clip(dist - rho[:, None], 0.0, None)
    low = np.zeros(len(dist))
    high = np.full(len(dist), np.inf)
    mid = np.ones(len(dist))
    for _ in range(n_iter):
        total = np.exp(-gap / mid[:, None]).sum(axis=1)
        done = np.abs(total - target) < _SMOOTH_K_TOLERANCE
        if done.all():
            break
        over = (total > target) & ~done
        under = (total <= target) & ~done
        high = np.where(over, mid, high)
        low = np.where(under, mid, low)
        halfway = (low + high) / 2
        mid = np.where(over, halfway, np.where(under, np.where(np.isinf(high), mid * 2, halfway), mid))
    mean_all = dist.mean()
    mean_row = dist.mean(axis=1)
    floor = np.where(rho > 0, _MIN_K_DIST_SCALE * mean_row, _MIN_K_DIST_SCALE * mean_all)
    sigma = np.maximum(mid, floor)
    sigma[sigma <= 0] = 1.0
    return rho, sigma


def find_ab(spread: float, min_dist: float) -> tuple[float, float]:
    """Fit UMAP's curve 1 / (1 + a d^(2b)) to the target membership for ``spread``, ``min_dist``."""
    from scipy.optimize import curve_fit

    xv = np.linspace(0, spread * 3, 300)
    yv = np.where(xv < min_dist, 1.0, np.exp(-(xv - min_dist) / spread))
    (a, b), _ = curve_fit(lambda x, a, b: 1.0 / (1.0 + a * x ** (2 * b)), xv, yv)
    return float(a), float(b)
