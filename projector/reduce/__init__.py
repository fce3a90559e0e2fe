"""Reductions: PCA, UMAP and t-SNE of one embedding column, all fed by the same kNN graph.

:func:`project` is the one entry point behind ``Dataset.project``, ``projector project``, the
app and reports. It validates the data and parameters, reduces to ``pca_dims`` components
first when D > 100 (as the TensorFlow projector and scanpy do), builds or reuses the kNN
graph (or takes the one given as ``knn=``), runs the layout on the chosen device, scores the
map and caches the result. The steps share one :class:`_Run`.
"""

from __future__ import annotations

import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np

import projector.device  # noqa: F401  (sets the OpenMP wait policy before faiss or torch loads)
from projector.errors import ProjectorError, ProjectorWarning
from projector.progress import ProgressCallback, Reporter
from projector.reduce.caching import _cache, _data_hash, _from_cache, _to_cache, _versions
from projector.reduce.params import PARAMS, MethodParams, ParameterError
from projector.validation import METHODS, check_method, method_name, method_names_text

if TYPE_CHECKING:
    from projector.cache import Cache
    from projector.dataset import Dataset
    from projector.duplicates import UniqueRows
    from projector.neighbors import KnnGraph, NeighborIndex
    from projector.projection import Projection

__all__ = ["project", "METHODS", "PCA_THRESHOLD_DIMS"]

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
    knn: "KnnGraph | NeighborIndex | tuple[np.ndarray, np.ndarray] | None" = None,
    **options: Any,
) -> "Projection | None":
    """Project one embedding column of ``dataset`` to 2 or 3 dimensions.

    Args:
        method: ``"pca"``, ``"umap"``, ``"tsne"``, or ``"auto"`` (data with D <= 3 as is, else UMAP);
            ``"custom"`` for axes between chosen ends (``x=(A, B)``, ``y=(C, D)``; see
            :mod:`projector.reduce.custom_axes`).
        column: the embedding column (default: the first).
        device: ``"auto"`` (CUDA when torch sees a GPU), ``"cpu"`` or ``"cuda"``.
        cache: a :class:`~projector.cache.Cache`, True for the default one, False for none.
        quality: score the map as drawn (trustworthiness, k-NN preservation, label accuracy; see
            :func:`projector.reduce.scoring.map_quality`): all its axes, or PC1 / PC2 of a wider PCA.
        progress: callbacks receiving :class:`~projector.progress.Progress`; True cancels.
        cache_only: return the projection only if the cache holds it (None otherwise); nothing
            is computed. The app lists maps from earlier runs this way.
        knn: your own kNN graph for UMAP or t-SNE instead of the one projector builds: a
            :class:`~projector.neighbors.KnnGraph` (e.g. ``ds.graph(k=30)``) or an
            ``(indices, distances)`` pair of (N, k) arrays: every row's nearest other rows in the
            original space, nearest first, in ``metric``, the row itself left out. ``k`` must
            reach ``n_neighbors - 1`` (UMAP) or ``3 * perplexity`` (t-SNE); rows repeating another
            row's vector are laid out once by UMAP, so their copies in the graph do not count
            (see :mod:`projector.reduce.given_graph`). A
            :class:`~projector.neighbors.NeighborIndex` of the column's rows (``ds.index()``, or
            one of your own with ``exact=False``) stands in for a graph: every row is looked up
            in it. Recorded in provenance as given. PCA reads
            no graph: passing one is an error.
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
        raise TooFewRowsError(f"{where}{name!r}: {n} rows cannot be projected; {method_names_text(last='and')} need at least {MIN_PROJECTABLE_ROWS}")
    if method == "auto":
        method = "identity" if d <= 3 else "umap"
    if method in ("identity", "pca") and knn is not None:
        raise ParameterError(
            f"knn= feeds UMAP and t-SNE; {method_name(method)} reads the vectors only: leave knn out, "
            "or pass method='umap' or 'tsne'"
        )
    if method == "identity":
        if options:
            raise ParameterError(f"identity: takes no parameters, got {', '.join(options)}")
        coords = np.zeros((n, max(2, d)), dtype=np.float32)
        coords[:, :d] = matrix
        note = f"{d}-dimensional data shown as is; pass method='pca', 'umap' or 'tsne' to compute a map"
        return Projection(coords, "identity", name, {}, None, {"notes": [note], "device": "cpu"}, fitted=dataset)
    if method == "custom":  # custom axes: positions along chosen directions, no graph, nothing to cache
        if knn is not None:
            raise ParameterError("knn= feeds UMAP and t-SNE; custom axes read the vectors only: leave knn out")
        if cache_only:
            return None
        from projector.reduce.custom_axes import custom_projection

        return _scored(dataset, custom_projection(dataset, name, options), quality, _cache(cache), report)
    check_method(method)
    params = PARAMS[method].from_options(options)
    _check_not_constant(matrix, name)
    runtime = resolve_device(device)
    notes: list[str] = []
    params = _clamp(params, n, notes)
    given = None
    if knn is not None:
        from projector.reduce.given_graph import given_graph

        given = given_graph(knn, matrix, params.metric, _graph_k(params, n))

    store = _cache(cache)
    key = None
    if store is not None:
        from projector.cache import cache_key, content_hash

        data_hash = _data_hash(dataset, name, content_hash)
        keyed = {**params.to_dict(), "device": runtime}
        if given is not None:  # absent otherwise, so keys made before knn= still hit
            keyed["knn"] = content_hash(given.indices)[:16] + content_hash(given.distances)[:16]
        key = cache_key(f"projection-{method}", data_hash, keyed, _versions(method, runtime))
        hit = store.get(key)
        if hit is not None:
            cached = replace(_from_cache(hit, method, name, params), fitted=dataset)
            return _scored(dataset, cached, quality, store, report)
    if cache_only:
        return None

    run = _Run(dataset, name, params, report, runtime, store, notes=notes)
    run.provenance.update(device=runtime, notes=notes, seconds=run.seconds, versions=_versions(method, runtime))
    if method == "pca":
        coords = _pca_map(run, matrix)
    else:
        coords = _neighbour_map(run, matrix, given)
    run.seconds["total"] = time.perf_counter() - started
    projection = Projection(
        coords.astype(np.float32), method, name, params.to_dict(), None, run.provenance, fitted=dataset, model=run.model
    )
    if store is not None and key is not None:
        _to_cache(store, key, projection)
    return _scored(dataset, projection, quality, store, report)


@dataclass
class _Run:
    """One reduction, as its steps share it: what is reduced and how, who hears of progress,
    where it runs, the cache, and what it records (seconds per step, provenance, notes)."""

    dataset: "Dataset"
    column: str
    params: MethodParams
    report: Reporter
    runtime: str
    store: "Cache | None"
    seconds: dict[str, float] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    model: dict[str, np.ndarray] = field(default_factory=dict)  # what transform needs: PCA's mean, components

    @contextmanager
    def timed(self, step: str) -> Iterator[None]:
        """Add the time the block takes to ``seconds[step]``."""
        t = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[step] = self.seconds.get(step, 0.0) + time.perf_counter() - t


def _pca_map(run: _Run, matrix: np.ndarray) -> np.ndarray:
    _duplicates(run, matrix)
    result = _pca(run, matrix, run.params.dims)
    run.model = {"mean": result.mean, "components": result.components}
    run.provenance["explained_variance_ratio"] = result.explained_variance_ratio.tolist()
    run.provenance["backend"] = "torch" if run.runtime == "cuda" else "numpy"
    return result.coords


def _neighbour_map(run: _Run, matrix: np.ndarray, given: "KnnGraph | None") -> np.ndarray:
    """UMAP or t-SNE: the search space, the graph (built, held, cached or given), the layout."""
    distinct = _duplicates(run, matrix)
    if given is None:
        space, metric = _search_space(run, matrix)
    else:
        space, metric = matrix, given.metric
        run.provenance["pca_dims"] = None
    if distinct is not None:
        space = np.ascontiguousarray(space[distinct.first])
        run.provenance["distinct_rows"] = int(len(distinct.first))
    k = _graph_k(run.params, len(space))
    if given is None:
        graph = _graph(run, space, metric, k, distinct=distinct is not None)
    else:
        graph = _given(run, given, distinct, k)
    coords = _umap(run, space, graph) if run.params.method == "umap" else _tsne(run, space, graph)
    return distinct.expand(coords) if distinct is not None else coords


def _duplicates(run: _Run, matrix: np.ndarray) -> "UniqueRows | None":
    """Rows repeating another's vector, noted; for UMAP the distinct rows it lays out, once each
    (copies would otherwise form a graph of their own and drift off the map). Too few distinct
    rows to lay out, and it keeps every row."""
    from projector.dataset import MIN_PROJECTABLE_ROWS
    from projector.duplicates import unique_rows

    unique = unique_rows(matrix)
    run.provenance["duplicates"] = unique.duplicates
    method = run.params.method
    distinct = unique if method == "umap" and unique.duplicates and len(unique.first) >= MIN_PROJECTABLE_ROWS else None
    if unique.duplicates:
        where = "share one spot" if distinct is not None or method == "pca" else "land on (nearly) the same spot"
        run.notes.append(f"{unique.duplicates} rows repeat another row's vector exactly; they {where}")
    return distinct


def _scored(dataset, projection, quality, store, report):
    """The projection with the quality of its drawn axes (see :mod:`projector.reduce.scoring`)."""
    if not quality:
        return projection
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


def _search_space(run: _Run, matrix: np.ndarray) -> tuple[np.ndarray, str]:
    """The vectors the kNN graph is built on: PCA components when D is large, and the metric there.

    For cosine, rows are L2-normalised before PCA, so Euclidean distance in PCA space stands in
    for cosine distance in the original space.
    """
    n, d = matrix.shape
    params, provenance = run.params, run.provenance
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
    result = _pca(run, source, params.pca_dims)
    run.seconds["pca"] = time.perf_counter() - t
    provenance["pca_dims"] = params.pca_dims
    provenance["pca_explained_variance"] = float(result.explained_variance_ratio.sum())
    run.notes.append(
        f"neighbours searched in the first {params.pca_dims} PCA components "
        f"({provenance['pca_explained_variance']:.0%} of the variance); pca_dims=None to search all {d}"
    )
    return np.ascontiguousarray(result.coords), metric


def _pca(run: _Run, matrix: np.ndarray, dims: int):
    from projector.reduce.pca import pca_numpy, pca_torch

    with run.timed("pca"):
        if run.runtime == "cuda":
            return pca_torch(matrix, dims, device="cuda", report=run.report)
        return pca_numpy(matrix, dims, report=run.report)


def _graph_k(params: MethodParams, n: int) -> int:
    if params.method == "umap":
        return max(1, min(n - 1, params.n_neighbors - 1))
    return max(1, min(n - 1, int(3 * params.perplexity)))


def _graph(run: _Run, space: np.ndarray, metric: str, k: int, *, distinct: bool) -> "KnnGraph":
    """The kNN graph of this column's search space (see :func:`projector.reduce.graph.held_graph`)."""
    from projector.reduce.graph import held_graph

    with run.timed("knn"):
        graph = held_graph(
            run.dataset, run.column, space, metric, k, device=run.runtime, report=run.report, store=run.store,
            pca_dims=run.provenance.get("pca_dims"), distinct=distinct,
        )
    _record_graph(run, graph)
    return graph


