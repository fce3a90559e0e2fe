"""Nearest neighbours: the one kNN graph every map is built from, and an index for lookups.

- :func:`knn_graph` finds the ``k`` nearest neighbours of every point (the point itself left
  out). UMAP takes it as ``precomputed_knn`` (via :meth:`KnnGraph.with_self`), t-SNE builds
  its affinities from it, quality metrics read it.
- :class:`NeighborIndex` is built once per (vectors, metric) and answers queries by vector or
  by row; :meth:`projector.Dataset.neighbors` keeps one per embedding column and metric.

Metrics, all reported as distances where smaller is nearer:

- ``"cosine"``: ``1 - cosine similarity``, searched as the inner product of unit vectors (the
  index holds normalised copies; the caller's array is never touched). An all-zero vector has
  no direction: it lies at distance 1 from everything (a warning says how many there are).
- ``"l2"``: the Euclidean distance (not squared).
- ``"ip"``: the negated inner product, ``-<x, y>``.

Few dimensions (at most :data:`KDTREE_MAX_DIMS`, e.g. coordinates or small feature vectors)
above :data:`EXACT_MAX_ROWS` points: the exact graph by a k-d tree (scipy), which takes
``N log N`` instead of ``N² D``. Measured at 100,000 points (k=10, l2, shared machine): 2-d
1.1 s against 5.2 s clustered, 4-d 2.6 s against 8.1 s; at 8-d the tree is slower (20 s against
13 s), so the limit is 5 dimensions.

Exact or approximate. An all-points graph by exact (flat) search costs ``N² D``, all of it in
BLAS products. Above :data:`EXACT_MAX_ROWS` points :func:`knn_graph` searches exactly *within
clusters*: k-means splits the points into about ``sqrt(N) / 2`` clusters, and the points of each
are searched exactly against the points of the ``nprobe`` clusters nearest it. A neighbour is
found exactly when its cluster is probed, so the recall of each ``nprobe`` can be read off a
sample of 1,000 points with exact neighbours before searching; the smallest ``nprobe`` reaching
:data:`TARGET_RECALL` (0.95) plus a 0.01 margin is used, and the recall measured on that sample
is recorded in :attr:`KnnGraph.recall`. Data with too little cluster structure for this to save
work (more than a quarter of all pairs would be searched) gets the exact graph instead, for
the price of the k-means (about 10 % more time). ``exact=True/False`` overrides the size rule.

Measured on this project's 2-core machine (faiss-cpu 1.15, k=15, cosine; Gaussian mixtures of
50 isotropic clusters and, for the worst case, of 1; ``benchmarks/bench_neighbors.py``):

====  ======  =======  ==========  =========================
D     N       exact    clustered   clustered, on 1 cluster
====  ======  =======  ==========  =========================
128    5,000   0.20 s   0.09 s      0.24 s (falls back)
128   10,000   0.71 s   0.17 s      0.79 s (falls back)
128   20,000   2.4 s    0.53 s      2.4 s (falls back)
128   40,000   9.5 s    1.0 s       9.4 s (falls back)
768    5,000   0.63 s   0.21 s      0.74 s (falls back)
768   10,000   2.4 s    0.48 s      2.6 s (falls back)
768   20,000   8.9 s    0.99 s      10.3 s (falls back)
768   40,000  37.9 s    2.5 s       40.5 s (falls back)
====  ======  =======  ==========  =========================

Clustering pays from about 5,000 points, but below 10,000 exact search takes at most a couple
of seconds and gives the true graph, so :data:`EXACT_MAX_ROWS` is 10,000. (Timings on a shared
machine vary by up to 2x between runs; the ratios hold.)

HNSW (``faiss.IndexHNSWFlat``, M=32, efConstruction=100, efSearch raised from 64 until the
sampled recall reaches 0.95) was measured for the graph too and is not used for it: an index
build plus a query per point costs about two searches of every point. For 100,000 x 768 it took
130 s (recall 0.986), against 139-141 s exact, 15-37 s for pynndescent (recall 0.90) and 7-8 s
clustered (recall 0.99); for 100,000 x 128, 36 s against 56-91 s exact, 7.6-7.8 s (0.955) and
2.7-7.5 s (0.965) (two runs each, ranges).
HNSW serves :class:`NeighborIndex` with ``exact=False``, where many queries follow one build.

On a CUDA machine (``device="auto"`` or ``"cuda"``) exact search runs on the GPU: FAISS GPU
when this faiss build has it, else a batched torch brute force (matmul + ``topk`` in row
blocks). A GPU is fast enough that the graph is then exact at any size; ``exact=False``
still clusters on the CPU. faiss and torch are imported only when used.
"""

