"""Nearest neighbours: the one kNN graph every map is built from, and an index for lookups.

- :func:`knn_graph` (:mod:`.graph`) finds the ``k`` nearest neighbours of every point (the
  point itself left out). UMAP takes it as ``precomputed_knn`` (via :meth:`KnnGraph.with_self`),
  t-SNE builds its affinities from it, quality metrics read it. :meth:`projector.Dataset.graph`
  keeps one per embedding column and metric.
- :class:`NeighborIndex` (:mod:`.index`) is built once per (vectors, metric) and answers
  queries by vector or by row; :meth:`projector.Dataset.index` keeps one per column and metric.
- :mod:`.backends` holds the searchers both use: FAISS flat, FAISS GPU, FAISS HNSW, torch.

Metrics, all reported as distances where smaller is nearer:

- ``"cosine"``: ``1 - cosine similarity``, searched as the inner product of unit vectors (the
  index holds normalised copies; the caller's array is never touched). An all-zero vector has
  no direction: it lies at distance 1 from everything (a warning says how many there are).
- ``"l2"``: the Euclidean distance (not squared).
- ``"ip"``: the negated inner product, ``-<x, y>``.

On a CUDA machine (``device="auto"`` or ``"cuda"``) exact search runs on the GPU: FAISS GPU
when this faiss build has it, else a batched torch brute force. A GPU is fast enough that the
graph is then exact at any size; ``exact=False`` still clusters on the CPU. faiss and torch are
imported only when used. Measured timings behind every limit: ``benchmarks/README.md``.
"""

from __future__ import annotations

import projector.device  # noqa: F401  (sets the OpenMP wait policy before faiss loads)
from projector.neighbors._common import TARGET_RECALL, _take_ids
from projector.neighbors.backends import HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH, HNSW_M
from projector.neighbors.graph import EXACT_MAX_ROWS, KDTREE_MAX_DIMS, KnnGraph, _knn_graph, _torch_knn, knn_graph
from projector.neighbors.index import BACKENDS, NeighborIndex
from projector.validation import METRICS

__all__ = [
    "KnnGraph",
    "NeighborIndex",
    "knn_graph",
    "METRICS",
    "BACKENDS",
    "EXACT_MAX_ROWS",
    "KDTREE_MAX_DIMS",
    "TARGET_RECALL",
    "HNSW_M",
    "HNSW_EF_CONSTRUCTION",
    "HNSW_EF_SEARCH",
]

_PRIVATE = (_take_ids, _knn_graph, _torch_knn)  # re-exported for projector.dataset, tests and benchmarks
