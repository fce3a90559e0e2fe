"""t-SNE's gradient descent in torch, for a GPU: exact repulsion in row blocks, sparse attraction.

The affinities P come from openTSNE (perplexity calibration on the shared kNN graph, on the
CPU, fast); the optimisation follows openTSNE's schedule: an early-exaggeration phase, then
the normal phase, momentum 0.8, delta-bar-delta gains, step norms clipped to 5. Repulsion is
computed exactly, O(N^2) per iteration in blocks that fit the device, which a GPU does at
tens of billions of pairs per second; on a CPU it is for tests and small data only.
"""

from __future__ import annotations

import numpy as np

from projector.progress import Reporter

__all__ = ["tsne_torch_layout"]

_BLOCK_PAIRS = 1 << 26  # rows x N evaluated at once (256 MiB of float32)
_MAX_STEP_NORM = 5.0
_MIN_GAIN = 0.01


def tsne_torch_layout(
    affinities,
    init: np.ndarray,
    *,
    learning_rate: float | str,
    n_iter: int,
    early_exaggeration: float,
    early_exaggeration_iter: int,
    seed: int,
    device: str = "cpu",
    report: Reporter | None = None,
) -> np.ndarray:
    """Optimise ``init`` (N, dims) against the sparse symmetric ``affinities`` (scipy CSR, sums to 1).

    The descent draws nothing at random (``seed`` is taken with the rest of the schedule), so
    torch's global generator is left alone."""
    import torch

    report = report or Reporter()
    dev = torch.device(device)
    coo = affinities.tocoo()
    rows = torch.as_tensor(coo.row.astype(np.int64), device=dev)
    cols = torch.as_tensor(coo.col.astype(np.int64), device=dev)
    p = torch.as_tensor(coo.data.astype(np.float32), device=dev)
    y = torch.as_tensor(np.ascontiguousarray(init, dtype=np.float32), device=dev).clone()
    std = y[:, 0].std()
    if std > 0:
        y = y / std * 1e-4
    n = y.shape[0]
    update = torch.zeros_like(y)
    gains = torch.ones_like(y)
    total = early_exaggeration_iter + n_iter
    every = max(1, total // 50)
    for step in range(total):
        exaggeration = early_exaggeration if step < early_exaggeration_iter else 1.0
        rate = n / exaggeration if learning_rate == "auto" else float(learning_rate)
        grad = _gradient(y, rows, cols, p, exaggeration)
        same_sign = (grad > 0) == (update > 0)
        gains = torch.where(same_sign, gains * 0.8, gains + 0.2).clamp(min=_MIN_GAIN)
        update = 0.8 * update - rate * gains * grad
        norms = update.norm(dim=1, keepdim=True)
        update = torch.where(norms > _MAX_STEP_NORM, update * (_MAX_STEP_NORM / norms), update)
        y = y + update
        y = y - y.mean(0)
        if (step + 1) % every == 0 or step + 1 == total:
            report("tsne layout", step + 1, total)
    out = y.cpu().numpy()
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)


def _gradient(y, rows, cols, p, exaggeration: float):
    """4 * (exaggeration * attraction - repulsion / Z), the t-SNE gradient with a Student-t kernel."""
    import torch

    diff = y[rows] - y[cols]
    w = 1.0 / (1.0 + (diff * diff).sum(1))
    attraction = torch.zeros_like(y).index_add_(0, rows, (p * w)[:, None] * diff)
    n = y.shape[0]
    block = max(1, _BLOCK_PAIRS // n)
    repulsion = torch.zeros_like(y)
    z = y.new_zeros(())
    squared = (y * y).sum(1)
    for start in range(0, n, block):
        part = y[start : start + block]
        d2 = (squared[start : start + block, None] + squared[None, :] - 2.0 * part @ y.T).clamp(min=0)
        kernel = 1.0 / (1.0 + d2)
        kernel[torch.arange(len(part)), torch.arange(start, start + len(part))] = 0.0
        z = z + kernel.sum()
        k2 = kernel * kernel
        repulsion[start : start + block] = part * k2.sum(1, keepdim=True) - k2 @ y
    return 4.0 * (exaggeration * attraction - repulsion / z.clamp(min=1e-12))
