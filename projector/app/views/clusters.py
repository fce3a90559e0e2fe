"""The cluster list of the shown map and its parameters: one row per cluster (label, size,
purity against the label column), largest first; clicking a row selects the cluster's rows.

The list is a Bokeh ``DataTable`` whose cells are drawn as text (its ``StringFormatter`` makes
text nodes), so a cluster named ``<img onerror=...>`` stays text. A click selects through
:meth:`ViewState.select <projector.app.state.ViewState.select>`, the path a lasso takes, so the
selection table, media grid and summary charts follow. The parameters are
:class:`~projector.clusters.ClusterParams`' own fields as widgets; "Recluster" stores them in
the page's state, and the clusters are computed in the background
(:class:`~projector.app.views.overlays.OverlayView`) with the progress shown here.
"""

from __future__ import annotations

from dataclasses import MISSING, fields
from typing import TYPE_CHECKING, Any

import numpy as np
import panel as pn

from projector.app.views._events import Poller, locked
from projector.app.views._params import spec_widgets, widget_values
from projector.app.views._text import set_text, text_pane
from projector.errors import ProjectorError
from projector.explore.html import escape

if TYPE_CHECKING:
    from projector.app.state import ViewState
    from projector.app.views.overlays import OverlayView
    from projector.explore.map_clusters import MapClusters
    from projector.explore.store import DataStore

__all__ = ["ClusterView", "cluster_specs"]

_POLL_MS = 250
_TABLE_HEIGHT = 320


def cluster_specs() -> list[dict[str, Any]]:
    """:class:`~projector.clusters.ClusterParams`' fields as data (name, default, doc, bounds)."""
    from projector.clusters import ClusterParams

    return [{"name": f.name, "default": None if f.default is MISSING else f.default, **f.metadata} for f in fields(ClusterParams)]


