"""Likely mislabels as a list the user can walk: the rows whose neighbours in the original space
carry another label, most doubtful first, one sentence each ("row 412 labelled 3: 9 of 10
neighbours are 8").

They are the store's checks (:meth:`~projector.explore.store.DataStore.start_checks`, the
same computation that fills the "mislabel share: <label>" colour-by columns, on the one kNN
graph), found in the background once a page has painted; this view only lists them. Picking a
row focuses and selects it, as a click on the map does; several rows (ctrl/shift click) select
them all. The sentences are option text, never HTML.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import panel as pn

from projector.explore.html import escape
from projector.app.views._events import JobWatch

if TYPE_CHECKING:
    from projector.app.state import ViewState
    from projector.explore.jobs import Job
    from projector.explore.store import DataStore
    from projector.suspects import Mislabels

__all__ = ["SuspectsView", "suspect_options", "LIST_LIMIT"]

LIST_LIMIT = 500  # suspects listed per label column: past a few hundred a list is not read, it is filtered
_LIST_ROWS = 14


def suspect_options(found: "Mislabels", limit: int | None = LIST_LIMIT) -> dict[str, int]:
    """Sentence -> row of ``found``'s top ``limit`` suspects, most doubtful first (the share of
    disagreeing neighbours leads, so the list reads as sorted)."""
    return {f"{entry['other_share']:.0%} · {entry['sentence']}": entry["row"] for entry in found.table(limit)}


class SuspectsView:
    """A label column picker (when there are several), a summary line, and the list."""

    def __init__(self, store: "DataStore", state: "ViewState") -> None:
        self.store = store
        self.state = state
        labels = store.suspects.labels  # the label columns checked: two values or more, the first few
        self.column = pn.widgets.Select(label="Label column", options=labels, value=labels[0] if labels else None, width=220, visible=len(labels) > 1)
        self.summary = pn.pane.HTML("", sizing_mode="stretch_width")
        self.list = pn.widgets.MultiSelect(options={}, value=[], size=_LIST_ROWS, sizing_mode="stretch_width", css_classes=["projector-suspects"])
        self.panel = pn.Column(self.column, self.summary, self.list, sizing_mode="stretch_width")
        self._shown: set[int] = set()
        self._watch = JobWatch(lambda job: self.refresh())
        self.column.param.watch(self.refresh, "value")
        self.list.param.watch(self._picked, "value")
        self.refresh()

    def after_paint(self) -> None:
        """The page has painted: find the suspects (once for every page) and list them when found."""
        job = self.store.start_checks()
        if job is not None and not self._watch.watch(job):
            self.refresh()

    def refresh(self, *_) -> None:
        """List the chosen label column's suspects, if the checks have found them."""
        job: "Job | None" = self.store.checks
        label = self.column.value
        found = self.store.suspects.mislabels(label) if label else None
        if found is None:
            if job is None or not job.finished:
                text = "finding likely mislabels in the original space…" if job is not None else "likely mislabels are found once the page has painted"
            else:
                text = job.describe() if job.state != "done" else f"{label} is not among the label columns checked"
            self.summary.object = _note(text)
            self._fill({})
            return
        options = suspect_options(found)
        shown = f"the {len(options):,} most doubtful" if len(options) < found.count else "most doubtful first"
        self.summary.object = (
            f'<div class="projector-suspects-summary" style="font-size:12px">{found.count:,} of {found.labels.shape[0]:,} rows '
            f"are likely mislabelled in <b>{escape(label)}</b>: {found.threshold:.0%} or more of their labelled "
            f"neighbours (of {found.k} nearest in the original space) carry another label; {shown}. Pick one to focus it.</div>"
        )
        self._fill(options)

    def _fill(self, options: dict[str, int]) -> None:
        self._shown = set(options.values())
        self.list.param.update(options=options, value=[], visible=bool(options))

    def _picked(self, event) -> None:
        rows = [int(row) for row in event.new if row in self._shown]
        if not rows:
            return
        added = [row for row in rows if row not in (event.old or [])]
        self.state.focused = (added or rows)[0]  # as a click on the map: focus, then select
        self.state.select(rows)


def _note(text: str) -> str:
    return f'<i class="projector-suspects-summary" style="font-size:12px">{escape(text)}</i>'
