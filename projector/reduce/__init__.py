"""Reductions: PCA, UMAP and t-SNE of one embedding column, all fed by the same kNN graph.

:func:`project` is the one entry point behind ``Dataset.project``, ``projector project``, the
app and reports. It validates the data and parameters, reduces to ``pca_dims`` components
first when D > 100 (as the TensorFlow projector and scanpy do), builds or reuses the kNN
graph, runs the layout on the chosen device, scores the map and caches the result.
"""

from __future__ import annotations

import time
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

import projector.device  # noqa: F401  (sets the OpenMP wait policy before faiss or torch loads)
from projector.errors import ProjectorError, ProjectorWarning
from projector.progress import ProgressCallback, Reporter
from projector.reduce.caching import _cache, _data_hash, _from_cache, _to_cache, _versions
from projector.reduce.params import PARAMS, MethodParams, ParameterError

if TYPE_CHECKING:
    from projector.cache import Cache
    from projector.dataset import Dataset
    from projector.projection import Projection

__all__ = ["project", "METHODS", "PCA_THRESHOLD_DIMS"]

METHODS = ("pca", "umap", "tsne")
PCA_THRESHOLD_DIMS = 100


def project(
    dataset: "Dataset",
    method: str = "auto",
    *,
    column: str | None = None,
    device: str = "auto",
    cache: "Cache | bool" = True,
    quality: bool = True,
    progress: ProgressCallback | list[ProgressCallback] | None = None,
    cache_only: bool = False,
    **options: Any,
) -> "Projection | None":
    """Project one embedding column of ``dataset`` to 2 or 3 dimensions.

    Args:
        method: ``"pca"``, ``"umap"``, ``"tsne"``, or ``"auto"`` (data with D <= 3 as is, else UMAP).
        column: the embedding column (default: the first).
        device: ``"auto"`` (CUDA when torch sees a GPU), ``"cpu"`` or ``"cuda"``.
        cache: a :class:`~projector.cache.Cache`, True for the default one, False for none.
        quality: score the map as drawn (trustworthiness, k-NN preservation, label accuracy; see
            :func:`projector.reduce.scoring.map_quality`): all its axes, or PC1 / PC2 of a wider PCA.
        progress: callbacks receiving :class:`~projector.progress.Progress`; True cancels.
        cache_only: return the projection only if the cache holds it (None otherwise); nothing
            is computed. The app lists maps from earlier runs this way.
        **options: the method's parameters (see :mod:`projector.reduce.params`); unknown names
            are errors.

    Returns:
        The projection (None only with ``cache_only`` when the cache does not hold it).

    Raises:
        TooFewRowsError: fewer than four rows (also a ValueError).
    """
    from projector.dataset import MIN_PROJECTABLE_ROWS
    from projector.device import resolve_device
    from projector.projection import Projection

    started = time.perf_counter()
    report = Reporter(progress)
    name = column if column is not None else dataset.roles.vectors[0]
    matrix = dataset.vectors(name)
    n, d = matrix.shape
    if n < MIN_PROJECTABLE_ROWS:
        from projector.errors import TooFewRowsError

        where = f"{dataset.source}: " if dataset.source else ""
        raise TooFewRowsError(f"{where}{name!r}: {n} rows cannot be projected; PCA, UMAP and t-SNE need at least {MIN_PROJECTABLE_ROWS}")
    if method == "auto":
        method = "identity" if d <= 3 else "umap"
    if method == "identity":
        if options:
            raise ParameterError(f"identity: takes no parameters, got {', '.join(options)}")
        coords = np.zeros((n, max(2, d)), dtype=np.float32)
        coords[:, :d] = matrix
        note = f"{d}-dimensional data shown as is; pass method='pca', 'umap' or 'tsne' to compute a map"
        return Projection(coords, "identity", name, {}, None, {"notes": [note], "device": "cpu"})
    if method not in PARAMS:
        raise ParameterError(f"method={method!r} must be one of 'pca', 'umap', 'tsne' or 'auto'")
    params = PARAMS[method].from_options(options)
    _check_not_constant(matrix, name)
    runtime = resolve_device(device)
    notes: list[str] = []
    params = _clamp(params, n, notes)

    store = _cache(cache)
    key = None
    if store is not None:
        from projector.cache import cache_key, content_hash

        data_hash = _data_hash(dataset, name, content_hash)
        key = cache_key(f"projection-{method}", data_hash, {**params.to_dict(), "device": runtime}, _versions(method, runtime))
        hit = store.get(key)
        if hit is not None:
            return _scored(dataset, _from_cache(hit, method, name, params), quality, store, report)
    if cache_only:
        return None

    seconds: dict[str, float] = {}
    provenance: dict[str, Any] = {"device": runtime, "notes": notes, "seconds": seconds, "versions": _versions(method, runtime)}
    from projector.duplicates import unique_rows

    unique = unique_rows(matrix)
    provenance["duplicates"] = unique.duplicates
    # UMAP lays out each distinct vector once: copies would otherwise form a graph of their own
    # and drift off the map. Too few distinct rows to lay out, and it keeps every row.
    distinct = unique if method == "umap" and unique.duplicates and len(unique.first) >= MIN_PROJECTABLE_ROWS else None
    if unique.duplicates:
        where = "share one spot" if distinct is not None or method == "pca" else "land on (nearly) the same spot"
        notes.append(f"{unique.duplicates} rows repeat another row's vector exactly; they {where}")

    if method == "pca":
        result = _pca(matrix, params.dims, runtime, report, seconds)
        coords = result.coords
        provenance["explained_variance_ratio"] = result.explained_variance_ratio.tolist()
        provenance["backend"] = "torch" if runtime == "cuda" else "numpy"
    else:
        space, metric = _search_space(matrix, params, runtime, report, seconds, provenance, notes)
        if distinct is not None:
            space = np.ascontiguousarray(space[distinct.first])
            provenance["distinct_rows"] = int(len(distinct.first))
        graph = _graph(dataset, name, space, metric, _graph_k(params, len(space)), runtime, report, seconds, provenance, store, distinct=distinct is not None)
        if method == "umap":
            coords = _umap(space, graph, params, runtime, report, seconds, provenance, notes)
        else:
            coords = _tsne(space, graph, params, runtime, report, seconds, provenance, notes)
        if distinct is not None:
            coords = distinct.expand(coords)

    seconds["total"] = time.perf_counter() - started
    projection = Projection(coords.astype(np.float32), method, name, params.to_dict(), None, provenance)
    if store is not None and key is not None:
        _to_cache(store, key, projection)
    return _scored(dataset, projection, quality, store, report)


