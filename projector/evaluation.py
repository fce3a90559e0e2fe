"""The numbers an eval script wants from one embedding space: :func:`projector.metrics`.

- **k-NN label accuracy** in the original space: leave-one-out majority vote among each
  point's ``k`` nearest neighbours (:func:`projector.quality.knn_label_accuracy`);
- **per-class recall at k**: for each class, the mean share of a member's ``k`` neighbours
  that carry the same label;
- for a map of the same rows (a :class:`~projector.projection.Projection` or an (N, 2) array),
  its **trustworthiness** and **k-NN preservation** (:func:`projector.quality.projection_quality`);
- **likely mislabels** (rows most of whose neighbours carry another label) and **outliers**
  (rows far from their neighbours), from the same graph (:mod:`projector.suspects`).

Every figure reads one kNN graph. For a Dataset it is :meth:`~projector.Dataset.graph`, the
one the Dataset holds for that column and metric (shared with ``ds.project`` and the app),
built on first use and kept; for an array, :func:`projector.neighbors.knn_graph`.

This module is not named ``metrics``: a submodule of that name would replace the function
``projector.metrics`` on the package as soon as anyone imported the module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from projector.errors import ProjectorError, SchemaError
from projector.suspects import DEFAULT_THRESHOLD, Mislabels, Outliers, mislabels_from_knn, outliers_from_knn
from projector.validation import check_k

if TYPE_CHECKING:
    from projector.dataset import Dataset
    from projector.neighbors import KnnGraph

__all__ = ["Metrics", "metrics", "TOP_ROWS"]

TOP_ROWS = 20  # suspects and outliers listed by :meth:`Metrics.to_dict`


@dataclass(frozen=True)
class Metrics:
    """What :func:`projector.metrics` measured.

    Attributes:
        n: rows measured.
        k: neighbours per point (lowered to N - 1 for tiny inputs).
        metric: ``"cosine"``, ``"l2"`` or ``"ip"``: the original space's distance.
        label_accuracy: leave-one-out k-NN label accuracy over the labelled rows; None without
            labels.
        per_class_recall: ``{label: mean share of a member's k neighbours with that label}``,
            in the order the labels were first seen (sorted for numbers and strings); None
            without labels.
        class_sizes: ``{label: rows with that label}``, same keys; None without labels.
        trustworthiness: of the projection, computed on ``sample_size`` random rows; None
            without a projection.
        knn_preservation: of the projection: mean share of each point's k neighbours that are
            also its k nearest in the map; None without a projection.
        sample_size: rows trustworthiness was computed on; None without a projection.
        mislabels: the likely mislabels (:class:`~projector.suspects.Mislabels`, per row and
            the suspects); None without labels.
        outliers: the kNN-distance outlier scores (:class:`~projector.suspects.Outliers`).
        ids: for a Dataset with an id column, its ids: :meth:`to_dict`'s tables name each row's.
    """

    n: int
    k: int
    metric: str
    label_accuracy: float | None = None
    per_class_recall: dict[Any, float] | None = field(default=None)
    class_sizes: dict[Any, int] | None = field(default=None)
    trustworthiness: float | None = None
    knn_preservation: float | None = None
    sample_size: int | None = None
    mislabels: Mislabels | None = field(default=None, compare=False)
    outliers: Outliers | None = field(default=None, compare=False)
    ids: Any = field(default=None, compare=False, repr=False)  # a Dataset's row ids, for the tables

    def to_dict(self, top: int = TOP_ROWS) -> dict[str, Any]:
        """JSON-safe values (label keys as strings, NaN as None), ready for a log or a report;
        the ``top`` suspects and outliers are listed, most doubtful first."""
        return {
            "n": self.n,
            "k": self.k,
            "metric": self.metric,
            "label_accuracy": _json_float(self.label_accuracy),
            "per_class_recall": _str_keys(self.per_class_recall, _json_float),
            "class_sizes": _str_keys(self.class_sizes, int),
            "trustworthiness": _json_float(self.trustworthiness),
            "knn_preservation": _json_float(self.knn_preservation),
            "sample_size": self.sample_size,
            "mislabels": None if self.mislabels is None else _mislabel_summary(self.mislabels, top, self.ids),
            "outliers": None if self.outliers is None else {"k": self.outliers.k, "top": self.outliers.table(top, self.ids)},
        }

    def __repr__(self) -> str:
        parts = [f"{self.n} rows, k={self.k}, {self.metric}"]
        if self.label_accuracy is not None:
            parts.append(f"label accuracy {self.label_accuracy:.3f} over {len(self.per_class_recall or {})} classes")
        if self.trustworthiness is not None:
            parts.append(f"trustworthiness {self.trustworthiness:.3f}, kNN preserved {self.knn_preservation:.2f}")
        if self.mislabels is not None:
            parts.append(f"{self.mislabels.count} likely mislabels")
        return f"<Metrics {', '.join(parts)}>"


def metrics(
    embeddings: Any,
    labels: Any = None,
    k: int = 10,
    *,
    column: str | None = None,
    metric: str = "cosine",
    projection: Any = None,
    sample_size: int = 2000,
    suspect_threshold: float = DEFAULT_THRESHOLD,
) -> Metrics:
    """k-NN label accuracy, per-class recall at ``k`` and, for a map, its faithfulness.

    Args:
        embeddings: an (N, D) array (numpy, torch, anything ``np.asarray`` takes) or a
            :class:`~projector.Dataset`, whose embedding ``column`` is measured.
        labels: N labels (strings or numbers; None/NaN for missing, left out of the label
            figures); with a Dataset also the name of a column. With a Dataset and no labels
            its first label column is used, when it has one.
        k: neighbours per point; lowered to N - 1 for tiny inputs.
        column: with a Dataset, the embedding column (default: its first).
        metric: ``"cosine"``, ``"l2"`` or ``"ip"``.
        projection: a :class:`~projector.projection.Projection` or an (N, 2) / (N, 3) array of
            map coordinates of the same rows; adds trustworthiness and k-NN preservation.
        sample_size: rows trustworthiness is computed on (it needs all pairwise distances).
        suspect_threshold: share of a labelled row's neighbours carrying another label from
            which it is a likely mislabel (:func:`projector.suspects.mislabels`).

    Raises:
        ProjectorError: naming the argument at fault (shapes that disagree, an unknown column).
    """
    from projector.quality import _label_codes, knn_label_accuracy, projection_quality

    dataset, vectors, column = _resolve(embeddings, column, "embeddings")
    n = vectors.shape[0]
    if n < 3:
        raise ProjectorError(f"embeddings has {n} rows; metrics need at least 3.")
    k = _check_k(k, n)
    if dataset is not None:
        labels = _dataset_labels(dataset, labels)
    graph = _graph(vectors, k, metric, dataset=dataset, column=column)
    knn = graph.indices

    accuracy = recall = sizes = suspects = None
    if labels is not None:
        from projector.loaders.memory import to_numpy

        values = to_numpy(labels)
        codes = _label_codes(values, n)
        accuracy = knn_label_accuracy(knn, values)
        recall, sizes = _per_class_recall(knn, codes, values)
        suspects = mislabels_from_knn(knn, values, threshold=suspect_threshold)

    trust = preserved = used = None
    if projection is not None:
        coords = getattr(projection, "coords", projection)
        quality = projection_quality(vectors, coords, original_knn=knn, metric=metric, k=k, sample_size=sample_size)
        trust, preserved, used = quality.trustworthiness, quality.knn_preservation, quality.sample_size

    return Metrics(
        n=n, k=k, metric=metric,
        label_accuracy=None if accuracy is None or math.isnan(accuracy) else float(accuracy),
        per_class_recall=recall, class_sizes=sizes,
        trustworthiness=trust, knn_preservation=preserved, sample_size=used,
        mislabels=suspects, outliers=outliers_from_knn(graph.distances, metric), ids=_ids(dataset),
    )


def knn_indices(
    vectors: np.ndarray,
    k: int,
    metric: str,
    *,
    dataset: "Dataset | None" = None,
    column: str | None = None,
    exact: bool | None = None,
) -> np.ndarray:
    """(N, k) neighbour rows of every row, self excluded, from :func:`~projector.neighbors.knn_graph`.

    With a ``dataset``, its graph for ``(column, metric)`` (:meth:`~projector.Dataset.graph`,
    the one ``ds.project`` builds) is reused when wide enough. With ``exact=True`` an
    approximate held graph is not reused.
    """
    return _graph(vectors, k, metric, dataset=dataset, column=column, exact=exact).indices


def _graph(vectors: np.ndarray, k: int, metric: str, *, dataset: "Dataset | None" = None, column: str | None = None, exact: bool | None = None) -> "KnnGraph":
    """The dataset's held graph of ``column`` (reused when wide enough), else one of ``vectors``."""
    if dataset is not None:
        return dataset.graph(column, metric, k, exact=exact)
    from projector.neighbors import knn_graph

    return knn_graph(vectors, k, metric, exact=exact)


def _resolve(embeddings: Any, column: str | None, name: str) -> tuple["Dataset | None", np.ndarray, str | None]:
    """(dataset or None, (N, D) vectors, embedding column or None) from an array or a Dataset."""
    from projector.dataset import Dataset

    if isinstance(embeddings, Dataset):
        return embeddings, embeddings.vectors(column), column or embeddings.roles.vectors[0]
    if column is not None:
        raise ProjectorError(f"column={column!r} applies to a Dataset only; {name} is an array.")
    if isinstance(embeddings, (str, bytes)):
        raise ProjectorError(f"{name} is a string; pass an (N, D) array or a Dataset (projector.load({embeddings!r}) reads a file).")
    from projector.loaders.memory import to_numpy

    matrix = to_numpy(embeddings)
    if matrix.ndim != 2 or matrix.shape[1] == 0 or matrix.dtype.kind not in "biuf":
        raise ProjectorError(f"{name} has shape {matrix.shape} and dtype {matrix.dtype}; expected numbers shaped (N, D).")
    return None, matrix, None


def _dataset_labels(dataset: "Dataset", labels: Any) -> Any:
    if labels is None:
        if not dataset.roles.labels:
            return None
        labels = dataset.roles.labels[0]
    if not isinstance(labels, str):
        return labels
    if labels not in dataset.column_names:
        raise SchemaError(f"labels={labels!r} is not a column; columns: {dataset.column_names}")
    column = dataset.table.column(labels)
    import pyarrow as pa

    if (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)) and column.null_count == 0:
        return column.to_numpy()
    return np.asarray(column.to_pylist(), dtype=object)


