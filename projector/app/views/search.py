"""Search (substring or regex over a text column, or by meaning) and filters (categories,
numeric ranges).

A search selects and highlights its matches; a search by meaning also lists them ranked, with
scores (:mod:`projector.explore.meaning`). Filters narrow which points are drawn. Both only
write :class:`ViewState`; the store and the explore layer do the matching, off the event loop.

A page opened from a link that carries a query runs that search once after its first paint
(:meth:`SearchView.after_paint`), so the count, or the ranked list with scores, is back without
an Enter; see there for the selection.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import panel as pn

from projector.app.views._events import JobWatch, locked
from projector.app.views._text import set_text, text_pane
from projector.explore.meaning import MeaningHits, hits_html, meaning_unavailable, search_by_meaning

if TYPE_CHECKING:
    from projector.explore.jobs import Job
    from projector.app.state import ViewState
    from projector.explore.store import DataStore

__all__ = ["SearchView", "FilterView"]


class SearchView:
    """A query box over one text column, or by meaning; Enter (or the button) selects the matching rows."""

    def __init__(self, store: "DataStore", state: "ViewState") -> None:
        self.store = store
        self.state = state
        columns = store.rows.text_columns()
        if not state.search_column and columns:
            state.search_column = columns[0]
        self.column = pn.widgets.Select(label="Search in", options=columns, value=state.search_column or None, sizing_mode="stretch_width")
        self.column.param.watch(lambda event: setattr(state, "search_column", event.new or ""), "value")
        self.query = pn.widgets.TextInput(label="Find", value=state.search_query, placeholder="text, or a regex", sizing_mode="stretch_width")
        self.regex = pn.widgets.Checkbox.from_param(state.param.search_regex, label="regular expression")
        self.meaning = pn.widgets.Checkbox.from_param(state.param.search_meaning, label="by meaning")
        self.k = pn.widgets.IntInput.from_param(state.param.search_k, label="Rows found by meaning", visible=state.search_meaning, sizing_mode="stretch_width")
        state.param.watch(lambda event: setattr(self.k, "visible", event.new), "search_meaning")
        self.run = pn.widgets.Button(label="Select matches", sizing_mode="stretch_width")
        self.result = text_pane(styles={"font-size": "12px"}, sizing_mode="stretch_width")
        self.hits = pn.pane.HTML("", sizing_mode="stretch_width", styles={"max-height": "260px", "overflow-y": "auto"})
        self.query.param.watch(locked(self._submit), "enter_pressed")
        self.run.on_click(locked(self._submit))
        self.panel = pn.Column(
            self.column, self.query, pn.Row(self.regex, self.meaning), self.k, self.run, self.result, self.hits,
            sizing_mode="stretch_width", visible=bool(columns) or not meaning_unavailable(store.dataset, model=store.search_model),
        )
        self._watch = JobWatch(self._show)
        self._kept: np.ndarray | None = None  # a link's own selection, kept over its re-run search
        # a link sets the state after the widgets are built: the boxes show what it says
        state.param.watch(lambda event: setattr(self.query, "value", event.new), "search_query")
        state.param.watch(self._column_from_state, "search_column")

    def _column_from_state(self, event) -> None:
        if event.new in self.column.options:
            self.column.value = event.new
        elif event.new:  # a link naming a column this table lacks searches the shown one
            self.state.search_column = self.column.value or ""

    def after_paint(self) -> None:
        """Run the search the state carries (a shared link's ``q=``), once the page has painted.

        A search by meaning lists its hits with scores again; a substring or regex search says
        "N matches" again. The selection a link carries (``sel=``) is what its sharer saw, maybe
        changed by hand after the search, so it is kept (the result line says so when the hits
        differ); a link without one (a selection too large for a URL, or a hand-written
        ``?q=...``) gets the search's rows selected, as Enter would.
        """
        if not self.state.search_query:
            return
        self._run(kept=self.state.selection.copy() if self.state.url_selection else None)

    def _submit(self, *_) -> None:
        self.state.search_query = self.query.value
        self.apply()

    def apply(self) -> None:
        """Select the rows matching the state's query (an empty query clears the selection);
        the matching runs off the event loop, so a large table never stalls the page."""
        self._run(kept=None)

    def _run(self, kept: np.ndarray | None) -> None:
        """:meth:`apply`, keeping the selection ``kept`` (a link's) instead when not None."""
        state = self.state
        self.hits.object = ""
        self._kept = kept
        if not state.search_query:
            self._watch.job = None  # a search still running is forgotten
            state.clear_selection()
            set_text(self.result, "")
            return
        if state.search_meaning:
            self._search_by_meaning()
            return
        column, query, regex = state.search_column, state.search_query, state.search_regex
        job = self.store.run_short(f"search for {query!r}", lambda: self.store.rows.search(column, query, regex=regex))
        if not self._watch.watch(job):
            set_text(self.result, f"searching {self.store.num_rows:,} rows…")

    def _search_by_meaning(self) -> None:
        """Rank rows by meaning in the shown map's embedding column; the first search loads the model."""
        state, store = self.state, self.store
        key = state.map_key
        column = store.map(key).column if key and key in store.map_keys else None
        model = store.search_model
        reason = meaning_unavailable(store.dataset, column, model)
        if reason is not None:
            self._watch.job = None
            set_text(self.result, reason)
            return
        query, k = state.search_query, state.search_k
        job = store.run_short(f"search by meaning for {query!r}", lambda: search_by_meaning(store.dataset, query, k, column, model))
        if not self._watch.watch(job):
            set_text(self.result, f"searching {store.num_rows:,} rows by meaning (the first search loads the model)…")

    def _show(self, job: "Job") -> None:
        if job.state != "done":
            set_text(self.result, job.error.split(": ", 1)[-1] if job.error else job.describe())
            return
        if isinstance(job.result, MeaningHits):
            hits = job.result
            best = f": scores {hits.scores[0]:.3f} to {hits.scores[-1]:.3f}" if len(hits) else ""
            set_text(self.result, f"{len(hits):,} rows nearest in meaning, best first{best}{self._select(hits.rows)}")
            self.hits.object = hits_html(hits, self.store.rows, self.state.search_column or None)
            return
        rows = job.result
        set_text(self.result, f"{rows.size:,} match{'es' if rows.size != 1 else ''}{self._select(rows)}")

    def _select(self, rows: np.ndarray) -> str:
        """Select the search's ``rows``, unless a link's own selection is kept: then the note
        that says so when the two differ."""
        kept, self._kept = self._kept, None
        if kept is None:
            self.state.select(rows)
            return ""
        if np.array_equal(kept, np.unique(rows)):
            return ""
        return f"; the link's own selection of {kept.size:,} row{'s' if kept.size != 1 else ''} is kept"


class FilterView:
    """One widget per label column (categories to keep; none chosen keeps all) and per numeric column (a range)."""

    MAX_FILTERS = 8

    def __init__(self, store: "DataStore", state: "ViewState") -> None:
        self.store = store
        self.state = state
        self.widgets: dict[str, pn.widgets.Widget] = {}
        for column in store.dataset.roles.labels[: self.MAX_FILTERS]:
            # a native <select multiple>: its options are text. (MultiChoice's Choices.js draws
            # option labels as HTML, so a category named <img onerror=...> would run.)
            categories = store.rows.categories(column)
            self.widgets[column] = pn.widgets.MultiSelect(label=column, options=categories, size=max(1, min(6, len(categories))), sizing_mode="stretch_width")
        for column in store.rows.numeric_columns()[: self.MAX_FILTERS]:
            span = store.rows.value_range(column)
            if span is None or span[0] == span[1]:
                continue
            low, high = span
            self.widgets[column] = pn.widgets.RangeSlider(label=column, start=low, end=high, value=(low, high), step=(high - low) / 200, sizing_mode="stretch_width")
        for widget in self.widgets.values():
            widget.param.watch(self._changed, "value")
        self.clear = pn.widgets.Button(label="Clear filters", sizing_mode="stretch_width")
        self.clear.on_click(locked(self._clear))
        self.panel = pn.Column(*self.widgets.values(), self.clear, sizing_mode="stretch_width", visible=bool(self.widgets))

    def _changed(self, *_) -> None:
        filters = {}
        for column, widget in self.widgets.items():
            if isinstance(widget, pn.widgets.MultiSelect):
                if widget.value:
                    filters[column] = list(widget.value)
            elif tuple(widget.value) != (widget.start, widget.end):
                filters[column] = tuple(widget.value)
        self.state.filters = filters

    def _clear(self, *_) -> None:
        for widget in self.widgets.values():
            widget.value = [] if isinstance(widget, pn.widgets.MultiSelect) else (widget.start, widget.end)
        self.state.filters = {}
