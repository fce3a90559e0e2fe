"""The selection: its count, isolate / clear, and a table of the selected rows (every cell escaped)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import panel as pn

from projector.app.html import escape, truncate

if TYPE_CHECKING:
    from projector.app.state import ViewState
    from projector.app.store import DataStore

__all__ = ["SelectionView", "table_html"]

PAGE_ROWS = 25
CELL_CHARS = 200


def table_html(store: "DataStore", rows, columns: list[str]) -> str:
    """An HTML table of ``rows`` with every header and cell escaped and long cells truncated."""
    table = store.rows_table(rows, columns)
    head = "".join(f"<th>{escape(name)}</th>" for name in ["row", *columns])
    body = []
    data = table.to_pylist()
    for row, record in zip(list(rows), data):
        cells = "".join(f"<td>{escape(truncate('' if record[name] is None else str(record[name]), CELL_CHARS))}</td>" for name in columns)
        body.append(f'<tr data-row="{int(row)}"><td>{int(row)}</td>{cells}</tr>')
    return (
        '<table class="projector-table" style="border-collapse:collapse;font-size:12px;width:100%">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


class SelectionView:
    """Count, isolate and clear buttons, and the selected rows one page at a time."""

    def __init__(self, store: "DataStore", state: "ViewState") -> None:
        self.store = store
        self.state = state
        self.count = pn.pane.HTML("", sizing_mode="stretch_width")
        self.isolate = pn.widgets.Toggle.from_param(state.param.isolate, name="Isolate", width=90)
        self.clear = pn.widgets.Button(name="Clear", width=90)
        self.clear.on_click(lambda *_: state.clear_selection())
        self.page = pn.widgets.IntInput(name="Page", value=1, start=1, width=90)
        self.page.param.watch(self.redraw, "value")
        self.table = pn.pane.HTML("", sizing_mode="stretch_width")
        self.panel = pn.Column(pn.Row(self.count, self.isolate, self.clear, self.page), self.table, sizing_mode="stretch_width")
        state.param.watch(self._selection_changed, ["selection"])
        self.redraw()

    def _selection_changed(self, *_) -> None:
        self.page.value = 1
        self.redraw()

    def redraw(self, *_) -> None:
        rows = self.state.selection
        total = self.store.num_rows
        self.count.object = f'<span class="projector-selection-count">{rows.size:,} of {total:,} selected</span>'
        if rows.size == 0:
            self.table.object = "<i>Select points with a click, the box or the lasso tool.</i>"
            return
        pages = max(1, -(-rows.size // PAGE_ROWS))
        self.page.end = pages
        page = min(self.page.value, pages)
        shown = rows[(page - 1) * PAGE_ROWS : page * PAGE_ROWS]
        self.table.object = table_html(self.store, shown, self.store.display_columns())
