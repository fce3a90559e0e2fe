"""The map: a WebGL scatter of the active projection, with hover cards, selection and neighbours.

Coordinates, colour codes and sizes go to the browser once per change as binary arrays. Hover
cards are fetched per row from the server (``figures/assets/hover.js``), so no text travels
with the points; in a notebook they come over the document instead (:mod:`projector.figures.hover`).
The figure, points, links, colour bar and hover tool are built as a report's map is
(:mod:`projector.figures.map_base`). Clicks, boxes and lassos are resolved on the server
(:mod:`projector.explore.geometry`) into :class:`ViewState` selections; this view only draws
the state.

Maps of more than :data:`WEBGL_MAX_POINTS` rows are drawn as one raster image of every row
instead (:mod:`projector.figures.raster`), rendered on the server after each pan or zoom;
hover then asks the server for the nearest real row, and the page header says which way the
points are drawn (:attr:`MapView.mode`). Box, lasso and click select the same rows in both
modes, as they are resolved on the server.

Measured for :data:`WEBGL_MAX_POINTS` in Debian's headless Chromium (software WebGL) on the 2-core
machine while other jobs ran (load 4-10; the plain 100k page took 7.5 s against 1.7 s on the
quiet machine of the issue, so divide by about 4.5). "Plain page": one Bokeh WebGL scatter
(``python benchmarks/bench_scatter_threshold.py``); "this page": ``projector serve`` with the
mode forced; frame: one repaint after moving the x range by 1 %, what each step of a pan costs.

    N points    plain WebGL page      this page, WebGL      this page, raster
                paint s   frame ms    paint s   frame ms    paint s   frame ms
    10,000      2.1       404         7.8       996         7.8       80
    25,000      2.3       1,085       11.7      3,047       8.1       101
    50,000      5.3       1,915       9.5       4,539       6.6       85
    100,000     7.5       4,274       9.1-12.9              6.0-6.2
    200,000     12.1      7,702       21-23                 3.8-5.2   64-100
    400,000                           28-33
    1,000,000                                               8.0-10.9

A WebGL frame costs about 40 ms per thousand points here (about 9 ms on the quiet machine) and
the first paint climbs past 25,000-50,000; a raster frame only moves one image, and each pan or
zoom ends with a server render (0.02-0.07 s at 10k-200k points, about 0.1 s at a million).
20,000 keeps a WebGL pan frame near 0.2 s on the quiet machine, so small maps stay crisp points
(sized by column, hover in the browser) and every larger map stays responsive as an image;
machines with a GPU would draw far more as WebGL. Reports use the same limit
(``projector.figures.options.INTERACTIVE_MAX_POINTS``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import panel as pn
from bokeh.events import SelectionGeometry, Tap
from bokeh.models import AllIndices, BooleanFilter, CDSView, ColumnDataSource, LinearColorMapper, PlainText

from projector.explore.geometry import nearest_row, rows_for_geometry
from projector.app.views._events import JobWatch
from projector.app.views.layout import MapLayout, map_axes, map_layout
from projector.explore.colors import GREY, NEIGHBOR_COLOR, SINGLE_COLOR, numeric_palette
from projector.figures.map_base import (
    MIN_STRETCH_HEIGHT,
    add_color_bar,
    add_neighbor_links,
    add_points,
    blank_map,
    hover_tool,
    label_axes,
    no_links,
    show_frame,
)
from projector.figures.raster import RasterLayer, inner_size
from projector.figures.scripts import script

if TYPE_CHECKING:
    from projector.explore.jobs import Job
    from projector.explore.colors import ColorSpec
    from projector.app.state import ViewState
    from projector.explore.maps import MapEntry
    from projector.explore.overlays import Overlays
    from projector.explore.store import DataStore
    from projector.figures.hover import CommHover
    from projector.figures.overlays import OverlayRenderers

__all__ = ["MapView", "map_axes", "HOVER_JS", "WEBGL_MAX_POINTS"]

HOVER_JS = script("card.js") + "\n" + script("hover.js")
# In raster mode the server moves a one-point source onto the row under the pointer; the same
# hover card code then draws that row's card.
_RASTER_HOVER_JS = "cb_data = {index: {indices: source.data.row.length ? [source.data.row[0]] : []}};\n" + HOVER_JS
WEBGL_MAX_POINTS = 20_000  # measured: see the module docs


class MapView:
    """The map of one session. ``panel`` is the Panel object to lay out.

    ``mode`` is ``"webgl"`` (a scatter of every row in the browser) or ``"raster"`` (an image of
    every row rendered on the server, for maps of more than ``webgl_max_points`` rows).
    """

    def __init__(
        self, store: "DataStore", state: "ViewState", *, row_endpoint: str, webgl_max_points: int = WEBGL_MAX_POINTS,
        comm_hover: "CommHover | None" = None,
    ) -> None:
        if webgl_max_points < 0:
            raise ValueError(f"webgl_max_points={webgl_max_points} must be >= 0; the default is {WEBGL_MAX_POINTS:,}")
        self.store = store
        self.state = state
        self.webgl_max_points = webgl_max_points
        self.mode = "webgl"
        self._x = np.zeros(0, dtype=np.float32)
        self._y = np.zeros(0, dtype=np.float32)
        self._layout: MapLayout | None = None
        self.visible: np.ndarray | None = None  # rows drawn (filters, isolate); None: all
        self.outside = 0  # far points the first view leaves out (the reset tool shows them)

        fig = blank_map()  # stretches; clicks are resolved on the server (no tap tool)
        self.source = ColumnDataSource(data={"x": self._x, "y": self._y, "c": np.zeros(0, np.float32), "s": np.zeros(0, np.float32)})
        self.mapper = LinearColorMapper(palette=[SINGLE_COLOR], low=0, high=1, nan_color=GREY)
        self.view = CDSView()
        self.points = add_points(
            fig, self.source, "x", "y", view=self.view, size="s", fill_color={"field": "c", "transform": self.mapper}, alpha=state.opacity,
        )
        self.links = add_neighbor_links(fig)
        self.rings = ColumnDataSource(data={"x": [], "y": [], "size": []})
        fig.scatter("x", "y", source=self.rings, size="size", fill_color=None, line_color=NEIGHBOR_COLOR, line_width=2)
        self.colorbar = add_color_bar(fig, self.mapper, "", visible=False)
        # without our routes (a notebook), hover records come over the document instead
        asking = comm_hover.args if comm_hover is not None else {"ask": None}
        row_endpoint = comm_hover.endpoint if comm_hover is not None else row_endpoint
        # every map of a dataset has a point per row, so its mode never changes: only what that
        # mode draws goes into the figure (a new page sends and builds fewer models)
        raster = store.num_rows > webgl_max_points
        self.raster = RasterLayer(fig, hover_js=_RASTER_HOVER_JS, row_endpoint=row_endpoint, executor=store.short_executor, attached=raster)
        self.raster.hover_callback.args = {**self.raster.hover_callback.args, **asking}
        self._neighbors_watch = JobWatch(self._draw_rings)  # neighbours are found off the event loop
        self.hover = hover_tool(self.points, {"endpoint": row_endpoint, "query": "", **asking}, HOVER_JS)
        if raster:
            fig.renderers = [r for r in fig.renderers if r is not self.points]
        else:
            fig.add_tools(self.hover)
        fig.on_event(Tap, self._on_tap)
        fig.on_event(SelectionGeometry, self._on_select)
        self.figure = fig
        self.panel = pn.pane.Bokeh(fig, sizing_mode="stretch_both", min_height=MIN_STRETCH_HEIGHT)

        state.param.watch(self._draw_map, ["map_key", "pca_x", "pca_y"])
        state.param.watch(self._draw_colors, ["color_by", "max_categories", "quality_version"])
        state.param.watch(self._draw_sizes, ["size_by", "point_size"])
        state.param.watch(self._draw_opacity, ["opacity"])
        state.param.watch(self._draw_selection, ["selection"])
        state.param.watch(self._draw_visible, ["filters", "isolate", "selection"])
        state.param.watch(self._draw_neighbors, ["focused", "neighbor_k", "neighbor_metric", "map_key", "pca_x", "pca_y"])
        state.param.watch(self._hover_columns, ["hover_columns"])
        self.colors: "ColorSpec | None" = None
        self.overlays: "OverlayRenderers | None" = None  # labels and contours drawn (show_overlays)
        self._draw_map()

    # -- drawing (state -> Bokeh models) ---------------------------------------------------

    def column(self) -> str | None:
        """The embedding column of the map shown (None: given coordinates, the first column)."""
        entry = self._entry()
        return entry.column if entry is not None else None

    def _entry(self) -> "MapEntry | None":
        key = self.state.map_key
        return self.store.map(key) if key and key in self.store.map_keys else None

    def _draw_map(self, *_) -> None:
        entry = self._entry()
        if entry is None:
            return
        layout = self._layout = map_layout(self.store, entry, self.state)  # shared with every page on this map
        self._x, self._y = layout.x, layout.y
        xname, yname = layout.names
        self.colors = self.store.colors(self.state.color_by or None, self.state.max_categories, entry, entry.drawn_axes(self.state.pca_x, self.state.pca_y))
        self.mode = "raster" if self._x.size > self.webgl_max_points else "webgl"
        self._apply_mapper()
        label_axes(self.figure, xname, yname)
        self.fit()
        self._draw_visible(render=False)
        if self.mode == "raster":  # every row in one image; the browser gets no points
            self.source.data = {name: np.zeros(0, np.float32) for name in ("x", "y", "c", "s")}
            self.source.selected.indices = []
            self.hover.renderers = []  # hover cards come from the raster layer's pointer
            self.raster.show(self._x, self._y, raster=layout.raster, nearest=layout.nearest, **self._raster_style())
        else:
            self.raster.show(None)
            self.hover.renderers = [self.points]
            self.source.data = {"x": self._x, "y": self._y, "c": self._color_values(), "s": self._sizes()}
            self._draw_selection()
        self._draw_neighbors()

    def show_overlays(self, overlays: "Overlays | None") -> "OverlayRenderers | None":
        """Draw ``overlays`` (cluster labels, density contours) over the map, replacing any drawn
        before; None or empty ones only take the old off. Returns their renderers, whose
        ``.visible`` a page toggles. Contours of a category take its colour in the legend shown now."""
        from projector.figures.overlay_style import category_palette
        from projector.figures.overlays import add_overlays

        if self.overlays is not None:
            self.overlays.remove(self.figure)
            self.overlays = None
        if overlays:
            self.overlays = add_overlays(self.figure, overlays, palette=category_palette(self.colors))
        return self.overlays

    def fit(self) -> None:
        """Zoom to the bulk of the points; the reset tool shows every point
        (:func:`~projector.explore.framing.frame`). Raster mode renders these ranges."""
        view = self._layout.frame if self._layout is not None else None
        if view is None:
            return
        self.outside = view.outside
        show_frame(self.figure, view)

    def _color_values(self) -> np.ndarray:
        return np.ascontiguousarray(self.colors.values, dtype=np.float32) if self.colors is not None else np.zeros(self._x.size, np.float32)

    def _apply_mapper(self) -> None:
        spec = self.colors
        if spec is None:
            return
        if spec.kind == "numeric":
            self.mapper.update(palette=numeric_palette(), low=spec.low, high=spec.high)
            self.colorbar.update(visible=True, title=PlainText(spec.column or ""))
        else:
            palette = list(spec.palette) if len(spec.palette) > 1 else [spec.palette[0], spec.palette[0]]
            self.mapper.update(palette=palette, low=-0.5, high=len(palette) - 0.5)
            self.colorbar.visible = False

    def _hover_columns(self, *_) -> None:
        """The hover card shows the chosen columns: the row URL carries them."""
        from urllib.parse import urlencode

        query = "?" + urlencode([("column", name) for name in self.state.hover_columns]) if self.state.hover_columns else ""
        for callback in (self.hover.callback, self.raster.hover_callback):
            callback.args = {**callback.args, "query": query}

    def _draw_colors(self, *_) -> None:
        entry = self._entry()
        axes = entry.drawn_axes(self.state.pca_x, self.state.pca_y) if entry is not None else (0, 1)
        self.colors = self.store.colors(self.state.color_by or None, self.state.max_categories, entry, axes)
        self._apply_mapper()
        if self.mode == "raster":
            self.raster.restyle(colors=self.colors)
        else:
            self.source.data.update(c=self._color_values())

    def _sizes(self) -> np.ndarray:
        base = float(self.state.point_size)
        n = self._x.size
        if not self.state.size_by:
            return np.full(n, base, dtype=np.float32)
        values = self.store.rows.numbers(self.state.size_by)
        finite = np.isfinite(values)
        if not finite.any():
            return np.full(n, base, dtype=np.float32)
        low, high = np.nanmin(values), np.nanmax(values)
        scaled = (values - low) / (high - low) if high > low else np.full(n, 0.5, np.float32)
        return np.where(finite, base * (0.4 + 2.2 * scaled), base * 0.4).astype(np.float32)

    def _draw_sizes(self, *_) -> None:
        if self.mode == "raster":  # sizes by column are not drawn in a raster; the point size sets the spread
            self.raster.restyle(spread=self._raster_spread())
        else:
            self.source.data.update(s=self._sizes())

    def _draw_opacity(self, *_) -> None:
        self.points.glyph.fill_alpha = self.state.opacity
        self.points.selection_glyph.fill_alpha = self.state.opacity
        if self.mode == "raster":
            self.raster.restyle(opacity=self.state.opacity)

    def _draw_selection(self, *_) -> None:
        rows = self.state.selection
        if self.mode == "raster":
            self.source.selected.indices = []
            self.raster.restyle(selection=rows)
        else:
            self.source.selected.indices = rows.tolist() if rows.size else []

    def _draw_visible(self, *events, render: bool = True) -> None:
        if events and not self.state.isolate and all(event.name == "selection" for event in events):
            return  # a new selection changes what is drawn only when the selection is isolated
        mask = self.store.rows.filter_mask(self.state.filters)
        if self.state.isolate and self.state.selection.size:
            chosen = np.zeros(self.store.num_rows, dtype=bool)
            chosen[self.state.selection] = True
            mask = chosen if mask is None else mask & chosen
        self.visible = mask
        if self.mode == "raster":
            self.view.filter = AllIndices()
            if render:
                self.raster.restyle(visible=mask)
        else:
            self.view.filter = BooleanFilter(booleans=mask) if mask is not None else AllIndices()

    def _raster_spread(self) -> int:
        return max(int(round(self.state.point_size / 2)) - 1, 0)

    def _raster_style(self) -> dict:
        return {
            "colors": self.colors, "visible": self.visible, "selection": self.state.selection,
            "opacity": self.state.opacity, "spread": self._raster_spread(),
        }

    def _draw_neighbors(self, *_) -> None:
        row = self.state.focused
        if row is None or self._x.size == 0 or not 0 <= row < self._x.size:
            self.links.data = no_links()
            self.rings.data = {"x": [], "y": [], "size": []}
            return
        self._neighbors_watch.watch(self.store.neighbors_job(row, self.state.neighbor_k, self.state.neighbor_metric, self.column()))

    def _draw_rings(self, job: "Job") -> None:
        row = self.state.focused
        if job.state != "done" or row is None or not 0 <= row < self._x.size:
            return
        rows, _ = job.result
        x, y = self._x, self._y
        self.links.data = {
            "x0": np.full(rows.size, x[row], np.float32), "y0": np.full(rows.size, y[row], np.float32),
            "x1": x[rows], "y1": y[rows],
        }
        size = float(self.state.point_size)
        self.rings.data = {
            "x": np.concatenate([[x[row]], x[rows]]).astype(np.float32),
            "y": np.concatenate([[y[row]], y[rows]]).astype(np.float32),
            "size": np.concatenate([[size * 3.2], np.full(rows.size, size * 2.0)]).astype(np.float32),
        }

    # -- events (browser -> state) ---------------------------------------------------------

    def _pixels_per_unit(self) -> tuple[float, float]:
        fig = self.figure
        width, height = inner_size(fig)  # a default until a browser has drawn the plot
        xr, yr = fig.x_range, fig.y_range
        return width / max(abs(xr.end - xr.start), 1e-12), height / max(abs(yr.end - yr.start), 1e-12)

    def _on_tap(self, event: Tap) -> None:
        self.click(event.x, event.y)

    def click(self, x: float, y: float) -> None:
        """A click at data coordinates: focus and select the nearest drawn point, or clear."""
        scale_x, scale_y = self._pixels_per_unit()
        if self.mode == "raster":
            row = self.raster.nearest.query(x, y, scale_x, scale_y, visible=self.visible)
        else:
            row = nearest_row(self._x, self._y, x, y, scale_x, scale_y, visible=self.visible)
        if row is None:
            return
        self.state.focused = row
        self.state.select([row])

    def _on_select(self, event: SelectionGeometry) -> None:
        if not event.final:
            return
        self.select_geometry(event.geometry or {})

    def select_geometry(self, geometry: dict) -> None:
        """A finished box or lasso: select the drawn rows inside it."""
        rows = rows_for_geometry(self._x, self._y, geometry)
        if rows is None:
            return
        if self.visible is not None:
            rows = rows[self.visible[rows]]
        self.state.select(rows)