def _given(run: _Run, given: "KnnGraph", distinct: "UniqueRows | None", k: int) -> "KnnGraph":
    """The graph the user gave, over the rows laid out, cut to ``k`` (or an error saying why not)."""
    from projector.reduce.given_graph import distinct_graph, needed

    graph = distinct_graph(given, distinct) if distinct is not None else given
    params = run.params
    what = f"UMAP with n_neighbors={params.n_neighbors}" if params.method == "umap" else f"t-SNE with perplexity={params.perplexity:g}"
    graph = needed(graph, k, what, given.k)
    _record_graph(run, graph)
    run.provenance["knn"]["given"] = True
    run.notes.append(f"neighbours from the graph given as knn= ({given.k} per row)")
    return graph


def _record_graph(run: _Run, graph: "KnnGraph") -> None:
    run.provenance["knn"] = {
        "k": graph.k, "metric": graph.metric, "exact": graph.exact, "recall": graph.recall, "backend": graph.backend,
    }


def _umap(run: _Run, space: np.ndarray, graph: "KnnGraph") -> np.ndarray:
    from projector.reduce._fuzzy import fuzzy_graph, sampled_edges

    params = run.params
    n_epochs = params.n_epochs or (500 if len(space) <= 10_000 else 200)
    backend = params.backend
    if backend == "auto":
        from projector.device import torch_available

        backend = "torch" if torch_available() else "umap-learn"
    run.provenance["backend"] = backend
    run.provenance["n_epochs"] = n_epochs
    with run.timed("graph"):
        fuzzy = fuzzy_graph(graph.indices, np.maximum(graph.distances, 0.0), params.n_neighbors)
        sampled = sampled_edges(fuzzy, n_epochs)
    with run.timed("layout"):
        if backend == "umap-learn":
            from projector.reduce.umap_learn import umap_learn_layout

            coords = umap_learn_layout(space, graph, params, n_epochs)
        else:
            coords = _umap_torch(run, space, sampled, n_epochs)
        return _gather(run, coords, sampled)


