"""Where a map's points are dense, as a few contour lines: :func:`density_contours`.

The points are binned on a fixed grid, the counts smoothed with a Gaussian (Scott's rule for
the bandwidth) and lines traced where the density crosses the thresholds that enclose the
requested shares of the points. Only the binning touches every point (one ``bincount``); the
smoothing, the thresholds and the tracing work on the grid, so a million points cost about
what ten thousand do (``benchmarks/bench_overlays.py``). The result is plain data
(:class:`~projector.explore.overlays.Contour`) that the app, the reports and the image export
draw alike.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from projector.errors import ProjectorError
from projector.explore.overlays import Contour
from projector.validation import check_coords, check_whole

__all__ = ["density_contours", "category_contours", "DEFAULT_LEVELS", "DEFAULT_GRID"]

DEFAULT_LEVELS = (0.5, 0.8, 0.95)  # shares of the points enclosed: the core, most, nearly all
DEFAULT_GRID = 256  # cells per side: lines smooth at report size, 65k cells to smooth and trace
_MIN_GRID, _MAX_GRID = 16, 2048
_MIN_POINTS = 3  # fewer points have no density worth outlining
_PAD_BANDWIDTHS = 3.0  # the grid reaches this many bandwidths past the points, so lines close


def density_contours(
    coords: Any,
    *,
    levels: Sequence[float] = DEFAULT_LEVELS,
    grid: int = DEFAULT_GRID,
    labels: Any = None,
    top: int = 5,
) -> tuple[Contour, ...]:
    """Contour lines of the points' kernel density, each enclosing a share of the points.

    Args:
        coords: (N, 2+) map coordinates; the first two columns are used.
        levels: shares of the points each line encloses, each in (0, 1): 0.5 outlines the
            densest region holding half of them.
        grid: cells per side of the density grid, in [16, 2048].
        labels: N categories (None: outline all points together). Given, each of the
            ``top`` most frequent categories gets its own lines (``Contour.category``);
            missing labels (None/NaN) are left out.
        top: how many categories to outline, with ``labels``.

    Returns one :class:`~projector.explore.overlays.Contour` per level (per category, in
    order of frequency), paths in map coordinates; empty when there are fewer than 3 points.
    Points all on one spot have no area to outline: their levels come with no paths.
    """
    points = _check_coords(coords)
    if labels is None:
        return _contours(points, _bounds(points), _check_levels(levels), _check_grid(grid), None)
    return category_contours(points, _top_groups(labels, points.shape[0], top), levels=levels, grid=grid)


def category_contours(
    coords: Any,
    groups: Sequence[tuple[str, Any]],
    *,
    levels: Sequence[float] = DEFAULT_LEVELS,
    grid: int = DEFAULT_GRID,
) -> tuple[Contour, ...]:
    """Contour lines of each group of rows, on one grid spanning all the points (so the
    groups' lines share a frame): ``groups`` is ``(category, rows)`` pairs, rows as indices
    into ``coords``, in the order to draw them. A group of fewer than 3 rows gets no lines.

    The caller chooses the groups (:func:`density_contours` takes the most frequent labels;
    :func:`projector.explore.map_overlays.map_overlays` a column's legend entries), so the
    categories outlined are the ones it names elsewhere.
    """
    points = _check_coords(coords)
    shares = _check_levels(levels)
    cells = _check_grid(grid)
    bounds = _bounds(points)  # once: a pass over every point costs more than a group's grid
    found: list[Contour] = []
    for name, rows in groups:
        found.extend(_contours(points[np.asarray(rows, dtype=np.int64)], bounds, shares, cells, str(name)))
    return tuple(found)


def _bounds(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The lowest and highest x and y of ``points``: the frame every group's grid spans."""
    x, y = points[:, 0], points[:, 1]
    return np.array([x.min(), y.min()]), np.array([x.max(), y.max()])


def _contours(points: np.ndarray, bounds: tuple[np.ndarray, np.ndarray], shares: tuple[float, ...], cells: int, category: str | None) -> tuple[Contour, ...]:
    """The lines of ``points`` on a grid spanning ``bounds`` (all points': categories share a frame)."""
    if points.shape[0] < _MIN_POINTS:
        return ()
    bandwidth = _scott_bandwidth(points, bounds[1] - bounds[0])
    low = bounds[0] - _PAD_BANDWIDTHS * bandwidth
    high = bounds[1] + _PAD_BANDWIDTHS * bandwidth
    step = (high - low) / cells
    counts = _bin(points, low, step, cells)
    from scipy.ndimage import gaussian_filter

    density = gaussian_filter(counts, sigma=(bandwidth[1] / step[1], bandwidth[0] / step[0]), mode="constant", truncate=3.0)
    thresholds = _thresholds(density, counts, shares)
    import contourpy

    xs = low[0] + step[0] * (np.arange(cells) + 0.5)
    ys = low[1] + step[1] * (np.arange(cells) + 0.5)
    generator = contourpy.contour_generator(xs, ys, density, line_type="Separate")
    contours = []
    for share, threshold in zip(shares, thresholds):
        paths = tuple(np.asarray(path, dtype=np.float64) for path in generator.lines(threshold) if len(path) >= 2)
        contours.append(Contour(level=share, paths=paths, category=category))
    return tuple(contours)


def _scott_bandwidth(points: np.ndarray, span: np.ndarray) -> np.ndarray:
    """Per axis: Scott's rule, ``sigma * n^(-1/6)`` in 2-D, with a robust sigma (the smaller of
    the standard deviation and IQR / 1.349, so a few far points do not blur the core). Never
    zero: points on a line or a dot get a sliver of the whole map's span."""
    n = points.shape[0]
    spread = points.std(axis=0)
    quartiles = np.percentile(points, [25, 75], axis=0)
    iqr = (quartiles[1] - quartiles[0]) / 1.349
    sigma = np.where(iqr > 0, np.minimum(spread, iqr), spread)
    floor = np.where(span > 0, span, 1.0) / 1000.0
    return np.maximum(sigma * n ** (-1.0 / 6.0), floor)


def _bin(points: np.ndarray, low: np.ndarray, step: np.ndarray, cells: int) -> np.ndarray:
    """Point counts per cell, shaped (y, x): one pass over the points."""
    column = np.clip(((points[:, 0] - low[0]) / step[0]).astype(np.int64), 0, cells - 1)
    row = np.clip(((points[:, 1] - low[1]) / step[1]).astype(np.int64), 0, cells - 1)
    return np.bincount(row * cells + column, minlength=cells * cells).reshape(cells, cells).astype(np.float64)


def _thresholds(density: np.ndarray, counts: np.ndarray, shares: tuple[float, ...]) -> list[float]:
    """The density above which cells hold each share of the points: cells sorted densest
    first, their point counts summed until the share is reached."""
    flat = density.ravel()
    order = np.argsort(flat)[::-1]
    held = np.cumsum(counts.ravel()[order])
    held /= held[-1]
    positive = flat[flat > 0]
    smallest = float(positive.min()) if positive.size else 1e-12
    found = []
    for share in shares:
        cell = order[min(int(np.searchsorted(held, share)), order.size - 1)]
        found.append(max(float(flat[cell]), smallest))  # a line at zero density would trace the grid's edge
    return found


def _top_groups(labels: Any, n: int, top: int) -> list[tuple[str, np.ndarray]]:
    """``(category, rows)`` of the ``top`` most frequent categories (ties by name)."""
    from projector.quality import _label_codes

    top = check_whole("top", top, minimum=1, meaning="categories outlined", default=5)
    values = np.asarray(labels, dtype=object) if not isinstance(labels, np.ndarray) else labels
    if values.ndim != 1 or values.shape[0] != n:
        raise ProjectorError(f"labels has shape {values.shape}; expected one label per point ({n},).")
    codes = _label_codes(values, n)
    present = codes >= 0
    if not present.any():
        return []
    rows = np.flatnonzero(present)
    known, first = np.unique(codes[rows], return_index=True)
    counts = np.bincount(codes[rows])
    names = {int(code): str(values[rows[at]]) for code, at in zip(known, first)}
    ranked = sorted(names, key=lambda code: (-counts[code], names[code]))[: int(top)]
    return [(names[code], np.flatnonzero(codes == code)) for code in ranked]


def _check_coords(coords: Any) -> np.ndarray:
    points = check_coords(getattr(coords, "coords", coords), "coords", min_dims=2)
    return np.asarray(points[:, :2], dtype=np.float64)


def _check_levels(levels: Sequence[float]) -> tuple[float, ...]:
    shares = tuple(float(level) for level in levels)
    if not shares or not all(0.0 < share < 1.0 for share in shares):
        raise ProjectorError(f"levels={tuple(levels)!r} must be shares of the points, each in (0, 1); the default is {DEFAULT_LEVELS}.")
    return shares


def _check_grid(grid: int) -> int:
    return check_whole("grid", grid, minimum=_MIN_GRID, maximum=_MAX_GRID, meaning="cells per side", default=DEFAULT_GRID)
