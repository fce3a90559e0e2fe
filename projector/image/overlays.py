"""Cluster labels and density contours in an exported image, placed as the points are.

Contours become :class:`~projector.image.figure.Polyline` items and labels
:class:`~projector.image.figure.Text` items with a white halo, both mapped from data to pixels
with the point layer's own ranges (:func:`projector.image.points.plot_ranges`). A picture cannot
zoom, so every level competes for room at once: in the order of
:func:`~projector.figures.overlay_style.label_order` (coarse levels, then larger clusters), a
label is drawn only where it overlaps no label drawn before it; one near an edge slides inside the plot. Sizes
and colours follow :mod:`projector.figures.overlay_style`, as the app's and reports' maps do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

import numpy as np

from projector.figures.overlay_style import (
    HALO_COLOR,
    LABEL_COLOR,
    LABEL_SCALE,
    contour_alpha,
    contour_color,
    greedy_fit,
    label_order,
    size_steps,
)
from projector.image.figure import Item, Polyline, Text
from projector.image.text import fit, font

if TYPE_CHECKING:
    from projector.explore.overlays import Overlays

Ranges = tuple[tuple[float, float], tuple[float, float]]


def overlay_items(
    overlays: "Overlays", ranges: Ranges, plot: tuple[int, int, int, int], base: int, palette: Mapping[str, str] | None = None,
) -> list[Item]:
    """The contours, then the labels that fit, of ``overlays`` in the ``plot`` box showing ``ranges``.

    ``base`` is the image's body text size; ``palette`` maps a category to its legend colour.
    """
    to_pixels = _pixel_map(ranges, plot)
    width = max(1.0, base / 10)
    items: list[Item] = [
        Polyline(tuple((float(x), float(y)) for x, y in to_pixels(np.asarray(path, dtype=np.float64).reshape(-1, 2))),
                 contour_color(contour, palette), width, contour_alpha(contour.level))
        for contour in sorted(overlays.contours, key=lambda c: c.category is not None)  # all points first
        for path in contour.paths if len(path) >= 2
    ]
    return items + _label_items(overlays, to_pixels, plot, base)


def _label_items(overlays: "Overlays", to_pixels, plot: tuple[int, int, int, int], base: int) -> list[Item]:
    labels = overlays.labels
    if not labels:
        return []
    steps = size_steps(labels)
    at = to_pixels(np.array([[label.x, label.y] for label in labels], dtype=np.float64))
    x0, y0, x1, y1 = plot
    candidates, boxes = [], []
    for i in label_order(labels):
        size = round(base * LABEL_SCALE[steps[i]])
        halo = max(2, round(size / 6))
        text = fit(labels[i].text, size, (x1 - x0) / 3)
        if not text:
            continue
        half = font(size).getlength(text) / 2 + halo
        (px, py) = at[i]
        if not (np.isfinite(px) and np.isfinite(py) and x0 <= px <= x1 and y0 <= py <= y1):
            continue  # its cluster lies outside the plot
        # a label near an edge slides inward rather than cover the frame or the legend
        px = min(max(px, x0 + half), x1 - half)
        py = min(max(py, y0 + 0.6 * size + halo), y1 - 0.6 * size - halo)
        box = (px - half, py - 0.6 * size - halo, px + half, py + 0.6 * size + halo)
        candidates.append(Text(float(px), float(py + 0.35 * size), text, size, LABEL_COLOR, "middle", HALO_COLOR, halo))
        boxes.append(box)
    keep = greedy_fit(np.array(boxes, dtype=np.float64).reshape(-1, 4))
    return [item for item, kept in zip(candidates, keep) if kept]


def _pixel_map(ranges: Ranges, plot: tuple[int, int, int, int]):
    """Data (N, 2) -> pixels (N, 2) from the image's top left, as the point layer maps them."""
    (dx0, dx1), (dy0, dy1) = ranges
    x0, y0, x1, y1 = plot

    def to_pixels(xy: np.ndarray) -> np.ndarray:
        px = x0 + (xy[:, 0] - dx0) / (dx1 - dx0) * (x1 - x0)
        py = y0 + (dy1 - xy[:, 1]) / (dy1 - dy0) * (y1 - y0)
        return np.stack([px, py], axis=1)

    return to_pixels
