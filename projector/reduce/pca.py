"""Exact PCA from the covariance matrix, streamed in row blocks.

One pass over the data (mean and covariance together, by symmetric rank-k updates) and one
to project: memory stays at the data plus a D x D matrix and one block, and no centred copy
of the data is ever made. scikit-learn's randomized PCA copies the data (2x peak) and is slower.
The torch path runs the same algorithm on a GPU (or the CPU, for tests).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from projector.progress import Reporter

__all__ = ["PCAResult", "pca_numpy", "pca_torch"]

_BLOCK_ROWS = 16_384


@dataclass(frozen=True)
class PCAResult:
    """Coordinates and the fitted model: components (dims, D), mean (D,), explained variance."""

    coords: np.ndarray
    components: np.ndarray
    mean: np.ndarray
    explained_variance: np.ndarray
    explained_variance_ratio: np.ndarray


def pca_numpy(matrix: np.ndarray, dims: int, *, report: Reporter | None = None) -> PCAResult:
    """PCA of ``matrix`` (N, D) to ``dims`` components, exact, in float64 accumulation."""
    report = report or Reporter()
    n, d = matrix.shape
    dims = min(dims, d)
    mean, cov = _covariance(matrix, report)
    values, vectors = np.linalg.eigh(cov)
    order = np.argsort(values)[::-1]
    values = np.clip(values[order], 0.0, None)
    components = _orient(vectors[:, order[:dims]].T)
    mean32 = mean.astype(np.float32)
    coords = _project(matrix, mean32, components.astype(np.float32))
    report("pca", 1, 1)
    total_variance = values.sum()
    ratio = values[:dims] / total_variance if total_variance > 0 else np.zeros(dims)
    return PCAResult(coords, components.astype(np.float32), mean32, values[:dims], ratio)


def _covariance(matrix: np.ndarray, report: Reporter) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance in one pass: rows are shifted by the first block's mean, not the true one.

    With the shift close to the mean, the correction ``n * delta delta^T`` is tiny and cancels
    nothing, so float32 blocks stay accurate; one pass instead of two, and one reused buffer.
    """
    n, d = matrix.shape
    shift = matrix[:_BLOCK_ROWS].mean(axis=0, dtype=np.float64).astype(np.float32)
    total = np.zeros(d, dtype=np.float64)
    cov = np.zeros((d, d), dtype=np.float64)
    buffer = np.empty((min(n, _BLOCK_ROWS), d), dtype=np.float32)
    blocks = range(0, n, _BLOCK_ROWS)
    for step, start in enumerate(blocks):
        rows = matrix[start : start + _BLOCK_ROWS]
        block = buffer[: len(rows)]
        np.subtract(rows, shift, out=block)
        total += block.sum(axis=0, dtype=np.float64)
        cov += block.T @ block  # numpy runs A.T @ A as one symmetric rank-k update (syrk)
        report("pca", step + 1, len(blocks) + 1)
    delta = total / n
    cov -= n * np.outer(delta, delta)
    cov /= max(n - 1, 1)
    return shift + delta, cov


def pca_torch(matrix: np.ndarray, dims: int, *, device: str = "cpu", report: Reporter | None = None) -> PCAResult:
    """The same exact PCA in torch, on ``device``; blocks are moved to the device one at a time."""
    import torch

    report = report or Reporter()
    n, d = matrix.shape
    dims = min(dims, d)
    blocks = range(0, n, _BLOCK_ROWS * 4)
    total = 2 * len(blocks) + 1
    dev = torch.device(device)
    mean = torch.zeros(d, dtype=torch.float64, device=dev)
    for step, start in enumerate(blocks):
        mean += torch.as_tensor(np.ascontiguousarray(matrix[start : start + _BLOCK_ROWS * 4])).to(dev).sum(0, dtype=torch.float64)
        report("pca", step + 1, total)
    mean /= n
    mean32 = mean.float()
    cov = torch.zeros((d, d), dtype=torch.float64, device=dev)
    for step, start in enumerate(blocks):
        block = torch.as_tensor(np.ascontiguousarray(matrix[start : start + _BLOCK_ROWS * 4])).to(dev) - mean32
        cov += (block.T @ block).double()
        report("pca", len(blocks) + step + 1, total)
    cov /= max(n - 1, 1)
    values, vectors = torch.linalg.eigh(cov)
    values = values.flip(0).clamp(min=0).cpu().numpy()
    components = _orient(vectors.flip(1)[:, :dims].T.cpu().numpy())
    comp32 = torch.as_tensor(components.astype(np.float32), device=dev)
    coords = np.empty((n, dims), dtype=np.float32)
    for start in blocks:
        block = torch.as_tensor(np.ascontiguousarray(matrix[start : start + _BLOCK_ROWS * 4])).to(dev) - mean32
        coords[start : start + len(block)] = (block @ comp32.T).cpu().numpy()
    report("pca", total, total)
    total_variance = values.sum()
    ratio = values[:dims] / total_variance if total_variance > 0 else np.zeros(dims)
    return PCAResult(coords, components.astype(np.float32), mean32.cpu().numpy(), values[:dims], ratio)


def _orient(components: np.ndarray) -> np.ndarray:
    """Fix each component's sign (largest absolute loading positive) so results are deterministic."""
    signs = np.sign(components[np.arange(len(components)), np.abs(components).argmax(axis=1)])
    signs[signs == 0] = 1
    return components * signs[:, None]


def _project(matrix: np.ndarray, mean: np.ndarray, components: np.ndarray) -> np.ndarray:
    n = len(matrix)
    coords = np.empty((n, len(components)), dtype=np.float32)
    shift = mean @ components.T
    for start in range(0, n, _BLOCK_ROWS * 4):
        coords[start : start + _BLOCK_ROWS * 4] = matrix[start : start + _BLOCK_ROWS * 4] @ components.T - shift
    return coords