class ClusterView:
    """The "Clusters" tab: parameters, a Recluster button with progress, and the list."""

    def __init__(self, store: "DataStore", state: "ViewState", overlays: "OverlayView") -> None:
        from bokeh.models import ColumnDataSource, DataTable, NumberFormatter, StringFormatter, TableColumn

        self.store = store
        self.state = state
        self.overlays = overlays
        self.result: "MapClusters | None" = None  # the clusters listed
        self.params = spec_widgets(cluster_specs())
        self._show_params()
        self.recluster = pn.widgets.Button(label="Recluster", color="primary", width=120)
        self.defaults = pn.widgets.Button(label="Defaults", width=90)
        self.recluster.on_click(locked(lambda *_: self.apply()))
        self.defaults.on_click(locked(lambda *_: self.apply(defaults=True)))
        self.progress = pn.indicators.Progress(value=-1, max=100, visible=False, sizing_mode="stretch_width", height=14)
        self.status = text_pane(sizing_mode="stretch_width", styles={"font-size": "12px"})
        columns = [
            TableColumn(field="label", title=_label_title(store), formatter=StringFormatter(), width=320),
            TableColumn(field="size", title="rows", formatter=NumberFormatter(format="0,0"), width=70),
        ]
        roles = store.dataset.roles
        if roles.labels and roles.texts:  # without texts the label already is the majority and its share
            columns.append(TableColumn(field="purity", title=f"purity ({escape(roles.labels[0])})", formatter=StringFormatter(), width=200))
        self.source = ColumnDataSource(data=_table_data(None))
        self.table = DataTable(
            source=self.source, columns=columns, height=_TABLE_HEIGHT, sizing_mode="stretch_width", index_position=None,
            selectable=True, css_classes=["projector-clusters"],
        )
        self.source.selected.on_change("indices", self._clicked)
        self._selecting = False
        self._poller = Poller(self._poll, _POLL_MS)
        form = pn.Column(*self.params, pn.Row(self.recluster, self.defaults), self.progress, self.status, width=280)
        self.panel = pn.Row(form, pn.pane.Bokeh(self.table, sizing_mode="stretch_width"), sizing_mode="stretch_width")
        overlays.on_clusters(self.show)
        state.param.watch(self._selection_changed, ["selection"])
        state.param.watch(lambda *_: self._poll(), ["map_key"])
        self._poll()

    def apply(self, *, defaults: bool = False) -> None:
        """Cluster the shown map at the typed parameters (or the defaults), in the background."""
        from projector.clusters import ClusterParams

        try:
            params = ClusterParams() if defaults else ClusterParams.from_options(widget_values(self.params))
        except ProjectorError as exc:  # names the field, its value and its bounds
            set_text(self.status, str(exc))
            return
        default = ClusterParams().to_dict()
        self.state.cluster_params = {name: value for name, value in params.to_dict().items() if value != default[name]}
        if defaults:
            self._show_params()
        self._poll()
        self._poller.start()

    def select_cluster(self, cluster: int) -> np.ndarray:
        """Select the rows of ``cluster`` (its id in the ``cluster`` column); returns them."""
        if self.result is None:
            return np.zeros(0, dtype=np.int64)
        rows = self.result.members(cluster)
        self.state.select(rows)
        return rows

    def show(self, result: "MapClusters | None") -> None:
        """List ``result``'s clusters (None: none for the shown map)."""
        self.result = result
        self._selecting = True  # a new list starts with no row chosen
        try:
            self.source.selected.indices = []
            self.source.data = _table_data(result)
        finally:
            self._selecting = False
        self._poll()

    def after_paint(self) -> None:
        """The page has painted: follow the clusters' progress while they are computed."""
        self._poll()
        self._poller.start()

    def _poll(self) -> None:
        job = self.overlays.job
        running = job is not None and not job.finished
        self.progress.visible = running
        if running:
            self.progress.value = -1 if job.fraction is None else int(job.fraction * 100)
            set_text(self.status, job.describe())
            return
        self._poller.stop()
        if job is None:
            set_text(self.status, "clusters are found for UMAP and t-SNE maps once the page has painted")
        elif job.state != "done":
            set_text(self.status, job.describe())
        elif self.result is not None:
            found = self.result.clusters
            inside = int((found.labels >= 0).sum())
            set_text(self.status, f"{found.count} clusters ({found.method}) hold {inside:,} of {len(found.labels):,} rows; click one to select it")

    def _show_params(self) -> None:
        """The form shows the page's parameters over the defaults."""
        asked = self.state.cluster_params
        for widget, spec in zip(self.params, cluster_specs()):
            widget.value = asked.get(spec["name"], spec["default"])

    def _clicked(self, attr: str, old: list[int], new: list[int]) -> None:
        if self._selecting or not new or self.result is None:
            return
        cluster = int(self.source.data["cluster"][new[0]])
        self._selecting = True
        try:
            self.select_cluster(cluster)
        finally:
            self._selecting = False

    def _selection_changed(self, *_) -> None:
        """Another selection (a lasso, a click on the map) unmarks the listed cluster."""
        if self._selecting or not self.source.selected.indices or self.result is None:
            return
        cluster = int(self.source.data["cluster"][self.source.selected.indices[0]])
        if not np.array_equal(self.result.members(cluster), self.state.selection):
            self._selecting = True
            try:
                self.source.selected.indices = []
            finally:
                self._selecting = False


def _label_title(store: "DataStore") -> str:
    """The label column's title (HTML in a DataTable, so the column name is escaped)."""
    roles = store.dataset.roles
    if roles.texts:
        return "label (top terms)"
    return f"label (majority {escape(roles.labels[0])} · share)" if roles.labels else "label"


def _table_data(result: "MapClusters | None") -> dict[str, list]:
    rows = result.table if result is not None else ()
    return {
        "cluster": [row.cluster for row in rows],
        "label": [row.label for row in rows],
        "size": [row.size for row in rows],
        "purity": [row.purity or "" for row in rows],
    }
