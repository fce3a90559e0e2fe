"""Compare two embedding columns of the same rows: which samples changed neighbourhoods.

The comparison runs as a job on the store (:meth:`DataStore.start_comparison`); the result is
drawn by the same code as a report's comparison block (two linked maps, the second aligned to
the first, coloured by neighbourhood change, the most-changed rows listed), and its per-row
overlap becomes a colour-by column of the main map.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import panel as pn

from projector.explore.maps import comparison_column
from projector.app.views._events import Poller, in_document
from projector.app.views._text import set_text, text_pane
from projector.validation import method_options

if TYPE_CHECKING:
    from projector.explore.jobs import Job
    from projector.app.state import ViewState
    from projector.explore.maps import ComparisonResult
    from projector.explore.store import DataStore

__all__ = ["CompareView"]

_POLL_MS = 300


class CompareView:
    """Pick two embedding columns, k and the map method; compare; show the linked maps."""

    def __init__(self, store: "DataStore", state: "ViewState", on_done: Callable[[str], None] | None = None) -> None:
        self.store = store
        self.state = state
        self.on_done = on_done
        self.job: "Job | None" = None
        self._drawing: "Job | None" = None
        self._poller = Poller(self.poll, _POLL_MS)
        columns = list(store.dataset.roles.vectors)
        self.a = pn.widgets.Select(label="Embedding A", options=columns, value=columns[0], width=200)
        self.b = pn.widgets.Select(label="Embedding B", options=columns, value=columns[min(1, len(columns) - 1)], width=200)
        self.k = pn.widgets.IntInput(label="k", value=10, start=1, end=200, width=90)
        self.method = pn.widgets.Select(label="Maps", options=method_options(), value="pca", width=110)
        self.run = pn.widgets.Button(label="Compare", color="primary", width=110, align="end")
        self.status = text_pane(styles={"font-size": "12px"})
        self.result = pn.Column(sizing_mode="stretch_width")
        self.run.on_click(self.start)
        self.panel = pn.Column(pn.Row(self.a, self.b, self.k, self.method, self.run), self.status, self.result, sizing_mode="stretch_width")

    def start(self, *_) -> None:
        if self.job is not None and not self.job.finished:
            return
        if self.a.value == self.b.value:
            set_text(self.status, "pick two different embedding columns")
            return
        self.job = self.store.start_comparison(self.a.value, self.b.value, int(self.k.value), self.method.value)
        self._drawing = None
        self.run.disabled = True
        set_text(self.status, self.job.describe())
        self._poller.start()

    def poll(self) -> None:
        """Show progress; when done, draw the comparison (thumbnails and all, off the event
        loop), then show it and offer its overlap as a colouring."""
        job = self.job
        if job is None:
            return
        if self._drawing is None:
            set_text(self.status, job.describe())
            if not job.finished:
                return
            if job.state != "done":
                self._stop()
                return
            result = job.result
            self._drawing = self.store.run_short("drawing the comparison", lambda: _draw(self.store, result))
            if not in_document():
                self._drawing.wait()  # tests and scripts poll once
        if not self._drawing.finished:
            return
        self._stop()
        if self._drawing.state != "done":
            set_text(self.status, self._drawing.describe())
            return
        self.result.objects = [pn.pane.Bokeh(self._drawing.result, sizing_mode="stretch_width")]
        comparison = job.result.comparison
        if self.on_done is not None:
            self.on_done(comparison_column(comparison.a, comparison.b, comparison.k))

    def _stop(self) -> None:
        self._poller.stop()
        self.run.disabled = False


def _draw(store: "DataStore", result: "ComparisonResult"):
    """The comparison's Bokeh layout (not yet in any document, so any thread may build it)."""
    from projector.figures.map_block import compare_block
    from projector.figures.options import MapOptions

    return compare_block(store, result.comparison, result.coords_a, result.coords_b, MapOptions(k=result.comparison.k, width=1000, height=420))
