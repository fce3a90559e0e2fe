"""Where a map opens: around the bulk of its points, so a few far points cannot squeeze it.

Real maps often hold a few points far from the rest: a cluster UMAP flung away, a group of
duplicate vectors, a handful of broken rows. Framing the full min..max extent then shrinks
everything else into a corner. :func:`frame` gives each axis two ranges: the one a map opens
on (the bulk) and the full padded extent, which the app's and the report's reset tool return
to, so every point stays one click away. Pure NumPy, shared by the app
(:class:`~projector.app.views.map.MapView`) and the HTML report
(:mod:`projector.figures.map_block`); PNG/SVG exports have no reset, so they show every point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Frame", "axis_frame", "frame", "BULK", "REACH", "SQUEEZE", "MIN_POINTS", "PAD"]

BULK = (0.10, 0.90)  # quantiles the bulk is measured between: a far group of up to 10% per side leaves them alone
REACH = 1.5  # points further than this many bulk spans beyond those quantiles are far
SQUEEZE = 1.5  # far points are left out of the first view only when showing them shrinks the rest more than this
MIN_POINTS = 20  # fewer points are always all shown
PAD = 0.04  # margin on each side, as a share of the range's span (the app's, before this module)


@dataclass(frozen=True)
class Frame:
    """A map's axis ranges as ``(start, end)`` pairs: ``x``/``y`` are shown first,
    ``x_full``/``y_full`` hold every point (what reset shows). ``outside`` counts the points
    the first view leaves out (0 when it is the full extent)."""

    x: tuple[float, float]
    y: tuple[float, float]
    x_full: tuple[float, float]
    y_full: tuple[float, float]
    outside: int = 0

    @property
    def trimmed(self) -> bool:
        """Whether the first view leaves far points out."""
        return (self.x, self.y) != (self.x_full, self.y_full)


def axis_frame(values: np.ndarray, pad: float = PAD) -> tuple[tuple[float, float], tuple[float, float]]:
    """``(view, full)`` ranges of one axis; see :func:`frame` for the rule."""
    values = np.asarray(values)
    finite = values[np.isfinite(values)].astype(np.float64, copy=False)
    if finite.size == 0:
        return (0.0, 1.0), (0.0, 1.0)
    low, high = float(finite.min()), float(finite.max())
    full = _padded(low, high, pad)
    if finite.size < MIN_POINTS:
        return full, full
    q_low, q_high = (float(q) for q in np.quantile(finite, BULK))
    bulk = q_high - q_low
    if bulk <= 0:  # most points share one value: no spread to judge "far" by
        return full, full
    kept = finite[(finite >= q_low - REACH * bulk) & (finite <= q_high + REACH * bulk)]
    kept_low, kept_high = float(kept.min()), float(kept.max())
    if high - low <= SQUEEZE * (kept_high - kept_low):
        return full, full
    return _padded(kept_low, kept_high, pad), full


def frame(x: np.ndarray, y: np.ndarray, pad: float = PAD) -> Frame:
    """The first view of a map of points ``x``, ``y`` (any float dtype), and their full extent.

    Each axis on its own: the bulk is the range between the 10% and 90% quantiles; points
    more than :data:`REACH` (1.5) bulk spans beyond it are far. When the full extent is more
    than :data:`SQUEEZE` (1.5) times the extent of the other points, the first view frames
    those others and leaves the far ones to the reset tool; otherwise it is the full extent,
    so ordinary maps open exactly as they did when they always showed everything.

    Why these numbers: quantiles rather than the minimum and maximum, so a few points cannot
    move the bulk; 10%/90% rather than 1%/99%, so a flung cluster of a few percent of the points
    is still "far"; the reach and the squeeze test keep the tails of ordinary shapes in view (a
    Gaussian blob reaches 1.5 bulk spans past its 90% quantile at 5.1 sigma, which not one of
    a million points does on average), and leave a map alone when the far points would shrink
    it by little. Maps of fewer than :data:`MIN_POINTS` (20) points show them all: each point
    matters there, and so few say little about where a bulk lies. Constant axes and axes where
    most points share one value get the full extent, padded by one unit when it is a single
    value. Each range is padded by ``pad`` of its span on both sides; non-finite values are
    ignored.
    """
    x_view, x_full = axis_frame(x, pad)
    y_view, y_full = axis_frame(y, pad)
    outside = 0
    if (x_view, y_view) != (x_full, y_full):
        xs, ys = np.asarray(x), np.asarray(y)
        inside = (xs >= x_view[0]) & (xs <= x_view[1]) & (ys >= y_view[0]) & (ys <= y_view[1])
        outside = int(inside.size - np.count_nonzero(inside))
    return Frame(x_view, y_view, x_full, y_full, outside)


def _padded(low: float, high: float, pad: float) -> tuple[float, float]:
    margin = (high - low) * pad or 1.0
    return low - margin, high + margin
