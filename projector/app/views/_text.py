"""Plain-text lines on the page (status, counts): escaped, never markup.

Panel's ``Str`` pane escapes its text once and the browser model unescapes it again, so a
column name like ``<img onerror=...>`` in a status line ran as markup. These panes are HTML
panes fed through :func:`projector.explore.html.escape`, as every other pane with data in it.
"""

from __future__ import annotations

from typing import Any

import panel as pn

from projector.explore.html import escape

__all__ = ["text_pane", "set_text"]


def text_pane(**options: Any) -> pn.pane.HTML:
    """An empty plain-text line (``options`` are the pane's: styles, sizing_mode ...)."""
    return pn.pane.HTML("", **options)


def set_text(pane: pn.pane.HTML, text: str) -> None:
    """Show ``text`` in ``pane`` as text, line breaks kept."""
    pane.object = f'<div class="projector-text" style="white-space:pre-wrap">{escape(text)}</div>' if text else ""
