"""t-SNE's gradient with FFT-interpolated repulsion (FIt-SNE), multi-threaded.

openTSNE computes the repulsive half of the gradient on one thread, through numpy's FFT, and
that half is most of every iteration. This is the same algorithm (Linderman et al. 2019):
charges ``[1, y1, y2]`` spread onto a uniform grid by Lagrange interpolation (3 nodes per
box), convolved with the squared Cauchy kernel by FFT, gathered back. Differences: scipy's
FFT on all cores, grid sizes that FFT fast, and the spreading, gathering and attraction as
single passes compiled with numba (:mod:`projector.reduce._tsne_kernels`), and three charges
instead of four (Z comes from the same three, by symmetry).

:mod:`projector.reduce._tsne_descent` runs the optimisation with it.
"""

from __future__ import annotations

import math
import os

import numpy as np

__all__ = ["kl_gradient", "repulsion", "exact_repulsion"]

_NODES = 3  # interpolation nodes per box and dimension, openTSNE's default
_MAX_BOXES = 1000  # per dimension, openTSNE's cap (bounds the grid's memory)
_BATCHED_MIN_SIZE = 360  # grid nodes per side from which _convolve transforms all terms at once
_EPSILON = np.finfo(np.float64).eps


def kl_gradient(
    y: np.ndarray,
    P,
    *,
    exaggeration: float = 1.0,
    with_error: bool = False,
    exact: bool = False,
    workers: int = 1,
    kernels: dict | None = None,
) -> tuple[float, np.ndarray]:
    """The gradient of t-SNE's KL divergence for a 2-d map ``y`` (N, 2) and CSR affinities ``P``.

    Up to openTSNE's constant factor, as openTSNE's own gradients. ``exaggeration`` multiplies
    the attraction; the KL divergence (0.0 unless ``with_error``) is that of the exaggerated P.
    ``exact`` sums the repulsion over all pairs instead (faster up to a few thousand points).
    ``kernels``: a dict kept for one run, holding the kernel's spectrum while the grid is unchanged.
    """
    from projector.reduce._tsne_kernels import attract

    y = np.ascontiguousarray(y, dtype=np.float64)
    gradient, sum_q = exact_repulsion(y) if exact else repulsion(y, workers=workers, kernels=kernels)
    sum_p, kl = attract(P.indptr, P.indices, P.data, y, gradient, float(exaggeration), bool(with_error))
    return (kl + sum_p * np.log(sum_q + _EPSILON) if with_error else 0.0), gradient


def exact_repulsion(y: np.ndarray) -> tuple[np.ndarray, float]:
    """As :func:`repulsion`, summed over every pair of points."""
    from projector.reduce._tsne_kernels import exact_repulsion as summed

    y = np.ascontiguousarray(y, dtype=np.float64)
    gradient = np.empty_like(y)
    sum_q = summed(y, gradient) - len(y)  # every q_ii = 1 is in the sum
    gradient /= -(sum_q + _EPSILON)
    return gradient, sum_q


def repulsion(
    y: np.ndarray, *, min_boxes: int = 50, box_size: float = 1.0, workers: int = 1, kernels: dict | None = None
) -> tuple[np.ndarray, float]:
    """Minus the normalised repulsive gradient, ``-sum_j q_ij^2 (y_i - y_j) / Z`` (N, 2), and Z.

    Boxes are ``box_size`` wide once the map spans more than ``min_boxes`` of them, so the
    kernel, which depends only on the grid, repeats from one iteration to the next and its
    spectrum is taken from ``kernels`` (a dict) when given.
    """
    from projector.reduce._tsne_kernels import gather, spread

    n = len(y)
    y = np.ascontiguousarray(y, dtype=np.float64)
    lowest, highest = y.min(axis=0), y.max(axis=0)
    center = (lowest + highest) / 2  # the kernels work on centred positions: less cancellation
    extent = max(float((highest - lowest).max()), 1e-12)
    low = -extent / 2
    boxes = _fast_boxes(max(min_boxes, math.ceil(extent / box_size)))
    width = box_size if min_boxes * box_size < extent <= boxes * box_size else extent / boxes
    size = boxes * _NODES  # grid nodes per dimension, spaced width / _NODES apart
    index = np.empty((n, _NODES * _NODES), dtype=np.int64)
    weight = np.empty((n, _NODES * _NODES), dtype=np.float64)
    grid = np.zeros((3, size * size), dtype=np.float32)
    spread(y, center, low, width, boxes, index, weight, grid)
    workers = max(1, int(workers)) if workers and workers > 0 else os.cpu_count() or 1
    potential = _convolve(grid.reshape(3, size, size), _kernel_spectrum(size, width, workers, kernels), workers)
    gradient = np.empty_like(y)
    sum_q = gather(potential.reshape(3, -1), index, weight, y, center, gradient) - n  # every q_ii = 1 is in the sum
    gradient /= -(sum_q + _EPSILON)
    return gradient, sum_q


