"""UMAP through umap-learn, fed projector's kNN graph (used when torch is not installed).

umap-learn wants each point listed as its own first neighbour at distance 0, which the
self-excluded graph does not hold, so it is prepended here.
"""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["umap_learn_layout"]


def umap_learn_layout(space: np.ndarray, graph, params, n_epochs: int) -> np.ndarray:
    """Run umap-learn on ``space`` with the precomputed graph; returns float32 coordinates."""
    import umap

    n = len(space)
    k = params.n_neighbors
    indices = np.hstack([np.arange(n)[:, None], graph.indices[:, : k - 1]])
    distances = np.hstack([np.zeros((n, 1), dtype=np.float32), np.maximum(graph.distances[:, : k - 1], 0)])
    model = umap.UMAP(
        n_neighbors=k,
        n_components=params.dims,
        min_dist=params.min_dist,
        spread=params.spread,
        metric="euclidean" if graph.metric == "l2" else "cosine",
        n_epochs=n_epochs,
        learning_rate=params.learning_rate,
        negative_sample_rate=params.negative_sample_rate,
        init=params.init,
        random_state=params.seed,
        precomputed_knn=(indices, distances, None),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # umap-learn warns about n_jobs with random_state and the missing index
        return np.asarray(model.fit_transform(space), dtype=np.float32)
