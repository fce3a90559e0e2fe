"""The legend beside the map: one escaped line per category with its colour and count."""

from __future__ import annotations

from typing import TYPE_CHECKING

import panel as pn

from projector.app.html import escape

if TYPE_CHECKING:
    from projector.app.colors import ColorSpec
    from projector.app.views.map import MapView

__all__ = ["LegendView", "legend_html"]


def legend_html(spec: "ColorSpec | None") -> str:
    """The legend of a categorical colouring (numeric ones get the map's colour bar)."""
    if spec is None or spec.kind != "categorical":
        return ""
    title = f'<div class="projector-legend-title" style="font-weight:600;margin-bottom:4px">{escape(spec.column)}</div>'
    rows = "".join(
        '<div class="projector-legend-entry" style="display:flex;align-items:center;gap:6px;white-space:nowrap">'
        f'<span style="display:inline-block;width:10px;height:10px;border-radius:50%;background:{entry.color}"></span>'
        f'<span class="projector-legend-name" style="overflow:hidden;text-overflow:ellipsis;max-width:150px">{escape(entry.name)}</span>'
        f'<span style="color:#777;margin-left:auto">{entry.count:,}</span></div>'
        for entry in spec.legend
    )
    note = ""
    if spec.folded:
        note = f'<div style="color:#777;margin-top:4px">raise "Categories shown" to give the {spec.folded} folded categories their own colour</div>'
    return f'<div class="projector-legend" style="font-size:12px">{title}{rows}{note}</div>'


class LegendView:
    """Redraws the legend whenever the map's colouring changes."""

    def __init__(self, map_view: "MapView") -> None:
        self.map_view = map_view
        self.panel = pn.pane.HTML("", width=190, sizing_mode="stretch_height", styles={"overflow-y": "auto"})
        map_view.state.param.watch(self.redraw, ["color_by", "max_categories", "map_key"])
        self.redraw()

    def redraw(self, *_) -> None:
        self.panel.object = legend_html(self.map_view.colors)