from __future__ import annotations

import math
import os
import sys
import time
import warnings
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

import projector.device  # noqa: F401  (sets the OpenMP wait policy before faiss loads)
from projector.errors import MissingDependencyError, ProjectorError, ProjectorWarning, VectorError
from projector.progress import ProgressCallback, Reporter
from projector.validation import METRICS, check_k, check_metric

__all__ = [
    "KnnGraph",
    "NeighborIndex",
    "knn_graph",
    "METRICS",
    "EXACT_MAX_ROWS",
    "TARGET_RECALL",
    "HNSW_M",
    "HNSW_EF_CONSTRUCTION",
    "HNSW_EF_SEARCH",
]

#: Above this many points (on a CPU) an all-points graph is searched within clusters, not exactly.
EXACT_MAX_ROWS = 10_000
# Up to this many dimensions, graphs above EXACT_MAX_ROWS points are built exactly by a k-d tree.
KDTREE_MAX_DIMS = 5
#: An approximate graph is tuned until the recall measured on a sample reaches this.
TARGET_RECALL = 0.95
#: HNSW, for NeighborIndex(exact=False): links per node, build and search beam widths.
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 100
HNSW_EF_SEARCH = 64
HNSW_EF_SEARCH_MAX = 1024
RECALL_SAMPLE = 1000
CLUSTERED_MARGIN = 0.01  # nprobe is chosen for this much more recall than the target, on a sample
CLUSTERED_MAX_WORK = 0.25  # above this share of all pairs, exact search is about as fast
CLUSTERED_LISTS_PER_ROOT = 0.5  # k-means clusters per sqrt(N)
CLUSTERED_MIN_LIST = 39  # points per k-means cluster, at least (FAISS's own minimum)
CLUSTERED_TRAIN_PER_LIST = 64
CLUSTERED_KMEANS_ITER = 10
BACKENDS = ("auto", "faiss", "torch")

_SEARCH_ROWS = 8192  # queries per batch of an all-points search (one progress step each)
_ADD_ROWS = 16384  # points per batch added to an HNSW index (one progress step each)
_GPU_SEARCH_ROWS = 65536
_GPU_MAX_K = 2048  # FAISS GPU's largest k
_TORCH_BLOCK_ELEMENTS = {"cpu": 1 << 24, "cuda": 1 << 28}  # query rows x points scored at once (64 MiB, 1 GiB)
_STAGE_INDEX = "knn index"
_STAGE_SEARCH = "knn search"


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
            ``"torch"`` (or ``"faiss-hnsw"``, benchmarks only).
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

    def __repr__(self) -> str:
        how = "exact" if self.exact else f"approximate, recall {self.recall:.3f}"
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


