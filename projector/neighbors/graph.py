"""The kNN graph: the ``k`` nearest neighbours of every point, the point itself left out.

Which search runs (the measurements behind each limit are in ``benchmarks/README.md``, "kNN
graph"):

- up to :data:`EXACT_MAX_ROWS` points, or on a GPU: exact (flat) search, ``N² D`` in BLAS;
- above it, with at most :data:`KDTREE_MAX_DIMS` dimensions: exact, by a k-d tree (``N log N``);
- above it otherwise: exact search *within clusters*. k-means splits the points into about
  ``sqrt(N) / 2`` clusters and each cluster's points are searched against the ``nprobe``
  clusters nearest it. A neighbour is found exactly when its cluster is probed, so the recall
  of each ``nprobe`` is read off a sample with exact neighbours before searching: the smallest
  reaching :data:`TARGET_RECALL` plus a margin is used, and the measured recall is recorded in
  :attr:`KnnGraph.recall`. Data with too little cluster structure for this to save work gets
  the exact graph instead.

``exact=True/False`` overrides the size rule. HNSW is kept for :class:`NeighborIndex` (many
queries after one build): for a whole graph its build plus a query per point costs about two
full searches.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

from projector.errors import ProjectorError
from projector.neighbors._common import (
    _STAGE_INDEX, _STAGE_SEARCH, RECALL_SAMPLE, TARGET_RECALL, _as_matrix, _clamp_k, _drop_rows, _on_gpu, _prepare,
    _recall, _to_distances, _warn,
)
from projector.neighbors.backends import _faiss_metric, _import_faiss
from projector.neighbors.index import NeighborIndex
from projector.progress import ProgressCallback, Reporter
from projector.validation import check_k, check_metric

__all__ = ["KnnGraph", "knn_graph", "EXACT_MAX_ROWS", "KDTREE_MAX_DIMS", "TARGET_RECALL"]

#: Above this many points (on a CPU) an all-points graph is searched within clusters, not exactly:
#: below it exact search takes at most ~2 s and gives the true graph (benchmarks/README.md).
EXACT_MAX_ROWS = 10_000
#: Up to this many dimensions, graphs above EXACT_MAX_ROWS points are built exactly by a k-d tree:
#: at 2-4 dimensions it beats clustering 2-5x, at 8 it is slower (benchmarks/README.md).
KDTREE_MAX_DIMS = 5
CLUSTERED_MARGIN = 0.01  # nprobe is chosen for this much more recall than the target, on a sample
CLUSTERED_MAX_WORK = 0.25  # above this share of all pairs, exact search is about as fast
CLUSTERED_LISTS_PER_ROOT = 0.5  # k-means clusters per sqrt(N)
CLUSTERED_MIN_LIST = 39  # points per k-means cluster, at least (FAISS's own minimum)
CLUSTERED_TRAIN_PER_LIST = 64
CLUSTERED_KMEANS_ITER = 10
_SEARCH_ROWS = 8192  # queries per batch of an all-points search (one progress step each)
_GPU_SEARCH_ROWS = 65536



@dataclass(frozen=True, eq=False)
class KnnGraph:
    """The ``k`` nearest neighbours of every point, the point itself left out.

    Attributes:
        indices: (N, k) int64 row positions, nearest first; never -1, never the row itself.
        distances: (N, k) float32 distances in ``metric`` (smaller is nearer), ascending.
        metric: ``"cosine"``, ``"l2"`` or ``"ip"``.
        k: neighbours per point.
        exact: True when found by exact search.
        recall: for an approximate graph, the share of the true ``k`` nearest neighbours it
            found, measured on a random sample of points (ties at the k-th distance count as
            found); None for an exact graph.
        seconds: wall time taken to build it.
        backend: what searched: ``"faiss-flat"``, ``"faiss-clustered"``, ``"faiss-gpu"``,
            ``"torch"``, ``"given"`` for a graph the user passed to ``project`` (or ``"faiss-hnsw"``,
            benchmarks only).
    """

    indices: np.ndarray
    distances: np.ndarray
    metric: str
    k: int
    exact: bool
    recall: float | None
    seconds: float
    backend: str = "faiss"

    @property
    def n(self) -> int:
        return int(self.indices.shape[0])

    def with_self(self) -> tuple[np.ndarray, np.ndarray]:
        """``(indices, distances)`` shaped (N, k + 1), each point first as its own neighbour at
        distance 0: the form umap-learn's ``precomputed_knn`` expects (openTSNE does not)."""
        rows = np.arange(self.n, dtype=np.int64)[:, None]
        indices = np.concatenate([rows, self.indices], axis=1)
        distances = np.concatenate([np.zeros((self.n, 1), dtype=np.float32), self.distances], axis=1)
        return indices, distances

    def head(self, k: int) -> "KnnGraph":
        """The graph of each point's ``k`` nearest (``k`` at most :attr:`k`): views, no copy."""
        if k == self.k:
            return self
        if not 0 < k < self.k:
            raise ProjectorError(f"k={k} must be between 1 and this graph's k={self.k}; build a wider graph for more")
        return replace(self, indices=self.indices[:, :k], distances=self.distances[:, :k], k=k)

    def __repr__(self) -> str:
        how = "exact" if self.exact else "approximate" if self.recall is None else f"approximate, recall {self.recall:.3f}"
        return f"<KnnGraph {self.n} points, k={self.k}, {self.metric}, {how}, {self.backend}, {self.seconds:.2f} s>"


