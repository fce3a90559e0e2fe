"""Exact duplicate rows of an embedding matrix, found without copying or sorting the data.

Real embeddings repeat: the same text or image embedded twice gives the same vector. UMAP's
graph then ties each repeated vector only to its own copies, and the group drifts off the
map; ``info`` warns about them. Both ask :func:`unique_rows`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["UniqueRows", "unique_rows"]


@dataclass(frozen=True)
class UniqueRows:
    """The distinct rows of a matrix.

    Attributes:
        first: (U,) the row where each distinct vector first occurs, ascending.
        inverse: (N,) for every row, the position in ``first`` of its vector.
    """

    first: np.ndarray
    inverse: np.ndarray

    @property
    def duplicates(self) -> int:
        """Rows that repeat an earlier row's vector."""
        return int(self.inverse.size - self.first.size)

    @property
    def repeated(self) -> np.ndarray:
        """Positions in ``first`` of the vectors that occur more than once."""
        return np.flatnonzero(np.bincount(self.inverse, minlength=self.first.size) > 1)

    def expand(self, values: np.ndarray) -> np.ndarray:
        """Per-distinct-vector ``values`` (U, ...) as per-row values (N, ...)."""
        return values[self.inverse]


def unique_rows(matrix: np.ndarray) -> UniqueRows:
    """Group the rows of ``matrix`` (N, D) by exact equality of their bytes.

    Each row is hashed by two random projections (one BLAS pass, no copy of the data); only
    rows whose hashes collide are compared byte for byte, so a matrix without duplicates costs
    one matrix product and one sort of N keys.
    """
    n = len(matrix)
    inverse = np.arange(n, dtype=np.int64)
    if n >= 2:
        probes = np.random.default_rng(0).standard_normal((matrix.shape[1], 2)).astype(np.float32)
        keys = np.ascontiguousarray(matrix @ probes).view(np.uint64).ravel()  # two float32s as one key: sorts 4x faster than bytes
        _, key_inverse, key_counts = np.unique(keys, return_inverse=True, return_counts=True)
        candidates = np.flatnonzero(key_counts[key_inverse] > 1)
        if candidates.size:
            width = matrix.shape[1] * matrix.dtype.itemsize
            rows = np.ascontiguousarray(matrix[candidates]).view(np.dtype((np.void, width))).ravel()
            _, first, groups = np.unique(rows, return_index=True, return_inverse=True)
            inverse[candidates] = candidates[first[groups.ravel()]]  # each candidate points at its group's first row
    first = np.flatnonzero(inverse == np.arange(n))
    position = np.empty(n, dtype=np.int64)
    position[first] = np.arange(first.size)
    return UniqueRows(first=first, inverse=position[inverse])
