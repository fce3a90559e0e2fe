"""Running view code on the session's own event loop: handlers with the document lock, polling.

Widget handlers that end in writes to Bokeh models run where the document lock is held.

Panel runs a button's click handler without the Bokeh document lock; a handler that changes
the view state makes the map write its Bokeh models (selection, filters), which then fails
("_pending_writes should be non-None") and loses the change. Such handlers are scheduled on the
session's next tick instead, which holds the lock. Outside a server they run at once.
"""

from __future__ import annotations

from typing import Any, Callable

import panel as pn

__all__ = ["locked", "Poller", "JobWatch", "in_document"]


def locked(handler: Callable[..., Any]) -> Callable[..., None]:
    """``handler``, run on the document's next tick (with its lock) inside a served page."""

    def run(*args: Any) -> None:
        pn.state.execute(lambda: handler(*args), schedule=True)

    return run


def in_document() -> bool:
    """True inside a served page or a notebook output (periodic callbacks need a document);
    False in tests and scripts, which call the polled function themselves."""
    return pn.state.curdoc is not None


class Poller:
    """Calls ``callback`` every ``period_ms`` on the session's event loop while started."""

    def __init__(self, callback: Callable[[], Any], period_ms: int) -> None:
        self.callback = callback
        self.period_ms = period_ms
        self._periodic: Any = None

    def start(self) -> None:
        if self._periodic is None and in_document():
            self._periodic = pn.state.add_periodic_callback(self.callback, period=self.period_ms)

    def stop(self) -> None:
        if self._periodic is not None:
            self._periodic.stop()
            self._periodic = None


class JobWatch:
    """Calls ``on_done(job)`` once the watched job ends, on the session's event loop.

    A page polls for it; outside a document (tests, scripts) it waits for the job instead.
    Watching a new job forgets the old one, so only the latest answer is drawn.
    """

    def __init__(self, on_done: Callable[[Any], Any], period_ms: int = 100, grace_s: float = 0.05) -> None:
        self.on_done = on_done
        self.job: Any = None
        self.grace_s = grace_s  # a short wait first, so quick answers draw without a "pending" flash
        self._poller = Poller(self._check, period_ms)

    def watch(self, job: Any) -> bool:
        """Watch ``job``; True when it has already ended (and ``on_done`` ran)."""
        self.job = job
        if job.wait(self.grace_s if in_document() else None):
            self._finish()
            return True
        self._poller.start()
        return False

    def _check(self) -> None:
        if self.job is None or self.job.finished:
            self._finish()

    def _finish(self) -> None:
        self._poller.stop()
        job, self.job = self.job, None
        if job is not None:
            self.on_done(job)
