"""Small HTML builders for panes: every value from the data goes through :func:`escape`.

Panes that show user strings (legend, table, cards, neighbour lists) are built here, so escaping
happens in one place and a test can feed every builder hostile text.
"""

from __future__ import annotations

import html
from typing import Any, Iterable

__all__ = ["escape", "bullet_list", "truncate"]


def escape(value: Any) -> str:
    """Text safe to place in HTML, inside elements or quoted attributes; None becomes ''."""
    return "" if value is None else html.escape(str(value), quote=True)


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bullet_list(lines: Iterable[str], *, style: str = "margin:0;padding-left:1.2em;font-size:12px;color:#444") -> str:
    """An escaped ``<ul>`` of plain-text lines."""
    items = "".join(f"<li>{escape(line)}</li>" for line in lines)
    return f'<ul style="{style}">{items}</ul>' if items else ""
