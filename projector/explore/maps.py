"""The maps a store holds: what one map is (:class:`MapEntry`), its readable name
(:func:`map_key`), and what a comparison of two embedding columns leaves behind.

Kept apart from the store so views, reports and tests can name and describe a map without the
store's threads and caches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from projector.validation import method_name

if TYPE_CHECKING:
    from projector.projection import Projection
    from projector.quality import Quality

__all__ = ["MapEntry", "map_key", "ComparisonResult", "comparison_column", "QUALITY_PREFIX"]

QUALITY_PREFIX = "k-NN preserved: "  # colour-by names of a map's per-point quality start so


@dataclass(frozen=True)
class MapEntry:
    """One map the page can show: coordinates for every row, and where they came from."""

    key: str
    coords: np.ndarray  # (N, dims) float32
    source: str  # "computed", "cache", "user" (coordinates given with the data)
    projection: "Projection | None" = None
    axis_names: tuple[str, ...] = ()

    @property
    def method(self) -> str:
        return self.projection.method if self.projection is not None else "user"

    @property
    def dims(self) -> int:
        return self.coords.shape[1]

    @property
    def column(self) -> str | None:
        """The embedding column the map was computed from (None for given coordinates)."""
        return self.projection.column if self.projection is not None else None

    def describe(self, quality: "Quality | None" = None, pending: str = "") -> list[str]:
        """Lines for the page: the quality of the axes drawn (or how far its computation is),
        explained variance, notes."""
        lines: list[str] = []
        projection = self.projection
        if projection is None:
            return ["coordinates given with the data, shown as they are"]
        if quality is not None:
            of = f" ({quality.describe_axes(self.axis_labels())})" if quality.axes else ""
            lines.append(f"trustworthiness {quality.trustworthiness:.3f} · k-NN preserved {quality.knn_preservation:.1%}{of}")
        elif pending:
            lines.append(pending)
        ratios = projection.provenance.get("explained_variance_ratio")
        if ratios:
            shown = ", ".join(f"PC{i + 1} {r:.1%}" for i, r in enumerate(ratios[:10]))
            lines.append(f"explained variance: {shown}")
        lines.extend(projection.notes)
        return lines

    def axis_labels(self) -> list[str]:
        """A name per coordinate: PC1, PC2 ... for PCA, else the column names."""
        if self.method == "pca":
            return [f"PC{i + 1}" for i in range(self.dims)]
        return list(self.axis_names) if len(self.axis_names) == self.dims else [f"axis {i + 1}" for i in range(self.dims)]

    def drawn_axes(self, pca_x: int = 1, pca_y: int = 2) -> tuple[int, int]:
        """The two coordinates a 2-D view draws: the chosen components of a wide PCA (1-based
        ``pca_x``, ``pca_y``), else the first two."""
        if self.method == "pca" and self.dims > 2:
            return (min(pca_x, self.dims) - 1, min(pca_y, self.dims) - 1)
        return (0, 1)


def comparison_column(a: str, b: str, k: int) -> str:
    """The colour-by name of a comparison's per-row overlap."""
    return f"{k}-NN overlap: {a} vs {b}"


@dataclass(frozen=True)
class ComparisonResult:
    """A comparison of two embedding columns and the two maps drawn for it (B aligned to A)."""

    comparison: Any
    coords_a: np.ndarray
    coords_b: np.ndarray


def map_key(projection: "Projection") -> str:
    """A readable, unique name for a projection: method, column and non-default parameters."""
    from projector.reduce.params import PARAMS

    method = projection.method
    key = f"{method_name(method)} of {projection.column}"
    titles = projection.provenance.get("axis_titles")
    params_type = PARAMS.get(method)
    if titles:  # custom axes: the ends say what the map is
        key += f" ({'; '.join(titles)})"
    elif params_type is not None:
        defaults = params_type().to_dict()
        changed = [f"{name}={value}" for name, value in projection.params.items() if name not in ("dims",) and defaults.get(name) != value]
        if changed:
            key += f" ({', '.join(changed)})"
    if method != "pca" and projection.coords.shape[1] == 3:
        key += " [3-D]"
    return key
