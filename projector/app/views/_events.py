"""Widget handlers that end in writes to Bokeh models run where the document lock is held.

Panel runs a button's click handler without the Bokeh document lock; a handler that changes
the view state makes the map write its Bokeh models (selection, filters), which then fails
("_pending_writes should be non-None") and loses the change. Such handlers are scheduled on the
session's next tick instead, which holds the lock. Outside a server they run at once.
"""

from __future__ import annotations

from typing import Any, Callable

import panel as pn

__all__ = ["locked"]


def locked(handler: Callable[..., Any]) -> Callable[..., None]:
    """``handler``, run on the document's next tick (with its lock) inside a served page."""

    def run(*args: Any) -> None:
        pn.state.execute(lambda: handler(*args), schedule=True)

    return run
