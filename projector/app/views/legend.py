"""The legend beside the map: one escaped line per category with its colour and count."""

from __future__ import annotations

from typing import TYPE_CHECKING

import panel as pn

from projector.explore.html import legend_html

if TYPE_CHECKING:
    from projector.app.views.map import MapView

__all__ = ["LegendView", "legend_html"]


class LegendView:
    """Redraws the legend whenever the map's colouring changes."""

    def __init__(self, map_view: "MapView") -> None:
        self.map_view = map_view
        self.panel = pn.pane.HTML("", width=190, sizing_mode="stretch_height", styles={"overflow-y": "auto"})
        map_view.state.param.watch(self.redraw, ["color_by", "max_categories", "map_key"])
        self.redraw()

    def redraw(self, *_) -> None:
        self.panel.object = legend_html(self.map_view.colors)