def knn_graph(
    vectors: np.ndarray,
    k: int,
    metric: str = "cosine",
    *,
    exact: bool | None = None,
    device: str = "auto",
    progress: ProgressCallback | Sequence[ProgressCallback] | None = None,
    seed: int = 0,
) -> KnnGraph:
    """The ``k`` nearest neighbours of every row of ``vectors`` (N, D), each row left out.

    Args:
        k: neighbours per point; more than N - 1 is clamped, with a warning.
        metric: ``"cosine"``, ``"l2"`` or ``"ip"`` (see the module docs).
        exact: True for exact search, False for exact search within clusters (approximate,
            tuned to :data:`TARGET_RECALL`), None to choose by size: exact up to
            :data:`EXACT_MAX_ROWS` points, or on a GPU.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        progress: callbacks receiving a :class:`~projector.progress.Progress` per batch;
            returning True cancels with :class:`~projector.progress.Cancelled`.
        seed: picks the k-means sample and the points on which recall is measured.

    Returns a :class:`KnnGraph`; ``graph.exact`` says which search ran (data without cluster
    structure is searched exactly even when ``exact=False``).
    """
    return _knn_graph(vectors, k, metric, exact=exact, device=device, progress=progress, seed=seed, backend="auto")


def _torch_knn(vectors: np.ndarray, k: int, metric: str = "cosine", device: str = "cpu") -> KnnGraph:
    """The exact graph by torch brute force, the path a CUDA machine without FAISS GPU takes."""
    return _knn_graph(vectors, k, metric, exact=True, device=device, progress=None, seed=0, backend="torch")


