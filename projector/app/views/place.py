"""Rows from another file added to the map shown, placed and highlighted; the dataset stays as it is.

The side bar's file box takes a table file; the store's short-job threads read it (embedding
its texts with the map's recorded model when it has no vectors) and place it into the shown
map (:mod:`projector.explore.placing`), while the status line shows the stage. The placed rows
are drawn over the map as outlined diamonds in their own layer, on top, with a legend line
"placed: FILE (N rows)" and hover with their text, label and cluster (of the map's clusters as
drawn, the one most of a row's nearest mapped rows are in). They belong to this page only:
no other page, export or search sees them.

Switching maps re-places the same rows (their vectors are kept: nothing is read or embedded
again) into the new map, or clears them with a message when that map cannot place rows
(coordinates given with the data, custom axes). Other PCA axes or point sizes only redraw them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import panel as pn

from projector.app.views._events import Poller, in_document, locked
from projector.app.views._text import set_text, text_pane
from projector.errors import ProjectorError
from projector.explore.placing import FILE_SUFFIXES, MAX_FILE_BYTES, NewRows, PlacedRows, start_placing

if TYPE_CHECKING:
    from typing import Callable

    from bokeh.models import ColumnDataSource, GlyphRenderer, Legend

    from projector.explore.map_clusters import MapClusters

    from projector.app.state import ViewState
    from projector.app.views.map import MapView
    from projector.explore.maps import MapEntry
    from projector.explore.jobs import Job
    from projector.explore.store import DataStore

__all__ = ["PlaceView", "PLACED_COLOR"]

PLACED_COLOR = "#ff1f8e"  # a hot pink no category palette uses, outlined in black
_POLL_MS = 250


class PlaceView:
    """The file box, progress and "Clear placed rows" of one page, and the placed layer it draws."""

    def __init__(
        self, store: "DataStore", state: "ViewState", map_view: "MapView", clusters: "Callable[[], MapClusters | None]" = lambda: None,
    ) -> None:
        self.store = store
        self.state = state
        self.map_view = map_view
        self.clusters = clusters  # the shown map's clusters as drawn (None: none yet)
        self.placed: PlacedRows | None = None
        self.job: "Job | None" = None
        self._layer: _PlacedLayer | None = None  # built when rows are first placed
        self._poller = Poller(self.poll, _POLL_MS)
        self.file = pn.widgets.FileInput(accept=",".join(FILE_SUFFIXES), multiple=False, sizing_mode="stretch_width")
        self.clear_button = pn.widgets.Button(label="Clear placed rows", disabled=True, width=150)
        self.status = text_pane(styles={"font-size": "12px"}, sizing_mode="stretch_width")
        help_text = f"Parquet, Arrow, CSV, TSV or JSON Lines up to {MAX_FILE_BYTES // 2**20} MB, with the map's embedding column or its texts"
        self.panel = pn.Column(
            pn.pane.Markdown(help_text, styles={"font-size": "11px", "color": "#555"}, margin=(0, 5)),
            self.file, self.clear_button, self.status, sizing_mode="stretch_width",
        )
        self.file.param.watch(locked(self._file_chosen), "value")
        self.clear_button.on_click(locked(lambda *_: self.clear()))
        state.param.watch(self._map_changed, ["map_key"])
        state.param.watch(lambda *_: self._draw(), ["pca_x", "pca_y", "point_size"])

    def add(self, data: bytes, file: str) -> None:
        """Place ``file``'s rows (its bytes) into the map shown; replaces rows placed before."""
        self._start(data, file)

    def redraw(self) -> None:
        """Draw the placed rows again (the map's clusters changed: their hover follows)."""
        self._draw()

    def clear(self, message: str = "") -> None:
        """Take the placed rows off the map."""
        if self.job is not None:
            self.job.cancel()
        self.job = None
        self._poller.stop()
        self.placed = None
        self._draw()
        self.clear_button.disabled = True
        set_text(self.status, message)
        if self.file.value:  # the same file can be chosen again
            self.file.clear()

    def poll(self) -> None:
        """Show the job's stage; once it ends, draw its rows (or say why not)."""
        job = self.job
        if job is None:
            return
        set_text(self.status, job.describe())
        if not job.finished:
            return
        self._poller.stop()
        self.job = None
        if job.state != "done":
            self.clear_button.disabled = self.placed is None
            return
        placed: PlacedRows = job.result
        if placed.map_key != self.state.map_key:  # the page moved on while placing: follow it
            self._start(placed.rows, placed.rows.file)
            return
        self.placed = placed
        self._draw()
        self.clear_button.disabled = False
        how = f"; embedded by {placed.rows.embedded_by}" if placed.rows.embedded_by else ""
        set_text(self.status, f"{placed.legend} into {placed.map_key}{how}")

    # -- internals --------------------------------------------------------------------------

    def _entry(self) -> "MapEntry | None":
        key = self.state.map_key
        return self.store.map(key) if key and key in self.store.map_keys else None

    def _file_chosen(self, *_) -> None:
        if self.file.value:
            self.add(self.file.value, self.file.filename or "the file")

    def _start(self, data: "bytes | NewRows", file: str) -> None:
        entry = self._entry()
        if self.job is not None:
            self.job.cancel()
        if entry is None:
            set_text(self.status, f"{file}: no map is shown yet; add the file once a map is drawn")
            return
        try:
            self.job = start_placing(self.store, entry, data, file)
        except ProjectorError as exc:
            self.job = None
            set_text(self.status, str(exc))
            return
        set_text(self.status, self.job.describe())
        if not in_document():  # tests and scripts: wait, then draw
            self.job.wait()
            self.poll()
        else:
            self._poller.start()

    def _map_changed(self, *_) -> None:
        if self.placed is None:
            return
        rows = self.placed.rows
        self.placed = None
        self._draw()
        self._start(rows, rows.file)
        if self.job is None:  # the new map cannot place them: the status says why
            self.clear_button.disabled = True

    def _draw(self) -> None:
        placed = self.placed
        entry = self._entry()
        if placed is None or entry is None or entry.key != placed.map_key:
            if self._layer is not None:
                self._layer.hide()
            return
        if self._layer is None:
            self._layer = _PlacedLayer(self.map_view.figure)
        x, y = placed.xy(entry.drawn_axes(self.state.pca_x, self.state.pca_y))
        self._layer.show(placed, x, y, float(self.state.point_size), placed.cluster_names(self.clusters()))


