"""NeighborIndex: built once per (vectors, metric), answers queries by vector or by row.

Exact search by default (no build; one pass over the vectors per batch of queries, on a GPU
when there is one); HNSW with ``exact=False``, where many queries follow one build and its
efSearch is raised until the recall on a sample reaches :data:`TARGET_RECALL`.
"""

from __future__ import annotations

import time
from typing import Any, Sequence

import numpy as np

from projector.errors import ProjectorError
from projector.neighbors._common import (
    _STAGE_INDEX, RECALL_SAMPLE, TARGET_RECALL, _as_matrix, _clamp_k, _drop_rows, _prepare, _recall, _resolve_device,
    _to_distances,
)
from projector.neighbors.backends import (
    HNSW_EF_SEARCH, HNSW_EF_SEARCH_MAX, _FaissFlat, _FaissGpuFlat, _FaissHnsw, _import_faiss,
    _TorchFlat,
)
from projector.progress import ProgressCallback, Reporter
from projector.validation import check_choice, check_k, check_metric

BACKENDS = ("auto", "faiss", "torch")
__all__ = ["NeighborIndex", "BACKENDS"]


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
        check_choice("backend", backend, BACKENDS, default="auto")
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
