"""Long work off the server's event loop: a projection computed on a worker thread.

The worker only writes plain attributes; a view polls :class:`Job` from its own session's
periodic callback, so no Bokeh model is ever touched from the thread.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Executor
from typing import Any, Callable

from projector.progress import Cancelled, Progress

__all__ = ["Job"]


class Job:
    """One background computation with progress and cancel.

    ``run`` receives a progress callback (openTSNE style: returning True cancels) and returns
    the result. ``state`` goes ``"queued" -> "running" -> "done" | "failed" | "cancelled"``.
    """

    def __init__(self, title: str, run: Callable[[Callable[[Progress], bool]], Any]) -> None:
        self.title = title
        self.state = "queued"
        self.stage = ""
        self.fraction: float | None = None
        self.message = ""
        self.result: Any = None
        self.error: str | None = None
        self.started = time.monotonic()
        self._run = run
        self._cancel = threading.Event()
        self._finished = threading.Event()

    def submit(self, executor: Executor) -> "Job":
        executor.submit(self._work)
        return self

    def cancel(self) -> None:
        """Ask the work to stop at its next progress report."""
        self._cancel.set()
        if self.state == "queued":
            self.state = "cancelled"
            self._finished.set()

    @property
    def finished(self) -> bool:
        return self._finished.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._finished.wait(timeout)

    def describe(self) -> str:
        """One line for the page: what runs, which stage, how far."""
        if self.state == "queued":
            return f"{self.title}: waiting for the computation before it"
        if self.state == "running":
            share = f" {self.fraction:.0%}" if self.fraction is not None else ""
            return f"{self.title}: {self.stage}{share}"
        if self.state == "failed":
            return f"{self.title} failed: {self.error}"
        if self.state == "cancelled":
            return f"{self.title}: cancelled"
        return f"{self.title}: done in {time.monotonic() - self.started:.1f} s"

    def _progress(self, event: Progress) -> bool:
        self.stage = event.stage
        self.fraction = event.fraction
        self.message = event.message
        return self._cancel.is_set()

    def _work(self) -> None:
        if self._cancel.is_set():
            return
        self.state = "running"
        self.started = time.monotonic()
        try:
            self.result = self._run(self._progress)
            self.state = "cancelled" if self._cancel.is_set() else "done"
        except Cancelled:
            self.state = "cancelled"
        except Exception as exc:  # shown on the page; the server keeps serving
            self.error = f"{type(exc).__name__}: {exc}"
            self.state = "failed"
        finally:
            self._finished.set()
