"""Where cluster labels go on a map, and which of them fit a view without overlapping.

:func:`map_labels` puts each cluster's label at its dense centre: the member nearest the fullest
cell of a smoothed histogram of the cluster's points. Not the mean, which can fall outside a
curved or ring-shaped cluster; and smoothed, so a pile of exact duplicates (one point drawn
a hundred times, common in real text data) or a small tight island cannot pull a coarse label
away from the bulk of its cluster. :func:`labels_for_view` then keeps, for one view, the labels whose text
boxes (estimated from :func:`font_px`) do not overlap: coarse ones first, each level largest
first, so zoomed out the coarse names show and finer ones appear as the user zooms in. UI-free:
surfaces draw the :class:`~projector.explore.overlays.MapLabel` objects they get.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

import numpy as np

from projector.explore.overlays import MapLabel

if TYPE_CHECKING:
    from projector.clusters import Clusters

__all__ = ["map_labels", "labels_for_view", "font_px", "text_box_px"]

_BINS = 24
_SMOOTH_CELLS = 2.0  # the histogram's Gaussian blur: mass over a few cells beats one full cell
_CHAR_WIDTH = 0.6  # average glyph width of a sans-serif font, in font sizes
_LINE_HEIGHT = 1.25
_FIT_SHARE = 0.8  # a level leads a view when this share of its labels in view fit


def font_px(size: int) -> float:
    """Font size in pixels for a label of a cluster of ``size`` rows: 11 px up to 30 rows,
    growing with the log of the size up to 22 px."""
    return float(min(22.0, 11.0 + 4.5 * max(0.0, math.log10(max(size, 1) / 30.0))))


def text_box_px(label: MapLabel) -> tuple[float, float]:
    """(width, height) in pixels of ``label`` drawn at :func:`font_px` of its size."""
    font = font_px(label.size)
    return len(label.text) * _CHAR_WIDTH * font + 4.0, _LINE_HEIGHT * font


def map_labels(coords: np.ndarray, clusters: "Clusters", names: Sequence[str], coarse_names: Sequence[str] = ()) -> tuple[MapLabel, ...]:
    """A label per cluster at its dense centre: level 1 for ``clusters.labels`` named by
    ``names``; level 0 for the coarse level (when ``clusters.levels`` has one and
    ``coarse_names`` are given), its ``cluster`` the coarse id."""
    xy = np.asarray(coords, dtype=np.float64)[:, :2]
    out = []
    coarse = clusters.levels.get("coarse")
    if coarse is not None and len(coarse_names):
        out += _level(xy, coarse, coarse_names, level=0)
        out += _level(xy, clusters.labels, names, level=1)
    else:
        out += _level(xy, clusters.labels, names, level=0)
    return tuple(out)


def labels_for_view(
    labels: Sequence[MapLabel],
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    width_px: int,
    height_px: int,
) -> list[MapLabel]:
    """The labels inside the view whose text boxes fit without overlapping one another.

    The view picks its level: the finest one whose labels in view nearly all fit
    (:data:`_FIT_SHARE`) leads, so zoomed out the coarse names show and zoomed in the fine
    ones; labels of other levels then fill the gaps. Within a level larger clusters go first;
    a label repeating a placed text is left out.
    """
    (x0, x1), (y0, y1) = x_range, y_range
    scale = (width_px / max(x1 - x0, 1e-300), height_px / max(y1 - y0, 1e-300))
    visible = [lab for lab in labels if x0 <= lab.x <= x1 and y0 <= lab.y <= y1]
    lead = 0
    for level in sorted({lab.level for lab in visible}, reverse=True):
        own = [lab for lab in visible if lab.level == level]
        if len(_place(own, (x0, y0), scale)) >= _FIT_SHARE * len(own):
            lead = level
            break
    return _place(visible, (x0, y0), scale, lead)


def _place(labels: Sequence[MapLabel], origin: tuple[float, float], scale: tuple[float, float], lead: int = 0) -> list[MapLabel]:
    """Greedy: level ``lead`` first, then the levels nearest it; larger clusters first within a
    level; each label kept if its box overlaps none kept before and its text is new."""
    placed: list[tuple[float, float, float, float]] = []
    texts: set[str] = set()
    kept = []
    for label in sorted(labels, key=lambda lab: (abs(lab.level - lead), lab.level, -lab.size)):
        if label.text in texts:
            continue
        w, h = text_box_px(label)
        px, py = (label.x - origin[0]) * scale[0], (label.y - origin[1]) * scale[1]
        box = (px - w / 2, py - h / 2, px + w / 2, py + h / 2)
        if any(_overlap(box, other) for other in placed):
            continue
        placed.append(box)
        texts.add(label.text)
        kept.append(label)
    return kept


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _level(xy: np.ndarray, labels: np.ndarray, names: Sequence[str], level: int) -> list[MapLabel]:
    labels = np.asarray(labels)
    inside = np.flatnonzero(labels >= 0)
    order = inside[np.argsort(labels[inside], kind="stable")]
    ids, starts = np.unique(labels[order], return_index=True)
    out = []
    for cluster, members in zip(ids, np.split(order, starts[1:])):
        x, y = _dense_centre(xy[members])
        out.append(MapLabel(x, y, str(names[cluster]), int(len(members)), level, int(cluster)))
    return out


def _dense_centre(points: np.ndarray) -> tuple[float, float]:
    """The member nearest the centre of the fullest cell of a smoothed histogram of ``points``."""
    from scipy.ndimage import gaussian_filter

    low, high = points.min(axis=0), points.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    cells = np.minimum(((points - low) / span * _BINS).astype(np.int64), _BINS - 1)
    flat = cells[:, 0] * _BINS + cells[:, 1]
    counts = np.bincount(flat, minlength=_BINS * _BINS).reshape(_BINS, _BINS).astype(np.float64)
    best = int(np.argmax(gaussian_filter(counts, _SMOOTH_CELLS, mode="constant")))
    centre = low + (np.array([best // _BINS, best % _BINS]) + 0.5) / _BINS * span
    nearest = int(np.argmin(((points - centre) ** 2).sum(axis=1)))
    return float(points[nearest, 0]), float(points[nearest, 1])
