"""Cluster labels and density contours over the page's map, and the switch that shows them.

They are computed once per UMAP or t-SNE map in the background, after the page has painted
(:meth:`~projector.explore.store.DataStore.overlays_job`, shared by every page), and drawn
when they arrive through the figures layer (:meth:`~projector.app.views.map.MapView.show_overlays`),
so the first map never waits for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import panel as pn

from projector.app.views._events import JobWatch

if TYPE_CHECKING:
    from projector.app.state import ViewState
    from projector.app.views.map import MapView
    from projector.explore.store import DataStore


class OverlayView:
    """Draws the shown map's overlays while ``state.overlays`` is on; nothing before the paint."""

    def __init__(self, store: "DataStore", state: "ViewState", map_view: "MapView") -> None:
        self.store = store
        self.state = state
        self.map = map_view
        self.toggle = pn.widgets.Checkbox.from_param(state.param.overlays, name="Cluster labels and contours (UMAP, t-SNE)")
        self.drawn: str | None = None  # the map whose overlays are drawn
        self._painted = False
        self._watch = JobWatch(lambda job: self.refresh())
        state.param.watch(self.refresh, ["overlays", "map_key"])

    def after_paint(self) -> None:
        """The page has painted: the overlays of its map may now be computed."""
        self._painted = True
        self.refresh()

    def refresh(self, *_) -> None:
        key = self.state.map_key
        entry = self.store.map(key) if key and key in self.store.map_keys else None
        job = self.store.overlays_job(entry, start=self._painted) if entry is not None and self.state.overlays else None
        if job is not None and not job.finished:
            self._draw(None)
            self._watch.watch(job)
        elif job is not None and job.state == "done":
            self._draw(key, job.result)
        else:
            self._draw(None)

    def _draw(self, key: str | None, overlays=None) -> None:
        if key != self.drawn:
            self.drawn = key
            self.map.show_overlays(overlays if key is not None else None)
