"""The quality of a map as drawn: the coordinates on screen, judged against the original space.

A 10-component PCA drawn on PC1 / PC2 keeps far fewer neighbourhoods than all ten components
do, and a 3-D map drawn on its first two axes fewer than in 3-D; every figure shown beside a
map must describe what is drawn. :func:`map_quality` scores any choice of a projection's
axes, against the one kNN graph of the original space (built once per column and metric),
with the dataset's first label column for label accuracy. Scores are cached on disk by what
they depend on: the vectors, the drawn coordinates, the labels, k and the metric.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Sequence

import numpy as np

from projector.progress import ProgressCallback, Reporter

if TYPE_CHECKING:
    from projector.cache import Cache
    from projector.dataset import Dataset
    from projector.projection import Projection
    from projector.quality import Quality

__all__ = ["map_quality", "drawn_axes", "quality_as_drawn", "QUALITY_K"]

QUALITY_K = 10


def drawn_axes(projection: "Projection") -> tuple[int, ...]:
    """The coordinates a map of ``projection`` draws by default: all of a 2-D or 3-D map, PC1
    and PC2 of a PCA with more components."""
    dims = projection.coords.shape[1]
    return tuple(range(dims)) if dims <= 3 else (0, 1)


def map_quality(
    dataset: "Dataset",
    projection: "Projection",
    axes: Sequence[int] | None = None,
    *,
    metric: str | None = None,
    cache: "Cache | bool" = True,
    progress: ProgressCallback | list[ProgressCallback] | Reporter | None = None,
) -> "Quality":
    """Trustworthiness, k-NN preservation and label accuracy of ``projection``'s ``axes``.

    Args:
        axes: 0-based coordinates of the map as drawn (default :func:`drawn_axes`).
        metric: distance in the original space (default: the projection's, else cosine).
        cache: a :class:`~projector.cache.Cache`, True for the default one, False for none.
    """
    from projector.cache import cache_key, content_hash
    from projector.quality import Quality, projection_quality
    from projector.reduce.caching import _cache, _data_hash, _versions
    from projector.reduce.graph import held_graph

    axes = tuple(int(a) for a in (drawn_axes(projection) if axes is None else axes))
    dims = projection.coords.shape[1]
    if not axes or any(not 0 <= a < dims for a in axes):
        raise ValueError(f"axes={list(axes)} must name coordinates of the map, 0 to {dims - 1}")
    metric = metric or projection.params.get("metric", "cosine")
    report = progress if isinstance(progress, Reporter) else Reporter(progress)
    column = projection.column
    matrix = dataset.vectors(column)
    n = len(matrix)
    coords = np.ascontiguousarray(projection.coords[:, list(axes)], dtype=np.float32)
    label_column = dataset.roles.labels[0] if dataset.roles.labels else None
    store = _cache(cache)
    key = None
    if store is not None:
        labels_hash = _labels_hash(dataset, label_column)
        params = {"k": QUALITY_K, "metric": metric, "coords": content_hash(coords), "labels": labels_hash}
        versions = {name: v for name, v in _versions("pca", "cpu").items() if name in ("projector", "numpy", "faiss-cpu", "scipy")}
        key = cache_key("quality", _data_hash(dataset, column, content_hash), params, versions)
        hit = store.get(key)
        if hit is not None:
            summary = {name: value for name, value in hit.meta.items() if name != "seconds"}
            return Quality.from_dict(summary, hit.arrays["per_point_preservation"])
    t = time.perf_counter()
    runtime = projection.provenance.get("device", "cpu")
    graph = held_graph(dataset, column, matrix, metric, min(QUALITY_K, n - 1), device=runtime, report=report, store=store)
    labels = dataset.table.column(label_column).to_pylist() if label_column else None
    k = min(QUALITY_K, graph.indices.shape[1])
    quality = projection_quality(matrix, coords, original_knn=graph.indices[:, :k], metric=metric, labels=labels, k=k, report=report)
    from dataclasses import replace

    quality = replace(quality, axes=axes if axes != tuple(range(dims)) else ())
    if store is not None and key is not None:
        store.put(key, {"per_point_preservation": quality.per_point_preservation}, {**quality.to_dict(), "seconds": time.perf_counter() - t})
    return quality


def _labels_hash(dataset: "Dataset", column: str | None) -> str | None:
    """What label accuracy depends on: the label column's name and values."""
    if column is None:
        return None
    import hashlib

    import pyarrow as pa

    table = pa.table({column: dataset.table.column(column)})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:  # writes a sliced column's own values only
        writer.write_table(table)
    return hashlib.sha256(sink.getvalue()).hexdigest()[:32]


def quality_as_drawn(dataset: "Dataset", projection: "Projection", axes: Sequence[int] = (0, 1)) -> "Quality | None":
    """The quality of the ``axes`` a picture draws: the projection's own when it describes
    them, scored now when it describes others (a 3-D map drawn flat), None when the
    projection was made without quality."""
    quality = projection.quality
    if quality is None:
        return None
    axes = tuple(int(a) for a in axes)
    described = quality.axes or tuple(range(projection.coords.shape[1]))
    return quality if described == axes else map_quality(dataset, projection, axes)
