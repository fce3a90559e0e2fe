"""The selection panel: count, isolate / clear, export, a page of rows as a table and a media
grid, and summary charts of a column for the selection against the whole dataset.

Every value from the data is escaped where it reaches HTML; chart labels are drawn as canvas
text or :class:`~bokeh.models.PlainText`, never as math. From Python, the selected rows are
``SelectionView.selected_table()`` (``session.selection.selected_table()`` on a page).
"""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

import numpy as np
import panel as pn
import pyarrow as pa

from projector.explore.html import escape, truncate
from projector.explore.links import Links
from projector.explore.rows import EXPORT_FORMATS
from projector.app.views._events import locked
from projector.app.views.summary import summary, summary_figure

if TYPE_CHECKING:
    from bokeh.plotting import figure as Figure

    from projector.app.state import ViewState
    from projector.explore.store import DataStore

__all__ = ["SelectionView", "table_html", "media_grid_html", "export_filename"]

PAGE_ROWS = 25
CELL_CHARS = 200
CARD_CHARS = 160
GRID_THUMB = 96
Rows = Sequence[int] | np.ndarray


def table_html(store: "DataStore", rows: Rows, columns: list[str]) -> str:
    """An HTML table of ``rows`` with every header and cell escaped and long cells truncated."""
    table = store.rows.table(rows, columns)
    head = "".join(f"<th>{escape(name)}</th>" for name in ["row", *columns])
    body = []
    for row, record in zip(np.asarray(rows).tolist(), table.to_pylist()):
        cells = "".join(f"<td>{escape(truncate('' if record[name] is None else str(record[name]), CELL_CHARS))}</td>" for name in columns)
        body.append(f'<tr data-row="{int(row)}"><td>{int(row)}</td>{cells}</tr>')
    return (
        "<style>.projector-table th,.projector-table td{text-align:left;padding:1px 8px 1px 0;vertical-align:top}</style>"
        '<table class="projector-table" style="border-collapse:collapse;font-size:12px;width:100%">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def media_grid_html(store: "DataStore", rows: Rows, links: Links | None = None) -> str:
    """Thumbnails, audio players, or (for text-only data) text cards of ``rows``; '' if no media."""
    links = links or Links(store)
    items = []
    for row in np.asarray(rows).tolist():
        record = store.rows.record(row, text_chars=CARD_CHARS)
        title = escape(f"row {row}" + (f" · {record['label']}" if record["label"] is not None else ""))
        for column in record["images"]:
            src = escape(links.thumb(row, column, GRID_THUMB))
            items.append(f'<img class="projector-media-item" data-row="{row}" src="{src}" alt="{title}" title="{title}" width="64" height="64" loading="lazy">')
        for column in record["audio"]:
            src = links.media(column, row)
            player = f'<audio controls preload="none" src="{escape(src)}"></audio>' if src else "<i>cannot be played here</i>"
            items.append(f'<div class="projector-media-item projector-audio" data-row="{row}"><div>{title}</div>{player}</div>')
        if not record["images"] and not record["audio"] and record["text"] is not None:
            items.append(f'<div class="projector-media-item projector-text-card" data-row="{row}"><b>{title}</b><br>{escape(truncate(record["text"], CARD_CHARS))}</div>')
    if not items:
        return ""
    style = "<style>.projector-text-card,.projector-audio{width:220px;padding:4px;border:1px solid #ddd;border-radius:4px;overflow-wrap:anywhere}</style>"
    return f'{style}<div class="projector-media-grid" style="display:flex;flex-wrap:wrap;gap:4px;font-size:12px">{"".join(items)}</div>'


def export_filename(store: "DataStore", fmt: str) -> str:
    """``<name>-selection.<fmt>``, with anything but letters, digits, '.', '_' and '-' replaced."""
    return f"{re.sub(r'[^A-Za-z0-9._-]+', '_', store.name) or 'data'}-selection.{fmt}"


class SelectionView:
    """Count, isolate, clear and export; the selected rows a page at a time, as a table and a
    media grid; a summary chart of a chosen column. :meth:`selected_table` gives the rows to Python."""

    def __init__(
        self, store: "DataStore", state: "ViewState", links: Links | None = None,
        extra_columns: "Callable[[], Mapping[str, pa.Array]] | None" = None,
    ) -> None:
        self.store = store
        self.state = state
        self.extra_columns = extra_columns  # columns the page derived (the map's clusters), exported too
        self.links = links or Links(store)
        self.count = pn.pane.HTML("", sizing_mode="stretch_width")
        self.isolate = pn.widgets.Toggle.from_param(state.param.isolate, name="Isolate", width=90)
        self.clear = pn.widgets.Button(label="Clear", width=90)
        self.clear.on_click(locked(lambda *_: state.clear_selection()))
        self.export_format = pn.widgets.Select(label="Export as", options=list(EXPORT_FORMATS), value=EXPORT_FORMATS[0], width=100)
        self.download = pn.widgets.FileDownload(callback=self._export_file, filename=export_filename(store, EXPORT_FORMATS[0]), width=200, align="end")
        self.export_format.param.watch(self._format_changed, "value")
        self.page = pn.widgets.IntInput(label="Page", value=1, start=1, end=1, width=90)
        self.page.param.watch(self._draw_page, "value")
        self.table = pn.pane.HTML("", sizing_mode="stretch_width")
        self.grid = pn.pane.HTML("", sizing_mode="stretch_width")
        columns = store.rows.color_columns()
        self.summary_column = pn.widgets.Select(label="Summary of", options=columns, value=columns[0] if columns else None, width=200, visible=bool(columns))
        self.summary_column.param.watch(self._draw_summary, "value")
        self.chart = pn.pane.Bokeh(None, visible=False)
        controls = pn.Row(self.count, self.isolate, self.clear, self.export_format, self.download, sizing_mode="stretch_width")
        rows = pn.Column(self.page, self.grid, self.table, sizing_mode="stretch_width")
        self.panel = pn.Column(controls, pn.Row(rows, pn.Column(self.summary_column, self.chart, width=380)), sizing_mode="stretch_width")
        state.param.watch(self._selection_changed, ["selection"])
        self._selection_changed()

    def selected_table(self) -> pa.Table:
        """The selected rows (ascending), every display column, as an Arrow table."""
        return self.store.rows.table(self.state.selection, self.store.rows.display_columns())

    def _selection_changed(self, *_) -> None:
        rows = self.state.selection
        self.count.object = f'<span class="projector-selection-count">{rows.size:,} of {self.store.num_rows:,} selected</span>'
        self.download.label = f"Download {rows.size:,} rows ({self.export_format.value})"
        self._draw_summary()
        pages = max(1, -(-rows.size // PAGE_ROWS))
        first = self.page.value == 1
        self.page.value = 1  # a change draws the page through its watcher
        self.page.param.update(end=pages, visible=pages > 1)
        if first:
            self._draw_page()

    def _draw_page(self, *_) -> None:
        rows = self.state.selection
        if rows.size == 0:
            self.table.object = "<i>Select points with a click, the box or the lasso tool.</i>"
            self.grid.object = ""
            return
        page = min(max(self.page.value or 1, 1), self.page.end or 1)
        shown = rows[(page - 1) * PAGE_ROWS : page * PAGE_ROWS]
        note = f'<div class="projector-page-note" style="font-size:12px;color:#555">rows {(page - 1) * PAGE_ROWS + 1:,}-{(page - 1) * PAGE_ROWS + shown.size:,} of {rows.size:,}</div>'
        self.table.object = note + table_html(self.store, shown, self.store.rows.display_columns())
        self.grid.object = media_grid_html(self.store, shown, self.links)

    def _draw_summary(self, *_) -> None:
        column = self.summary_column.value
        self.chart.visible = bool(column) and self.state.selection.size > 0
        if self.chart.visible:
            self.chart.object = summary_figure(summary(self.store, self.state.selection, column))

    def _format_changed(self, *_) -> None:
        self.download.filename = export_filename(self.store, self.export_format.value)
        self.download.label = f"Download {self.state.selection.size:,} rows ({self.export_format.value})"

    def _export_file(self) -> io.BytesIO:
        extra = self.extra_columns() if self.extra_columns is not None else None
        return io.BytesIO(self.store.rows.export(self.state.selection, self.export_format.value, extra))
