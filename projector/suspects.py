"""Rows the embedding space casts doubt on: likely mislabels and outliers.

Both read the one kNN graph of the ORIGINAL space (:meth:`projector.Dataset.graph`, the graph
``project``, the quality scores and the app share); neither builds a second one.

- **Likely mislabels** (:func:`mislabels`): for each labelled row, the share of its labelled
  neighbours that carry another label, and the label they suggest instead. A row is a
  *suspect* when that share reaches ``threshold`` and enough of its neighbours are labelled
  for the share to mean something: "row 412 labelled 3: 9 of 10 neighbours are 8".
- **Outliers** (:func:`outliers`): the mean distance to the ``k`` nearest neighbours, as a
  percentile rank in [0, 1] (1: the loneliest row).

Duplicates: exact copies are each other's neighbours at distance 0, and that is honest: a row
with ``k`` or more copies sits in the densest place there is and scores as the least
outlying. The score is the *mean* over the ``k`` neighbours, not the distance to the first,
so a far row with one or two copies keeps most of its distance and still ranks as an outlier;
and copies share their label, so a copy only ever votes for its twin's label.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from projector.errors import ProjectorError, SchemaError, TooFewRowsError
from projector.validation import check_k

if TYPE_CHECKING:
    from projector.dataset import Dataset

__all__ = ["Mislabels", "Outliers", "mislabels", "outliers", "mislabels_from_knn", "outliers_from_knn", "DEFAULT_THRESHOLD", "DEFAULT_MIN_LABELLED"]

DEFAULT_THRESHOLD = 0.7  # 7 of 10 neighbours disagree: rare by chance inside a clean class
DEFAULT_MIN_LABELLED = 5  # fewer labelled neighbours than this make the share too coarse to judge
_MIN_ROWS = 3


@dataclass(frozen=True, eq=False)
class Mislabels:
    """What the neighbours say about each row's label.

    Attributes:
        labels: (N,) the rows' labels (None where missing).
        other_share: (N,) float32 share of a row's labelled neighbours with another label;
            NaN for an unlabelled row or one without a labelled neighbour.
        neighbor_label: (N,) the most common label among the neighbours that disagree with
            the row (for an unlabelled row: among all its labelled neighbours); None when they
            all agree.
        neighbor_count: (N,) int how many of the row's neighbours carry ``neighbor_label``.
        labelled: (N,) int how many of the row's ``k`` neighbours carry a label.
        suspect: (N,) bool ``other_share >= threshold`` with at least ``min_labelled``
            labelled neighbours.
        k, threshold, min_labelled: how they were found.
    """

    labels: np.ndarray
    other_share: np.ndarray
    neighbor_label: np.ndarray
    neighbor_count: np.ndarray
    labelled: np.ndarray
    suspect: np.ndarray
    k: int
    threshold: float
    min_labelled: int

    @property
    def count(self) -> int:
        """How many rows are suspects."""
        return int(self.suspect.sum())

    def rows(self) -> np.ndarray:
        """The suspect rows, most doubtful first (highest share, then more neighbours, then row)."""
        found = np.flatnonzero(self.suspect)
        order = np.lexsort((found, -self.neighbor_count[found], -self.other_share[found]))
        return found[order]

    def sentence(self, row: int) -> str:
        """``row 412 labelled 3: 9 of 10 neighbours are 8`` (and how many disagree in all, when
        the disagreeing neighbours do not all agree among themselves)."""
        row = int(row)
        label, other = self.labels[row], self.neighbor_label[row]
        head = f"row {row} has no label" if label is None else f"row {row} labelled {label}"
        if not self.labelled[row]:
            return f"{head}: none of its neighbours has a label"
        text = f"{head}: {self.neighbor_count[row]} of {self.labelled[row]} neighbours are {other}"
        if other is None or label is None:
            return f"{head}: its neighbours agree" if other is None else text
        disagree = int(round(float(self.other_share[row]) * int(self.labelled[row])))
        return text if disagree == self.neighbor_count[row] else f"{text} ({disagree} carry another label)"

    def table(self, limit: int | None = 20, ids: Any = None) -> list[dict[str, Any]]:
        """The top ``limit`` suspects (all with None) as JSON-safe records: row, id (from
        ``ids``, N row ids as a sequence or Arrow column, when given), label, neighbour label,
        share, neighbours, and the sentence."""
        rows = self.rows()[: None if limit is None else int(limit)]
        return [
            {
                "row": int(row),
                **({} if ids is None else {"id": _plain(ids[row])}),
                "label": _plain(self.labels[row]),
                "neighbor_label": _plain(self.neighbor_label[row]),
                "other_share": float(self.other_share[row]),
                "neighbors": int(self.labelled[row]),
                "sentence": self.sentence(row),
            }
            for row in rows
        ]

    def __repr__(self) -> str:
        return f"<Mislabels {self.count} suspects of {self.labels.shape[0]} rows, k={self.k}, threshold {self.threshold}>"


@dataclass(frozen=True, eq=False)
class Outliers:
    """How far each row is from its neighbours.

    Attributes:
        distance: (N,) float32 mean distance to the ``k`` nearest neighbours, in ``metric``.
        score: (N,) float32 percentile rank of ``distance`` in [0, 1]: 1 for the loneliest
            row, 0 for the most crowded; ties share their mean rank.
        k, metric: how they were found.
    """

    distance: np.ndarray
    score: np.ndarray
    k: int
    metric: str

    def rows(self, limit: int | None = 20) -> np.ndarray:
        """The ``limit`` most outlying rows (all with None), loneliest first."""
        order = np.lexsort((np.arange(self.distance.shape[0]), -self.distance))
        return order[: None if limit is None else int(limit)]

    def table(self, limit: int | None = 20, ids: Any = None) -> list[dict[str, Any]]:
        """The top ``limit`` outliers as JSON-safe records: row, id, score, mean distance."""
        return [
            {"row": int(row), **({} if ids is None else {"id": _plain(ids[row])}), "score": float(self.score[row]), "distance": float(self.distance[row])}
            for row in self.rows(limit)
        ]

    def __repr__(self) -> str:
        return f"<Outliers {self.distance.shape[0]} rows, k={self.k}, {self.metric}>"


def mislabels(
    dataset: "Dataset",
    labels: Any = None,
    *,
    column: str | None = None,
    metric: str = "cosine",
    k: int = 10,
    threshold: float = DEFAULT_THRESHOLD,
    min_labelled: int = DEFAULT_MIN_LABELLED,
) -> Mislabels:
    """Likely mislabels of ``dataset``, from its kNN graph of ``column`` in ``metric``.

    Args:
        labels: the label column's name (default: the dataset's first label column), or N
            labels (None/NaN for missing).
        column: the embedding column (default: the first).
        k: neighbours asked of each row (lowered to N - 1 for tiny data).
        threshold: share of disagreeing neighbours, in (0, 1], from which a row is a suspect.
        min_labelled: labelled neighbours a row needs to be a suspect, in [1, k].

    Raises:
        SchemaError: the dataset has no label column, or ``labels`` names no column.
        TooFewRowsError: fewer than 3 rows.
    """
    values = _dataset_labels(dataset, labels)
    graph = dataset.graph(column, metric, _neighbors(k, dataset.num_rows))
    return mislabels_from_knn(graph.indices, values, threshold=threshold, min_labelled=min_labelled)


def outliers(dataset: "Dataset", *, column: str | None = None, metric: str = "cosine", k: int = 10) -> Outliers:
    """kNN-distance outlier scores of ``dataset``'s rows in ``column`` (default: the first
    embedding), from its kNN graph in ``metric``. Raises TooFewRowsError below 3 rows."""
    graph = dataset.graph(column, metric, _neighbors(k, dataset.num_rows))
    return outliers_from_knn(graph.distances, metric)


def mislabels_from_knn(knn: np.ndarray, labels: Any, *, threshold: float = DEFAULT_THRESHOLD, min_labelled: int = DEFAULT_MIN_LABELLED) -> Mislabels:
    """:func:`mislabels` from an (N, k) neighbour table (self excluded) and N labels."""
    from projector.quality import _label_codes

    knn = np.asarray(knn)
    n, k = knn.shape
    if n < _MIN_ROWS:
        raise TooFewRowsError(f"{n} rows; finding likely mislabels needs at least {_MIN_ROWS}.")
    threshold = _check_threshold(threshold)
    min_labelled = min(check_k(min_labelled, default=DEFAULT_MIN_LABELLED), k)
    values = np.asarray(labels, dtype=object) if not isinstance(labels, np.ndarray) else labels
    codes = _label_codes(values, n)
    around = codes[knn]  # (N, k): the neighbours' label codes, -1 where missing
    labelled = (around >= 0).sum(axis=1)
    own = codes[:, None]
    others = (around >= 0) & (around != own)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where((codes >= 0) & (labelled > 0), others.sum(axis=1) / labelled, np.nan).astype(np.float32)
    voters = np.where(others, around, -1)
    best, votes = _mode(voters)
    names = _names(values, codes)
    neighbor_label = np.array([None if code < 0 else names[code] for code in best.tolist()], dtype=object)
    row_labels = np.array([None if code < 0 else names[code] for code in codes.tolist()], dtype=object)
    suspect = (share >= threshold) & (labelled >= min_labelled)  # NaN compares False
    return Mislabels(row_labels, share, neighbor_label, votes, labelled.astype(np.int64), suspect, k, threshold, min_labelled)


def outliers_from_knn(distances: np.ndarray, metric: str = "cosine") -> Outliers:
    """:func:`outliers` from an (N, k) table of neighbour distances (self excluded)."""
    from scipy.stats import rankdata

    distances = np.asarray(distances, dtype=np.float64)
    n = distances.shape[0]
    if distances.ndim != 2 or n < _MIN_ROWS:
        raise TooFewRowsError(f"{n} rows; outlier scores need at least {_MIN_ROWS}.")
    mean = np.maximum(distances.mean(axis=1), 0.0)  # cosine/ip round-off can dip below zero
    score = (rankdata(mean, method="average") - 1.0) / (n - 1)
    return Outliers(mean.astype(np.float32), score.astype(np.float32), int(distances.shape[1]), metric)


def _mode(voters: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the most common non-negative code and its count (-1, 0 when none); a tie goes
    to the code of the nearest neighbour among the tied."""
    n, k = voters.shape
    counts = np.zeros((n, k), dtype=np.int64)
    for j in range(k):  # k passes over (N, k): no (N, k, k) array at a million rows
        counts[:, j] = (voters == voters[:, j : j + 1]).sum(axis=1)
    counts[voters < 0] = 0
    at = counts.argmax(axis=1)
    chosen = np.arange(n)
    votes = counts[chosen, at]
    return np.where(votes > 0, voters[chosen, at], -1), votes


