"""An interactive map that needs no server: a Bokeh layout whose every interaction is JavaScript.

It reads the same objects as the app (:class:`~projector.explore.store.DataStore` for colourings,
records, thumbnails; :class:`~projector.projection.Projection` for coordinates) and draws the
same hover card (``assets/card.js``). Everything the page needs is inside the layout: points,
colour codes, tooltip text, thumbnails as data URIs, and each point's nearest neighbours in
the original space, precomputed at export time.

Past :data:`~projector.figures.options.INTERACTIVE_MAX_POINTS` the map shows an image of ALL
points (the one shading, :mod:`projector.explore.shading`) under an interactive layer of a stratified sample, and says so
with both counts. The blocks are assembled here from their parts: the shown points
(:mod:`~projector.figures.points`), each map figure (:mod:`~projector.figures.map_figure`) and
the panels linked to them (:mod:`~projector.figures.panels`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from projector.explore.framing import Frame
from projector.explore.html import escape
from projector.figures.map_figure import first_frame, map_figure, raster_underlay
from projector.figures.options import MapOptions
from projector.figures.panels import linked_panels
from projector.figures.points import ShownPoints, column_texts, shown_points

if TYPE_CHECKING:
    from projector.explore.maps import MapEntry
    from projector.explore.store import DataStore

__all__ = ["map_block", "compare_block"]


def _drawn_note(n: int, points: ShownPoints, options: MapOptions) -> str:
    if points.rows.size == n:
        return f"{n:,} points, all interactive."
    by = escape(points.colors[0]) if points.label_codes is not None else "nothing"
    return (
        f"{n:,} points: all drawn as an image; {points.rows.size:,} of them (a sample stratified by "
        f"{by}) are interactive. Neighbours are searched among those."
    )


def _view_note(*views: Frame) -> str:
    """What the first view leaves out, if anything."""
    outside = max(view.outside for view in views)
    if not outside:
        return ""
    return f"{outside:,} far points lie outside the first view; the reset tool shows every point."


def map_block(store: "DataStore", entry: "MapEntry", options: MapOptions | None = None):
    """The Bokeh layout of one interactive, self-contained map of ``entry``."""
    from bokeh.layouts import column, row
    from bokeh.models import Div

    options = options or MapOptions()
    n = store.num_rows
    points = shown_points(store, {"x": entry.coords[:, 0], "y": entry.coords[:, 1]}, options)
    view = first_frame(entry.coords)
    fig, renderer, links, bars = map_figure(points, "x", "y", options.title or entry.key, entry.axis_names, options, options.width, view,
                                         overlays=options.overlays)
    sampled = points.rows.size < n
    if sampled:
        raster_underlay(fig, entry.coords, points.specs[0], view)
    switch, legend, count, table, neighbor_table = linked_panels(store, points, [(fig, renderer, links, bars, "x", "y")], options, sampled)
    about = Div(text=f'<div class="projector-drawn" style="font-size:12px;color:#444">{_drawn_note(n, points, options)} {_quality_line(store, entry)} {_view_note(view)}</div>', width=options.width)
    hint = Div(text='<div style="font-size:12px;color:#666">Hover for the sample; click a point for its nearest neighbours in the original space; box or lasso to fill the table.</div>', width=options.width)
    return column(about, *([switch] if switch else []), row(fig, legend), hint, count, table, Div(text="<b>Nearest neighbours of the clicked point</b>"), neighbor_table)


def compare_block(store: "DataStore", comparison, coords_a: np.ndarray, coords_b: np.ndarray, options: MapOptions | None = None):
    """Two maps of the same rows side by side (B registered to A), linked: one selection, one
    hover card, one colour switch, coloured first by how much each row's neighbourhood changed."""
    from dataclasses import replace

    from bokeh.layouts import column, row
    from bokeh.models import ColumnDataSource, DataTable, Div, NumberFormatter, StringFormatter, TableColumn

    from projector.explore.colors import color_spec

    options = replace(options or MapOptions(), column=comparison.a)
    n = store.num_rows
    change = color_spec(f"{comparison.k}-NN overlap, {comparison.a} vs {comparison.b}", comparison.jaccard, n)
    coords = {"x": coords_a[:, 0], "y": coords_a[:, 1], "xb": coords_b[:, 0], "yb": coords_b[:, 1]}
    points = shown_points(store, coords, options, extra_specs=[change])
    half = max(300, options.width // 2)
    view_a, view_b = first_frame(coords_a), first_frame(coords_b)
    fig_a, renderer_a, links_a, bars_a = map_figure(points, "x", "y", f"{comparison.a}", ("x", "y"), options, half, view_a)
    fig_b, renderer_b, links_b, bars_b = map_figure(points, "xb", "yb", f"{comparison.b} (aligned to {comparison.a})", ("x", "y"), options, half, view_b)
    sampled = points.rows.size < n
    if sampled:
        raster_underlay(fig_a, coords_a, points.specs[1] if len(points.specs) > 1 else points.specs[0], view_a)
        raster_underlay(fig_b, coords_b, points.specs[1] if len(points.specs) > 1 else points.specs[0], view_b)
    maps = [(fig_a, renderer_a, links_a, bars_a, "x", "y"), (fig_b, renderer_b, links_b, bars_b, "xb", "yb")]
    switch, legend, count, table, neighbor_table = linked_panels(store, points, maps, options, sampled)
    summary = comparison.to_dict()
    figures = (
        f"mean overlap {summary['mean_jaccard']:.3f}, median {summary['median_jaccard']:.3f}; "
        f"{summary['share_changed']:.1%} of rows keep less than half their neighbourhood, "
        f"{summary['share_unchanged']:.1%} keep all of it"
    )
    about = Div(text=f'<div class="projector-compare" style="font-size:13px">Neighbourhoods of {n:,} rows in '
                f"<b>{escape(comparison.a)}</b> and <b>{escape(comparison.b)}</b> (k={comparison.k}, {escape(comparison.metric)}): "
                f"{escape(figures)}. {_drawn_note(n, points, options)} {_view_note(view_a, view_b)}</div>", width=options.width)
    worst = comparison.most_changed(min(20, n))
    changed = {"row": worst.astype(np.int64), "overlap": comparison.jaccard[worst].astype(np.float64)}
    for meta in points.table_columns:
        changed[meta["key"]] = column_texts(store, meta["name"], worst)
    changed_table = DataTable(
        source=ColumnDataSource(changed),
        columns=[TableColumn(field="row", title="row", width=60), TableColumn(field="overlap", title="overlap", formatter=NumberFormatter(format="0.00"), width=70)]
        + [TableColumn(field=meta["key"], title=escape(meta["name"]), formatter=StringFormatter()) for meta in points.table_columns],
        width=options.width, height=240, index_position=None, css_classes=["projector-most-changed"],
    )
    return column(
        about, *([switch] if switch else []), row(fig_a, fig_b, legend),
        Div(text="<b>Rows whose neighbourhoods changed most</b>"), changed_table,
        count, table, Div(text=f"<b>Nearest neighbours of the clicked point in {escape(comparison.a)}</b>"), neighbor_table,
    )


def _quality_line(store: "DataStore", entry: "MapEntry") -> str:
    """The quality of the two axes the report draws (a 3-D map is drawn flat)."""
    from projector.reduce.scoring import quality_as_drawn

    if entry.projection is None:
        return ""
    quality = quality_as_drawn(store.dataset, entry.projection, (0, 1))
    if quality is None:
        return ""
    return escape(f"Trustworthiness {quality.trustworthiness:.3f}, {quality.k}-NN preserved {quality.knn_preservation:.1%}.")
