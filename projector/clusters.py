"""Automatic clusters of a map's rows: Leiden communities of the shared kNN graph, by default.

Chosen by measurement (``benchmarks/bench_clusters.py``, table in ``benchmarks/README.md``):
Leiden on the kNN graph of the original space agreed best with known labels on both real data
sets without tuning (MNIST digits, real-text modules), whereas HDBSCAN on the 2-D map merges
what the map squeezes together (7 clusters for 10 digits) and leaves rows as noise. The graph
is the dataset's one shared graph (:meth:`Dataset.graph`), never a second one. A coarse level
is Leiden again on the graph of the fine clusters, so the levels nest.

Rows whose vectors are exact copies always share a cluster: each copy takes its first's.
"""

from __future__ import annotations

import random
import time
import threading
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from projector.reduce.params import MethodParams, param

if TYPE_CHECKING:
    from projector.dataset import Dataset
    from projector.neighbors import KnnGraph
    from projector.progress import ProgressCallback
    from projector.projection import Projection

__all__ = ["ClusterParams", "Clusters", "cluster", "cluster_arrays", "by_neighbours", "VOTERS"]

VOTERS = 15  # rows placed later join the cluster most common among this many nearest clustered rows

_IGRAPH_RANDOM = threading.Lock()  # guards igraph's process-wide random generator (see _leiden)


@dataclass(frozen=True)
class ClusterParams(MethodParams):
    method: ClassVar[str] = "clusters"
    algorithm: str = param("leiden", "'leiden' (communities of the kNN graph, original space) or 'hdbscan' (density of the 2-D map)", choices=("leiden", "hdbscan"))
    n_neighbors: int | None = param(None, "leiden: neighbours per row taken from the shared kNN graph (default: 10, 5 past 200,000 rows for speed)", low=2, high=200, nullable=True)
    resolution: float = param(1.0, "leiden: higher gives more, smaller clusters (modularity resolution)", low=0.01, high=100.0)
    min_cluster_size: int | None = param(None, "smallest cluster kept; smaller ones become -1 (default: 5 for leiden, max(10, N/200) for hdbscan)", low=2, high=1_000_000, nullable=True)
    seed: int = param(0, "random seed: the same seed gives the same clusters", low=0)


@dataclass(frozen=True)
class Clusters:
    """A cluster id per row, -1 for none.

    Attributes:
        labels: (N,) int32, clusters numbered 0.. by decreasing size; -1 for rows in none.
        levels: ``{"coarse": ..., "fine": ...}`` (N,) int32 each when the method nests levels;
            ``labels`` is the fine level.
        method: the algorithm that ran.
        names: a label per cluster in words of its members (:mod:`projector.keywords`);
            ``coarse_names`` the same for the coarse level.
        params: the effective parameters.
        seconds: wall time.
    """

    labels: np.ndarray
    method: str
    params: dict[str, Any]
    seconds: float
    levels: dict[str, np.ndarray] = field(default_factory=dict)
    names: tuple[str, ...] = ()
    coarse_names: tuple[str, ...] = ()

    def label_of(self, labels: np.ndarray | None = None) -> list[str | None]:
        """Each row's cluster name (None for rows in no cluster): the ``cluster_label`` column.
        ``labels`` names other rows' clusters instead (e.g. :func:`by_neighbours`')."""
        names = list(self.names) or [f"cluster {c}" for c in range(self.count)]
        return [names[c] if c >= 0 else None for c in (self.labels if labels is None else labels).tolist()]

    @property
    def count(self) -> int:
        return int(self.labels.max() + 1) if len(self.labels) else 0

    def sizes(self) -> np.ndarray:
        """(count,) rows per cluster."""
        return np.bincount(self.labels[self.labels >= 0], minlength=self.count)

    def __repr__(self) -> str:
        inside = float(np.mean(self.labels >= 0)) if len(self.labels) else 0.0
        return f"<Clusters {self.method}: {self.count} clusters, {inside:.0%} of {len(self.labels)} rows, {self.seconds:.1f} s>"


