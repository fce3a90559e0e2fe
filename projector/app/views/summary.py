"""Summary charts: a column in the selection against the whole dataset.

Categories: the shares of the top categories (the rest as "(other)") as grouped bars; numbers:
two density histograms over common bins. Labels are drawn as canvas text or
:class:`~bokeh.models.PlainText`, never as math.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from projector.explore.html import truncate

if TYPE_CHECKING:
    from bokeh.plotting import figure as Figure

    from projector.explore.store import DataStore

__all__ = ["Summary", "summary", "summary_figure"]

TOP_CATEGORIES = 10
HISTOGRAM_BINS = 30
FACTOR_CHARS = 24
Rows = Sequence[int] | np.ndarray


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
    if column in store.rows.numeric_columns():
        values = store.rows.numbers(column)
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
