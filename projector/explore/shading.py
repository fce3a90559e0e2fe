"""The one raster shading: every drawn point binned into an RGBA image of a viewport, in NumPy.

Past the number of points a WebGL scatter draws smoothly, the browser gets a picture instead of
the points: :class:`MapRaster` bins ALL drawn rows onto the pixel grid of the current x/y ranges
and plot size and shades each pixel like datashader's ``count`` / ``count_cat`` / ``mean``
aggregations with ``tf.shade``: categories blend by count in the legend's palette, numbers show
their mean per pixel on the colour bar's colormap, and rows without a value are grey; opacity
rises with the count by rank (histogram equalisation); isolated points are spread by a few
pixels so they stay visible. With a selection, the other drawn rows are shaded grey and the
selected rows in colour on top, as the WebGL scatter greys the rest.

The binning is NumPy (``np.bincount``), not datashader's numba kernels: on the 2-core machine
these were measured at 0.01-0.15 s per million rows once compiled, like NumPy, but compiling
them (count, count_cat, mean, dynspread) took 15-27 s in the first session of a server, which
alone would miss the 5 s target for opening a million-point map.

As the browser holds no points in this mode, hover asks the server which real row lies under
the pointer: :class:`NearestRows` answers from a grid of the coordinates. The Bokeh side (the
image renderer and the pointer) is :mod:`projector.figures.raster`. Nothing here imports
Panel or Bokeh.

The same shading draws the report's raster underlay (:mod:`projector.figures.map_block`) and the
points of an exported PNG/SVG (:mod:`projector.image.points`), so the three cannot drift apart;
``benchmarks/bench_shading.py`` compares it with the datashader shading the export used before.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from projector.explore.colors import GREY, NUMERIC_COLORMAP, SINGLE_COLOR, numeric_palette

if TYPE_CHECKING:
    from projector.explore.colors import ColorSpec

# GREY, NUMERIC_COLORMAP and numeric_palette are defined in projector.explore.colors, and
# importable from here too, where the shading that draws them lives
__all__ = ["MapRaster", "NearestRows", "Viewport", "spread_points", "numeric_palette", "GREY", "NUMERIC_COLORMAP", "DEFAULT_OPACITY"]


DEFAULT_OPACITY = 0.8  # the most opaque a pixel gets unless told: the app's default opacity
GREYED_ALPHA = 0.35  # opacity of rows outside the selection, as a share of the point opacity
LEAST_ALPHA = 150 / 255  # opacity of the sparsest pixels, as a share of the densest's: datashader's min_alpha
MAX_PIXELS = 4096  # widest or tallest image rendered for a browser, whatever it reports
LARGEST_VIEWPORT = 8192  # widest or tallest image rendered at all (an exported image is up to 8000)
FRAMES_KEPT = 8  # plain frames each map raster keeps for the next page that opens on the same view
FRAME_CACHE_PIXELS = 1920 * 1200  # larger frames are not kept


@dataclass(frozen=True)
class Viewport:
    """The data ranges shown and the plot's inner size in screen pixels."""

    x0: float
    x1: float
    y0: float
    y1: float
    width: int
    height: int

    def __post_init__(self) -> None:
        if not (self.x1 > self.x0 and self.y1 > self.y0):
            raise ValueError(f"viewport ranges x=({self.x0}, {self.x1}), y=({self.y0}, {self.y1}) must be increasing")
        for name in ("width", "height"):
            value = getattr(self, name)
            if not 1 <= value <= LARGEST_VIEWPORT:
                raise ValueError(f"viewport {name}={value} must be in [1, {LARGEST_VIEWPORT}]")


