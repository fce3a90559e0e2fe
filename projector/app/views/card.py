"""The sample card: the focused sample in full (large image, audio, full text, every value)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import panel as pn

from projector.explore.html import escape
from projector.explore.links import Links

if TYPE_CHECKING:
    from projector.app.state import ViewState
    from projector.explore.store import DataStore

__all__ = ["CardView", "card_html"]

CARD_IMAGE_SIZE = 320


def card_html(store: "DataStore", row: int, links: Links | None = None) -> str:
    """Every value of ``row``, escaped; images as large thumbnails, audio as players (sources
    from ``links``: the app's routes unless given)."""
    links = links or Links(store)
    record = store.rows.record(row, text_chars=None)
    parts = [f'<div class="projector-card" style="font-size:13px"><div style="font-weight:600;margin-bottom:6px">row {row} · id {escape(record["id"])}</div>']
    for column in record["images"]:
        src = links.thumb(row, column, CARD_IMAGE_SIZE)
        parts.append(f'<img class="projector-card-image" src="{escape(src)}" alt="{escape(column)}" style="max-width:{CARD_IMAGE_SIZE}px;image-rendering:auto;border:1px solid #ddd">')
    for column in record["audio"]:
        src = links.media(column, row)
        player = f'<audio controls preload="none" src="{escape(src)}"></audio>' if src else '<i class="projector-media-missing">cannot be played here</i>'
        parts.append(f"<div>{escape(column)}</div>{player}")
    rows = "".join(
        f'<tr><th style="text-align:left;vertical-align:top;padding-right:8px;color:#555">{escape(name)}</th>'
        f'<td style="white-space:pre-wrap;overflow-wrap:anywhere">{escape(value)}</td></tr>'
        for name, value in record["fields"]
    )
    parts.append(f'<table style="border-collapse:collapse;margin-top:6px">{rows}</table></div>')
    return "".join(parts)


class CardView:
    """Shows the focused row; empty until a point is clicked."""

    def __init__(self, store: "DataStore", state: "ViewState", links: Links | None = None) -> None:
        self.store = store
        self.state = state
        self.links = links or Links(store)
        self.panel = pn.pane.HTML("<i>Click a point to see the sample in full.</i>", sizing_mode="stretch_width")
        state.param.watch(self.redraw, ["focused"])
        self.redraw()

    def redraw(self, *_) -> None:
        row = self.state.focused
        if row is not None and 0 <= row < self.store.num_rows:
            self.panel.object = card_html(self.store, row, self.links)
