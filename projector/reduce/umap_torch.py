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
    weights = graph.data.astype(np.float64)
    keep = weights >= weights.max() / float(n_epochs)  # umap-learn drops edges too weak to sample
    head = torch.as_tensor(graph.row[keep].astype(np.int64), device=dev)
    tail = torch.as_tensor(graph.col[keep].astype(np.int64), device=dev)
    epochs_per_sample = torch.as_tensor(weights.max() / weights[keep], device=dev, dtype=torch.float32)
    next_sample = epochs_per_sample.clone()
    coords = torch.as_tensor(np.ascontiguousarray(init, dtype=np.float32), device=dev).clone()
    n = coords.shape[0]
    every = max(1, n_epochs // 50)
    for epoch in range(n_epochs):
        alpha = learning_rate * (1.0 - epoch / n_epochs)
        active = next_sample <= epoch + 1
        h, t = head[active], tail[active]
        next_sample[active] += epochs_per_sample[active]
        if len(h):
            diff = coords[h] - coords[t]
            d2 = (diff * diff).sum(1).clamp(min=1e-12)
            d2b = d2.pow(b)  # one pow: d2^(b-1) = d2^b / d2
            coef = (-2.0 * a * b) * d2b / (d2 * (1.0 + a * d2b))
            grad = (coef[:, None] * diff).clamp(-_CLIP, _CLIP) * alpha
            coords.index_add_(0, h, grad)
            coords.index_add_(0, t, -grad)

            hn = h.repeat_interleave(negative_sample_rate)
            others = torch.randint(0, n, (len(hn),), device=dev, generator=generator)
            diff = coords[hn] - coords[others]
            d2 = (diff * diff).sum(1)
            coef = (2.0 * b) / ((0.001 + d2) * (1.0 + a * d2.pow(b)))
            coef = coef.masked_fill((d2 <= 0) | (hn == others), 0.0)
            grad = (coef[:, None] * diff).clamp(-_CLIP, _CLIP) * alpha
            coords.index_add_(0, hn, grad)
        if (epoch + 1) % every == 0 or epoch + 1 == n_epochs:
            report("umap layout", epoch + 1, n_epochs)
    out = coords.cpu().numpy()
    if not np.isfinite(out).all():  # cannot happen with clipped steps, but never hand back NaN
        out = np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)
    return out