class MapRaster:
    """Shades the rows at ``x``, ``y`` into an RGBA image (one :meth:`render` per viewport).

    Per-row colour weights of the last colouring are kept, so a pan or a new selection only
    bins the rows again: a few ``np.bincount`` passes over every row.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        x = np.asarray(x, dtype=np.float32)
        y = np.asarray(y, dtype=np.float32)
        if x.shape != y.shape or x.ndim != 1:
            raise ValueError(f"x and y must be 1-D arrays of one length; got shapes {x.shape} and {y.shape}")
        self.x = x
        self.y = y
        self._x64 = x.astype(np.float64)  # binning at deep zoom needs more than float32's 7 digits
        self._y64 = y.astype(np.float64)
        self._weights: tuple = (None, None)  # (ColorSpec, per-row weights)
        # the last plain frames (no mask, no selection): pages opening on one map share them
        self._frames: "OrderedDict[tuple, tuple]" = OrderedDict()
        self._frames_lock = threading.Lock()

    @property
    def num_rows(self) -> int:
        return self.x.size

    def render(
        self,
        viewport: Viewport,
        colors: "ColorSpec | None",
        *,
        visible: np.ndarray | None = None,
        selection: np.ndarray | None = None,
        opacity: float = DEFAULT_OPACITY,
        spread: int = 1,
    ) -> np.ndarray:
        """The image of the drawn rows as packed RGBA ``uint32`` (red in the low byte), shape
        ``(height, width)``, row 0 at ``y0``, as Bokeh's ``image_rgba`` expects.

        Args:
            viewport: ranges and pixel size of the image.
            colors: the colouring (None: one colour).
            visible: boolean mask of the rows drawn (filters, isolate); None draws all.
            selection: rows highlighted; the other drawn rows are grey. None or empty: no selection.
            opacity: the most opaque a pixel gets, in (0, 1].
            spread: pixels an isolated point grows by on every side (only into empty pixels).
        """
        plain = visible is None and (selection is None or len(selection) == 0)
        key = (viewport, id(colors), round(float(opacity), 4), int(spread))
        if plain:
            with self._frames_lock:
                known = self._frames.get(key)
            if known is not None and known[0] is colors:
                return known[1]
        image = self._draw(viewport, colors, visible, selection, opacity, spread)
        if plain and viewport.width * viewport.height <= FRAME_CACHE_PIXELS:
            image.flags.writeable = False  # shared: nobody may paint on another page's frame
            with self._frames_lock:
                self._frames[key] = (colors, image)
                while len(self._frames) > FRAMES_KEPT:
                    self._frames.popitem(last=False)
        return image

    def _draw(self, viewport: Viewport, colors: "ColorSpec | None", visible, selection, opacity: float, spread: int) -> np.ndarray:
        size = viewport.width * viewport.height
        pixel = self._bin(viewport)  # rows not drawn go to pixel ``size``, cut off at the end
        if visible is not None:
            pixel = np.where(np.asarray(visible, dtype=bool), pixel, size)
        top, floor = pixel, None
        greyed = selection is not None and len(selection) > 0
        if greyed:
            chosen = np.zeros(self.num_rows, dtype=bool)
            chosen[np.asarray(selection, dtype=np.int64)] = True
            top, floor = np.where(chosen, pixel, size), np.where(chosen, size, pixel)
        elif colors is not None and colors.kind == "numeric" and not self._row_weights(colors)[1].all():
            floor = pixel  # rows without a value stay grey under the coloured ones
        alpha = round(255 * min(max(opacity, 0.0), 1.0))
        shape = (viewport.height, viewport.width)
        image = spread_points(self._shade(top, colors, size, alpha).reshape(shape), spread)
        if floor is not None:
            counts = np.bincount(floor, minlength=size + 1)[:size]
            grey_alpha = max(round(alpha * GREYED_ALPHA), 1) if greyed else alpha
            below = spread_points(_pack(counts > 0, _hex_rgb([GREY])[0], grey_alpha).reshape(shape), spread)
            np.copyto(image, below, where=(image >> 24) == 0)
        return image

    def _bin(self, view: Viewport) -> np.ndarray:
        """Each row's pixel as a flat index, row-major from ``y0``, or ``width * height`` for rows
        outside the view. Edges are included, the upper ones in the last pixel, as datashader bins."""
        col = (self._x64 - view.x0) * (view.width / (view.x1 - view.x0))
        row = (self._y64 - view.y0) * (view.height / (view.y1 - view.y0))
        inside = (col >= 0) & (col <= view.width) & (row >= 0) & (row <= view.height)
        flat = np.minimum(row.astype(np.int64), view.height - 1) * view.width + np.minimum(col.astype(np.int64), view.width - 1)
        return np.where(inside, flat, view.width * view.height)

    def _row_weights(self, colors: "ColorSpec") -> np.ndarray:
        """Per row: red, green, blue of its category (categorical), or its value and 1 (numeric;
        0 and 0 where missing)."""
        spec, weights = self._weights
        if spec is colors:
            return weights
        values = np.asarray(colors.values)
        if colors.kind == "numeric":
            finite = np.isfinite(values)
            weights = np.stack([np.where(finite, values, 0.0), finite.astype(np.float64)])
        else:
            palette = _hex_rgb(list(colors.palette))
            weights = np.ascontiguousarray(palette[np.clip(values.astype(np.int64), 0, len(palette) - 1)].T)
        self._weights = (colors, weights)
        return weights

    def _shade(self, pixel: np.ndarray, colors: "ColorSpec | None", size: int, alpha: int) -> np.ndarray:
        counts = np.bincount(pixel, minlength=size + 1)[:size]
        hit = counts > 0
        if colors is None or colors.kind == "none":
            rgb = _hex_rgb([colors.palette[0] if colors is not None else SINGLE_COLOR])[0]
            return _pack(hit, rgb, _ranked_alpha(counts, hit, alpha))
        weights = self._row_weights(colors)
        sums = [np.bincount(pixel, weights=channel, minlength=size + 1)[:size] for channel in weights]
        if colors.kind == "numeric":  # the mean value per pixel on the colormap
            hit = sums[1] > 0
            palette = _hex_rgb(numeric_palette())
            share = (sums[0][hit] / sums[1][hit] - colors.low) / ((colors.high - colors.low) or 1.0)
            index = np.clip(np.round(share * (len(palette) - 1)), 0, len(palette) - 1).astype(np.int64)
            return _pack(hit, palette[index], alpha)
        # categorical: the count-weighted mean of the categories' colours
        rgb = np.stack([channel[hit] for channel in sums], axis=1) / counts[hit][:, None]
        return _pack(hit, rgb, _ranked_alpha(counts, hit, alpha))


def spread_points(image: np.ndarray, px: int) -> np.ndarray:
    """``image`` with every point grown by up to ``px`` pixels into EMPTY pixels (nearest point
    first), so isolated points stay visible and dense areas keep their detail.

    A point becomes a disc of diameter ``2 * px + 1``: the offsets within ``px + 0.5`` pixels, as
    datashader's circle (a radius of exactly ``px`` would make small points crosses)."""
    if px <= 0:
        return image
    out = image.copy()
    filled = (image >> 24) > 0
    empty = ~filled
    height, width = image.shape
    offsets = sorted(
        ((dy, dx) for dy in range(-px, px + 1) for dx in range(-px, px + 1) if 0 < dy * dy + dx * dx <= px * px + px),
        key=lambda d: d[0] * d[0] + d[1] * d[1],
    )
    for dy, dx in offsets:
        source = (slice(max(0, -dy), height - max(0, dy)), slice(max(0, -dx), width - max(0, dx)))
        target = (slice(max(0, dy), height - max(0, -dy)), slice(max(0, dx), width - max(0, -dx)))
        fill = empty[target] & filled[source]
        np.copyto(out[target], image[source], where=fill)
        empty[target] &= ~fill
    return out


