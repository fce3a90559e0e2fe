"""Two embedding spaces of the same samples: which samples moved? :func:`projector.compare`.

Two models, or two checkpoints, embed the same rows. For every row, :func:`compare` finds its
``k`` nearest neighbours in each space (one :meth:`~projector.Dataset.graph` per column)
and scores the overlap of the two sets by their Jaccard index ``|A ∩ B| / |A ∪ B|``: 1 when the
neighbourhood is unchanged, 0 when no neighbour is shared. The two columns may have different
dimensions: only neighbourhoods are compared, never coordinates.

:func:`align` registers one map to another (a similarity transform fitted on all rows), so
that two maps of the same rows can be shown side by side with unchanged regions in place.

This module is not named ``compare``: a submodule of that name would replace the function
``projector.compare`` on the package as soon as anyone imported the module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from projector.errors import ProjectorError, SchemaError
from projector.validation import check_coords, check_whole

if TYPE_CHECKING:
    import pyarrow as pa

    from projector.dataset import Dataset

__all__ = ["Comparison", "compare", "align"]

#: A row whose Jaccard overlap is below this counts as changed in :attr:`Comparison.share_changed`.
CHANGED_BELOW = 0.5


@dataclass(frozen=True, eq=False)
class Comparison:
    """Per-row neighbourhood overlap between embedding columns ``a`` and ``b`` of one dataset.

    Attributes:
        a, b: the two embedding columns.
        k: neighbours per row in each space (lowered to N - 1 for tiny inputs).
        metric: ``"cosine"``, ``"l2"`` or ``"ip"``, used in both spaces.
        jaccard: (N,) float32 in [0, 1]: per row, the Jaccard index of its k-NN sets in the two
            spaces.
        dataset: the dataset compared; :meth:`to_table` adds to its table by default.
    """

    a: str
    b: str
    k: int
    metric: str
    jaccard: np.ndarray
    dataset: "Dataset" = field(repr=False)

    @property
    def column(self) -> str:
        """Name of the column :meth:`to_table` adds: ``<a>_vs_<b>_knn_jaccard``."""
        return f"{self.a}_vs_{self.b}_knn_jaccard"

    @property
    def mean_jaccard(self) -> float:
        return float(self.jaccard.mean(dtype=np.float64))

    @property
    def median_jaccard(self) -> float:
        return float(np.median(self.jaccard))

    @property
    def share_changed(self) -> float:
        """Share of rows whose Jaccard overlap is below :data:`CHANGED_BELOW` (0.5)."""
        return float((self.jaccard < CHANGED_BELOW).mean())

    @property
    def share_unchanged(self) -> float:
        """Share of rows with the same k neighbours in both spaces."""
        return float((self.jaccard >= 1.0).mean())

    @property
    def share_disjoint(self) -> float:
        """Share of rows that keep none of their k neighbours."""
        return float((self.jaccard <= 0.0).mean())

    def most_changed(self, n: int = 10) -> np.ndarray:
        """Row positions of the ``n`` rows whose neighbourhoods changed most, lowest overlap first.

        Ties keep row order. Returns (min(n, N),) int64.
        """
        n = check_whole("n", n, meaning="how many rows to return")
        return np.argsort(self.jaccard, kind="stable")[:n].astype(np.int64)

    def to_dict(self) -> dict[str, Any]:
        """The aggregate figures as JSON-safe values; the per-row array is left out."""
        return {
            "a": self.a,
            "b": self.b,
            "k": self.k,
            "metric": self.metric,
            "rows": int(self.jaccard.shape[0]),
            "mean_jaccard": self.mean_jaccard,
            "median_jaccard": self.median_jaccard,
            "share_changed": self.share_changed,
            "changed_below": CHANGED_BELOW,
            "share_unchanged": self.share_unchanged,
            "share_disjoint": self.share_disjoint,
        }

    def to_table(self, table: "pa.Table | None" = None) -> "pa.Table":
        """``table`` (default: the dataset's) with the :attr:`column` of per-row Jaccard added.

        Frame in, frame out: the input is not changed; a column of that name is replaced.
        """
        from projector._vectors import numeric_array

        table = self.dataset.table if table is None else table
        if table.num_rows != self.jaccard.shape[0]:
            raise ProjectorError(
                f"table has {table.num_rows} rows but the comparison has {self.jaccard.shape[0]}; "
                "pass the table of the dataset that was compared (rows in the same order)."
            )
        values = numeric_array(self.jaccard)
        if self.column in table.column_names:
            return table.set_column(table.column_names.index(self.column), self.column, values)
        return table.append_column(self.column, values)

    def __repr__(self) -> str:
        return (
            f"<Comparison {self.a!r} vs {self.b!r}: {self.jaccard.shape[0]} rows, k={self.k}, {self.metric}, "
            f"mean Jaccard {self.mean_jaccard:.3f}, {self.share_changed:.1%} below {CHANGED_BELOW}>"
        )


def compare(
    ds: "Dataset",
    a: str,
    b: str,
    k: int = 10,
    metric: str = "cosine",
    *,
    exact: bool | None = None,
) -> Comparison:
    """Per row, how much its ``k`` nearest neighbours in column ``a`` and column ``b`` overlap.

    Args:
        ds: a :class:`~projector.Dataset` holding both embedding columns (for two arrays:
            ``projector.Dataset.from_arrays({"a": A, "b": B})``).
        a, b: embedding columns; their dimensions may differ.
        k: neighbours per row; lowered to N - 1 for tiny inputs.
        metric: ``"cosine"``, ``"l2"`` or ``"ip"``, used in both spaces.
        exact: passed to :func:`~projector.neighbors.knn_graph`: by default graphs above
            :data:`~projector.neighbors.EXACT_MAX_ROWS` rows are approximate (recall about
            0.95), which lowers the overlap of unchanged rows a little; True searches exactly.

    Returns a :class:`Comparison`. Graphs the dataset already holds (from ``ds.project``) are
    reused, and new ones kept on it.
    """
    from projector.dataset import Dataset
    from projector.evaluation import _check_k, knn_indices
    from projector.quality import knn_preservation

    if not isinstance(ds, Dataset):
        raise ProjectorError(
            f"ds is a {type(ds).__name__}; pass a projector.Dataset with both embedding columns, "
            "e.g. projector.Dataset.from_arrays({'a': emb_a, 'b': emb_b})."
        )
    for name, value in (("a", a), ("b", b)):
        if value not in ds.roles.vectors:
            raise SchemaError(f"{name}={value!r} is not an embedding column; embedding columns: {list(ds.roles.vectors)}")
    n = len(ds)
    if n < 2:
        raise ProjectorError(f"the dataset has {n} row; comparing neighbourhoods needs at least 2.")
    k = _check_k(k, n)
    in_a = knn_indices(ds.vectors(a), k, metric, dataset=ds, column=a, exact=exact)
    in_b = knn_indices(ds.vectors(b), k, metric, dataset=ds, column=b, exact=exact)
    shared = np.rint(knn_preservation(in_a, in_b).astype(np.float64) * k)
    jaccard = (shared / (2 * k - shared)).astype(np.float32)
    jaccard.flags.writeable = False
    return Comparison(a=a, b=b, k=k, metric=metric, jaccard=jaccard, dataset=ds)


def align(reference_coords: Any, coords: Any) -> np.ndarray:
    """``coords`` moved onto ``reference_coords`` by the best similarity transform.

    Fits a rotation (or reflection), one uniform scale and a translation on all rows, by
    least squares (orthogonal Procrustes: one SVD of the d x d cross-covariance), and applies
    it to ``coords``. Two maps of the same rows then line up where they agree, so unchanged
    regions stay in place. Either argument may be a
    :class:`~projector.projection.Projection`; both must be (N, d) with the same shape.

    Returns (N, d) coordinates, float32 when ``coords`` is float32, else float64.
    """
    target = check_coords(getattr(reference_coords, "coords", reference_coords), "reference_coords", min_rows=2)
    moving = check_coords(getattr(coords, "coords", coords), "coords", min_rows=2)
    if target.shape != moving.shape:
        raise ProjectorError(
            f"reference_coords {target.shape} and coords {moving.shape} must have the same shape: "
            "one row per sample of the same dataset, in the same order."
        )
    x = target.astype(np.float64)
    y = moving.astype(np.float64)
    x_mean, y_mean = x.mean(axis=0), y.mean(axis=0)
    x0, y0 = x - x_mean, y - y_mean
    spread = float((y0 * y0).sum())
    if spread == 0.0:
        raise ProjectorError("coords places every row at one point; there is no layout to align.")
    u, s, vt = np.linalg.svd(y0.T @ x0)
    rotation = u @ vt
    scale = float(s.sum()) / spread
    out = scale * (y0 @ rotation) + x_mean
    return out.astype(np.float32 if moving.dtype == np.float32 else np.float64)
