"""How faithful a map is to the space it was made from.

Every projection carries a :class:`Quality`:

- **per-point k-NN preservation**, for every point: the share of its ``k`` nearest neighbours
  in the original space that are also among its ``k`` nearest in the map (the app colours by
  it); its mean is the map's **k-NN preservation**;
- **trustworthiness** (Venna & Kaski), by :func:`sklearn.manifold.trustworthiness` on a random
  sample of at most ``sample_size`` points, since it needs all pairwise distances;
- with labels, **k-NN label accuracy** in the original space and in the map: leave-one-out
  majority vote among each point's ``k`` neighbours, on all points.

Neighbours in the map are exact, by a k-d tree: a brute-force FAISS search over a million 2-D
points takes over an hour on two cores, the tree seconds. Neighbours in the original space come
from ``original_knn`` when given (``projector.neighbors.knn_graph(...).indices``), else from an
exact FAISS search, which is quadratic: pass them in past a few hundred thousand points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from projector.errors import MissingDependencyError, ProjectorError, VectorError
from projector.progress import Reporter
from projector.validation import METRICS, check_coords, check_k, check_metric, check_whole

__all__ = ["Quality", "projection_quality", "knn_preservation", "knn_label_accuracy", "map_knn", "METRICS"]

_BLOCK_ROWS = 1 << 15
_SEARCH_ROWS = 1 << 14
_STAGE = "quality"


@dataclass(frozen=True)
class Quality:
    """Quality of one map; ``per_point_preservation`` is (N,) float32 in [0, 1], one per point.

    ``trustworthiness`` was computed on ``sample_size`` randomly drawn points (all points when
    there are at most that many); the other numbers on all points. Label accuracies are None
    without labels.
    """

    trustworthiness: float
    knn_preservation: float
    per_point_preservation: np.ndarray
    label_accuracy_original: float | None
    label_accuracy_map: float | None
    k: int
    sample_size: int
    metric: str
    axes: tuple[int, ...] = ()  # the map's coordinates it describes (0-based); () for all of them

    def to_dict(self) -> dict[str, Any]:
        """The summary numbers as JSON-safe values, for provenance; the per-point array is left out."""
        return {
            "trustworthiness": float(self.trustworthiness),
            "knn_preservation": float(self.knn_preservation),
            "label_accuracy_original": _optional_float(self.label_accuracy_original),
            "label_accuracy_map": _optional_float(self.label_accuracy_map),
            "k": int(self.k),
            "sample_size": int(self.sample_size),
            "metric": self.metric,
            "axes": [int(axis) for axis in self.axes],
        }

    @classmethod
    def from_dict(cls, summary: dict[str, Any], per_point_preservation: np.ndarray) -> "Quality":
        """Rebuild from :meth:`to_dict` and the per-point array (a cache entry holds them apart)."""
        summary = {**summary, "axes": tuple(summary.get("axes", ()))}
        return cls(per_point_preservation=np.asarray(per_point_preservation, dtype=np.float32), **summary)

    def describe_axes(self, names: "list[str] | tuple[str, ...]") -> str:
        """Which coordinates it describes, in words: ``"of PC1 / PC2"`` (empty for all of them)."""
        return f"of {' / '.join(names[i] for i in self.axes)}" if self.axes else ""


def projection_quality(
    vectors: np.ndarray,
    coords: np.ndarray,
    *,
    original_knn: np.ndarray | None = None,
    metric: str = "cosine",
    labels: Any = None,
    k: int = 10,
    sample_size: int = 2000,
    seed: int = 0,
    report: Reporter | None = None,
) -> Quality:
    """Measure how well ``coords`` (N, dims) keeps the neighbourhoods of ``vectors`` (N, D).

    ``original_knn`` (N, >= k) holds each row's nearest neighbours in the original space,
    nearest first, without the row itself (-1 for a missing neighbour); its first ``k``
    columns are used. Without it they are searched exactly with FAISS under ``metric``
    (``"cosine"``, ``"l2"`` or ``"ip"``), which is quadratic in N.

    ``k`` is lowered to N - 1 for tiny inputs; trustworthiness needs ``k < n / 2`` on its
    sample, so on a sample under ``2 * k + 2`` points it uses ``(n - 1) // 2`` neighbours.
    ``labels`` (N values: strings, numbers, None/NaN for missing) adds k-NN label accuracy on
    all labelled points; see :func:`knn_label_accuracy`. ``seed`` picks the sample.
    """
    report = report or Reporter()
    check_metric(metric)
    coords = check_coords(coords)
    n = coords.shape[0]
    vectors = np.asarray(vectors)
    if vectors.ndim != 2 or vectors.shape[0] != n:
        raise ProjectorError(f"vectors has shape {vectors.shape}; expected ({n}, D) to match coords {coords.shape}.")
    if n < 3:
        raise ProjectorError(f"map quality needs at least 3 points; got {n}.")
    k = min(check_k(k), n - 1)
    sample_size = check_whole("sample_size", sample_size, minimum=3, meaning="points scored for trustworthiness", default=2000)
    codes = None if labels is None else _label_codes(labels, n)
    total = 4 + (codes is not None)

    report(_STAGE, 0, total, "neighbours in the original space")
    if original_knn is None:
        original = _original_knn(vectors, k, metric)
    else:
        original = _check_knn(original_knn, n, k, "original_knn")[:, :k]
    report(_STAGE, 1, total, "neighbours in the map")
    in_map = map_knn(coords, k)
    report(_STAGE, 2, total, "k-NN preservation")
    per_point = knn_preservation(original, in_map)
    report(_STAGE, 3, total, "trustworthiness")
    used, trust = _sampled_trustworthiness(vectors, coords, k, metric, sample_size, seed)
    accuracy_original = accuracy_map = None
    if codes is not None:
        report(_STAGE, 4, total, "k-NN label accuracy")
        accuracy_original = _optional_float(_label_accuracy(original, codes))
        accuracy_map = _optional_float(_label_accuracy(in_map, codes))
    report(_STAGE, total, total)
    return Quality(
        trustworthiness=trust,
        knn_preservation=float(per_point.mean(dtype=np.float64)),
        per_point_preservation=per_point,
        label_accuracy_original=accuracy_original,
        label_accuracy_map=accuracy_map,
        k=k,
        sample_size=used,
        metric=metric,
    )


def knn_preservation(original_knn: np.ndarray, map_knn: np.ndarray) -> np.ndarray:
    """Per row, the share of ``original_knn``'s neighbours also found in ``map_knn``'s row.

    Both are (N, k) neighbour indices (the widths may differ; the share is of the original
    row's width). Entries of -1 in ``original_knn`` never count as found. Returns (N,) float32.
    """
    original = np.asarray(original_knn)
    in_map = np.asarray(map_knn)
    if original.ndim != 2 or in_map.ndim != 2 or original.shape[0] != in_map.shape[0]:
        raise ProjectorError(
            f"original_knn {original.shape} and map_knn {in_map.shape} must be 2-D with one row per point each."
        )
    n, k = original.shape
    found = np.empty(n, dtype=np.int64)
    for start in range(0, n, _BLOCK_ROWS):
        a = original[start : start + _BLOCK_ROWS]
        b = in_map[start : start + _BLOCK_ROWS]
        hits = (a[:, :, None] == b[:, None, :]).any(axis=2) & (a >= 0)
        found[start : start + _BLOCK_ROWS] = hits.sum(axis=1)
    return (found / max(k, 1)).astype(np.float32)


def knn_label_accuracy(knn: np.ndarray, labels: Any) -> float:
    """Leave-one-out k-NN classification accuracy: each labelled row against its neighbours' vote.

    ``knn`` is (N, k) neighbour indices without the row itself (-1 for none); ``labels`` holds N
    strings or numbers, None/NaN for missing. Rows with a missing label are left out of the
    score and neighbours with one do not vote. The most common label among a row's voting
    neighbours is its prediction; a tie goes to the label of the nearest tied neighbour, and a
    row with no voting neighbour counts as wrong. NaN when no row has a label.
    """
    knn = np.asarray(knn)
    if knn.ndim != 2:
        raise ProjectorError(f"knn has shape {knn.shape}; expected (N, k) neighbour indices.")
    codes = _label_codes(labels, knn.shape[0])
    _check_knn(knn, knn.shape[0], 1, "knn", check_self=False)
    return _label_accuracy(knn, codes)


def map_knn(coords: np.ndarray, k: int) -> np.ndarray:
    """Exact ``k`` nearest neighbours of every point of a map (N, dims) in L2, self excluded.

    A k-d tree answers the queries in the tree's own order, so neighbouring queries share
    cached nodes: 2 to 4 s for a million 2-D points on two cores. Returns (N, k) int64.
    """
    from scipy.spatial import cKDTree

    coords = check_coords(coords)
    n = coords.shape[0]
    if not 1 <= k < n:
        raise ProjectorError(f"k={k} must be in [1, {n - 1}] for a map of {n} points.")
    tree = cKDTree(coords)
    order = tree.indices
    _, found = tree.query(coords[order], k=k + 1, workers=-1)
    result = np.empty((n, k), dtype=np.int64)
    result[order] = _drop_self(np.asarray(found, dtype=np.int64), order)
    return result


def _drop_self(found: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """From (n, k+1) neighbours, drop each row's own index, or its farthest one when absent (duplicates)."""
    is_self = found == rows[:, None]
    is_self[~is_self.any(axis=1), -1] = True
    first = is_self.argmax(axis=1)
    is_self[:] = False
    is_self[np.arange(found.shape[0]), first] = True
    return found[~is_self].reshape(found.shape[0], found.shape[1] - 1)


def _check_knn(knn: Any, n: int, k: int, name: str, *, check_self: bool = True) -> np.ndarray:
    knn = np.asarray(knn)
    if knn.ndim != 2 or knn.shape[0] != n or knn.dtype.kind not in "iu":
        raise ProjectorError(f"{name} has shape {knn.shape} and dtype {knn.dtype}; expected integer indices shaped ({n}, k).")
    if knn.shape[1] < k:
        raise ProjectorError(f"{name} has {knn.shape[1]} neighbours per row; k={k} needs at least {k}. Pass k={knn.shape[1]} or a wider graph.")
    if knn.size and (knn.min() < -1 or knn.max() >= n):
        raise ProjectorError(f"{name} holds indices outside [0, {n}) (and -1 for none); were its rows reordered or subset?")
    if check_self:
        selfish = (knn[:, :k] == np.arange(n)[:, None]).any(axis=1)
        if selfish.any():
            row = int(np.flatnonzero(selfish)[0])
            raise ProjectorError(
                f"{name} row {row} lists the point itself as a neighbour; pass neighbours without self "
                "(drop the first column of a search that returns the query point)."
            )
    return knn


def _original_knn(vectors: np.ndarray, k: int, metric: str) -> np.ndarray:
    faiss = _import_faiss()
    n, d = vectors.shape
    matrix = np.ascontiguousarray(vectors, dtype=np.float32)
    bad = ~np.isfinite(matrix).all(axis=1)
    if bad.any():
        raise VectorError(f"vectors row {int(np.flatnonzero(bad)[0])} has NaN or infinite values; drop or fix it first.")
    if metric == "cosine":
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        matrix = matrix / np.where(norms > 0, norms, 1.0)
    index = faiss.IndexFlatL2(d) if metric == "l2" else faiss.IndexFlatIP(d)
    index.add(matrix)
    result = np.empty((n, k), dtype=np.int64)
    for start in range(0, n, _SEARCH_ROWS):
        rows = np.arange(start, min(start + _SEARCH_ROWS, n))
        _, found = index.search(matrix[rows], k + 1)
        result[rows] = _drop_self(found.astype(np.int64), rows)
    return result


def _sampled_trustworthiness(vectors, coords, k, metric, sample_size, seed) -> tuple[int, float]:
    from sklearn.manifold import trustworthiness

    n = coords.shape[0]
    if n > sample_size:
        rows = np.sort(np.random.default_rng(seed).choice(n, size=sample_size, replace=False))
        x, y = np.asarray(vectors[rows], dtype=np.float64), coords[rows].astype(np.float64)
    else:
        x, y = np.asarray(vectors, dtype=np.float64), coords.astype(np.float64)
    if not np.isfinite(x).all():
        raise VectorError("vectors hold NaN or infinite values; drop or fix those rows first.")
    used = x.shape[0]
    k_used = min(k, (used - 1) // 2)
    if metric == "ip":  # a larger inner product is nearer: rank by a non-negative shifted negation
        dots = x @ x.T
        x, sk_metric = dots.max() - dots, "precomputed"
    else:
        sk_metric = "cosine" if metric == "cosine" else "euclidean"
    return used, float(trustworthiness(x, y, n_neighbors=k_used, metric=sk_metric))


def _label_codes(labels: Any, n: int) -> np.ndarray:
    """Labels as int64 codes, -1 where missing (None, NaN, pandas NA)."""
    values = np.asarray(labels)
    if values.ndim != 1 or values.shape[0] != n:
        raise ProjectorError(f"labels has shape {values.shape}; expected one label per point ({n},).")
    if values.dtype.kind in "biuUS":
        return np.unique(values, return_inverse=True)[1].astype(np.int64).reshape(n)
    if values.dtype.kind == "f":
        codes = np.full(n, -1, dtype=np.int64)
        present = ~np.isnan(values)
        codes[present] = np.unique(values[present], return_inverse=True)[1].reshape(-1)
        return codes
    table: dict[Any, int] = {}
    codes = np.empty(n, dtype=np.int64)
    for i, value in enumerate(values.tolist()):
        if value is None or (isinstance(value, float) and math.isnan(value)) or type(value).__name__ == "NAType":
            codes[i] = -1
        else:
            codes[i] = table.setdefault(value, len(table))
    return codes


def _label_accuracy(knn: np.ndarray, codes: np.ndarray) -> float:
    labelled = int((codes >= 0).sum())
    if labelled == 0:
        return math.nan
    lookup = np.append(codes, -1)  # knn entries of -1 read the trailing "missing"
    correct = 0
    for start in range(0, knn.shape[0], _BLOCK_ROWS):
        own = codes[start : start + _BLOCK_ROWS]
        votes_for = lookup[knn[start : start + _BLOCK_ROWS]]
        voting = votes_for >= 0
        votes = ((votes_for[:, :, None] == votes_for[:, None, :]) & voting[:, None, :]).sum(axis=2)
        votes[~voting] = 0
        best = votes.argmax(axis=1)  # the first maximum: the nearest of the tied neighbours
        predicted = np.where(votes.max(axis=1) > 0, votes_for[np.arange(own.size), best], -1)
        correct += int(((predicted == own) & (own >= 0)).sum())
    return correct / labelled


def _optional_float(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def _import_faiss():
    try:
        import faiss
    except ImportError as error:  # pragma: no cover - faiss-cpu is a dependency
        raise MissingDependencyError("searching neighbours needs faiss: pip install faiss-cpu") from error
    return faiss