class NeighborIndex:
    """A search index over ``vectors`` (N, D) in one metric; build it once, query it often.

    Args:
        metric: ``"cosine"``, ``"l2"`` or ``"ip"``.
        exact: True (the default) for exact search, which needs no build and costs one pass
            over the vectors per batch of queries; False for HNSW (``M``,
            ``efConstruction``, ``efSearch`` = :data:`HNSW_M`, :data:`HNSW_EF_CONSTRUCTION`,
            :data:`HNSW_EF_SEARCH`), worth its build time only for many thousands of queries.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``; exact search runs on a GPU when there is one.
        progress: callbacks told of the HNSW build, batch by batch.
        backend: ``"auto"``, ``"faiss"``, or ``"torch"`` (exact brute force by torch on ``device``).

    The caller's array is never modified; ``"l2"`` and ``"ip"`` exact indexes search it in
    place, ``"cosine"`` keeps a normalised copy.
    """

    def __init__(
        self,
        vectors: np.ndarray,
        metric: str = "cosine",
        *,
        exact: bool = True,
        device: str = "auto",
        progress: ProgressCallback | Sequence[ProgressCallback] | Reporter | None = None,
        backend: str = "auto",
    ) -> None:
        started = time.perf_counter()
        check_metric(metric)
        if backend not in BACKENDS:
            raise ProjectorError(f"backend={backend!r} must be one of {', '.join(map(repr, BACKENDS))}")
        if backend == "torch" and not exact:
            raise ProjectorError("backend='torch' searches exactly; pass exact=True, or backend='faiss' for HNSW")
        report = progress if isinstance(progress, Reporter) else Reporter(progress)
        matrix = _as_matrix(vectors, "vectors")
        if matrix.shape[0] < 1:
            raise ProjectorError("vectors has 0 rows; an index needs at least one point")
        self.metric = metric
        self.exact = bool(exact)
        self.device = _resolve_device(device)
        self._matrix = _prepare(matrix, metric, "vectors")
        self.n, self.dim = self._matrix.shape
        if backend == "torch":
            self._searcher: Any = _TorchFlat(self._matrix, metric, self.device)
        elif not exact:
            self._searcher = _FaissHnsw(self._matrix, metric, report)
            if self._matrix is not matrix:  # our normalised copy: read the index's own instead
                self._matrix = self._searcher.stored()
        elif self.device == "cuda":
            faiss = _import_faiss()
            if hasattr(faiss, "StandardGpuResources"):
                self._searcher = _FaissGpuFlat(self._matrix, metric, faiss)
            else:
                self._searcher = _TorchFlat(self._matrix, metric, self.device)
        else:
            self._searcher = _FaissFlat(self._matrix, metric)
        self.backend: str = self._searcher.name
        self.build_seconds = time.perf_counter() - started

    def __repr__(self) -> str:
        return f"<NeighborIndex {self.n} x {self.dim}, {self.metric}, {'exact' if self.exact else 'HNSW'}, {self.backend}>"

    def search(
        self, queries: np.ndarray, k: int, *, exclude: np.ndarray | Sequence[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(distances, indices)`` of the ``k`` nearest points to each query, nearest first.

        ``queries`` is (M, D) or (D,); ``exclude`` optionally names, per query, one row it must
        not return (its own row; -1 for none), wherever among equal points it turns up. ``k``
        above the points available is clamped with a warning. Both results are (M, k).
        """
        k = check_k(k)
        matrix = _as_matrix(queries, "queries", dim=self.dim)
        if exclude is None:
            rows = None
            available = self.n
        else:
            rows = np.asarray(exclude, dtype=np.int64).reshape(-1)
            if rows.shape[0] != matrix.shape[0]:
                raise ProjectorError(
                    f"exclude has {rows.shape[0]} entries for {matrix.shape[0]} queries; give one row (or -1) per query"
                )
            available = self.n - 1 if (rows >= 0).any() else self.n
        k = _clamp_k(k, available, "other than the query row" if available < self.n else "in the index")
        return self._search(_prepare(matrix, self.metric, "queries"), k, rows)

    def neighbors(self, query: Any, k: int = 10, *, exclude_self: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """``(rows, distances)``, each (M, k): the row positions of the nearest points to ``query``.

        ``query`` is a row position (int) or a sequence of them, or vectors: an (D,) or (M, D)
        float array. Integers are rows; pass vectors as floats. ``exclude_self`` leaves a row
        query's own row out of its answer.
        """
        rows, vectors = self._parse_query(query)
        if rows is None:
            distances, found = self.search(vectors, k)
            return found, distances
        k = check_k(k)
        if exclude_self:
            k = _clamp_k(k, self.n - 1, "other than the query row")
        else:
            k = _clamp_k(k, self.n, "in the index")
        distances, found = self._search(self._matrix[rows], k, rows if exclude_self else None)
        return found, distances

    # -- internals ---------------------------------------------------------------------------

    def _search(self, queries: np.ndarray, k: int, exclude: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Search prepared queries; ``k`` already fits. Fills any -1 row by exact search."""
        m = queries.shape[0]
        if k == 0 or m == 0:
            return np.zeros((m, k), np.float32), np.zeros((m, k), np.int64)
        if exclude is not None and not (exclude >= 0).any():
            exclude = None
        wanted = k + 1 if exclude is not None else k
        raw, found = self._searcher.search(queries, wanted)
        missing = (found < 0).any(axis=1)
        if missing.any():  # HNSW on tiny or duplicate-heavy data can come back short
            raw[missing], found[missing] = self._searcher.exact(queries[missing], wanted)
        distances = _to_distances(raw, self.metric)
        if exclude is not None:
            distances, found = _drop_rows(distances, found, exclude, k)
        return distances, found

    def _calibrate(self, k: int, rng: np.random.Generator, report: Reporter) -> float:
        """Raise HNSW's efSearch until sampled recall reaches TARGET_RECALL; the recall reached."""
        sample = np.sort(rng.choice(self.n, size=min(RECALL_SAMPLE, self.n), replace=False))
        queries = self._matrix[sample]
        raw, found = self._searcher.exact(queries, k + 1)
        truth, _ = _drop_rows(_to_distances(raw, self.metric), found, sample, k)
        ef = max(HNSW_EF_SEARCH, k + 1)
        while True:
            self._searcher.ef_search = ef
            got, _ = self._search(queries, k, sample)
            recall = _recall(got, truth)
            report(_STAGE_INDEX, self.n, self.n, f"efSearch={ef}, recall {recall:.3f}")
            if recall >= TARGET_RECALL or ef >= HNSW_EF_SEARCH_MAX:
                return recall
            ef = min(ef * 2, HNSW_EF_SEARCH_MAX)

    def _parse_query(self, query: Any) -> tuple[np.ndarray | None, np.ndarray | None]:
        if isinstance(query, (bool, np.bool_)):
            raise ProjectorError(f"query={query!r}: pass a row position, a list of them, or vectors")
        if isinstance(query, (int, np.integer)):
            rows = np.asarray([query], dtype=np.int64)
        else:
            array = np.asarray(query)
            if array.dtype.kind == "b" or array.dtype.kind not in "iuf":
                raise ProjectorError(
                    f"query of dtype {array.dtype}: pass a row position (int), a list of them, "
                    "or vectors as a float array shaped (D,) or (M, D)"
                )
            if array.size == 0:
                raise ProjectorError("query is empty; pass a row position, a list of them, or vectors")
            if array.dtype.kind == "f" or array.ndim == 2:
                return None, array
            if array.ndim > 1:
                raise ProjectorError(f"query rows have shape {array.shape}; pass a flat list of row positions")
            rows = array.astype(np.int64).reshape(-1)
        bad = (rows < 0) | (rows >= self.n)
        if bad.any():
            raise ProjectorError(
                f"query row {int(rows[bad][0])} is out of range; rows are positions 0 to {self.n - 1}"
            )
        return rows, None


# -- searchers: raw scores (similarity for inner-product metrics, squared L2) and ids ----------


class _FaissFlat:
    """Exact search by FAISS brute force over the matrix itself (no copy into an index)."""

    name = "faiss-flat"

    def __init__(self, matrix: np.ndarray, metric: str) -> None:
        self._faiss = _import_faiss()
        self._matrix = matrix
        self._metric = _faiss_metric(self._faiss, metric)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return self._faiss.knn(queries, self._matrix, k, metric=self._metric)

    exact = search


class _FaissGpuFlat:
    name = "faiss-gpu"

    def __init__(self, matrix: np.ndarray, metric: str, faiss: Any) -> None:
        self._resources = faiss.StandardGpuResources()
        flat = faiss.IndexFlatL2(matrix.shape[1]) if metric == "l2" else faiss.IndexFlatIP(matrix.shape[1])
        self._index = faiss.index_cpu_to_gpu(self._resources, 0, flat)
        self._index.add(matrix)
        self._cpu = _FaissFlat(matrix, metric)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if k > _GPU_MAX_K:
            return self._cpu.search(queries, k)
        return self._index.search(queries, k)

    exact = search


class _FaissHnsw:
    """``faiss.IndexHNSWFlat``, added in batches with progress; exact search over its storage."""

    name = "faiss-hnsw"

    def __init__(self, matrix: np.ndarray, metric: str, report: Reporter) -> None:
        faiss = _import_faiss()
        self._faiss = faiss
        self._metric = _faiss_metric(faiss, metric)
        n, d = matrix.shape
        self._index = faiss.IndexHNSWFlat(d, HNSW_M, self._metric)
        self._index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        self._index.hnsw.efSearch = HNSW_EF_SEARCH
        report(_STAGE_INDEX, 0, n, "HNSW")
        for start in range(0, n, _ADD_ROWS):
            stop = min(start + _ADD_ROWS, n)
            self._index.add(matrix[start:stop])
            report(_STAGE_INDEX, stop, n, "HNSW")

    @property
    def ef_search(self) -> int:
        return int(self._index.hnsw.efSearch)

    @ef_search.setter
    def ef_search(self, value: int) -> None:
        self._index.hnsw.efSearch = int(value)

    def stored(self) -> np.ndarray:
        """The indexed vectors as a read-only view of the index's own storage."""
        storage = self._faiss.downcast_index(self._index.storage)
        n, d = self._index.ntotal, self._index.d
        view = self._faiss.rev_swig_ptr(storage.get_xb(), n * d).reshape(n, d)
        view.flags.writeable = False
        return view

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return self._index.search(queries, k)

    def exact(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return self._faiss.knn(queries, self.stored(), k, metric=self._metric)


class _TorchFlat:
    """Exact search by torch: matmul and ``topk`` over blocks of query rows, on any device."""

    name = "torch"

    def __init__(self, matrix: np.ndarray, metric: str, device: str) -> None:
        try:
            import torch
        except ImportError as error:  # pragma: no cover - torch is optional
            raise MissingDependencyError("the torch kNN path needs torch: pip install 'projector[torch]'") from error
        self._torch = torch
        self._device = device
        self._l2 = metric == "l2"
        self._base = torch.tensor(matrix, dtype=torch.float32, device=device)  # a copy: arrays may be read-only
        self._base_sq = (self._base * self._base).sum(dim=1) if self._l2 else None

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        torch = self._torch
        n = self._base.shape[0]
        block = max(1, _TORCH_BLOCK_ELEMENTS.get(self._device, 1 << 24) // n)
        raw = np.empty((queries.shape[0], k), dtype=np.float32)
        found = np.empty((queries.shape[0], k), dtype=np.int64)
        with torch.no_grad():
            for start in range(0, queries.shape[0], block):
                stop = min(start + block, queries.shape[0])
                q = torch.tensor(queries[start:stop], dtype=torch.float32, device=self._device)
                scores = q @ self._base.T
                if self._l2:  # ||q||² + ||b||² - 2 q.b, the expansion FAISS uses too
                    scores = ((q * q).sum(dim=1, keepdim=True) + self._base_sq[None, :] - 2 * scores).clamp_min_(0)
                values, ids = torch.topk(scores, k, dim=1, largest=not self._l2, sorted=True)
                raw[start:stop] = values.cpu().numpy()
                found[start:stop] = ids.cpu().numpy()
        return raw, found

    exact = search


# -- helpers ---------------------------------------------------------------------------------


def _import_faiss():
    try:
        import faiss
    except ImportError as error:  # pragma: no cover - faiss-cpu is a dependency
        raise MissingDependencyError("nearest-neighbour search needs faiss: pip install faiss-cpu") from error
    return faiss


def _faiss_metric(faiss: Any, metric: str) -> int:
    return faiss.METRIC_L2 if metric == "l2" else faiss.METRIC_INNER_PRODUCT


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
    """A ProjectorWarning attributed to the first caller outside this package."""
    package = os.path.dirname(os.path.abspath(__file__))
    level, frame = 1, sys._getframe(0)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package + os.sep):
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