def _names(values: np.ndarray, codes: np.ndarray) -> dict[int, Any]:
    """Each code's label, as the first row carrying it holds it."""
    rows = np.flatnonzero(codes >= 0)
    known, first = np.unique(codes[rows], return_index=True)
    return {int(code): _plain(values[rows[at]]) for code, at in zip(known, first)}


def _dataset_labels(dataset: "Dataset", labels: Any) -> np.ndarray:
    if dataset.num_rows < _MIN_ROWS:
        raise TooFewRowsError(f"the dataset has {dataset.num_rows} rows; finding likely mislabels needs at least {_MIN_ROWS}.")
    if labels is None:
        if not dataset.roles.labels:
            raise SchemaError(f"the dataset has no label column to check; pass labels= a column name or N labels (columns: {dataset.column_names})")
        labels = dataset.roles.labels[0]
    if isinstance(labels, str):
        if labels not in dataset.column_names:
            raise SchemaError(f"labels={labels!r} is not a column; columns: {dataset.column_names}")
        return np.asarray(dataset.table.column(labels).to_pylist(), dtype=object)
    values = np.asarray(labels, dtype=object)
    if values.shape != (dataset.num_rows,):
        raise SchemaError(f"labels has shape {values.shape}; expected one label per row ({dataset.num_rows},).")
    return values


def _neighbors(k: Any, n: int) -> int:
    if n < _MIN_ROWS:
        raise TooFewRowsError(f"{n} rows; neighbour checks need at least {_MIN_ROWS}.")
    return min(check_k(k), n - 1)


def _check_threshold(threshold: Any) -> float:
    try:
        value = float(threshold)
    except (TypeError, ValueError):
        value = float("nan")
    if not 0.0 < value <= 1.0:
        raise ProjectorError(f"threshold={threshold!r} must be a share of the neighbours in (0, 1]; the default is {DEFAULT_THRESHOLD}.")
    return value


def _plain(value: Any) -> Any:
    """A numpy or Arrow scalar as the Python value (JSON and sentences read it as written)."""
    if hasattr(value, "as_py"):
        return value.as_py()
    return value.item() if isinstance(value, np.generic) else value
