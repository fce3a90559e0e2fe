"""t-SNE placement through openTSNE's partial embedding, fed projector's neighbours.

openTSNE's ``TSNEEmbedding.transform`` needs the affinity object of the fit to search the new
rows' neighbours; projector's fit keeps no such object (and searches with FAISS), so the steps
of ``prepare_partial`` are taken here with the neighbours already found: point-wise affinities
by ``joint_probabilities_nn``, a start at their weighted mean in the map, then
``PartialTSNEEmbedding.optimize`` with ``transform``'s schedule (a lower perplexity, clipped
gradients; a larger learning rate, see below), the fitted map held fixed and centred as
openTSNE centres it.
"""

from __future__ import annotations

import numpy as np

from projector.device import usable_cpus
from projector.progress import Reporter
from projector.reduce.tsne import progress_callback

__all__ = ["tsne_place", "TSNE_PLACE_PERPLEXITY"]

# openTSNE's transform defaults (a low perplexity keeps a new row by its nearest neighbours),
# but a learning rate of 1 instead of 0.1: on the real-text fixture it lifts the placed rows'
# trustworthiness from 0.953 to 0.969 and k-NN preservation from 0.473 to 0.492
# (benchmarks/bench_placement.py); 3 and above overshoot.
TSNE_PLACE_PERPLEXITY = 5.0
_N_ITER = 250
_LEARNING_RATE = 1.0
_EXAGGERATION = 1.5
_MOMENTUM = 0.8
_MAX_GRAD_NORM = 0.25
_EVERY = 25


def tsne_place(coords: np.ndarray, rows: np.ndarray, distances: np.ndarray, perplexity: float, *, seed: int, report: Reporter) -> np.ndarray:
    """Coordinates (M, dims) of new rows whose nearest fitted rows are ``rows`` (M, k) at ``distances``."""
    from openTSNE import TSNEEmbedding
    from openTSNE.affinity import joint_probabilities_nn
    from openTSNE.tsne import PartialTSNEEmbedding

    n, dims = coords.shape
    P = joint_probabilities_nn(
        rows.astype(np.int64), distances.astype(np.float64), [perplexity], symmetrize=False,
        normalization="point-wise", n_reference_samples=n, n_jobs=usable_cpus(),
    )
    centre = (coords.max(axis=0) + coords.min(axis=0)) / 2.0
    reference = TSNEEmbedding(
        coords.astype(np.float64) - centre, _fixed_map_affinities(n), negative_gradient_method="fft" if dims == 2 else "bh",
        n_jobs=usable_cpus(), random_state=seed,
    )
    start = _weighted_start(np.asarray(reference), rows, P)
    callback, cancelled = progress_callback(report, "tsne placement", _N_ITER, every=_EVERY)
    partial = PartialTSNEEmbedding(start, reference, P, **reference.gradient_descent_params)
    partial = partial.optimize(
        n_iter=_N_ITER, learning_rate=_LEARNING_RATE, exaggeration=_EXAGGERATION, momentum=_MOMENTUM,
        max_grad_norm=_MAX_GRAD_NORM, inplace=True, callbacks=callback, callbacks_every_iters=_EVERY,
    )
    if cancelled:
        raise cancelled[0]
    report("tsne placement", _N_ITER, _N_ITER)
    return (np.asarray(partial) + centre).astype(np.float32)


def _fixed_map_affinities(n: int):
    """The fixed map's affinities as openTSNE's embedding wants them: it checks their size only,
    since placement never moves the map (its own affinities were not kept by the fit)."""
    import scipy.sparse as sp
    from openTSNE.affinity import Affinities

    affinities = Affinities()
    affinities.P = sp.csr_matrix((n, n))
    return affinities


def _weighted_start(reference: np.ndarray, rows: np.ndarray, P) -> np.ndarray:
    """Each new row at the affinity-weighted mean of its neighbours' spots (``prepare_partial``'s
    "weighted" start, weighted by affinity so that nearer neighbours count more)."""
    m, k = rows.shape
    weights = np.asarray(P.tocsr()[np.repeat(np.arange(m), k), rows.ravel()]).reshape(m, k)
    share = weights / np.maximum(weights.sum(axis=1, keepdims=True), 1e-12)
    return np.einsum("mk,mkd->md", share, reference[rows])