def _scored(dataset, projection, quality, store, report):
    """The projection with the quality of its drawn axes (see :mod:`projector.reduce.scoring`)."""
    if not quality:
        return projection
    from dataclasses import replace

    from projector.reduce.scoring import map_quality

    t = time.perf_counter()
    scores = map_quality(dataset, projection, cache=store if store is not None else False, progress=report)
    seconds = {**projection.provenance.get("seconds", {}), "quality": time.perf_counter() - t}
    return replace(projection, quality=scores, provenance={**projection.provenance, "seconds": seconds})


def _clamp(params: MethodParams, n: int, notes: list[str]) -> MethodParams:
    """Clamp neighbourhood sizes to what N allows, saying so."""
    if params.method == "umap" and params.n_neighbors > n - 1:
        notes.append(f"n_neighbors={params.n_neighbors} clamped to {n - 1} (N={n})")
        params = params.replace(n_neighbors=n - 1)
    if params.method == "tsne":
        limit = max(1.0, (n - 1) / 3.0)
        if params.perplexity > limit:
            notes.append(f"perplexity={params.perplexity:g} clamped to {limit:g} (it needs 3 x perplexity < N={n})")
            params = params.replace(perplexity=limit)
    if params.method == "pca" and params.dims > n:
        notes.append(f"dims={params.dims} clamped to {n} (N={n})")
        params = params.replace(dims=n)
    for note in notes:
        warnings.warn(note, ProjectorWarning, stacklevel=3)
    return params


def _check_not_constant(matrix: np.ndarray, name: str) -> None:
    first = matrix[0]
    for start in range(0, len(matrix), 65_536):
        if not (matrix[start : start + 65_536] == first).all():
            return
    raise ProjectorError(f"{name!r}: every vector is the same; there is nothing to project")


def _search_space(matrix, params, runtime, report, seconds, provenance, notes):
    """The vectors the kNN graph is built on: PCA components when D is large, and the metric there.

    For cosine, rows are L2-normalised before PCA, so Euclidean distance in PCA space stands in
    for cosine distance in the original space.
    """
    n, d = matrix.shape
    metric = params.metric
    if params.pca_dims is None or d <= PCA_THRESHOLD_DIMS or params.pca_dims >= d:
        provenance["pca_dims"] = None
        return matrix, metric
    t = time.perf_counter()
    source = matrix
    if metric == "cosine":
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        source = matrix / np.where(norms > 0, norms, 1.0)
        metric = "l2"
    result = _pca(source, params.pca_dims, runtime, report, seconds)
    seconds["pca"] = time.perf_counter() - t
    provenance["pca_dims"] = params.pca_dims
    provenance["pca_explained_variance"] = float(result.explained_variance_ratio.sum())
    notes.append(
        f"neighbours searched in the first {params.pca_dims} PCA components "
        f"({provenance['pca_explained_variance']:.0%} of the variance); pca_dims=None to search all {d}"
    )
    return np.ascontiguousarray(result.coords), metric


def _pca(matrix, dims, runtime, report, seconds):
    from projector.reduce.pca import pca_numpy, pca_torch

    t = time.perf_counter()
    result = pca_torch(matrix, dims, device="cuda", report=report) if runtime == "cuda" else pca_numpy(matrix, dims, report=report)
    seconds["pca"] = seconds.get("pca", 0.0) + time.perf_counter() - t
    return result


