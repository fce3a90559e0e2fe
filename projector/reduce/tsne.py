"""t-SNE through openTSNE, with affinities built from projector's own kNN graph.

openTSNE would search neighbours itself (Annoy); handing it the FAISS graph skips that and
keeps one graph for everything; openTSNE does not want each point listed as its own
neighbour, which the graph already guarantees. 2-d maps are optimised by our compiled
gradients and descent (openTSNE's schedule and update rule); 3-d maps by openTSNE's
Barnes-Hut optimiser.
"""

from __future__ import annotations

import numpy as np

from projector.device import usable_cpus
from projector.progress import Cancelled, Reporter

__all__ = ["tsne_layout", "tsne_affinities", "progress_callback"]


def tsne_affinities(indices: np.ndarray, distances: np.ndarray, *, perplexity: float, seed: int):
    """openTSNE's perplexity-calibrated affinities from a self-excluded kNN graph."""
    from openTSNE.affinity import PerplexityBasedNN
    from openTSNE.nearest_neighbors import PrecomputedNeighbors

    knn = PrecomputedNeighbors(indices.astype(np.int64), distances.astype(np.float64))
    return PerplexityBasedNN(perplexity=perplexity, knn_index=knn, n_jobs=usable_cpus(), random_state=seed)



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
    """Optimise a t-SNE layout from a self-excluded kNN graph and an initial layout (N, dims).

    2-d maps run our compiled gradients and descent (:mod:`projector.reduce._tsne_descent`);
    3-d maps run openTSNE's Barnes-Hut (FFT interpolation is 2-d only).
    """
    report = report or Reporter()
    affinities = tsne_affinities(indices, distances, perplexity=perplexity, seed=seed)
    # openTSNE's recommended start: the initial layout rescaled to a std of 1e-4
    start = init.astype(np.float64)
    std = start[:, 0].std()
    start = start / std * 1e-4 if std > 0 else start
    schedule = {
        "learning_rate": learning_rate, "n_iter": n_iter, "early_exaggeration": early_exaggeration,
        "early_exaggeration_iter": early_exaggeration_iter,
    }
    if start.shape[1] == 2:
        from projector.reduce._tsne_descent import optimize

        coords = optimize(affinities.P, start, report=report, **schedule)
    else:
        coords = _barnes_hut(affinities, start, seed=seed, report=report, **schedule)
    report("tsne layout", early_exaggeration_iter + n_iter, early_exaggeration_iter + n_iter)
    return coords


def progress_callback(report: Reporter, stage: str, total: int, *, every: int):
    """An openTSNE callback (called every ``every`` iterations) that reports ``stage`` progress,
    and the list that holds the :class:`Cancelled` when a listener stopped the run (openTSNE
    only hears True and stops; the caller raises it afterwards)."""
    done = [0]
    cancelled: list[Cancelled] = []

    def callback(iteration, error, embedding):  # openTSNE's callback: return True to stop
        done[0] += every
        try:
            report(stage, min(done[0], total), total)
        except Cancelled as exc:
            cancelled.append(exc)
            return True
        return False

    return callback, cancelled


def _barnes_hut(affinities, start, *, learning_rate, n_iter, early_exaggeration, early_exaggeration_iter, seed, report):
    """openTSNE's own optimisation with Barnes-Hut gradients on the CPUs this process may use."""
    from openTSNE import TSNEEmbedding

    total = early_exaggeration_iter + n_iter
    callback, cancelled = progress_callback(report, "tsne layout", total, every=50)
    embedding = TSNEEmbedding(
        start,
        affinities,
        learning_rate=learning_rate,
        negative_gradient_method="bh",
        n_jobs=usable_cpus(),
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
    return np.asarray(embedding, dtype=np.float32)