def by_neighbours(labels: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """(M,) the cluster of each of M rows not clustered (placed into the map later): the one
    most common in ``labels`` among its nearest clustered ``rows`` (M, k, usually
    :data:`VOTERS`), nearest first; no
    cluster (-1) counts as one, and a tie goes to the nearer neighbour's."""
    votes = np.asarray(labels)[np.asarray(rows, dtype=np.int64)]
    if votes.size == 0:
        return np.full(len(votes), -1, dtype=votes.dtype)
    counts = (votes[:, :, None] == votes[:, None, :]).sum(axis=2)  # neighbours sharing each one's cluster
    first = np.argmax(counts == counts.max(axis=1, keepdims=True), axis=1)  # the nearest of the most shared
    return votes[np.arange(len(votes)), first]


def cluster(
    dataset: "Dataset",
    projection: "Projection",
    params: ClusterParams | None = None,
    *,
    progress: "ProgressCallback | None" = None,
    **options: Any,
) -> Clusters:
    """Cluster the rows of ``projection``'s map: see :class:`ClusterParams` for ``options``."""
    params = params if params is not None else ClusterParams.from_options(options)
    if params.algorithm == "leiden":
        metric = str(projection.params.get("metric", "cosine"))
        n = len(projection.coords)
        graph = dataset.graph(projection.column, metric, max(1, min(_neighbors(params, n), n - 1)), progress=progress)
    else:
        graph = None
    from projector.duplicates import unique_rows

    copies = unique_rows(dataset.vectors(projection.column)).inverse
    found = cluster_arrays(projection.coords[:, :2], graph, params, copies=copies)
    coarse = found.levels.get("coarse")
    return replace(
        found,
        names=tuple(_names(dataset, found.labels)),
        coarse_names=tuple(_names(dataset, coarse)) if coarse is not None else (),
    )


def _names(dataset: "Dataset", labels: np.ndarray) -> list[str]:
    """Keywords of the wordiest text column, else the majority of the first label column."""
    from projector.keywords import keyword_labels, majority_labels

    if dataset.roles.texts:
        return keyword_labels(labels, dataset.table.column(_wordiest(dataset)).to_pylist())
    if dataset.roles.labels:
        return majority_labels(labels, dataset.table.column(dataset.roles.labels[0]).to_pylist())
    return [f"cluster {c}" for c in range(int(labels.max()) + 1 if len(labels) else 0)]


def _wordiest(dataset: "Dataset", sample: int = 1000) -> str:
    """The text column with the most words per row on its first ``sample`` rows: a document's
    body names a cluster better than a title or an identifier beside it."""
    def words(name: str) -> float:
        values = dataset.table.column(name).slice(0, sample).to_pylist()
        return sum(len(str(value).split()) for value in values if value is not None) / max(len(values), 1)

    return max(dataset.roles.texts, key=words)  # ties keep the first column


def cluster_arrays(
    coords: np.ndarray,
    graph: "KnnGraph | None",
    params: ClusterParams,
    *,
    copies: np.ndarray | None = None,
) -> Clusters:
    """Clusters from a map's ``coords`` and/or a kNN ``graph``; ``copies`` maps each row to its
    distinct vector (:func:`projector.duplicates.unique_rows`'s ``inverse``)."""
    start = time.perf_counter()
    n = len(coords)
    levels: dict[str, np.ndarray] = {}
    if params.algorithm == "leiden":
        if graph is None:
            raise ValueError("clusters: algorithm='leiden' needs the kNN graph (Dataset.graph)")
        min_size = params.min_cluster_size or 5
        fine, coarse = _leiden(graph, params)
        labels = _renumber(_copies_agree(fine, copies), min_size)
        levels = {"coarse": _renumber(_copies_agree(coarse, copies), min_size), "fine": labels}
    else:
        min_size = params.min_cluster_size or max(10, n // 200)
        labels = _renumber(_copies_agree(_hdbscan(coords, min_size), copies), min_size)
    effective = {**params.to_dict(), "min_cluster_size": min_size}
    if params.algorithm == "leiden":
        effective["n_neighbors"] = _neighbors(params, n)
    return Clusters(labels, params.algorithm, effective, time.perf_counter() - start, levels)


def _leiden(graph: "KnnGraph", params: ClusterParams) -> tuple[np.ndarray, np.ndarray]:
    """Fine communities of the kNN graph, and coarse ones found on the graph of the fine."""
    try:
        import igraph
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise ImportError("clusters: algorithm='leiden' needs python-igraph: pip install igraph") from exc
    n = graph.n
    k = min(_neighbors(params, n), graph.k)
    rows, cols, weights = _undirected(graph.indices[:, :k], _weights(graph.distances[:, :k]))
    # weights go in as a list: igraph reads a NumPy array element by element (21 s against 13 s at 1M rows)
    # igraph draws from one process-wide generator (Python's random module by default): each
    # Leiden run gets its own seeded generator, one run at a time (pages cluster on worker threads)
    with _IGRAPH_RANDOM:
        igraph.set_random_number_generator(random.Random(params.seed))
        try:
            return _leiden_levels(igraph, n, rows, cols, weights, params)
        finally:
            igraph.set_random_number_generator(random)


def _leiden_levels(igraph, n: int, rows: np.ndarray, cols: np.ndarray, weights: np.ndarray, params: ClusterParams) -> tuple[np.ndarray, np.ndarray]:
    """Leiden on the kNN graph (fine), then on the graph of the fine communities (coarse)."""
    fine_graph = igraph.Graph(n=n, edges=np.column_stack([rows, cols]).tolist(), directed=False)
    fine = np.asarray(fine_graph.community_leiden("modularity", weights=weights.tolist(), resolution=params.resolution, n_iterations=2).membership)
    coarse = fine
    count = int(fine.max()) + 1
    if count > 1:
        import scipy.sparse as sp

        between = sp.coo_matrix((weights, (fine[rows], fine[cols])), shape=(count, count)).tocsr()
        between = (between + between.T).tocoo()
        upper = between.row <= between.col
        summary = igraph.Graph(n=count, edges=np.column_stack([between.row[upper], between.col[upper]]).tolist(), directed=False)
        groups = summary.community_leiden("modularity", weights=between.data[upper].tolist(), resolution=params.resolution, n_iterations=2)
        coarse = np.asarray(groups.membership)[fine]
    return fine, coarse


def _undirected(indices: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each pair once (i < j), weights of both directions summed: a kNN graph holds many pairs
    twice, and building the igraph graph from Python lists costs per edge."""
    n, k = indices.shape
    rows = np.repeat(np.arange(n, dtype=np.int64), k)
    cols = indices.ravel().astype(np.int64)
    low, high = np.minimum(rows, cols), np.maximum(rows, cols)
    pairs, where = np.unique(low * n + high, return_inverse=True)
    summed = np.bincount(where.ravel(), weights=weights.ravel().astype(np.float64), minlength=len(pairs))
    return pairs // n, pairs % n, summed


def _neighbors(params: ClusterParams, n: int) -> int:
    """Neighbours per row for Leiden: fewer past 200,000 rows, where the edges set the time."""
    if params.n_neighbors is not None:
        return params.n_neighbors
    return 10 if n <= 200_000 else 5


def _weights(distances: np.ndarray) -> np.ndarray:
    """Edge weights in (0, 1]: distance over the row's own scale (its farthest kept neighbour),
    so dense and sparse regions weigh their neighbours alike, as UMAP's fuzzy graph does."""
    d = distances.astype(np.float32)
    scale = np.maximum(d[:, -1:], np.float32(1e-12))
    return np.exp(-d / scale)


def _hdbscan(coords: np.ndarray, min_size: int) -> np.ndarray:
    from sklearn.cluster import HDBSCAN

    return HDBSCAN(min_cluster_size=min_size, copy=True).fit_predict(np.asarray(coords, dtype=np.float64))


def _copies_agree(labels: np.ndarray, copies: np.ndarray | None) -> np.ndarray:
    """Every copy of a vector takes the cluster of the copy seen first."""
    if copies is None:
        return labels
    first = np.full(int(copies.max()) + 1 if len(copies) else 0, -2, dtype=np.int64)
    order = np.arange(len(copies))[::-1]  # written last to first, so the first occurrence wins
    first[copies[order]] = labels[order]
    return first[copies]


def _renumber(labels: np.ndarray, min_size: int) -> np.ndarray:
    """Clusters of at least ``min_size`` rows numbered 0.. by decreasing size; the rest -1."""
    labels = np.asarray(labels, dtype=np.int64)
    inside = labels >= 0
    ids, counts = np.unique(labels[inside], return_counts=True)
    keep = counts >= min_size
    order = np.argsort(-counts[keep], kind="stable")
    mapping = np.full(int(ids.max()) + 1 if len(ids) else 0, -1, dtype=np.int32)
    mapping[ids[keep][order]] = np.arange(len(order), dtype=np.int32)
    out = np.full(len(labels), -1, dtype=np.int32)
    out[inside] = mapping[labels[inside]]
    return out