def _per_class_recall(knn: np.ndarray, codes: np.ndarray, values: np.ndarray) -> tuple[dict[Any, float], dict[Any, int]]:
    """Per label: mean share of a member's neighbours with the same label (missing ones never match)."""
    labelled = codes >= 0
    if not labelled.any():
        return {}, {}
    same = (codes[knn] == codes[:, None]).mean(axis=1)
    present, first = np.unique(codes[labelled], return_index=True)
    rows = np.flatnonzero(labelled)
    sums = np.bincount(codes[labelled], weights=same[labelled], minlength=present.max() + 1)
    counts = np.bincount(codes[labelled], minlength=present.max() + 1)
    names = [_py(values[rows[i]]) for i in first]
    return (
        {name: float(sums[c] / counts[c]) for name, c in zip(names, present)},
        {name: int(counts[c]) for name, c in zip(names, present)},
    )


def _check_k(k: Any, n: int) -> int:
    """``k`` checked, and lowered to the ``n - 1`` other rows there are."""
    return min(check_k(k), n - 1)


def _py(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _json_float(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def _mislabel_summary(found: Mislabels, top: int, ids: Any) -> dict[str, Any]:
    return {"suspects": found.count, "threshold": found.threshold, "min_labelled": found.min_labelled, "top": found.table(top, ids)}


def _ids(dataset: "Dataset | None") -> Any:
    """The dataset's id column (Arrow, not copied), or None for an array or generated ids."""
    if dataset is None or dataset.roles.generated_id:
        return None
    return dataset.table.column(dataset.roles.id)


def _str_keys(mapping: dict[Any, Any] | None, convert: Any) -> dict[str, Any] | None:
    return None if mapping is None else {str(key): convert(value) for key, value in mapping.items()}