def _graph_k(params: MethodParams, n: int) -> int:
    if params.method == "umap":
        return max(1, min(n - 1, params.n_neighbors - 1))
    return max(1, min(n - 1, int(3 * params.perplexity)))


def _graph(dataset, column, space, metric, k, runtime, report, seconds, provenance, store=None, distinct=False):
    """The kNN graph for this column and search space (see :func:`projector.reduce.graph.held_graph`)."""
    from projector.reduce.graph import held_graph

    t = time.perf_counter()
    graph = held_graph(
        dataset, column, space, metric, k, device=runtime, report=report, store=store,
        pca_dims=provenance.get("pca_dims"), distinct=distinct,
    )
    seconds["knn"] = time.perf_counter() - t
    provenance["knn"] = {"k": k, "metric": metric, "exact": graph.exact, "recall": graph.recall, "backend": graph.backend}
    return graph


def _umap(space, graph, params, runtime, report, seconds, provenance, notes):
    from projector.reduce._fuzzy import fuzzy_graph, sampled_edges

    n = len(space)
    n_epochs = params.n_epochs or (500 if n <= 10_000 else 200)
    backend = params.backend
    if backend == "auto":
        from projector.device import torch_available

        backend = "torch" if torch_available() else "umap-learn"
    provenance["backend"] = backend
    provenance["n_epochs"] = n_epochs
    t = time.perf_counter()
    fuzzy = fuzzy_graph(graph.indices, np.maximum(graph.distances, 0.0), params.n_neighbors)
    sampled = sampled_edges(fuzzy, n_epochs)
    seconds["graph"] = time.perf_counter() - t
    t = time.perf_counter()
    if backend == "umap-learn":
        from projector.reduce.umap_learn import umap_learn_layout

        coords = umap_learn_layout(space, graph, params, n_epochs)
    else:
        coords = _umap_torch(space, sampled, params, n_epochs, runtime, report, provenance)
    coords = _gather(coords, sampled, notes)
    seconds["layout"] = time.perf_counter() - t
    return coords


def _umap_torch(space, fuzzy, params, n_epochs, runtime, report, provenance):
    from projector.reduce._fuzzy import find_ab, init_from_graph
    from projector.reduce.umap_torch import optimize_layout

    a, b = find_ab(params.spread, params.min_dist)
    fallback = _pca_init(space, params.dims)
    if params.init == "spectral":
        init, how = init_from_graph(fuzzy, params.dims, params.seed, space, fallback)
    elif params.init == "pca":
        init, how = _scaled(fallback), "pca"
    else:
        init, how = np.random.default_rng(params.seed).uniform(-10, 10, size=(len(space), params.dims)).astype(np.float32), "random"
    provenance["init"] = how
    return optimize_layout(
        fuzzy, init, a=a, b=b, n_epochs=n_epochs, learning_rate=params.learning_rate,
        negative_sample_rate=params.negative_sample_rate, seed=params.seed, device=runtime, report=report,
    )


def _gather(coords, sampled, notes):
    """Parts of the graph that the layout threw far off are moved back beside the map."""
    from projector.reduce._components import component_labels, gather_components

    count, labels = component_labels(sampled)
    coords, moved = gather_components(coords, labels, count)
    if moved:
        notes.append(
            f"{moved} of the {count} disconnected parts of the neighbour graph lay far off the map and were "
            "moved next to it (distances between disconnected parts carry no meaning)"
        )
    return coords


def _pca_init(space: np.ndarray, dims: int) -> np.ndarray:
    from projector.reduce.pca import pca_numpy

    return pca_numpy(space, dims).coords


def _scaled(coords: np.ndarray) -> np.ndarray:
    scale = np.abs(coords).max()
    return (coords * (10.0 / scale) if scale > 0 else coords).astype(np.float32)


def _tsne(space, graph, params, runtime, report, seconds, provenance, notes):
    from projector.reduce.tsne import tsne_affinities, tsne_layout

    t = time.perf_counter()
    if params.init == "pca":
        init = _pca_init(space, params.dims)
    else:
        init = np.random.default_rng(params.seed).normal(size=(len(space), params.dims)).astype(np.float32)
    distances = np.maximum(graph.distances, 0.0)
    backend = params.backend if params.backend != "auto" else ("torch" if runtime == "cuda" else "openTSNE")
    schedule = {
        "learning_rate": params.learning_rate, "n_iter": params.n_iter, "early_exaggeration": params.early_exaggeration,
        "early_exaggeration_iter": params.early_exaggeration_iter, "seed": params.seed, "report": report,
    }
    if backend == "torch":
        from projector.reduce.tsne_torch import tsne_torch_layout

        affinities = tsne_affinities(graph.indices, distances, perplexity=params.perplexity, seed=params.seed)
        coords = tsne_torch_layout(affinities.P, init, device=runtime, **schedule)
    else:
        coords = tsne_layout(graph.indices, distances, init, perplexity=params.perplexity, **schedule)
    seconds["layout"] = time.perf_counter() - t
    provenance["backend"] = backend
    provenance["init"] = params.init
    return coords
