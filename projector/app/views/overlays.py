"""Cluster labels and density contours over the page's map, and the two switches that show them.

They come with the map's clusters (:meth:`~projector.explore.clusterings.Clusterings.job`,
once per UMAP or t-SNE map and cluster parameters, shared by every page), computed in the
background after the page has painted and drawn when they arrive through the figures layer
(:meth:`~projector.app.views.map.MapView.show_overlays`), so the first map never waits for
them. The switches only show or hide what is drawn; nothing is computed again. Contours of
each of a label column's top categories (``state.contours_by``) are computed once per map and
column, in the background, shared by every page, and drawn in the categories' legend colours.

Other views (the cluster list, the colour-by menu) follow the same clusters through
:meth:`OverlayView.on_clusters`: one result draws labels, list and colouring alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import panel as pn

from projector.app.views._events import JobWatch

if TYPE_CHECKING:
    from projector.app.state import ViewState
    from projector.app.views.map import MapView
    from projector.clusters import ClusterParams
    from projector.explore.jobs import Job
    from projector.explore.map_clusters import MapClusters
    from projector.explore.store import DataStore

__all__ = ["OverlayView", "cluster_params"]


def cluster_params(state: "ViewState") -> "ClusterParams":
    """The cluster parameters a page asks for (its ``cluster_params`` over the defaults)."""
    from projector.clusters import ClusterParams

    return ClusterParams.from_options(state.cluster_params)


class OverlayView:
    """Draws the shown map's labels and contours as its switches say; nothing before the paint.

    :attr:`job` is the clustering asked for (running or not), :attr:`result` the one drawn.
    """

    def __init__(self, store: "DataStore", state: "ViewState", map_view: "MapView") -> None:
        self.store = store
        self.state = state
        self.map = map_view
        label_columns = list(store.dataset.roles.labels)
        self.contours_by = pn.widgets.Select(
            label="Contours of", options={"all points": "", **{column: column for column in label_columns}},
            value=state.contours_by if state.contours_by in label_columns else "", visible=bool(label_columns),
            sizing_mode="stretch_width",
        )
        self.contours_by.link(state, value="contours_by")
        state.param.watch(lambda event: setattr(self.contours_by, "value", event.new if event.new in label_columns else ""), "contours_by")
        self.toggles = pn.Column(
            pn.widgets.Checkbox.from_param(state.param.labels, name="Cluster labels (UMAP, t-SNE)"),
            pn.widgets.Checkbox.from_param(state.param.contours, name="Density contours (UMAP, t-SNE)"),
            self.contours_by,
            sizing_mode="stretch_width",
        )
        self.job: "Job | None" = None
        self.result: "MapClusters | None" = None
        self.contours: tuple | None = None  # the category contours drawn (None: the map's own)
        self._listeners: list[Callable[["MapClusters | None"], None]] = []
        self._painted = False
        self._watch = JobWatch(lambda job: self.refresh())
        self._contours_watch = JobWatch(lambda job: self._paint())
        state.param.watch(self.refresh, ["map_key", "cluster_params"])
        state.param.watch(self._paint, ["contours_by"])
        state.param.watch(self._show, ["labels", "contours"])

    @property
    def drawn(self) -> str | None:
        """The map whose overlays are drawn (None: none)."""
        return self.result.key if self.result is not None else None

    def color_columns(self) -> list[str]:
        """The colour-by name of the clusters drawn (none while there are none)."""
        return [self.result.column] if self.result is not None else []

    def export_columns(self) -> dict:
        """The drawn clusters as columns a selection export adds: ``cluster`` (int32, -1 for
        none) and ``cluster_label``, suffixed ``_projector`` when the table has such a column."""
        import pyarrow as pa

        if self.result is None:
            return {}
        taken = set(self.store.dataset.column_names)
        clusters = self.result.clusters
        columns = {"cluster": pa.array(clusters.labels, pa.int32()), "cluster_label": pa.array(clusters.label_of(), pa.string())}
        return {(name if name not in taken else f"{name}_projector"): values for name, values in columns.items()}

    def on_clusters(self, listener: Callable[["MapClusters | None"], None]) -> None:
        """Call ``listener(result)`` whenever the clusters shown change (None: none now)."""
        self._listeners.append(listener)

    def after_paint(self) -> None:
        """The page has painted: the clusters of its map may now be computed."""
        self._painted = True
        self.refresh()

    def refresh(self, *_) -> None:
        """Ask for the shown map's clusters at the page's parameters; draw them once found."""
        key = self.state.map_key
        entry = self.store.map(key) if key and key in self.store.map_keys else None
        try:
            params = cluster_params(self.state)
        except (ValueError, TypeError) as exc:  # a link with parameters the class refuses
            self.state.message = f"cluster parameters ignored: {exc}"
            params = None
        job = self.store.clusterings.job(entry, params, start=self._painted) if entry is not None else None
        self.job = job
        if job is not None and not job.finished:
            self._watch.watch(job)  # what is drawn stays until the new clusters arrive
            if self.result is not None and self.result.key != key:
                self._draw(None)
        else:
            self._draw(job.result if job is not None and job.state == "done" else None)

    def _draw(self, result: "MapClusters | None") -> None:
        if result is self.result:
            return
        self.result = result
        self._paint()
        for listener in self._listeners:
            listener(result)

    def _paint(self, *_) -> None:
        """Draw the result's labels with its contours, or with the chosen column's once found."""
        result = self.result
        overlays = result.overlays if result is not None else None
        column = self.state.contours_by
        contours = None
        if overlays is not None and column in self.store.dataset.roles.labels:
            job = self._category_job(result.key, column)
            if job is not None and job.state == "done":
                contours = job.result
            elif job is not None and not job.finished:
                self._contours_watch.watch(job)  # the map's own contours stay until these arrive
        if overlays is not None and contours is not None:
            from projector.explore.overlays import Overlays

            overlays = Overlays(labels=overlays.labels, contours=contours)
        self.contours = contours
        self.map.show_overlays(overlays)
        self._show()

    def _category_job(self, key: str, column: str) -> "Job | None":
        """The contours of ``column``'s top categories on map ``key``: one job per map and
        column for every page (kept in the store's shared cache)."""
        from projector.explore.map_overlays import map_overlays

        if key not in self.store.map_keys:
            return None
        entry = self.store.map(key)

        def start() -> "Job":
            compute = lambda: map_overlays(self.store.dataset, entry.projection, ("contours",), contours_by=column)[0].contours
            return self.store.run_short(f"contours of {column} on {key}", compute)

        return self.store.shared(("category contours", key, column), start)

    def _show(self, *_) -> None:
        if self.map.overlays is not None:
            self.map.overlays.set_visible(labels=self.state.labels, contours=self.state.contours)
