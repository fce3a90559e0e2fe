"""What is drawn over a map's points: cluster labels and density contours, as plain data.

The explore layer computes them once per map (:mod:`projector.explore.labels`,
:mod:`projector.explore.density`); every surface draws the same objects: the app and the
reports through :mod:`projector.figures.overlays`, the PNG/SVG export through
:mod:`projector.image`. Coordinates are in the map's data units, so a surface only maps them to
its own pixels. Texts are plain text: each surface escapes them for its sink.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["MapLabel", "Contour", "Overlays"]


@dataclass(frozen=True)
class MapLabel:
    """A label at ``(x, y)``: ``text`` names a cluster of ``size`` rows.

    ``level`` 0 is the coarsest (shown zoomed out); higher levels are finer and shown as the
    user zooms in. ``cluster`` is the cluster's id in the ``cluster`` column.
    """

    x: float
    y: float
    text: str
    size: int
    level: int = 0
    cluster: int = -1


@dataclass(frozen=True)
class Contour:
    """One density level: closed or open polylines, each an (M, 2) array of map coordinates.

    ``level`` is the share of the points the line encloses (0.5: half of them lie inside);
    ``category`` names the category whose points it outlines, None for all points. ``color``
    is the colour that category has when the map is coloured by its column (None: not known);
    a surface prefers the colour its own legend gives the category, so lines and legend agree.
    """

    level: float
    paths: tuple[np.ndarray, ...]
    category: str | None = None
    color: str | None = None


@dataclass(frozen=True)
class Overlays:
    """Everything drawn over one map: labels (all levels) and contours."""

    labels: tuple[MapLabel, ...] = field(default_factory=tuple)
    contours: tuple[Contour, ...] = field(default_factory=tuple)

    def __bool__(self) -> bool:
        return bool(self.labels or self.contours)
