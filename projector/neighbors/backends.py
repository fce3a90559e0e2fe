"""Searchers behind one small interface: ``search(queries, k)`` and ``exact(queries, k)``
return raw scores (similarity for inner-product metrics, squared L2) and ids.

FAISS brute force on the CPU, FAISS on a GPU, FAISS HNSW, and a torch brute force (matmul +
``topk`` in row blocks) for CUDA machines whose faiss build has no GPU. faiss and torch are
imported only by the searcher that needs them, with an install hint when missing.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import projector.device  # noqa: F401  (sets the OpenMP wait policy before faiss loads)
from projector.errors import MissingDependencyError
from projector.neighbors._common import _STAGE_INDEX
from projector.progress import Reporter

#: HNSW, for NeighborIndex(exact=False): links per node, build and search beam widths.
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 100
HNSW_EF_SEARCH = 64
HNSW_EF_SEARCH_MAX = 1024
_ADD_ROWS = 16384  # points per batch added to an HNSW index (one progress step each)
_GPU_MAX_K = 2048  # FAISS GPU's largest k
_TORCH_BLOCK_ELEMENTS = {"cpu": 1 << 24, "cuda": 1 << 28}  # query rows x points scored at once (64 MiB, 1 GiB)


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


def _import_faiss():
    try:
        import faiss
    except ImportError as error:  # pragma: no cover - faiss-cpu is a dependency
        raise MissingDependencyError("nearest-neighbour search needs faiss: pip install faiss-cpu") from error
    return faiss


def _faiss_metric(faiss: Any, metric: str) -> int:
    return faiss.METRIC_L2 if metric == "l2" else faiss.METRIC_INNER_PRODUCT
