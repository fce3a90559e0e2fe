"""Neighbours of the focused sample in the ORIGINAL embedding space, and how many the map keeps.

The list comes from the FAISS index (:meth:`DataStore.neighbors`); the overlap with the
focused point's nearest neighbours in the 2-D map tells the user when the map misleads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import panel as pn

from projector.explore.html import escape, truncate
from projector.explore.links import Links
from projector.app.views._events import JobWatch

if TYPE_CHECKING:
    from projector.explore.jobs import Job
    from projector.app.state import ViewState
    from projector.explore.store import DataStore
    from projector.app.views.map import MapView

__all__ = ["NeighborsView", "neighbors_html"]


def neighbors_html(
    store: "DataStore", row: int, rows: np.ndarray, distances: np.ndarray, kept: int | None, metric: str,
    column: str | None = None, links: Links | None = None,
) -> str:
    """The focused row's neighbour list: rank, distance, thumbnail, label and text, escaped."""
    links = links or Links(store)
    record = store.rows.record(row)
    column = column or store.dataset.roles.vectors[0]
    head = f"{rows.size} nearest to row {row} (id {escape(record['id'])}) by {escape(metric)} distance in {escape(column)}"
    summary = ""
    if kept is not None:
        share = kept / rows.size if rows.size else 0.0
        summary = (
            f'<div class="projector-map-overlap" style="margin:4px 0;color:#333">'
            f"{kept} of {rows.size} are also among its {rows.size} nearest on the map ({share:.0%})</div>"
        )
    items = []
    for rank, (other, distance) in enumerate(zip(rows.tolist(), distances.tolist()), start=1):
        other_record = store.rows.record(other, text_chars=90)
        thumb = ""
        if other_record["images"]:
            thumb = f'<img src="{escape(links.thumb(other, other_record["images"][0], 48))}" width="32" height="32" alt="" style="image-rendering:auto">'
        label = escape(other_record["label"]) if other_record["label"] is not None else ""
        text = escape(truncate(other_record["text"], 90)) if other_record["text"] else ""
        items.append(
            f'<tr class="projector-neighbor" data-row="{other}"><td style="color:#777">{rank}</td>'
            f'<td style="font-variant-numeric:tabular-nums">{distance:.4f}</td><td>{thumb}</td>'
            f"<td><b>{label}</b> <span style=\"color:#777\">row {other}</span><br>{text}</td></tr>"
        )
    table = f'<table style="border-collapse:collapse;font-size:12px;width:100%">{"".join(items)}</table>'
    return f'<div class="projector-neighbors" style="font-size:12px"><div style="font-weight:600">{head}</div>{summary}{table}</div>'


class NeighborsView:
    """k (1-200) and metric controls, and the list for the focused row."""

    def __init__(self, store: "DataStore", state: "ViewState", map_view: "MapView", links: Links | None = None) -> None:
        self.store = store
        self.links = links or Links(store)
        self.state = state
        self.map_view = map_view
        self.k = pn.widgets.IntSlider.from_param(state.param.neighbor_k, label="Neighbours (k)", width=220)
        self.metric = pn.widgets.RadioButtonGroup.from_param(state.param.neighbor_metric, label="Metric", width=160)
        self.list = pn.pane.HTML("<i>Click a point to list its nearest neighbours in the original space.</i>", sizing_mode="stretch_width")
        self.panel = pn.Column(pn.Row(self.k, self.metric), self.list, sizing_mode="stretch_width")
        self._asked: tuple = (None, "", None)
        self._watch = JobWatch(self._show)  # the list is found off the event loop
        state.param.watch(self.redraw, ["focused", "neighbor_k", "neighbor_metric", "map_key", "pca_x", "pca_y"])
        self.redraw()

    def redraw(self, *_) -> None:
        row = self.state.focused
        if row is None or not 0 <= row < self.store.num_rows:
            return
        column = self.map_view.column()  # neighbours in the space the shown map was made from
        job = self.store.neighbors_job(row, self.state.neighbor_k, self.state.neighbor_metric, column)
        self._asked = (row, self.state.neighbor_metric, column)
        if not self._watch.watch(job):
            self.list.object = f'<i class="projector-neighbors-pending">finding the {self.state.neighbor_k} nearest of {self.store.num_rows:,} rows…</i>'

    def _show(self, job: "Job") -> None:
        row, metric, column = self._asked
        if job.state != "done":
            self.list.object = f"<i>{escape(job.describe())}</i>"
            return
        rows, distances = job.result
        kept = None
        x, y = self.map_view._x, self.map_view._y
        if x.size == self.store.num_rows:
            on_map = self.store.map_neighbors(np.stack([x, y], axis=1), row, rows.size)
            kept = int(np.isin(rows, on_map).sum())
        self.list.object = neighbors_html(self.store, row, rows, distances, kept, metric, column, self.links)
