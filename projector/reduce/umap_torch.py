"""UMAP's layout optimisation in torch: the same objective as umap-learn, on CPU or CUDA.

umap-learn optimises edge by edge in numba (compiled anew in every process); this runs each
epoch's edges as one batch of tensor operations: attraction along the sampled edges of the
fuzzy graph, repulsion from ``negative_sample_rate`` random points per edge, gradients clipped
to [-4, 4] and a linearly decaying learning rate, as in McInnes et al. (2018).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from projector.progress import Reporter

__all__ = ["optimize_layout"]

_CLIP = 4.0


def optimize_layout(
    graph: sp.coo_matrix,
    init: np.ndarray,
    *,
    a: float,
    b: float,
    n_epochs: int,
    learning_rate: float = 1.0,
    negative_sample_rate: int = 5,
    seed: int = 0,
    device: str = "cpu",
    report: Reporter | None = None,
) -> np.ndarray:
    """Optimise ``init`` (N, dims) against the fuzzy ``graph``; returns float32 coordinates."""
    import torch

    report = report or Reporter()
    dev = torch.device(device)
    generator = torch.Generator(device=dev).manual_seed(int(seed))
    from projector.reduce._fuzzy import sampled_edges

    graph = sampled_edges(graph, n_epochs)  # umap-learn drops edges too weak to sample
    weights = graph.data.astype(np.float64)
    head = torch.as_tensor(graph.row.astype(np.int64), device=dev)
    tail = torch.as_tensor(graph.col.astype(np.int64), device=dev)
    epochs_per_sample = torch.as_tensor(weights.max() / weights, device=dev, dtype=torch.float32)
    next_sample = epochs_per_sample.clone()
    start = torch.as_tensor(np.ascontiguousarray(init, dtype=np.float32), device=dev)
    # one contiguous 1-d tensor per dimension: index_select and index_add_ on 1-d tensors are
    # several times faster on the CPU than row gathers and row scatters on an (N, dims) one
    axes = [start[:, k].contiguous() for k in range(start.shape[1])]
    n = start.shape[0]
    every = max(1, n_epochs // 50)
    for epoch in range(n_epochs):
        alpha = learning_rate * (1.0 - epoch / n_epochs)
        active = torch.nonzero(next_sample <= epoch + 1).squeeze(1)
        if len(active):
            h, t = head.index_select(0, active), tail.index_select(0, active)
            next_sample.index_add_(0, active, epochs_per_sample.index_select(0, active))
            _attract(axes, h, t, a, b, alpha)
            others = torch.randint(0, n, (len(h) * negative_sample_rate,), device=dev, generator=generator)
            _repel(axes, h, others, negative_sample_rate, a, b, alpha)
        if (epoch + 1) % every == 0 or epoch + 1 == n_epochs:
            report("umap layout", epoch + 1, n_epochs)
    coords = torch.stack(axes, dim=1)
    out = coords.cpu().numpy()
    if not np.isfinite(out).all():  # cannot happen with clipped steps, but never hand back NaN
        out = np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)
    return out


def _attract(axes, h, t, a: float, b: float, alpha: float) -> None:
    """Pull both ends of each sampled edge together (umap-learn moves both)."""
    diffs = [axis.index_select(0, h) - axis.index_select(0, t) for axis in axes]
    d2 = _squared(diffs).clamp_(min=1e-12)
    d2b = d2.pow(b)  # one pow: d2^(b-1) = d2^b / d2
    coef = d2b.mul(-2.0 * a * b).div_(d2.mul_(d2b.mul_(a).add_(1.0)))
    for axis, diff in zip(axes, diffs):
        step = diff.mul_(coef).clamp_(-_CLIP, _CLIP).mul_(alpha)
        axis.index_add_(0, h, step)
        axis.index_add_(0, t, step, alpha=-1.0)


def _repel(axes, h, others, rate: int, a: float, b: float, alpha: float) -> None:
    """Push each edge's head away from ``rate`` random points; only the head moves."""
    diffs = [axis.index_select(0, h).repeat_interleave(rate) - axis.index_select(0, others) for axis in axes]
    d2 = _squared(diffs)
    coef = (2.0 * b) / ((d2 + 0.001) * d2.pow(b).mul_(a).add_(1.0))
    coef.masked_fill_(d2 <= 0, 0.0)  # the point itself or an exact duplicate: no direction
    for axis, diff in zip(axes, diffs):
        step = diff.mul_(coef).clamp_(-_CLIP, _CLIP).view(-1, rate).sum(1).mul_(alpha)
        axis.index_add_(0, h, step)


def _squared(diffs):
    total = diffs[0] * diffs[0]
    for diff in diffs[1:]:
        total.addcmul_(diff, diff)
    return total