def _knn_graph(vectors, k, metric, *, exact, device, progress, seed, backend, approximate="clustered") -> KnnGraph:
    """knn_graph, with the backend and the approximate method ("hnsw" for the benchmark) chosen."""
    started = time.perf_counter()
    report = Reporter(progress)
    check_metric(metric)
    k = check_k(k)
    if exact is not None and not isinstance(exact, bool):
        raise ProjectorError(f"exact={exact!r} must be True, False or None (choose by size)")
    if approximate not in ("clustered", "hnsw"):
        raise ProjectorError(f"approximate={approximate!r} must be 'clustered' or 'hnsw'")
    matrix = _as_matrix(vectors, "vectors")
    n = matrix.shape[0]
    if n < 2:
        raise ProjectorError(f"vectors has {n} row; a kNN graph needs at least 2 points")
    k = _clamp_k(k, n - 1, "other than the point itself")
    if exact is None:
        exact = n <= EXACT_MAX_ROWS or _on_gpu(device)
    if backend == "auto" and metric != "ip" and matrix.shape[1] <= KDTREE_MAX_DIMS and n > EXACT_MAX_ROWS and not _on_gpu(device):
        return _kdtree_graph(matrix, k, metric, report, started)
    rng = np.random.default_rng(seed)
    if not exact and approximate == "clustered":
        index = NeighborIndex(matrix, metric, exact=True, device="cpu", backend=backend)
        found = _clustered_graph(index, k, rng, seed, report)
        if found is not None:
            distances, indices, recall = found
            return _graph(indices, distances, metric, k, False, recall, started, "faiss-clustered")
        exact = True  # the data has too little cluster structure for clusters to save work
    else:
        index = NeighborIndex(matrix, metric, exact=exact, device=device, progress=report, backend=backend)
    recall = None
    if not exact:
        recall = index._calibrate(k, rng, report)
        if recall < TARGET_RECALL:
            _warn(
                f"the approximate kNN graph (HNSW, efSearch={index._searcher.ef_search}) finds only "
                f"{recall:.1%} of the true neighbours on a sample; pass exact=True for an exact graph "
                f"(slower: it grows as N² D)"
            )
    indices = np.empty((n, k), dtype=np.int64)
    distances = np.empty((n, k), dtype=np.float32)
    step = _GPU_SEARCH_ROWS if index.device == "cuda" and index.backend != "faiss-hnsw" else _SEARCH_ROWS
    report(_STAGE_SEARCH, 0, n)
    for start in range(0, n, step):
        rows = np.arange(start, min(start + step, n), dtype=np.int64)
        distances[rows], indices[rows] = index._search(index._matrix[rows], k, rows)
        report(_STAGE_SEARCH, int(rows[-1]) + 1, n)
    return _graph(indices, distances, metric, k, exact, recall, started, index.backend)


def _kdtree_graph(matrix: np.ndarray, k: int, metric: str, report: Reporter, started: float) -> KnnGraph:
    """The exact graph by a k-d tree (scipy), for few dimensions: ``N log N`` instead of ``N² D``.

    Cosine neighbours are Euclidean neighbours of unit vectors (``|a-b|² = 2 - 2 cos``).
    """
    from scipy.spatial import cKDTree

    points = _prepare(matrix, metric, "vectors")
    tree = cKDTree(points)
    n = points.shape[0]
    indices = np.empty((n, k), dtype=np.int64)
    distances = np.empty((n, k), dtype=np.float32)
    report(_STAGE_SEARCH, 0, n)
    for start in range(0, n, _SEARCH_ROWS):
        rows = np.arange(start, min(start + _SEARCH_ROWS, n), dtype=np.int64)
        found_distances, found = tree.query(points[rows], k=k + 1, workers=-1)
        found = np.atleast_2d(found)
        found_distances = np.atleast_2d(found_distances).astype(np.float32)
        distances[rows], indices[rows] = _drop_rows(found_distances, found, rows, k)
        report(_STAGE_SEARCH, int(rows[-1]) + 1, n)
    if metric == "cosine":
        distances = np.maximum(np.square(distances) / 2.0, 0.0).astype(np.float32)
    return _graph(indices, distances, metric, k, True, None, started, "kdtree")


def _graph(indices, distances, metric, k, exact, recall, started, backend) -> KnnGraph:
    indices.flags.writeable = False
    distances.flags.writeable = False
    return KnnGraph(
        indices=indices, distances=distances, metric=metric, k=k, exact=exact, recall=recall,
        seconds=time.perf_counter() - started, backend=backend,
    )


