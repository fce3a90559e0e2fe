"""Which rows a click, box or lasso picks, computed on the server from the map coordinates.

Selections are decided here rather than in the browser so that a WebGL scatter and a
server-side raster (where the browser holds no points) select the same rows.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

__all__ = ["rows_in_box", "rows_in_polygon", "nearest_row", "rows_for_geometry"]


def rows_in_box(x: np.ndarray, y: np.ndarray, x0: float, x1: float, y0: float, y1: float) -> np.ndarray:
    """Rows inside the box (edges included), in row order."""
    x0, x1 = sorted((x0, x1))
    y0, y1 = sorted((y0, y1))
    return np.flatnonzero((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1))


def rows_in_polygon(x: np.ndarray, y: np.ndarray, xs: Any, ys: Any) -> np.ndarray:
    """Rows inside a closed polygon (even-odd rule), in row order."""
    px = np.asarray(xs, dtype=np.float64)
    py = np.asarray(ys, dtype=np.float64)
    if px.size < 3:
        return np.zeros(0, dtype=np.int64)
    candidates = rows_in_box(x, y, px.min(), px.max(), py.min(), py.max())
    cx = x[candidates].astype(np.float64)
    cy = y[candidates].astype(np.float64)
    inside = np.zeros(candidates.size, dtype=bool)
    for i in range(px.size):
        xa, ya, xb, yb = px[i - 1], py[i - 1], px[i], py[i]
        if ya == yb:
            continue
        crosses = (ya > cy) != (yb > cy)
        at = xa + (cy - ya) * (xb - xa) / (yb - ya)
        inside ^= crosses & (cx < at)
    return candidates[inside]


def nearest_row(x: np.ndarray, y: np.ndarray, px: float, py: float, scale_x: float, scale_y: float, tolerance: float = 10.0, visible: np.ndarray | None = None) -> int | None:
    """The row drawn nearest to a click at ``(px, py)``, or None if none lies within
    ``tolerance`` screen pixels; ``scale_*`` are pixels per data unit on each axis."""
    dx = (x - px) * scale_x
    dy = (y - py) * scale_y
    distance = dx * dx + dy * dy
    if visible is not None:
        distance = np.where(visible, distance, np.inf)
    if distance.size == 0:
        return None
    row = int(np.argmin(distance))
    return row if distance[row] <= tolerance * tolerance else None


def rows_for_geometry(x: np.ndarray, y: np.ndarray, geometry: Mapping[str, Any]) -> np.ndarray | None:
    """Rows picked by a Bokeh selection geometry (``rect`` or ``poly``); None for other kinds."""
    kind = geometry.get("type")
    if kind == "rect":
        return rows_in_box(x, y, geometry["x0"], geometry["x1"], geometry["y0"], geometry["y1"])
    if kind == "poly":
        return rows_in_polygon(x, y, geometry["x"], geometry["y"])
    return None
