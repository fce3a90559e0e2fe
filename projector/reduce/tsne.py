"""t-SNE through openTSNE, with affinities built from projector's own kNN graph.

openTSNE would search neighbours itself (Annoy); handing it the FAISS graph skips that and
keeps one graph for everything; openTSNE does not want each point listed as its own
neighbour, which the graph already guarantees. openTSNE's optimiser runs the schedule; the
gradient of 2-d maps is our FFT one on all cores (:mod:`projector.reduce._tsne_fft`).
"""

from __future__ import annotations

import numpy as np

from projector.progress import Cancelled, Reporter

__all__ = ["tsne_layout", "tsne_affinities"]


def tsne_affinities(indices: np.ndarray, distances: np.ndarray, *, perplexity: float, seed: int):
    """openTSNE's perplexity-calibrated affinities from a self-excluded kNN graph."""
    import os

    from openTSNE.affinity import PerplexityBasedNN
    from openTSNE.nearest_neighbors import PrecomputedNeighbors

    knn = PrecomputedNeighbors(indices.astype(np.int64), distances.astype(np.float64))
    return PerplexityBasedNN(perplexity=perplexity, knn_index=knn, n_jobs=os.cpu_count() or 1, random_state=seed)


_FFT_MIN_POINTS = 10_000  # openTSNE's own switch: below it Barnes-Hut beats any FFT grid


def _gradient_method(n: int, dims: int):
    """Our multi-threaded FFT gradient for large 2-d maps, else openTSNE's Barnes-Hut (on all cores).

    The FFT grid's cost grows with the map's extent, not N, so Barnes-Hut wins on small data;
    FFT interpolation is 2-d only.
    """
    if dims == 2 and n >= _FFT_MIN_POINTS:
        from projector.reduce._tsne_fft import kl_gradient

        return kl_gradient
    return "bh"


def tsne_layout(
    indices: np.ndarray,
    distances: np.ndarray,
    init: np.ndarray,
    *,
    perplexity: float,
    learning_rate: float | str,  # "auto": N / exaggeration, openTSNE's rule
    n_iter: int,
    early_exaggeration: float,
    early_exaggeration_iter: int,
    seed: int,
    report: Reporter | None = None,
) -> np.ndarray:
    """Optimise a t-SNE layout from a self-excluded kNN graph and an initial layout (N, dims)."""
    import os

    from openTSNE import TSNEEmbedding

    report = report or Reporter()
    n_jobs = os.cpu_count() or 1
    affinities = tsne_affinities(indices, distances, perplexity=perplexity, seed=seed)
    # openTSNE's recommended start: the initial layout rescaled to a std of 1e-4
    start = init.astype(np.float64)
    std = start[:, 0].std()
    start = start / std * 1e-4 if std > 0 else start
    total = early_exaggeration_iter + n_iter
    done = [0]
    cancelled: list[Cancelled] = []

    def callback(iteration, error, embedding):  # openTSNE's callback: return True to stop
        done[0] += 50
        try:
            report("tsne layout", min(done[0], total), total)
        except Cancelled as exc:
            cancelled.append(exc)
            return True
        return False

    embedding = TSNEEmbedding(
        start,
        affinities,
        learning_rate=learning_rate,
        negative_gradient_method=_gradient_method(*start.shape),
        n_jobs=n_jobs,
        random_state=seed,
        callbacks=callback,
        callbacks_every_iters=50,
    )
    if early_exaggeration_iter:
        embedding = embedding.optimize(
            early_exaggeration_iter, exaggeration=early_exaggeration, momentum=0.8, learning_rate=learning_rate
        )
    if n_iter and not cancelled:
        embedding = embedding.optimize(n_iter, exaggeration=None, momentum=0.8, learning_rate=learning_rate)
    if cancelled:
        raise cancelled[0]
    report("tsne layout", total, total)
    return np.asarray(embedding, dtype=np.float32)