def _umap_torch(run: _Run, space: np.ndarray, fuzzy, n_epochs: int) -> np.ndarray:
    from projector.reduce._fuzzy import find_ab
    from projector.reduce.initialization import umap_start
    from projector.reduce.umap_torch import optimize_layout

    params = run.params
    a, b = find_ab(params.spread, params.min_dist)
    init, run.provenance["init"] = umap_start(params, space, fuzzy)
    return optimize_layout(
        fuzzy, init, a=a, b=b, n_epochs=n_epochs, learning_rate=params.learning_rate,
        negative_sample_rate=params.negative_sample_rate, seed=params.seed, device=run.runtime, report=run.report,
    )


def _gather(run: _Run, coords: np.ndarray, sampled) -> np.ndarray:
    """Parts of the graph that the layout threw far off are moved back beside the map."""
    from projector.reduce._components import component_labels, gather_components

    count, labels = component_labels(sampled)
    coords, moved = gather_components(coords, labels, count)
    if moved:
        run.notes.append(
            f"{moved} of the {count} disconnected parts of the neighbour graph lay far off the map and were "
            "moved next to it (distances between disconnected parts carry no meaning)"
        )
    return coords


def _tsne(run: _Run, space: np.ndarray, graph: "KnnGraph") -> np.ndarray:
    from projector.reduce.initialization import tsne_start
    from projector.reduce.tsne import tsne_affinities, tsne_layout

    params = run.params
    with run.timed("layout"):
        init = tsne_start(params, space)
        distances = np.maximum(graph.distances, 0.0)
        backend = params.backend if params.backend != "auto" else ("torch" if run.runtime == "cuda" else "openTSNE")
        schedule = {
            "learning_rate": params.learning_rate, "n_iter": params.n_iter, "early_exaggeration": params.early_exaggeration,
            "early_exaggeration_iter": params.early_exaggeration_iter, "seed": params.seed, "report": run.report,
        }
        if backend == "torch":
            from projector.reduce.tsne_torch import tsne_torch_layout

            affinities = tsne_affinities(graph.indices, distances, perplexity=params.perplexity, seed=params.seed)
            coords = tsne_torch_layout(affinities.P, init, device=run.runtime, **schedule)
        else:
            coords = tsne_layout(graph.indices, distances, init, perplexity=params.perplexity, **schedule)
    run.provenance["backend"] = backend
    run.provenance["init"] = params.init
    return coords
