"""A Projection: map coordinates plus how they were made and how faithful they are.

Frame in, frame out: :meth:`Projection.to_table` returns the dataset's table with the
coordinate columns added and the provenance (method, parameters, device, timings, quality,
library versions) in the schema metadata, so a saved Parquet file says how it was made.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from projector.errors import ProjectorError

if TYPE_CHECKING:
    from projector.clusters import Clusters
    from projector.dataset import Dataset
    from projector.progress import ProgressCallback
    from projector.quality import Quality

__all__ = ["Projection", "PROVENANCE_KEY", "coordinate_names"]

PROVENANCE_KEY = b"projector:projection"


def coordinate_names(method: str, dims: int) -> list[str]:
    """Documented column names: ``umap_x, umap_y[, umap_z]``; ``pca_1 .. pca_K`` past 3 PCA dims."""
    if dims <= 3:
        return [f"{method}_{axis}" for axis in "xyz"[:dims]]
    return [f"{method}_{i}" for i in range(1, dims + 1)]


@dataclass(frozen=True)
class Projection:
    """The coordinates of every row in a map, with provenance and quality.

    Attributes:
        coords: (N, dims) float32, row-aligned with the dataset.
        method: ``"pca"``, ``"umap"``, ``"tsne"`` or ``"identity"`` (D <= 3 data shown as is).
        column: the embedding column it was computed from.
        params: the effective parameters (after clamping to what N allows).
        quality: trustworthiness, k-NN preservation (mean and per point), label accuracy.
        provenance: device, backend, timings, library versions, data hash, notes.
        clusters: the map's clusters once computed (``projection.with_clusters(ds.clusters(projection))``).
        fitted: the dataset the map was computed from, so that :meth:`transform` can place new
            rows; held by reference, never pickled or saved (a saved map gets it back through
            :meth:`from_saved`).
        model: what PCA fitted (``mean`` (D,), ``components`` (dims, D)), for :meth:`transform`;
            empty for other methods, and for a PCA from the cache or a file (refitted on demand).
    """

    coords: np.ndarray
    method: str
    column: str
    params: dict[str, Any]
    quality: "Quality | None" = None
    provenance: dict[str, Any] = field(default_factory=dict)
    clusters: "Clusters | None" = None
    fitted: "Dataset | None" = field(default=None, repr=False, compare=False)
    model: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_saved(cls, dataset: "Dataset") -> "Projection":
        """The map saved in ``dataset``'s table (a ``projector project`` output or ``to_table``),
        fitted to that dataset so that :meth:`transform` can place new rows in it."""
        metadata = (dataset.table.schema.metadata or {}).get(PROVENANCE_KEY)
        where = f"{dataset.source}: " if dataset.source else ""
        if metadata is None:
            raise ProjectorError(
                f"{where}no saved map in this table (no {PROVENANCE_KEY.decode()!r} schema metadata); "
                "pass the output of `projector project` or of Projection.to_table"
            )
        meta = json.loads(metadata)
        missing = [name for name in meta["columns"] if name not in dataset.column_names]
        if missing:
            raise ProjectorError(f"{where}the map's coordinate column {missing[0]!r} is missing; columns: {dataset.column_names}")
        coords = np.column_stack([dataset.table.column(name).to_numpy() for name in meta["columns"]]).astype(np.float32)
        skip = ("method", "column", "columns", "params", "quality", "clusters")
        provenance = {key: value for key, value in meta.items() if key not in skip}
        return cls(coords, meta["method"], meta["column"], dict(meta["params"]), None, provenance, fitted=dataset)

    def transform(
        self,
        new: Any,
        *,
        dataset: "Dataset | None" = None,
        progress: "ProgressCallback | list[ProgressCallback] | None" = None,
    ) -> np.ndarray:
        """Coordinates (M, dims) of new rows in this map's frame, the fitted rows held where they are.

        ``new`` is an (M, D) array, or a Dataset or Arrow table with this map's embedding
        column. PCA projects exactly onto the fitted components; t-SNE and UMAP start each new
        row among its nearest fitted rows (found in the original space by the fitted dataset's
        index) and optimise only the new rows against the fixed map (see
        :mod:`projector.reduce.placement`). A new row repeating a fitted row's vector lands on
        that row. ``dataset`` is the data the map was fitted on: needed only when this
        projection does not hold it (loaded from a file or unpickled) and is not PCA.
        """
        from projector.reduce.placement import place

        return place(self, new, dataset if dataset is not None else self.fitted, progress=progress).coords

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the fitted dataset (its whole table): ``transform(new, dataset=...)`` then."""
        return {**self.__dict__, "fitted": None}

    def with_clusters(self, clusters: "Clusters") -> "Projection":
        """This projection with ``clusters`` attached: ``to_table`` then writes ``cluster`` and ``cluster_label``."""
        if len(clusters.labels) != len(self.coords):
            raise ValueError(f"clusters: {len(clusters.labels)} labels for a map of {len(self.coords)} rows; cluster this map")
        return replace(self, clusters=clusters)

    @property
    def columns(self) -> list[str]:
        return coordinate_names(self.method, self.coords.shape[1])

    @property
    def notes(self) -> list[str]:
        return list(self.provenance.get("notes", []))

    def metadata(self) -> dict[str, Any]:
        """Everything but the arrays, JSON-ready."""
        return {
            "method": self.method,
            "column": self.column,
            "columns": self.columns,
            "params": self.params,
            "quality": self.quality.to_dict() if self.quality is not None else None,
            **({"clusters": {"method": self.clusters.method, "params": self.clusters.params, "count": self.clusters.count}} if self.clusters is not None else {}),
            **self.provenance,
        }

    def to_table(self, table: pa.Table) -> pa.Table:
        """``table`` with the coordinate columns (and per-point quality) added, provenance in metadata."""
        from projector._vectors import numeric_array

        out = table
        for j, name in enumerate(self.columns):
            out = _set(out, name, numeric_array(np.ascontiguousarray(self.coords[:, j])))
        if self.quality is not None:
            out = _set(out, f"{self.method}_knn_preserved", numeric_array(self.quality.per_point_preservation.astype(np.float32)))
        if self.clusters is not None:
            out = _set(out, "cluster", pa.array(self.clusters.labels, pa.int32()))
            out = _set(out, "cluster_label", pa.array(self.clusters.label_of(), pa.string()))
        metadata = dict(out.schema.metadata or {})
        metadata[PROVENANCE_KEY] = json.dumps(self.metadata(), default=_json_default).encode()
        return out.replace_schema_metadata(metadata)

    def _repr_mimebundle_(self, include=None, exclude=None):
        """In Jupyter, a projection displays as a map of its coordinates."""
        from projector.dataset import Dataset
        from projector.notebook import MapView, repr_bundle

        def view() -> MapView:
            points = Dataset.from_arrays(self.coords[:, :2], name=f"{self.method}_map", source=f"{self.method} of {self.column}")
            return MapView(points)

        return repr_bundle(view, repr(self), include, exclude)

    def __repr__(self) -> str:
        quality = ""
        if self.quality is not None:
            quality = f", trustworthiness {self.quality.trustworthiness:.3f}, kNN preserved {self.quality.knn_preservation:.2f}"
        seconds = self.provenance.get("seconds", {}).get("total")
        took = f", {seconds:.1f} s" if seconds is not None else ""
        return f"<Projection {self.method} of {self.column!r}: {len(self.coords)} x {self.coords.shape[1]}{quality}{took}>"


def _set(table: pa.Table, name: str, values: pa.Array) -> pa.Table:
    if name in table.column_names:
        return table.set_column(table.column_names.index(name), name, values)
    return table.append_column(name, values)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
