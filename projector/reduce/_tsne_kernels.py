"""The per-point loops of t-SNE's 2-d FFT gradient, compiled with numba (cached on disk).

In numpy these loops made several passes over N x 9 temporaries per iteration and were two
thirds of every iteration; openTSNE's attraction loop is compiled but three times slower here.
Each kernel is one pass. Compiled code is cached (numba's ``cache=True``), so only the first
run after an install or upgrade pays the compilation (about 10 s); later processes load it in
well under a second.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["spread", "gather", "attract", "exact_repulsion", "step"]

_NODES = 3  # Lagrange nodes per box and dimension (FIt-SNE's default)


def _compiled(**options):
    """``numba.njit(fastmath=True, cache=True, **options)``, uncached where numba can write no cache.

    numba refuses ``cache=True`` at import when neither the package's folder nor the user's
    cache folder is writable; the kernels then compile in each process instead of failing.
    """

    def wrap(function):
        try:
            return numba.njit(cache=True, fastmath=True, **options)(function)
        except RuntimeError:  # "cannot cache function ...: no locator available"
            return numba.njit(fastmath=True, **options)(function)

    return wrap


@_compiled()
def spread(y, center, low, width, boxes, index, weight, grid):
    """Spread each point's charges ``[1, y0, y1]`` (``y - center``) onto its 3 x 3 grid nodes.

    Fills ``index`` / ``weight`` (N, 9) with the nodes' flat positions and Lagrange weights and
    adds into ``grid`` (3, size * size). Serial: the scatter would race between threads, and it
    is a small share of an iteration.
    """
    size = boxes * _NODES
    basis = np.empty((2, _NODES))
    cell = np.empty(2, dtype=np.int64)
    for i in range(y.shape[0]):
        for d in range(2):
            scaled = (y[i, d] - center[d] - low) / width
            box = min(int(scaled), boxes - 1)
            local = scaled - box
            cell[d] = box * _NODES
            for j in range(_NODES):
                value = 1.0
                node_j = (j + 0.5) / _NODES
                for m in range(_NODES):
                    if m != j:
                        node_m = (m + 0.5) / _NODES
                        value *= (local - node_m) / (node_j - node_m)
                basis[d, j] = value
        y0 = y[i, 0] - center[0]
        y1 = y[i, 1] - center[1]
        for a in range(_NODES):
            for b in range(_NODES):
                flat = (cell[1] + a) * size + cell[0] + b
                w = basis[1, a] * basis[0, b]
                index[i, a * _NODES + b] = flat
                weight[i, a * _NODES + b] = w
                grid[0, flat] += w
                grid[1, flat] += w * y0
                grid[2, flat] += w * y1


@_compiled(parallel=True)
def gather(potential, index, weight, y, center, gradient):
    """Interpolate the potentials back to the points (``y - center``): unnormalised repulsion into ``gradient``.

    Returns Z = ``sum_ij q_ij`` including every ``q_ii = 1`` (the caller takes N off). As
    ``q = q^2 (1 + |y_i - y_j|^2)`` and the kernel is symmetric, the sum over all pairs needs
    no fourth charge ``|y|^2``: ``Z = sum_i (1 + 2 |y_i|^2) phi0_i - 2 y_i . phi_i``.
    """
    total = 0.0
    for i in numba.prange(y.shape[0]):
        phi0 = 0.0
        phi1 = 0.0
        phi2 = 0.0
        for k in range(index.shape[1]):
            node = index[i, k]
            w = weight[i, k]
            phi0 += w * potential[0, node]
            phi1 += w * potential[1, node]
            phi2 += w * potential[2, node]
        y0 = y[i, 0] - center[0]
        y1 = y[i, 1] - center[1]
        total += (1.0 + 2.0 * (y0 * y0 + y1 * y1)) * phi0 - 2.0 * (y0 * phi1 + y1 * phi2)
        gradient[i, 0] = y0 * phi0 - phi1
        gradient[i, 1] = y1 * phi0 - phi2
    return total


@_compiled(parallel=True)
def exact_repulsion(y, gradient):
    """Unnormalised repulsion ``sum_j q_ij^2 (y_i - y_j)`` of a 2-d map over all pairs; returns Z.

    Every pair, no approximation: on small maps this beats any grid (branch-free, so it
    vectorises). Z includes every ``q_ii = 1`` (the caller takes N off).
    """
    n = y.shape[0]
    xs = np.ascontiguousarray(y[:, 0])
    ys = np.ascontiguousarray(y[:, 1])
    total = 0.0
    for i in numba.prange(n):
        xi = xs[i]
        yi = ys[i]
        gx = 0.0
        gy = 0.0
        row = 0.0
        for j in range(n):
            dx = xi - xs[j]
            dy = yi - ys[j]
            q = 1.0 / (1.0 + dx * dx + dy * dy)
            row += q
            q *= q
            gx += q * dx
            gy += q * dy
        gradient[i, 0] = gx
        gradient[i, 1] = gy
        total += row
    return total


@_compiled(parallel=True)
def attract(indptr, indices, data, y, gradient, scale, with_error):
    """Add the attraction ``scale * sum_j p_ij q_ij (y_i - y_j)`` into ``gradient`` (CSR ``P``).

    ``scale`` is the early exaggeration (P itself is never scaled in place).
    With ``with_error`` also returns ``(sum p_ij, sum p_ij log(p_ij / q_ij))``, from which the
    caller forms the KL divergence once Z is known; otherwise ``(0, 0)``.
    """
    sum_p = 0.0
    kl = 0.0
    for i in numba.prange(y.shape[0]):
        gx = 0.0
        gy = 0.0
        part_p = 0.0
        part_kl = 0.0
        for slot in range(indptr[i], indptr[i + 1]):
            j = indices[slot]
            dx = y[i, 0] - y[j, 0]
            dy = y[i, 1] - y[j, 1]
            q = 1.0 / (1.0 + dx * dx + dy * dy)
            p = data[slot] * scale
            gx += p * q * dx
            gy += p * q * dy
            if with_error:
                part_p += p
                part_kl += p * math.log(max(p, 2.2e-16) / max(q, 2.2e-16))
        gradient[i, 0] += gx
        gradient[i, 1] += gy
        sum_p += part_p
        kl += part_kl
    return sum_p, kl


@_compiled(parallel=True)
def step(y, gradient, update, gains, momentum, learning_rate, min_gain, max_step):
    """One step of openTSNE's descent, in place: delta-bar-delta gains, momentum, step clipping.

    Gains grow by 0.2 where the gradient's sign differs from the last update's and decay
    (x 0.8 + ``min_gain``) where it agrees; each point's step is clipped to ``max_step``.
    Returns the new map's mean of a 2-d map, for the caller to re-centre it (one parallel loop
    here compiles in half the time of two).
    """
    n, dims = y.shape
    sum0 = 0.0
    sum1 = 0.0
    for i in numba.prange(n):
        norm = 0.0
        for d in range(dims):
            g = gradient[i, d]
            u = update[i, d]
            if (u > 0.0) - (u < 0.0) != (g > 0.0) - (g < 0.0):
                gains[i, d] += 0.2
            else:
                gains[i, d] = gains[i, d] * 0.8 + min_gain
            u = momentum * u - learning_rate * gains[i, d] * g
            update[i, d] = u
            norm += u * u
        norm = math.sqrt(norm)
        shrink = max_step / norm if norm > max_step else 1.0
        for d in range(dims):
            update[i, d] *= shrink
            y[i, d] += update[i, d]
        sum0 += y[i, 0]
        sum1 += y[i, 1]
    return sum0 / n, sum1 / n
