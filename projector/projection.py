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

if TYPE_CHECKING:
    from projector.clusters import Clusters
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
    """

    coords: np.ndarray
    method: str
    column: str
    params: dict[str, Any]
    quality: "Quality | None" = None
    provenance: dict[str, Any] = field(default_factory=dict)
    clusters: "Clusters | None" = None

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
