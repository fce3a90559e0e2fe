"""What a reduction keeps on disk: projections and kNN graphs, keyed by the vectors' content
hash, the parameters and the library versions (see :mod:`projector.cache`).

The keys here are the on-disk format: changing one makes every existing cache miss.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from projector.cache import Cache
    from projector.dataset import Dataset
    from projector.neighbors import KnnGraph
    from projector.projection import Projection


def _cache(cache: "Cache | bool | None") -> "Cache | None":
    """The cache to use: a given one, the default one for True, none for False or None."""
    if cache is False or cache is None:
        return None
    if cache is True:
        from projector.cache import Cache

        return Cache()
    return cache


def _data_hash(dataset: "Dataset", column: str, content_hash) -> str:
    """The content hash of ``column``'s vectors, computed once per dataset."""
    return dataset._derived.content_hash(column, lambda: content_hash(dataset.vectors(column)))


def _versions(method: str, runtime: str) -> dict[str, str]:
    """The versions of the libraries a ``method`` run on ``runtime`` depends on."""
    from importlib.metadata import PackageNotFoundError, version

    from projector._version import __version__

    names = ["numpy", "faiss-cpu", "scipy"]
    names += {"umap": ["torch", "umap-learn"], "tsne": ["openTSNE"], "pca": ["torch"] if runtime == "cuda" else []}[method]
    out = {"projector": __version__}
    for package in names:
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            continue
    return out


def _to_cache(store: "Cache", key: str, projection: "Projection") -> None:
    store.put(key, {"coords": projection.coords}, projection.metadata())


def _from_cache(hit: Any, method: str, column: str, params: Any) -> "Projection":
    from projector.projection import Projection

    meta = dict(hit.meta)
    provenance = {k: v for k, v in meta.items() if k not in ("method", "column", "columns", "params", "quality")}
    provenance["cached"] = True
    return Projection(hit.arrays["coords"], method, column, params.to_dict(), None, provenance)


def _graph_key(dataset: "Dataset", column: str, metric: str, pca_dims: int | None, k: int, distinct: bool = False) -> str:
    from projector.cache import cache_key, content_hash

    versions = {k_: v for k_, v in _versions("pca", "cpu").items() if k_ in ("faiss-cpu", "numpy", "projector")}
    params = {"metric": metric, "pca_dims": pca_dims, "k": k, **({"rows": "distinct"} if distinct else {})}
    return cache_key("knn", _data_hash(dataset, column, content_hash), params, versions)


def _cached_graph(store, dataset, column, metric, pca_dims, k, distinct=False) -> "KnnGraph | None":
    if store is None:
        return None
    from projector.neighbors import KnnGraph

    hit = store.get(_graph_key(dataset, column, metric, pca_dims, k, distinct))
    if hit is None:
        return None
    meta = hit.meta
    return KnnGraph(
        indices=np.asarray(hit.arrays["indices"]), distances=np.asarray(hit.arrays["distances"]), metric=metric, k=k,
        exact=bool(meta["exact"]), recall=meta.get("recall"), seconds=float(meta.get("seconds", 0.0)), backend=meta.get("backend", "faiss"),
    )


def _cache_graph(store, dataset, column, pca_dims, graph, distinct=False) -> None:
    if store is None:
        return
    key = _graph_key(dataset, column, graph.metric, pca_dims, graph.k, distinct)
    meta = {"exact": graph.exact, "recall": graph.recall, "seconds": graph.seconds, "backend": graph.backend, "column": column}
    store.put(key, {"indices": graph.indices, "distances": graph.distances}, meta)
