"""The point layer of an exported image: every point, shaded by the app's raster shading.

The points of a PNG or SVG are drawn by :class:`projector.explore.shading.MapRaster`, the same
NumPy shading as the app's raster mode and the report's raster underlay, so an exported image
has the app's pixels and colours: categories blended by count in the legend's palette, numbers
as the mean per pixel on the colour bar's colormap, grey where a numeric value is missing, and
opacity rising with the count by rank. A picture has no opacity slider: its densest pixels are
opaque, as the app draws them at opacity 1 (its default is 0.8). It needs no numba
compilation; ``benchmarks/bench_shading.py`` measured it against the datashader shading the
export used before (see benchmarks/README.md).

Points are crisp at any count: unless ``point_size`` is given, a point grows by the radius at
which all points together cover about a tenth of the plot (up to 4 pixels; only into empty
pixels, as the app spreads them), so a few hundred points stay visible and from about 100k
points on every point is one pixel and a million do not smear into blobs.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from projector.explore.colors import ColorSpec

MAX_ADAPTIVE_PX = 4  # most pixels a point grows by on each side when point_size is None
POINT_COVER = 0.1  # adaptive sizing: all points together cover about this share of the plot
DATA_MARGIN = 0.04  # share of the data range left blank on each side of the points
OPACITY = 1.0  # the densest pixels' opacity (MapRaster.render's ``opacity``)


def point_layer(xy: np.ndarray, colors: "ColorSpec | None", width: int, height: int, point_size: int | None) -> np.ndarray:
    """Every finite point of ``xy`` (N, 2) as ``(height, width, 4)`` uint8 RGBA, row 0 at the top.

    ``point_size`` is a point's diameter in pixels; None sizes points by :func:`adaptive_spread`.
    """
    from projector.explore.shading import MapRaster, Viewport

    x, y = np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1])  # column-wise: 2-5x faster
    ranges = plot_ranges(xy, width, height)
    if ranges is None:
        return np.zeros((height, width, 4), dtype=np.uint8)
    (x0, x1), (y0, y1) = ranges
    drawn = int(np.count_nonzero(np.isfinite(x) & np.isfinite(y)))
    grow = adaptive_spread(drawn, width * height) if point_size is None else (point_size - 1) // 2
    raster = MapRaster(x, y)  # rows that are not finite fall outside every view
    packed = raster.render(Viewport(x0, x1, y0, y1, width, height), colors, opacity=OPACITY, spread=grow)
    return np.ascontiguousarray(packed[::-1]).view(np.uint8).reshape(height, width, 4).copy()


def adaptive_spread(points: int, pixels: int) -> int:
    """Pixels each point grows by on every side when no size is given.

    The radius at which all ``points`` together cover :data:`POINT_COVER` of the plot, rounded
    and capped: on a 1200x900 image, 4 pixels for a few hundred points, 2 for 5k, 1 for 20k-60k,
    none (one crisp pixel per point) from about 100k.
    """
    radius = math.sqrt(POINT_COVER * pixels / (math.pi * max(points, 1)))
    return int(min(MAX_ADAPTIVE_PX, round(radius)))


def plot_ranges(xy: np.ndarray, width: int, height: int) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """The data ranges a ``width`` x ``height`` point layer of ``xy`` shows (:func:`data_ranges`
    of its finite rows), None without any: overlays map to pixels with the same ranges."""
    finite = np.isfinite(xy[:, 0]) & np.isfinite(xy[:, 1])
    if not finite.any():
        return None
    return data_ranges(xy if finite.all() else xy[finite], width, height)


def data_ranges(xy: np.ndarray, width: int, height: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """Data ranges that show every point with a margin, one data unit the same length on both axes.

    Far points included, unlike the app's and the report's first view: a picture has no reset tool."""
    low = np.array([xy[:, 0].min(), xy[:, 1].min()], dtype=np.float64)
    high = np.array([xy[:, 0].max(), xy[:, 1].max()], dtype=np.float64)
    span = np.maximum(high - low, 1e-9 * np.maximum(np.abs(low), 1.0))
    span = np.where(high > low, span, np.maximum(np.abs(low), 1.0))  # one point, or one line: a unit box
    per_pixel = max(span[0] / width, span[1] / height) * (1 + 2 * DATA_MARGIN)
    centre = (low + high) / 2
    half = np.array([width, height]) * per_pixel / 2
    return (centre[0] - half[0], centre[0] + half[0]), (centre[1] - half[1], centre[1] + half[1])
