"""What the kNN graph, the index and their searchers share: input checks, the metric's
distances, leaving a row out of its own answer, recall, and warnings attributed to the caller."""

from __future__ import annotations

import os
import sys
import warnings
from typing import Any

import numpy as np

from projector.errors import ProjectorWarning, VectorError

#: An approximate graph or index is tuned until the recall measured on a sample reaches this.
TARGET_RECALL = 0.95
RECALL_SAMPLE = 1000  # points whose exact neighbours measure a recall
_STAGE_INDEX = "knn index"
_STAGE_SEARCH = "knn search"
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # projector/


def _on_gpu(device: str) -> bool:
    return _resolve_device(device) == "cuda"


def _resolve_device(device: str) -> str:
    from projector.device import resolve_device

    return resolve_device(device)


def _clamp_k(k: int, limit: int, what: str) -> int:
    if k <= limit:
        return k
    _warn(f"k={k} asks for more neighbours than there are ({limit} {what}); using k={limit}")
    return limit


def _warn(message: str) -> None:
    """A ProjectorWarning attributed to the first caller outside the projector package."""
    level, frame = 1, sys._getframe(0)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE + os.sep):
        level, frame = level + 1, frame.f_back
    warnings.warn(message, ProjectorWarning, stacklevel=level)


def _as_matrix(values: Any, name: str, *, dim: int | None = None) -> np.ndarray:
    """``values`` as a float32 C-contiguous (N, D) array: a view when it already is one."""
    array = np.asarray(values)
    if dim is not None and array.ndim == 1:
        array = array.reshape(1, -1)
    if array.ndim != 2 or array.shape[1] == 0 or array.dtype.kind not in "biuf":
        raise VectorError(f"{name} has shape {array.shape} and dtype {array.dtype}; expected numbers shaped (N, D) with D >= 1")
    if dim is not None and array.shape[1] != dim:
        raise VectorError(f"{name} have {array.shape[1]} dimensions but the index holds {dim}-dimensional vectors")
    return np.ascontiguousarray(array, dtype=np.float32)


def _prepare(matrix: np.ndarray, metric: str, name: str) -> np.ndarray:
    """Check values are finite; for cosine, unit-length copies (zero rows stay zero)."""
    squares = np.einsum("ij,ij->i", matrix, matrix)
    bad = ~np.isfinite(squares)
    if bad.any():
        raise VectorError(
            f"{name} row {int(np.flatnonzero(bad)[0])} (of {int(bad.sum())} such rows) holds NaN, infinite or "
            "overflowing values; drop or fix those rows first"
        )
    if metric != "cosine":
        return matrix
    norms = np.sqrt(squares)
    zero = norms == 0
    if zero.any():
        _warn(
            f"{int(zero.sum())} of the {name} are all zeros; under metric='cosine' they have no direction "
            "and lie at distance 1 from every point (use metric='l2' to place them)"
        )
        norms[zero] = 1.0
    return (matrix / norms[:, None]).astype(np.float32, copy=False)


def _to_distances(raw: np.ndarray, metric: str) -> np.ndarray:
    if metric == "l2":
        return np.sqrt(np.maximum(raw, 0, out=raw), out=raw)
    if metric == "cosine":
        return np.maximum(1.0 - raw, 0.0).astype(np.float32, copy=False)
    return np.negative(raw, out=raw)


def _drop_rows(distances: np.ndarray, found: np.ndarray, exclude: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """From k + 1 results per row, leave out the row's ``exclude`` id wherever it sits among them
    (with duplicates it need not come first), else the farthest: k remain."""
    m = found.shape[0]
    hits = (found == exclude[:, None]) & (exclude[:, None] >= 0)
    position = np.where(hits.any(axis=1), hits.argmax(axis=1), k)
    keep = np.ones(found.shape, dtype=bool)
    keep[np.arange(m), position] = False
    return (
        np.ascontiguousarray(distances[keep].reshape(m, k), dtype=np.float32),
        np.ascontiguousarray(found[keep].reshape(m, k), dtype=np.int64),
    )


def _take_ids(column: Any, rows: np.ndarray) -> np.ndarray:
    """Values of the Arrow ``column`` at ``rows`` (any shape), as numpy of the same shape.

    Numbers come straight from the buffer, others as an object array (``to_numpy`` would
    import pandas).
    """
    import pyarrow as pa

    from projector._vectors import numeric_array, primitive_values

    taken = column.take(numeric_array(rows.reshape(-1).astype(np.int64)))
    if (pa.types.is_integer(taken.type) or pa.types.is_floating(taken.type)) and taken.null_count == 0:
        values = primitive_values(taken).copy()
    else:
        values = np.empty(len(taken), dtype=object)
        values[:] = taken.to_pylist()
    return values.reshape(rows.shape)


def _recall(got: np.ndarray, truth: np.ndarray) -> float:
    """Share of the true k nearest found, counting a neighbour tied with the k-th as found."""
    kth = truth[:, -1:]
    tolerance = 1e-5 * np.maximum(1.0, np.abs(kth))
    found = np.minimum((got <= kth + tolerance).sum(axis=1), truth.shape[1])
    return float(found.mean() / truth.shape[1])
