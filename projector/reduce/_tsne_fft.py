"""t-SNE's gradient with FFT-interpolated repulsion (FIt-SNE), multi-threaded, for openTSNE's optimiser.

openTSNE computes the repulsive half of the gradient on one thread, through numpy's FFT, and
that half is most of every iteration. This is the same algorithm (Linderman et al. 2019):
charges ``[1, y1, y2, |y|^2]`` spread onto a uniform grid by Lagrange interpolation (3 nodes per
box), convolved with the squared Cauchy kernel by FFT, gathered back. Differences: scipy's
FFT on all cores, grid sizes that FFT fast, and the spreading and gathering as whole-array
numpy. The attractive half stays openTSNE's compiled, parallel sparse loop.

:func:`kl_gradient` has the signature openTSNE expects of ``negative_gradient_method``.
"""

from __future__ import annotations

import os

import numpy as np

__all__ = ["kl_gradient", "repulsion"]

_NODES = 3  # interpolation nodes per box and dimension, openTSNE's default
_MAX_BOXES = 1000  # per dimension, openTSNE's cap (bounds the grid's memory)
_EPSILON = np.finfo(np.float64).eps


def kl_gradient(embedding, P, dof=1, fft_params=None, reference_embedding=None, should_eval_error=False, n_jobs=1, **_):
    """KL divergence (when asked) and gradient of a 2-d embedding, as openTSNE's optimiser calls it."""
    from openTSNE import _tsne

    if embedding.ndim != 2 or embedding.shape[1] != 2 or reference_embedding is not None or dof != 1:
        raise ValueError("the FFT gradient handles 2-d embeddings with dof=1 and no reference embedding")
    params = fft_params or {}
    y = np.asarray(embedding)
    gradient, sum_q = repulsion(
        y, min_boxes=params.get("min_num_intervals", 50), box_size=params.get("ints_in_interval", 1), workers=n_jobs
    )
    # adds the attraction sum_j p_ij q_ij (y_i - y_j) into `gradient` in place
    result = _tsne.estimate_positive_gradient_nn(
        P.indices, P.indptr, P.data, y, y, gradient, dof, num_threads=n_jobs, should_eval_error=should_eval_error
    )
    kl = result[1] + result[0] * np.log(sum_q + _EPSILON) if should_eval_error else 0.0
    return kl, gradient


def repulsion(y: np.ndarray, *, min_boxes: int = 50, box_size: float = 1.0, workers: int = 1) -> tuple[np.ndarray, float]:
    """Minus the normalised repulsive gradient, ``-sum_j q_ij^2 (y_i - y_j) / Z`` (N, 2), and Z."""
    n = len(y)
    y = y - (y.min(axis=0) + y.max(axis=0)) / 2  # centred: the gradient is the same, cancellation less
    low, high = float(y.min()), float(y.max())
    boxes = _fast_boxes(max(min_boxes, int((high - low) / box_size)))
    width = max(high - low, 1e-12) / boxes
    size = boxes * _NODES  # grid nodes per dimension, spaced width / _NODES apart
    flat, weights = _interpolation(y, low, width, boxes)
    terms = np.stack([np.ones(n), y[:, 0], y[:, 1], (y * y).sum(axis=1)])  # charges (4, N)
    grid = np.empty((4, size, size), dtype=np.float32)
    for term, charge in enumerate(terms):
        spread = np.bincount(flat.ravel(), weights=(weights * charge[:, None]).ravel(), minlength=size * size)
        grid[term] = spread.reshape(size, size)
    workers = max(1, int(workers)) if workers and workers > 0 else os.cpu_count() or 1
    potential = _convolve(grid, _kernel(size, width / _NODES), workers).reshape(4, -1)
    phi = (potential[:, flat] * weights).sum(axis=2)  # (4, N) at the points
    squared = terms[3]
    sum_qi = (1.0 + squared) * phi[0] - 2.0 * (y[:, 0] * phi[1] + y[:, 1] * phi[2]) + phi[3]
    sum_q = float(sum_qi.sum()) - n  # every point's q_ii = 1 is in the sums; take it out
    gradient = np.empty_like(y, dtype=np.float64)
    gradient[:, 0] = y[:, 0] * phi[0] - phi[1]
    gradient[:, 1] = y[:, 1] * phi[0] - phi[2]
    gradient /= -(sum_q + _EPSILON)
    return gradient, sum_q


def _convolve(grid: np.ndarray, kernel: np.ndarray, workers: int) -> np.ndarray:
    """Linear convolution of (terms, size, size) charges with a circular (2 size)^2 kernel, by FFT.

    Zero padding is never transformed: the forward pass runs along rows on the ``size``
    filled rows only, and the inverse keeps only the ``size`` rows wanted. float32 is ample
    (errors near 1e-6 of the largest potential, well under the interpolation's).
    """
    import scipy.fft

    size = grid.shape[-1]
    padded = 2 * size
    spectrum = scipy.fft.rfft(grid, n=padded, axis=2, workers=workers)
    spectrum = scipy.fft.fft(spectrum, n=padded, axis=1, workers=workers, overwrite_x=True)
    spectrum *= scipy.fft.rfft2(kernel, workers=workers)
    spectrum = scipy.fft.ifft(spectrum, axis=1, workers=workers, overwrite_x=True)[:, :size]
    return scipy.fft.irfft(spectrum, n=padded, axis=2, workers=workers)[:, :, :size]


def _fast_boxes(boxes: int) -> int:
    """The smallest box count >= ``boxes`` whose padded grid (2 x 3 x boxes) FFTs fast."""
    from scipy.fft import next_fast_len

    boxes = min(boxes, _MAX_BOXES)
    while next_fast_len(2 * _NODES * boxes, real=True) != 2 * _NODES * boxes:
        boxes += 1
    return boxes


def _interpolation(y: np.ndarray, low: float, width: float, boxes: int) -> tuple[np.ndarray, np.ndarray]:
    """Each point's 9 grid nodes (flat indices, N x 9) and Lagrange weights (N x 9)."""
    scaled = (y - low) / width
    box = np.minimum(scaled.astype(np.int64), boxes - 1)
    local = scaled - box  # position inside the box, in [0, 1]
    nodes = (np.arange(_NODES) + 0.5) / _NODES
    basis = np.ones(y.shape + (_NODES,))
    for j in range(_NODES):
        for m in range(_NODES):
            if m != j:
                basis[:, :, j] *= (local - nodes[m]) / (nodes[j] - nodes[m])
    index = box[:, :, None] * _NODES + np.arange(_NODES)  # (N, 2, nodes) per-dimension node index
    size = boxes * _NODES
    flat = (index[:, 1, :, None] * size + index[:, 0, None, :]).reshape(len(y), -1)
    weights = (basis[:, 1, :, None] * basis[:, 0, None, :]).reshape(len(y), -1)
    return flat, weights


def _kernel(size: int, spacing: float) -> np.ndarray:
    """The squared Cauchy kernel on grid offsets, laid out circularly on a (2 size)^2 grid."""
    offsets = np.arange(2 * size, dtype=np.float32)
    offsets = np.where(offsets < size, offsets, offsets - 2 * size) * spacing
    squared = offsets * offsets
    kernel = 1.0 / (1.0 + squared[:, None] + squared[None, :]) ** 2
    kernel[size, :] = 0.0  # offset -size never occurs between nodes of a size-node grid
    kernel[:, size] = 0.0
    return kernel
