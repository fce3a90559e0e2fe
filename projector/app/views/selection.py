"""The selection panel: count, isolate / clear, export, a page of rows as a table and a media
grid, and summary charts of a column for the selection against the whole dataset.

Every value from the data is escaped where it reaches HTML; chart labels are drawn as canvas
text or :class:`~bokeh.models.PlainText`, never as math. From Python, the selected rows are
``SelectionView.selected_table()`` (``session.selection.selected_table()`` on a page).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np
import panel as pn
import pyarrow as pa
import pyarrow.compute as pc

from projector.app.html import escape, truncate
from projector.app.routes import media_url, thumb_url
from projector.app.store import EXPORT_FORMATS

if TYPE_CHECKING:
    from bokeh.plotting import figure as Figure

    from projector.app.state import ViewState
    from projector.app.store import DataStore

__all__ = ["SelectionView", "Summary", "table_html", "media_grid_html", "summary", "summary_figure", "export_filename"]

PAGE_ROWS = 25
CELL_CHARS = 200
CARD_CHARS = 160
GRID_THUMB = 96
TOP_CATEGORIES = 10
HISTOGRAM_BINS = 30
FACTOR_CHARS = 24
Rows = Sequence[int] | np.ndarray


def table_html(store: "DataStore", rows: Rows, columns: list[str]) -> str:
    """An HTML table of ``rows`` with every header and cell escaped and long cells truncated."""
    table = store.rows_table(rows, columns)
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


def media_grid_html(store: "DataStore", rows: Rows) -> str:
    """Thumbnails, audio players, or (for text-only data) text cards of ``rows``; '' if no media."""
    items = []
    for row in np.asarray(rows).tolist():
        record = store.record(row, text_chars=CARD_CHARS)
        title = escape(f"row {row}" + (f" · {record['label']}" if record["label"] is not None else ""))
        for column in record["images"]:
            src = escape(thumb_url(store, row, column, GRID_THUMB))
            items.append(f'<img class="projector-media-item" data-row="{row}" src="{src}" alt="{title}" title="{title}" width="64" height="64" loading="lazy">')
        for column in record["audio"]:
            src = escape(media_url(store, column, row))
            items.append(f'<div class="projector-media-item projector-audio" data-row="{row}"><div>{title}</div><audio controls preload="none" src="{src}"></audio></div>')
        if not record["images"] and not record["audio"] and record["text"] is not None:
            items.append(f'<div class="projector-media-item projector-text-card" data-row="{row}"><b>{title}</b><br>{escape(truncate(record["text"], CARD_CHARS))}</div>')
    if not items:
        return ""
    style = "<style>.projector-text-card,.projector-audio{width:220px;padding:4px;border:1px solid #ddd;border-radius:4px;overflow-wrap:anywhere}</style>"
    return f'{style}<div class="projector-media-grid" style="display:flex;flex-wrap:wrap;gap:4px;font-size:12px">{"".join(items)}</div>'


@dataclass(frozen=True)
class Summary:
    """A chart's data: per category the share of rows (``labels``), or per bin the density
    (``edges``), in the selection and in the whole dataset."""

    column: str
    selected: np.ndarray
    overall: np.ndarray
    labels: tuple[str, ...] = ()
    edges: np.ndarray | None = None

    @property
    def numeric(self) -> bool:
        return self.edges is not None


def summary(store: "DataStore", rows: Rows, column: str) -> Summary:
    """``column`` in the selection against everywhere: shares of the top categories (the rest
    as "(other)"), or histogram densities over common bins for a numeric column."""
    rows = np.asarray(rows, dtype=np.int64)
    if column in store.numeric_columns():
        values = store.numbers(column)
        everywhere = values[np.isfinite(values)]
        chosen = values[rows][np.isfinite(values[rows])]
        edges = np.histogram_bin_edges(everywhere, bins=HISTOGRAM_BINS) if everywhere.size else np.linspace(0.0, 1.0, HISTOGRAM_BINS + 1)
        return Summary(column, _density(chosen, edges), _density(everywhere, edges), edges=edges)
    data = store.dataset.table.column(column)
    overall = _counts(data)
    selected = _counts(data.take(pa.array(rows))) if rows.size else {}
    ranked = sorted(overall, key=lambda name: (-selected.get(name, 0), -overall[name], name))
    top = ranked[:TOP_CATEGORIES]
    chosen_shares = [selected.get(name, 0) / max(rows.size, 1) for name in top]
    overall_shares = [overall[name] / store.num_rows for name in top]
    if len(ranked) > len(top):
        top.append("(other)")
        chosen_shares.append(max(0.0, 1.0 - sum(chosen_shares)) if rows.size else 0.0)
        overall_shares.append(max(0.0, 1.0 - sum(overall_shares)))
    return Summary(column, np.asarray(chosen_shares), np.asarray(overall_shares), labels=_factors(top))


def _counts(data: pa.ChunkedArray) -> dict[str, int]:
    if pa.types.is_dictionary(data.type):
        data = data.cast(data.type.value_type)
    counts = pc.value_counts(data).flatten()
    return {"(missing)" if value is None else str(value): int(count) for value, count in zip(counts[0].to_pylist(), counts[1].to_pylist())}


def _factors(names: list[str]) -> tuple[str, ...]:
    """Axis factors: shortened, non-empty and unique (Bokeh refuses repeated factors)."""
    seen: set[str] = set()
    factors = []
    for name in names:
        factor = truncate(name, FACTOR_CHARS) or "(empty)"
        while factor in seen:
            factor += "\u2009"
        seen.add(factor)
        factors.append(factor)
    return tuple(factors)


def _density(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    if values.size == 0:
        return np.zeros(edges.size - 1)
    counts, _ = np.histogram(values, bins=edges)
    return counts / (values.size * np.diff(edges))


def summary_figure(data: Summary) -> "Figure":
    """A small chart of ``data``: grouped bars of shares, or two overlaid density histograms."""
    from bokeh.models import DataRange1d, PlainText
    from bokeh.plotting import figure
    from bokeh.transform import dodge

    options = {"height": 230, "width": 360, "toolbar_location": None, "tools": "", "y_range": DataRange1d(start=0)}
    if data.numeric:
        plot = figure(**options)
        left, right = data.edges[:-1], data.edges[1:]
        plot.quad(left=left, right=right, bottom=0, top=data.overall, color="#9e9e9e", alpha=0.5, legend_label="all rows")
        plot.quad(left=left, right=right, bottom=0, top=data.selected, color="#e6550d", alpha=0.5, legend_label="selection")
        plot.yaxis.axis_label = PlainText("density")
    else:
        plot = figure(x_range=list(data.labels), **options)
        source = {"label": list(data.labels), "selected": data.selected, "overall": data.overall}
        plot.vbar(x=dodge("label", -0.18, range=plot.x_range), top="selected", width=0.34, source=source, color="#e6550d", legend_label="selection")
        plot.vbar(x=dodge("label", 0.18, range=plot.x_range), top="overall", width=0.34, source=source, color="#9e9e9e", legend_label="all rows")
        plot.yaxis.axis_label = PlainText("share of rows")
        plot.xaxis.major_label_orientation = 0.8 if len(data.labels) > 4 else 0.0
        plot.xgrid.grid_line_color = None
    plot.xaxis.axis_label = PlainText(data.column)
    legend = plot.legend[0]
    legend.update(orientation="horizontal", label_text_font_size="10px", border_line_color=None, margin=0, padding=2)
    plot.add_layout(legend, "above")
    return plot


def export_filename(store: "DataStore", fmt: str) -> str:
    """``<name>-selection.<fmt>``, with anything but letters, digits, '.', '_' and '-' replaced."""
    return f"{re.sub(r'[^A-Za-z0-9._-]+', '_', store.name) or 'data'}-selection.{fmt}"


class SelectionView:
    """Count, isolate, clear and export; the selected rows a page at a time, as a table and a
    media grid; a summary chart of a chosen column. :meth:`selected_table` gives the rows to Python."""

    def __init__(self, store: "DataStore", state: "ViewState") -> None:
        self.store = store
        self.state = state
        self.count = pn.pane.HTML("", sizing_mode="stretch_width")
        self.isolate = pn.widgets.Toggle.from_param(state.param.isolate, name="Isolate", width=90)
        self.clear = pn.widgets.Button(label="Clear", width=90)
        self.clear.on_click(lambda *_: state.clear_selection())
        self.export_format = pn.widgets.Select(label="Export as", options=list(EXPORT_FORMATS), value=EXPORT_FORMATS[0], width=100)
        self.download = pn.widgets.FileDownload(callback=self._export_file, filename=export_filename(store, EXPORT_FORMATS[0]), width=200, align="end")
        self.export_format.param.watch(self._format_changed, "value")
        self.page = pn.widgets.IntInput(label="Page", value=1, start=1, end=1, width=90)
        self.page.param.watch(self._draw_page, "value")
        self.table = pn.pane.HTML("", sizing_mode="stretch_width")
        self.grid = pn.pane.HTML("", sizing_mode="stretch_width")
        columns = store.color_columns()
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
        return self.store.rows_table(self.state.selection, self.store.display_columns())

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
        self.table.object = note + table_html(self.store, shown, self.store.display_columns())
        self.grid.object = media_grid_html(self.store, shown)

    def _draw_summary(self, *_) -> None:
        column = self.summary_column.value
        self.chart.visible = bool(column) and self.state.selection.size > 0
        if self.chart.visible:
            self.chart.object = summary_figure(summary(self.store, self.state.selection, column))

    def _format_changed(self, *_) -> None:
        self.download.filename = export_filename(self.store, self.export_format.value)
        self.download.label = f"Download {self.state.selection.size:,} rows ({self.export_format.value})"

    def _export_file(self) -> io.BytesIO:
        return io.BytesIO(self.store.export(self.state.selection, self.export_format.value))
