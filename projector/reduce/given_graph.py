"""A kNN graph the user brings (``project(ds, "umap", knn=graph)``), checked and fitted to the
rows a reduction lays out.

The rule: a given graph lists, for every row of the dataset in the ORIGINAL space, its nearest
other rows (the row itself left out), nearest first, in the reduction's ``metric``. UMAP lays
out each distinct vector once (see :mod:`projector.duplicates`); its graph is then the given
one read at each vector's first row, with the copies of that vector and repeated vectors
dropped, which leaves each row fewer neighbours: a graph too narrow for that is refused with
the width it needs. A :class:`~projector.neighbors.NeighborIndex` built on the dataset's rows
(in their order) may stand in for the graph: every row is looked up in it, as wide as the method
needs, times the size of the largest group of equal vectors (so that as many distinct
neighbours remain once copies are dropped). PCA reads no graph: ``knn=`` with
PCA is an error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from projector.errors import ParameterError

if TYPE_CHECKING:
    from projector.duplicates import UniqueRows
    from projector.neighbors import KnnGraph

__all__ = ["given_graph", "distinct_graph"]


def given_graph(knn: Any, matrix: np.ndarray, metric: str, width: int) -> "KnnGraph":
    """``knn`` (a :class:`~projector.neighbors.KnnGraph`, an ``(indices, distances)`` pair of
    (N, k) arrays, or a :class:`~projector.neighbors.NeighborIndex` of the rows) checked against
    the rows of ``matrix`` and ``metric``, as a read-only KnnGraph; an index is asked for
    ``width`` neighbours per row (more where rows repeat a vector)."""
    from projector.neighbors import KnnGraph, NeighborIndex

    n = matrix.shape[0]
    if isinstance(knn, NeighborIndex):
        knn = _index_graph(knn, matrix, metric, width)
    if isinstance(knn, KnnGraph):
        if knn.metric != metric:
            raise ParameterError(
                f"knn= is a {knn.metric!r} graph but metric={metric!r}; pass metric={knn.metric!r}, "
                f"or a graph built with metric={metric!r} (ds.graph(metric={metric!r}))"
            )
        indices, distances, exact, recall = knn.indices, knn.distances, knn.exact, knn.recall
    elif isinstance(knn, (tuple, list)) and len(knn) == 2:
        indices, distances = np.asarray(knn[0]), np.asarray(knn[1])
        exact, recall = False, None
    else:
        raise ParameterError(
            f"knn= got {type(knn).__name__}; pass a KnnGraph (ds.graph(k=...)) or an (indices, distances) "
            "pair of (N, k) arrays, each row's nearest other rows, nearest first"
        )
    if indices.ndim != 2 or indices.dtype.kind not in "iu" or distances.shape != indices.shape or distances.dtype.kind not in "iuf":
        raise ParameterError(
            f"knn= indices {indices.shape} {indices.dtype} and distances {distances.shape} {distances.dtype}: "
            "expected integer indices and numeric distances of the same shape (N, k)"
        )
    if indices.shape[0] != n:
        raise ParameterError(
            f"knn= has {indices.shape[0]} rows but the dataset has {n}; give one row of neighbours per "
            "dataset row, in the dataset's order (ds.graph(k=...) builds one)"
        )
    if indices.shape[1] == 0:
        raise ParameterError("knn= has no neighbours per row (k=0); pass a graph with k >= 1")
    if indices.min() < 0 or indices.max() >= n:
        bad = int(indices[(indices < 0) | (indices >= n)][0])
        raise ParameterError(f"knn= lists row {bad}; neighbours are row positions 0 to {n - 1} (no -1 for missing)")
    selfish = np.flatnonzero((indices == np.arange(n)[:, None]).any(axis=1))
    if selfish.size:
        raise ParameterError(
            f"knn= row {int(selfish[0])} lists itself ({selfish.size} rows do); leave each row out of its own "
            "neighbours (drop the first column of a graph that includes them)"
        )
    if not np.isfinite(distances).all():
        raise ParameterError("knn= distances hold NaN or infinite values; pass finite distances")
    return _graph(indices, distances, metric, exact, recall)


def _index_graph(index: Any, matrix: np.ndarray, metric: str, width: int) -> "KnnGraph":
    """Every row's nearest other rows, looked up in ``index`` (built on these rows, in order)."""
    from projector.duplicates import unique_rows

    n, dim = matrix.shape
    if index.metric != metric:
        raise ParameterError(
            f"knn= is a {index.metric!r} index but metric={metric!r}; pass metric={index.metric!r}, "
            f"or an index built with metric={metric!r} (ds.index(metric={metric!r}))"
        )
    if (index.n, index.dim) != (n, dim):
        raise ParameterError(
            f"knn= indexes {index.n} vectors of {index.dim} dimensions but the column has {n} of {dim}; "
            "pass an index built on this column's rows, in their order (ds.index(column))"
        )
    # UMAP keeps one row per distinct vector: with groups of up to ``group`` equal vectors, each
    # distinct neighbour may come ``group`` times and the row's own copies too
    group = int(np.bincount(unique_rows(matrix).inverse).max())
    rows, distances = index.neighbors(np.arange(n), min(n - 1, (width + 1) * group - 1), exclude_self=True)
    return _graph(rows, distances, metric, index.exact, None)