def _hex_rgb(colors: list[str]) -> np.ndarray:
    """``#rrggbb`` colours as an ``(n, 3)`` float array."""
    return np.asarray([[int(color.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4)] for color in colors], dtype=np.float64)


def _ranked_alpha(counts: np.ndarray, hit: np.ndarray, alpha: int) -> np.ndarray:
    """Opacity of the pixels in ``hit``: from ``LEAST_ALPHA * alpha`` at the smallest count to
    ``alpha`` at the largest, by the rank of the count among the distinct counts."""
    held = counts[hit]
    levels = np.flatnonzero(np.bincount(held))
    if levels.size < 2:
        return np.full(held.size, alpha, dtype=np.float64)
    rank = np.zeros(levels[-1] + 1, dtype=np.float64)
    rank[levels] = np.arange(levels.size) / (levels.size - 1)
    least = alpha * LEAST_ALPHA
    return least + (alpha - least) * rank[held]


def _pack(hit: np.ndarray, rgb: np.ndarray, alpha) -> np.ndarray:
    """A flat packed-RGBA image: colour ``rgb`` (one, or one per pixel in ``hit``) at ``hit``."""
    image = np.zeros(hit.size, dtype=np.uint32)
    channels = np.clip(np.round(np.broadcast_to(rgb, (int(hit.sum()), 3))), 0, 255).astype(np.uint32)
    opacity = np.clip(np.round(np.broadcast_to(alpha, (channels.shape[0],))), 0, 255).astype(np.uint32)
    image[hit] = channels[:, 0] | (channels[:, 1] << 8) | (channels[:, 2] << 16) | (opacity << 24)
    return image