def _kernel_spectrum(size: int, width: float, workers: int, kernels: dict | None) -> np.ndarray:
    """The kernel's 2-d spectrum for this grid, from ``kernels`` when the grid is unchanged."""
    import scipy.fft

    key = (size, width)
    if kernels is not None and key in kernels:
        return kernels[key]
    spectrum = scipy.fft.rfft2(_kernel(size, width / _NODES), workers=workers)
    if kernels is not None:
        kernels.clear()  # one grid at a time: the map only grows
        kernels[key] = spectrum
    return spectrum


def _convolve(grid: np.ndarray, spectrum: np.ndarray, workers: int) -> np.ndarray:
    """Linear convolution of (terms, size, size) charges with the kernel (its (2 size)^2 spectrum), by FFT.

    Small grids go term by term through 2-d transforms; larger ones transform rows then
    columns of all terms together, never transforming the zero padding: the forward pass runs
    along rows on the ``size`` filled rows only, and the inverse keeps only the ``size`` rows
    wanted (faster there, measured here). float32 is ample (errors near 1e-6 of the largest
    potential, well under the interpolation's). Returns a C-contiguous (terms, size, size).
    """
    import scipy.fft

    terms, size = grid.shape[0], grid.shape[-1]
    padded = 2 * size
    if size < _BATCHED_MIN_SIZE:
        out = np.empty_like(grid)
        for term in range(terms):
            transformed = scipy.fft.rfft2(grid[term], s=(padded, padded), workers=workers)
            transformed *= spectrum
            out[term] = scipy.fft.irfft2(transformed, s=(padded, padded), workers=workers, overwrite_x=True)[:size, :size]
        return out
    transformed = scipy.fft.rfft(grid, n=padded, axis=2, workers=workers)
    transformed = scipy.fft.fft(transformed, n=padded, axis=1, workers=workers, overwrite_x=True)
    transformed *= spectrum
    transformed = scipy.fft.ifft(transformed, axis=1, workers=workers, overwrite_x=True)[:, :size]
    return np.ascontiguousarray(scipy.fft.irfft(transformed, n=padded, axis=2, workers=workers)[:, :, :size])


def _fast_boxes(boxes: int) -> int:
    """The smallest box count >= ``boxes`` whose padded grid (2 x 3 x boxes) FFTs fast."""
    from scipy.fft import next_fast_len

    boxes = min(boxes, _MAX_BOXES)
    while next_fast_len(2 * _NODES * boxes, real=True) != 2 * _NODES * boxes:
        boxes += 1
    return boxes


def _kernel(size: int, spacing: float) -> np.ndarray:
    """The squared Cauchy kernel on grid offsets, laid out circularly on a (2 size)^2 grid."""
    offsets = np.arange(2 * size, dtype=np.float32)
    offsets = np.where(offsets < size, offsets, offsets - 2 * size) * spacing
    squared = offsets * offsets
    kernel = 1.0 / (1.0 + squared[:, None] + squared[None, :]) ** 2
    kernel[size, :] = 0.0  # offset -size never occurs between nodes of a size-node grid
    kernel[:, size] = 0.0
    return kernel
