"""How cluster labels and density contours look, the same on every surface.

Pure rules, no Bokeh: the Bokeh maps (:mod:`projector.figures.overlays`) and the PNG/SVG export
(:mod:`projector.image.overlays`) both read them, so a label is as large, a contour as dark, and
the same labels win a crowded spot in the app, a report and an image.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np

if TYPE_CHECKING:
    from projector.explore.colors import ColorSpec
    from projector.explore.overlays import Contour, MapLabel

__all__ = [
    "LABEL_COLOR", "HALO_COLOR", "CONTOUR_COLOR", "LABEL_SCALE", "LEVEL_ZOOM",
    "size_steps", "label_order", "category_palette", "contour_color", "contour_alpha", "greedy_fit",
]

LABEL_COLOR = "#1a1a1a"
HALO_COLOR = "#ffffff"  # around every label, so it reads over points of any colour
CONTOUR_COLOR = "#3a3a3a"  # contours of all points; a category's contour takes its legend colour
LABEL_SCALE = (0.95, 1.15, 1.4)  # a label's font size, relative to the surface's base size, by size step
LEVEL_ZOOM = 2.0  # each finer label level appears once the view is zoomed in this much more


def size_steps(labels: Sequence["MapLabel"]) -> np.ndarray:
    """Each label's font step (0 .. len(LABEL_SCALE) - 1) by its cluster's size, on a log scale
    between the smallest and the largest cluster labelled: a few sizes read better than many."""
    sizes = np.log(np.maximum(np.array([label.size for label in labels], dtype=np.float64), 1.0))
    if sizes.size == 0:
        return np.zeros(0, dtype=np.int64)
    low, high = sizes.min(), sizes.max()
    share = (sizes - low) / (high - low) if high > low else np.ones_like(sizes)
    return np.minimum((share * len(LABEL_SCALE)).astype(np.int64), len(LABEL_SCALE) - 1)


def label_order(labels: Sequence["MapLabel"]) -> np.ndarray:
    """Indices of ``labels`` in the order they claim room: coarse levels first, then larger clusters."""
    return np.array(sorted(range(len(labels)), key=lambda i: (labels[i].level, -labels[i].size, i)), dtype=np.int64)


def category_palette(colors: "ColorSpec | None") -> dict[str, str]:
    """Category name -> colour of a categorical colouring's legend (empty for any other)."""
    if colors is None or colors.kind != "categorical":
        return {}
    return {entry.name: entry.color for entry in colors.legend}


def contour_color(contour: "Contour", palette: Mapping[str, str] | None) -> str:
    """The colour of ``contour``: its category's colour in the legend drawn (``palette``), else
    the colour it carries (its column's legend colour), else dark grey (all points)."""
    if contour.category is None:
        return CONTOUR_COLOR
    return (palette or {}).get(contour.category) or contour.color or CONTOUR_COLOR


def contour_alpha(level: float) -> float:
    """Inner (denser) contours are darker: alpha 0.85 near level 0, 0.35 at level 1."""
    return float(np.clip(0.85 - 0.5 * float(level), 0.3, 0.85))


def greedy_fit(boxes: np.ndarray) -> np.ndarray:
    """Which of ``boxes`` ((N, 4): x0, y0, x1, y1, in the order they claim room) are kept:
    each one that overlaps no box kept before it."""
    keep = np.zeros(len(boxes), dtype=bool)
    kept: list[np.ndarray] = []
    for i, box in enumerate(np.asarray(boxes, dtype=np.float64).reshape(-1, 4)):
        if kept:
            others = np.array(kept)
            hit = (others[:, 0] < box[2]) & (box[0] < others[:, 2]) & (others[:, 1] < box[3]) & (box[1] < others[:, 3])
            if hit.any():
                continue
        keep[i] = True
        kept.append(box)
    return keep