def _clustered_graph(index: "NeighborIndex", k: int, rng: np.random.Generator, seed: int, report: Reporter):
    """The all-points graph by exact search within clusters: ``(distances, indices, recall)``,
    or None when the data has too little cluster structure for that to save work.

    k-means splits the points into about sqrt(N)/2 lists; the points of each list are searched
    exactly (one BLAS product) against the points of the ``nprobe`` lists whose centroids are
    nearest its own. A true neighbour is found exactly when its list is among those probed, so
    the recall of any ``nprobe`` is known in advance on a sample with exact neighbours: the
    smallest reaching TARGET_RECALL + CLUSTERED_MARGIN is used. Where that would search more
    than CLUSTERED_MAX_WORK of all pairs, None.
    """
    faiss = _import_faiss()
    x, metric = index._matrix, index.metric
    n, d = x.shape
    faiss_metric = _faiss_metric(faiss, metric)
    nlist = max(1, min(int(round(CLUSTERED_LISTS_PER_ROOT * math.sqrt(n))), n // CLUSTERED_MIN_LIST))

    report(_STAGE_INDEX, 0, 2, f"k-means, {nlist} clusters")
    train = x[np.sort(rng.choice(n, size=min(n, nlist * CLUSTERED_TRAIN_PER_LIST), replace=False))]
    kmeans = faiss.Kmeans(d, nlist, niter=CLUSTERED_KMEANS_ITER, spherical=metric == "cosine", seed=seed, verbose=False)
    kmeans.train(train)
    centroids = kmeans.centroids
    _, assigned = faiss.knn(x, centroids, 1, metric=faiss.METRIC_INNER_PRODUCT if metric == "cosine" else faiss.METRIC_L2)
    primary = assigned[:, 0]
    # each list's probe order: itself, then the others by centroid nearness in the metric
    products = centroids.astype(np.float64) @ centroids.T.astype(np.float64)
    if metric == "l2":
        squares = np.diag(products)
        farness = squares[:, None] + squares[None, :] - 2 * products
    else:
        farness = -products
    np.fill_diagonal(farness, -np.inf)
    probes = np.argsort(farness, axis=1, kind="stable")
    own = np.arange(nlist)[:, None]
    rank = np.empty((nlist, nlist), dtype=np.int64)
    rank[own, probes] = np.arange(nlist)[None, :]
    report(_STAGE_INDEX, 1, 2, "calibrating recall")

    sample = np.sort(rng.choice(n, size=min(RECALL_SAMPLE, n), replace=False))
    truth_distances, truth = index._search(x[sample], k, sample)
    needed = np.sort(rank[primary[sample][:, None], primary[truth]].ravel())
    target = min(1.0, TARGET_RECALL + CLUSTERED_MARGIN)
    nprobe = int(needed[max(0, math.ceil(target * needed.size) - 1)]) + 1

    sizes = np.bincount(primary, minlength=nlist)
    by_list = np.argsort(primary, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    probed = [_probed(probes[c], sizes, nprobe, k + 1) for c in range(nlist)]
    work = sum(int(sizes[c]) * int(sizes[lists].sum()) for c, lists in enumerate(probed))
    report(_STAGE_INDEX, 2, 2, f"nprobe={nprobe} of {nlist}")
    if work > CLUSTERED_MAX_WORK * n * n:
        return None

    distances = np.empty((n, k), dtype=np.float32)
    indices = np.empty((n, k), dtype=np.int64)
    done = 0
    report(_STAGE_SEARCH, 0, n)
    for c in np.argsort(-sizes, kind="stable"):
        if sizes[c] == 0:
            break
        rows = by_list[bounds[c]:bounds[c + 1]]
        candidates = np.concatenate([by_list[bounds[l]:bounds[l + 1]] for l in probed[c]])
        raw, found = faiss.knn(x[rows], x[candidates], k + 1, metric=faiss_metric)
        distances[rows], indices[rows] = _drop_rows(_to_distances(raw, metric), candidates[found], rows, k)
        done += rows.size
        report(_STAGE_SEARCH, done, n)
    recall = _recall(distances[sample], truth_distances)
    return distances, indices, recall


def _probed(order: np.ndarray, sizes: np.ndarray, nprobe: int, least: int) -> np.ndarray:
    """The first ``nprobe`` lists of ``order``, and more if they hold fewer than ``least`` points."""
    total = np.cumsum(sizes[order])
    enough = int(np.searchsorted(total, least)) + 1  # lists needed to hold ``least`` points
    return order[: max(nprobe, min(enough, order.size))]
