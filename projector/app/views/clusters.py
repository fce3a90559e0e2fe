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

__all__ = ["ClusterView", "ClusterForm", "ClusterList", "cluster_specs"]

_POLL_MS = 250
_TABLE_HEIGHT = 320


def cluster_specs() -> list[dict[str, Any]]:
    """:class:`~projector.clusters.ClusterParams`' fields as data (name, default, doc, bounds)."""
    from projector.clusters import ClusterParams

    return [{"name": f.name, "default": None if f.default is MISSING else f.default, **f.metadata} for f in fields(ClusterParams)]


class ClusterView:
    """The "Clusters" tab: the parameter form (:class:`ClusterForm`) beside the list (:class:`ClusterList`)."""

    def __init__(self, store: "DataStore", state: "ViewState", overlays: "OverlayView") -> None:
        self.form = ClusterForm(state, overlays)
        self.list = ClusterList(store, state)
        overlays.on_clusters(self.list.show)
        overlays.on_clusters(lambda result: self.form.follow())
        self.panel = pn.Row(self.form.panel, self.list.panel, sizing_mode="stretch_width")

    def after_paint(self) -> None:
        """The page has painted: follow the clusters' progress while they are computed."""
        self.form.follow()


class ClusterForm:
    """:class:`~projector.clusters.ClusterParams` as widgets, Recluster / Defaults, and where
    the clusters asked for stand (progress while computed, then how many were found)."""

    def __init__(self, state: "ViewState", overlays: "OverlayView") -> None:
        self.state = state
        self.overlays = overlays
        self.params = spec_widgets(cluster_specs())
        self._show_params()
        self.recluster = pn.widgets.Button(label="Recluster", color="primary", width=120)
        self.defaults = pn.widgets.Button(label="Defaults", width=90)
        self.recluster.on_click(locked(lambda *_: self.apply()))
        self.defaults.on_click(locked(lambda *_: self.apply(defaults=True)))
        self.progress = pn.indicators.Progress(value=-1, max=100, visible=False, sizing_mode="stretch_width", height=14)
        self.status = text_pane(sizing_mode="stretch_width", styles={"font-size": "12px"})
        self._poller = Poller(self._poll, _POLL_MS)
        self.panel = pn.Column(*self.params, pn.Row(self.recluster, self.defaults), self.progress, self.status, width=280)
        state.param.watch(lambda *_: self.follow(), ["map_key"])  # after OverlayView's watcher: its job is asked
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
        self.follow()

    def follow(self) -> None:
        """Show where the clusters asked for stand, and keep showing it until they are found."""
        self._poll()
        if self.overlays.job is not None and not self.overlays.job.finished:
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
        result = self.overlays.result
        if job is None:
            set_text(self.status, "clusters are found for UMAP and t-SNE maps once the page has painted")
        elif job.state != "done":
            set_text(self.status, job.describe())
        elif result is not None:
            found = result.clusters
            inside = int((found.labels >= 0).sum())
            set_text(self.status, f"{found.count} clusters ({found.method}) hold {inside:,} of {len(found.labels):,} rows; click one to select it")

    def _show_params(self) -> None:
        """The form shows the page's parameters over the defaults."""
        asked = self.state.cluster_params
        for widget, spec in zip(self.params, cluster_specs()):
            widget.value = asked.get(spec["name"], spec["default"])


class ClusterList:
    """One row per cluster, largest first; a click selects the cluster's rows, and another
    selection (a lasso, a click on the map) unmarks the row."""

    def __init__(self, store: "DataStore", state: "ViewState") -> None:
        from bokeh.models import ColumnDataSource, DataTable, NumberFormatter, StringFormatter, TableColumn

        self.state = state
        self.result: "MapClusters | None" = None  # the clusters listed
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
        self._quiet = False  # True while this list changes its own row marks
        self.source.selected.on_change("indices", self._clicked)
        state.param.watch(self._selection_changed, ["selection"])
        self.panel = pn.pane.Bokeh(self.table, sizing_mode="stretch_width")

    def show(self, result: "MapClusters | None") -> None:
        """List ``result``'s clusters (None: none for the shown map), no row marked."""
        self.result = result
        self._mark([])
        self.source.data = _table_data(result)

    def select_cluster(self, cluster: int) -> np.ndarray:
        """Select the rows of ``cluster`` (its id in the ``cluster`` column); returns them."""
        if self.result is None:
            return np.zeros(0, dtype=np.int64)
        rows = self.result.members(cluster)
        self._quiet = True
        try:
            self.state.select(rows)
        finally:
            self._quiet = False
        return rows

    def _mark(self, indices: list[int]) -> None:
        self._quiet = True
        try:
            self.source.selected.indices = indices
        finally:
            self._quiet = False

    def _clicked(self, attr: str, old: list[int], new: list[int]) -> None:
        if not self._quiet and new and self.result is not None:
            self.select_cluster(int(self.source.data["cluster"][new[0]]))

    def _selection_changed(self, *_) -> None:
        marked = self.source.selected.indices
        if self._quiet or not marked or self.result is None:
            return
        if not np.array_equal(self.result.members(int(self.source.data["cluster"][marked[0]])), self.state.selection):
            self._mark([])


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
