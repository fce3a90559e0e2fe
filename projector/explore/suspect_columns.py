"""The colour-by columns of what the space says about the data: likely-mislabel shares and
outlier scores (:mod:`projector.suspects`), as derived columns of the rows.

:class:`SuspectColumns` reserves the columns when the store is made (so the colour-by menu and
the filters can offer them before a page paints) and fills them from the one kNN graph of the
original space when :meth:`SuspectColumns.compute` runs, which the store does in the background
after the first paint. It holds no threads.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Callable

import numpy as np

if TYPE_CHECKING:
    from projector.dataset import Dataset
    from projector.explore.rows import Rows
    from projector.suspects import Mislabels

__all__ = ["SuspectColumns", "MISLABEL_PREFIX", "OUTLIER_PREFIX", "CHECK_K"]

MISLABEL_PREFIX = "mislabel share: "  # colour-by name of a label column's likely-mislabel share
OUTLIER_PREFIX = "outlier score: "  # ... and of the first embedding column's outlier score
CHECK_K = 10  # neighbours read: the quality score's QUALITY_K, so both read one graph
_CHECKED_LABELS = 4  # label columns whose mislabels are found (each O(N k) on the one graph)
_MIN_ROWS = 3


class SuspectColumns:
    """The derived columns ``"outlier score: <embedding>"`` and ``"mislabel share: <label>"``
    (a name already taken by a table column gets a ``(projector)`` suffix, see
    :meth:`~projector.explore.rows.Rows.derive`); none below 3 rows."""

    def __init__(self, dataset: "Dataset", rows: "Rows") -> None:
        self.dataset = dataset
        self.rows = rows
        self._lock = threading.Lock()
        self._mislabels: dict[str, "Mislabels"] = {}
        self._columns: dict[str, str | None] = {}  # derived name -> label column (None: outliers)
        if dataset.num_rows < _MIN_ROWS:
            return
        self._columns[rows.derive(f"{OUTLIER_PREFIX}{dataset.roles.vectors[0]}")] = None
        varied = [label for label in dataset.roles.labels if len(rows.categories(label)) > 1]  # one value: nothing to doubt (counted once: the filters ask too)
        for label in varied[:_CHECKED_LABELS]:
            self._columns[rows.derive(f"{MISLABEL_PREFIX}{label}")] = label

    @property
    def labels(self) -> list[str]:
        """The label columns whose likely mislabels are found (those with two values or more)."""
        return [label for label in self._columns.values() if label is not None]

    @property
    def names(self) -> list[str]:
        """The derived column names, computed or not."""
        return list(self._columns)

    def compute(self, metric: str = "cosine", progress: Callable | None = None) -> dict[str, int]:
        """Fill every column from the dataset's kNN graph of its first embedding in ``metric``
        (built here if nothing built it yet); returns the suspects per label column."""
        from projector.suspects import mislabels_from_knn, outliers_from_knn

        if not self._columns:
            return {}
        graph = self.dataset.graph(None, metric, min(CHECK_K, self.dataset.num_rows - 1), progress=progress)
        counts = {}
        for name, label in self._columns.items():
            if label is None:
                self.rows.set_derived(name, outliers_from_knn(graph.distances, metric).score)
                continue
            found = mislabels_from_knn(graph.indices, np.asarray(self.dataset.table.column(label).to_pylist(), dtype=object))
            with self._lock:
                self._mislabels[label] = found
            self.rows.set_derived(name, found.other_share)
            counts[label] = found.count
        return counts

    def mislabels(self, label: str | None = None) -> "Mislabels | None":
        """The likely mislabels of ``label`` (default: the first label column) once computed;
        None before, or for a column not checked. Its ``table()`` is the sorted suspect list."""
        labels = self.dataset.roles.labels
        label = label or (labels[0] if labels else None)
        with self._lock:
            return self._mislabels.get(label) if label else None