def needed(graph: "KnnGraph", k: int, what: str, given_k: int) -> "KnnGraph":
    """``graph`` cut to ``k`` neighbours, or an error naming what needs them (``what``) and how
    wide a graph to pass; ``given_k`` is the given graph's width before copies were dropped."""
    if graph.k < k:
        if graph.k < given_k:
            have = f"keeps {graph.k} of its {given_k} neighbours per row once copies of equal vectors are left out"
        else:
            have = f"has {graph.k} neighbours per row"
        raise ParameterError(
            f"knn= {have}; {what} needs at least {k}: pass a wider graph "
            f"(ds.graph(k={given_k + k - graph.k})) or a smaller neighbourhood"
        )
    return graph.head(k)


def distinct_graph(graph: "KnnGraph", unique: "UniqueRows") -> "KnnGraph":
    """The graph over distinct vectors: each one's row of ``graph`` at its first occurrence,
    neighbours as distinct positions, its own copies and repeats dropped, order kept. Every
    row keeps as many neighbours as the row that keeps fewest."""
    ids = unique.inverse[graph.indices[unique.first]]
    distances = graph.distances[unique.first]
    order = np.argsort(ids, axis=1, kind="stable")
    sorted_ids = np.take_along_axis(ids, order, axis=1)
    repeat_sorted = np.zeros(ids.shape, dtype=bool)
    repeat_sorted[:, 1:] = sorted_ids[:, 1:] == sorted_ids[:, :-1]
    repeat = np.empty_like(repeat_sorted)
    np.put_along_axis(repeat, order, repeat_sorted, axis=1)
    drop = repeat | (ids == np.arange(len(ids))[:, None])
    k = int((~drop).sum(axis=1).min())
    if k == 0:
        row = int(unique.first[np.flatnonzero((~drop).sum(axis=1) == 0)[0]])
        raise ParameterError(
            f"knn= row {row} lists only copies of its own vector; pass a wider graph (more neighbours than "
            "the largest group of equal vectors)"
        )
    keep = np.argsort(drop, axis=1, kind="stable")[:, :k]
    return _graph(
        np.take_along_axis(ids, keep, axis=1), np.take_along_axis(distances, keep, axis=1),
        graph.metric, graph.exact, graph.recall,
    )


def _graph(indices, distances, metric, exact, recall) -> "KnnGraph":
    from projector.neighbors import KnnGraph

    indices = np.ascontiguousarray(indices, dtype=np.int64)
    distances = np.ascontiguousarray(distances, dtype=np.float32)
    indices.flags.writeable = False
    distances.flags.writeable = False
    return KnnGraph(indices, distances, metric, indices.shape[1], exact, recall, 0.0, backend="given")
