"""Cluster labels and density contours over a Bokeh map, for the app's map and a report's.

:func:`add_overlays` draws an :class:`~projector.explore.overlays.Overlays` onto a map figure
(:func:`~projector.figures.map_base.blank_map`): contours as one ``multi_line`` per category,
labels as Bokeh ``Text`` glyphs, which draw plain text on the canvas (never HTML, never math).
A label has a white halo: the same text drawn first with a wide white outline, then dark on
top (Bokeh strokes a glyph's outline over its fill, so one glyph cannot make a halo). Which
labels show is decided in the page (``assets/labels.js``) on every pan and zoom: coarse levels
first, finer ones as the user zooms in, none overlapping another; the server is never asked, so
a report does it offline. Sizes, colours and the order labels claim room follow
:mod:`projector.figures.overlay_style`, as the PNG/SVG export does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping

import numpy as np

from projector.figures.overlay_style import (
    HALO_COLOR,
    LABEL_COLOR,
    LABEL_SCALE,
    LEVEL_ZOOM,
    contour_alpha,
    contour_color,
    label_order,
    size_steps,
)
from projector.figures.scripts import script

if TYPE_CHECKING:
    from bokeh.models import CustomJS, GlyphRenderer, IndexFilter
    from bokeh.plotting import figure as Figure

    from projector.explore.overlays import Overlays

__all__ = ["add_overlays", "OverlayRenderers", "LABEL_PX", "CONTOUR_WIDTH", "HALO_WIDTH"]

LABEL_PX = 12  # a label's base font size in pixels (scaled by overlay_style.LABEL_SCALE)
CONTOUR_WIDTH = 1.2
HALO_WIDTH = 4  # pixels of white outline around each label
_RANGE_EVENTS = ("start", "end")


@dataclass(frozen=True)
class OverlayRenderers:
    """What :func:`add_overlays` added to a figure; a page toggles ``.visible`` of each.

    Attributes:
        contours: one ``multi_line`` per category (None, for all points, first).
        labels: the halo and the text of the labels (both ``Text`` glyphs, one source).
        filter: the labels shown at the current zoom, kept by ``callback``.
        callback: the ``CustomJS`` run on every range change (``assets/labels.js``).
    """

    contours: tuple["GlyphRenderer", ...]
    labels: tuple["GlyphRenderer", ...]
    filter: "IndexFilter"
    callback: "CustomJS"

    @property
    def renderers(self) -> tuple["GlyphRenderer", ...]:
        return self.contours + self.labels

    def set_visible(self, *, labels: bool | None = None, contours: bool | None = None) -> None:
        """Show or hide the labels or the contours (None leaves one as it is)."""
        for shown, renderers in ((labels, self.labels), (contours, self.contours)):
            if shown is not None:
                for renderer in renderers:
                    renderer.visible = shown

    def remove(self, fig: "Figure") -> None:
        """Take these overlays off ``fig`` (renderers and the zoom callback), to draw others."""
        mine = set(map(id, self.renderers))
        fig.renderers = [r for r in fig.renderers if id(r) not in mine]
        for axis in (fig.x_range, fig.y_range):
            callbacks = dict(axis.js_property_callbacks)
            for event in _RANGE_EVENTS:
                key = f"change:{event}"
                callbacks[key] = [c for c in callbacks.get(key, []) if c is not self.callback]
            axis.js_property_callbacks = callbacks


def add_overlays(fig: "Figure", overlays: "Overlays", *, palette: Mapping[str, str] | None = None) -> OverlayRenderers:
    """Draw ``overlays`` on ``fig``: contours over the points, labels over everything.

    Args:
        fig: a map figure from :func:`~projector.figures.map_base.blank_map`.
        overlays: the labels and contours, in the map's data coordinates.
        palette: category -> colour (the legend's,
            :func:`~projector.figures.overlay_style.category_palette`); a per-category contour
            takes its category's colour there, else the colour it carries, else grey.
    """
    contours = tuple(_add_contours(fig, overlays, palette))
    labels, index_filter, callback = _add_labels(fig, overlays)
    return OverlayRenderers(contours, labels, index_filter, callback)


def _add_contours(fig: "Figure", overlays: "Overlays", palette: Mapping[str, str] | None):
    from bokeh.models import ColumnDataSource

    categories = list(dict.fromkeys(c.category for c in overlays.contours))
    categories.sort(key=lambda category: category is not None)  # all points first
    for category in categories:
        xs, ys, alphas = [], [], []
        for contour in (c for c in overlays.contours if c.category == category):
            for path in contour.paths:
                path = np.asarray(path, dtype=np.float64).reshape(-1, 2)
                xs.append(path[:, 0])
                ys.append(path[:, 1])
                alphas.append(contour_alpha(contour.level))
        color = contour_color(next(c for c in overlays.contours if c.category == category), palette)
        source = ColumnDataSource(data={"xs": xs, "ys": ys, "alpha": alphas})
        renderer = fig.multi_line("xs", "ys", source=source, line_color=color, line_alpha="alpha", line_width=CONTOUR_WIDTH, level="annotation",
                                  name="projector-contours")
        _never_dimmed(renderer)
        yield renderer


def _add_labels(fig: "Figure", overlays: "Overlays"):
    from bokeh.models import CDSView, ColumnDataSource, CustomJS, IndexFilter

    labels = overlays.labels
    order = label_order(labels)
    steps = size_steps(labels)
    px = [round(LABEL_PX * LABEL_SCALE[steps[i]]) for i in order]
    ordered = [labels[i] for i in order]
    source = ColumnDataSource(data={
        "x": np.array([label.x for label in ordered], dtype=np.float64),
        "y": np.array([label.y for label in ordered], dtype=np.float64),
        "text": [str(label.text) for label in ordered],
        "px": np.array(px, dtype=np.int64),
        "size": [f"{p}px" for p in px],
        "level": np.array([label.level for label in ordered], dtype=np.int64),
    })
    xs, ys = source.data["x"], source.data["y"]
    extent = [float(np.ptp(xs)) * 1.2 if xs.size else 1.0, float(np.ptp(ys)) * 1.2 if ys.size else 1.0]
    finest = _finest_level(fig, extent)
    index_filter = IndexFilter(indices=[i for i, label in enumerate(ordered) if label.level <= finest])
    style = {"text_font_size": "size", "text_align": "center", "text_baseline": "middle", "text_font_style": "bold"}
    halo = fig.text("x", "y", text="text", source=source, view=CDSView(filter=index_filter), text_color=HALO_COLOR,
                    text_outline_color=HALO_COLOR, text_outline_width=HALO_WIDTH, level="annotation", name="projector-label-halo", **style)
    text = fig.text("x", "y", text="text", source=source, view=CDSView(filter=index_filter), text_color=LABEL_COLOR,
                    level="annotation", name="projector-labels", **style)
    for renderer in (halo, text):
        _never_dimmed(renderer)
    callback = CustomJS(args={"fig": fig, "source": source, "filter": index_filter, "step": LEVEL_ZOOM, "extent": extent},
                        code=script("labels.js"))
    for axis in (fig.x_range, fig.y_range):
        for event in _RANGE_EVENTS:
            axis.js_on_change(event, callback)
    return (halo, text), index_filter, callback


def _finest_level(fig: "Figure", extent: list[float]) -> int:
    """The finest label level shown at the figure's current ranges (``assets/labels.js``'s rule)."""
    zoom = 1.0
    for axis, fallback in ((fig.x_range, extent[0]), (fig.y_range, extent[1])):
        span = abs((axis.end or 0) - (axis.start or 0)) or 1.0
        full = abs(axis.reset_end - axis.reset_start) if axis.reset_start is not None and axis.reset_end is not None else 0.0
        zoom = max(zoom, (full if full > 0 else fallback) / span)
    return math.floor(math.log(zoom) / math.log(LEVEL_ZOOM) + 1e-9)


def _never_dimmed(renderer: "GlyphRenderer") -> None:
    """A box, lasso or tap selects points, not overlays: the overlays look the same either way."""
    renderer.selection_glyph = renderer.glyph.clone()
    renderer.nonselection_glyph = renderer.glyph.clone()
