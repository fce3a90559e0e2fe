"""Small HTML builders for panes: every value from the data goes through :func:`escape`.

Panes that show user strings (legend, table, cards, neighbour lists) are built here, so escaping
happens in one place and a test can feed every builder hostile text.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:
    from projector.explore.colors import ColorSpec

__all__ = ["escape", "bullet_list", "truncate", "legend_html"]


def escape(value: Any) -> str:
    """Text safe to place in HTML, inside elements or quoted attributes; None becomes ''."""
    return "" if value is None else html.escape(str(value), quote=True)


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bullet_list(lines: Iterable[str], *, style: str = "margin:0;padding-left:1.2em;font-size:12px;color:#444") -> str:
    """An escaped ``<ul>`` of plain-text lines."""
    items = "".join(f"<li>{escape(line)}</li>" for line in lines)
    return f'<ul style="{style}">{items}</ul>' if items else ""


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
