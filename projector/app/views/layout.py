"""The drawn axes of one map, built once and shared by every page that shows them.

Each new page used to copy the map's x and y, frame them and, past the WebGL limit, bin them
for the raster and index them for hover: the same arrays for every visitor. A :class:`MapLayout`
is kept by the store (:meth:`DataStore.shared`) per map and pair of axes instead, so opening
another tab on a map costs the server its widgets, not its data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from projector.explore.framing import Frame, frame
from projector.explore.shading import MapRaster, NearestRows

if TYPE_CHECKING:
    from projector.app.state import ViewState
    from projector.explore.maps import MapEntry
    from projector.explore.store import DataStore

__all__ = ["MapLayout", "map_axes", "map_layout"]


def map_axes(entry: "MapEntry", state: "ViewState") -> tuple[np.ndarray, np.ndarray, tuple[str, str]]:
    """The x and y of every row on the current map, and the axis names."""
    i, j = entry.drawn_axes(state.pca_x, state.pca_y)
    if entry.method == "pca":
        names = (f"PC{i + 1}", f"PC{j + 1}")
    else:
        names = (entry.axis_names or ("x", "y"))[:2]
    return entry.coords[:, i], entry.coords[:, j], (names[0], names[1])


class MapLayout:
    """x and y as contiguous float32, their opening :class:`Frame`, and (built on first use,
    for raster mode) the row binning and the nearest-row index. Read-only once built."""

    def __init__(self, entry: "MapEntry", x: np.ndarray, y: np.ndarray, names: tuple[str, str]) -> None:
        self.entry = entry  # held, so the store's key (which names it by id) stays unique
        self.x = np.array(x, dtype=np.float32)  # own copies, read-only: every page holds them
        self.y = np.array(y, dtype=np.float32)
        self.x.flags.writeable = self.y.flags.writeable = False
        self.names = names
        self.frame: Frame | None = frame(self.x, self.y) if self.x.size else None
        self._raster: MapRaster | None = None
        self._nearest: NearestRows | None = None

    @property
    def raster(self) -> MapRaster:
        if self._raster is None:
            self._raster = MapRaster(self.x, self.y)
        return self._raster

    @property
    def nearest(self) -> NearestRows:
        if self._nearest is None:
            self._nearest = NearestRows(self.x, self.y).build()
        return self._nearest


def map_layout(store: "DataStore", entry: "MapEntry", state: "ViewState") -> MapLayout:
    """The shared layout of ``entry`` on the axes ``state`` draws."""
    axes = entry.drawn_axes(state.pca_x, state.pca_y)
    return store.shared(("map-layout", entry.key, id(entry), *axes), lambda: MapLayout(entry, *map_axes(entry, state)))