class NearestRows:
    """The row nearest to a screen position, in screen pixels, among the rows drawn.

    A uniform grid over the coordinates' extent, with about ``POINTS_PER_CELL`` rows per cell,
    sorted once by cell (:meth:`build`, about 0.1 s per million rows and no SciPy import); a
    question then reads only the cells within the tolerance around the position.
    """

    POINTS_PER_CELL = 4

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x = np.asarray(x, dtype=np.float32)
        self.y = np.asarray(y, dtype=np.float32)
        self.order_: np.ndarray | None = None

    def build(self) -> "NearestRows":
        if self.order_ is not None:
            return self
        finite = np.isfinite(self.x) & np.isfinite(self.y)
        if finite.any():
            x, y = self.x[finite], self.y[finite]
            self.origin_ = (float(x.min()), float(y.min()))
            spans = (float(x.max()) - self.origin_[0], float(y.max()) - self.origin_[1])
        else:
            self.origin_, spans = (0.0, 0.0), (1.0, 1.0)
        cells = int(np.clip(np.sqrt(finite.sum() / self.POINTS_PER_CELL), 1, 2048))
        self.cells_ = cells
        self.cell_size_ = tuple((span or 1.0) / cells for span in spans)
        col, row = self._cell(self.x, self.y)
        cell = np.where(finite, row * cells + col, cells * cells)  # non-finite rows: past the last cell
        self.order_ = np.argsort(cell, kind="stable")
        self.starts_ = np.searchsorted(cell[self.order_], np.arange(cells * cells + 1))
        return self

    def _cell(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        last = self.cells_ - 1
        col = np.clip(np.floor((np.asarray(x, dtype=np.float64) - self.origin_[0]) / self.cell_size_[0]), 0, last).astype(np.int64)
        row = np.clip(np.floor((np.asarray(y, dtype=np.float64) - self.origin_[1]) / self.cell_size_[1]), 0, last).astype(np.int64)
        return col, row

    def query(self, px: float, py: float, scale_x: float, scale_y: float, tolerance: float = 10.0, visible: np.ndarray | None = None) -> int | None:
        """The drawn row nearest to ``(px, py)`` within ``tolerance`` screen pixels, or None.

        ``scale_*`` are pixels per data unit on each axis.
        """
        if self.x.size == 0 or not (np.isfinite(px) and np.isfinite(py)):
            return None
        self.build()
        rx, ry = tolerance / max(scale_x, 1e-300), tolerance / max(scale_y, 1e-300)
        (c0, c1), (r0, r1) = self._cell([px - rx, px + rx], [py - ry, py + ry])
        cells, starts = self.cells_, self.starts_
        spans = [self.order_[starts[row * cells + c0]:starts[row * cells + c1 + 1]] for row in range(r0, r1 + 1)]
        candidates = np.concatenate(spans) if spans else np.zeros(0, dtype=np.int64)
        if visible is not None and candidates.size:
            candidates = candidates[visible[candidates]]
        if candidates.size == 0:
            return None
        dx = (self.x[candidates].astype(np.float64) - px) * scale_x
        dy = (self.y[candidates].astype(np.float64) - py) * scale_y
        distance = dx * dx + dy * dy
        best = int(np.argmin(distance))
        return int(candidates[best]) if distance[best] <= tolerance * tolerance else None