class _PlacedLayer:
    """The Bokeh models of the placed rows: a scatter on top, its hover and its legend line."""

    def __init__(self, figure) -> None:
        from bokeh.models import ColumnDataSource, HoverTool, Legend, LegendItem

        self.figure = figure
        self.source: "ColumnDataSource" = ColumnDataSource(data=_empty())
        self.renderer: "GlyphRenderer" = figure.scatter(
            "x", "y", source=self.source, size="size", marker="diamond", fill_color=PLACED_COLOR, fill_alpha=0.9,
            line_color="black", line_width=1.5, name="projector-placed",
        )  # added last: drawn above the map's points and raster image
        figure.add_tools(HoverTool(renderers=[self.renderer], tooltips=[("placed from", "@file"), ("text", "@text"), ("label", "@label"), ("cluster", "@cluster")]))
        self.legend: "Legend" = Legend(items=[LegendItem(label="", renderers=[self.renderer])], location="top_left", background_fill_alpha=0.8)
        figure.add_layout(self.legend)

    def show(self, placed: PlacedRows, x: np.ndarray, y: np.ndarray, point_size: float, clusters: list[str]) -> None:
        n = len(x)
        rows = placed.rows
        self.source.data = {
            "x": x, "y": y, "size": np.full(n, max(point_size * 2.2, 9.0), np.float32),
            "file": [rows.file] * n, "text": list(rows.texts or [""] * n), "label": list(rows.labels or [""] * n),
            "cluster": clusters,
        }
        self.legend.items[0].label = {"value": placed.legend}  # a plain value, drawn as text
        self.legend.visible = self.renderer.visible = True

    def hide(self) -> None:
        self.source.data = _empty()
        self.legend.visible = self.renderer.visible = False


def _empty() -> dict:
    return {"x": np.zeros(0, np.float32), "y": np.zeros(0, np.float32), "size": np.zeros(0, np.float32), "file": [], "text": [], "label": [], "cluster": []}
