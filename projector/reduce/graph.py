"""The kNN graph a reduction or a quality score reads: held on the dataset (see
:meth:`projector.Dataset.graph`) for the session and, with a cache, on disk for later runs.

The full-space graph of a column and metric is the one :meth:`Dataset.graph` returns; a
reduction may search a PCA-reduced space or only the distinct rows, each its own
:class:`~projector._derived.GraphKey`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from projector._derived import GraphKey
from projector.progress import Reporter
from projector.reduce.caching import _cache_graph, _cached_graph

if TYPE_CHECKING:
    from projector.cache import Cache
    from projector.dataset import Dataset
    from projector.neighbors import KnnGraph


def held_graph(
    dataset: "Dataset",
    column: str,
    space: np.ndarray,
    metric: str,
    k: int,
    *,
    device: str,
    report: Reporter,
    store: "Cache | None",
    pca_dims: int | None = None,
    distinct: bool = False,
) -> "KnnGraph":
    """The graph of ``space`` (the column's vectors, their first ``pca_dims`` PCA components,
    and/or only its ``distinct`` rows) cut to ``k``: held on the dataset, else read from
    ``store``, else built (and written to ``store``)."""

    def build(k: int) -> "KnnGraph":
        found = _cached_graph(store, dataset, column, metric, pca_dims, k, distinct)
        if found is None:
            from projector.neighbors import knn_graph

            found = knn_graph(space, k, metric, device=device, progress=_forward(report))
            _cache_graph(store, dataset, column, pca_dims, found, distinct)
        return found

    return dataset._derived.graph(GraphKey(column, metric, pca_dims, distinct), k, build)


def _forward(report: Reporter):
    return [lambda event: report(event.stage, event.done, event.total, event.message)] if report else None
