"""An interactive map that needs no server: a Bokeh layout whose every interaction is JavaScript.

It reads the same objects as the app (:class:`~projector.app.store.DataStore` for colourings,
records, thumbnails; :class:`~projector.projection.Projection` for coordinates) and draws the
same hover card (``assets/card.js``). Everything the page needs is inside the layout: points,
colour codes, tooltip text, thumbnails as data URIs, and each point's nearest neighbours in
the original space, precomputed at export time.

Past :data:`INTERACTIVE_MAX_POINTS` the map shows a datashader image of ALL points under an
interactive layer of a stratified sample, and says so with both counts.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Sequence

import numpy as np

from projector.app.html import escape, truncate
from projector.app.views.legend import legend_html
from projector.errors import ProjectorError

if TYPE_CHECKING:
    from projector.app.store import DataStore, MapEntry

__all__ = ["MapOptions", "map_block", "stratified_sample", "INTERACTIVE_MAX_POINTS"]

# Points drawn as interactive WebGL glyphs; more are drawn as a raster under a sample.
INTERACTIVE_MAX_POINTS = 100_000
# Rows whose thumbnails are inlined (a data URI each, about 0.5-2 kB at 32 px).
INLINE_THUMBNAILS = 10_000
THUMBNAIL_SIZE = 32
TEXT_CHARS = 160
TABLE_ROWS = 1_000
GREY = "#c8c8c8"
NEIGHBOR_COLOR = "#e4005b"


def _asset(name: str) -> str:
    return resources.files("projector.report").joinpath(f"assets/{name}").read_text(encoding="utf-8")


@dataclass(frozen=True)
class MapOptions:
    """What one report map shows.

    Attributes:
        color_by: columns offered in the colour-by switch, the first shown first (None: the
            label columns, then numeric ones, at most eight).
        k: neighbours listed for a clicked point, from the original embedding space.
        metric: distance for those neighbours: ``"cosine"`` or ``"l2"``.
        max_points: the most interactive points; beyond, a raster of all plus a sample.
        thumbnails: the most rows with an inlined thumbnail.
        title: shown above the map.
        seed: for the stratified sample.
    """

    color_by: Sequence[str] | None = None
    k: int = 10
    metric: str = "cosine"
    max_points: int = INTERACTIVE_MAX_POINTS
    thumbnails: int = INLINE_THUMBNAILS
    title: str | None = None
    seed: int = 0
    width: int = 900
    height: int = 650
    table_columns: Sequence[str] | None = None
    extra: dict = field(default_factory=dict)


def stratified_sample(labels: np.ndarray | None, n: int, size: int, seed: int = 0) -> np.ndarray:
    """``size`` rows of ``n`` (sorted), each label keeping its share (at least one row each)."""
    if size >= n:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    if labels is None:
        return np.sort(rng.choice(n, size=size, replace=False))
    chosen = []
    codes, counts = np.unique(labels, return_counts=True)
    quota = np.maximum(1, np.floor(counts * (size / n)).astype(np.int64))
    for code, take in zip(codes, quota):
        rows = np.flatnonzero(labels == code)
        chosen.append(rng.choice(rows, size=min(int(take), rows.size), replace=False))
    picked = np.concatenate(chosen)
    if picked.size < size:  # rounding down left room: fill uniformly from the rest
        rest = np.setdiff1d(np.arange(n), picked, assume_unique=False)
        picked = np.concatenate([picked, rng.choice(rest, size=min(size - picked.size, rest.size), replace=False)])
    return np.sort(picked[:size])


def _default_colors(store: "DataStore") -> list[str]:
    roles = store.dataset.roles
    return [*roles.labels, *roles.numeric][:8]


def map_block(store: "DataStore", entry: "MapEntry", options: MapOptions | None = None):
    """The Bokeh layout of one interactive, self-contained map of ``entry``."""
    from bokeh.layouts import column, row
    from bokeh.models import (
        ColorBar,
        ColumnDataSource,
        CustomJS,
        DataTable,
        Div,
        HoverTool,
        LinearColorMapper,
        NumberFormatter,
        PlainText,
        Select,
        StringFormatter,
        TableColumn,
    )
    from bokeh.plotting import figure

    options = options or MapOptions()
    n = store.num_rows
    coords = entry.coords
    colors = list(options.color_by) if options.color_by is not None else _default_colors(store)
    for name in colors:
        if name not in store.dataset.column_names:
            raise ProjectorError(f"color_by={name!r}: no such column; columns: {store.dataset.column_names}")
    first = store.colors(colors[0] if colors else None)
    label_codes = first.values.astype(np.int64) if first.kind == "categorical" else None
    rows = stratified_sample(label_codes, n, options.max_points, options.seed)
    sampled = rows.size < n

    data: dict[str, object] = {
        "x": np.ascontiguousarray(coords[rows, 0], dtype=np.float32),
        "y": np.ascontiguousarray(coords[rows, 1], dtype=np.float32),
        "row": rows.astype(np.int64),
    }
    specs = [store.colors(name) for name in colors] or [store.colors(None)]
    mappers, legends, bars = [], [], []
    import colorcet

    for i, spec in enumerate(specs):
        data[f"c{i}"] = np.ascontiguousarray(spec.values[rows], dtype=np.float32)
        if spec.kind == "numeric":
            mapper = LinearColorMapper(palette=list(colorcet.palette["bmy"]), low=spec.low, high=spec.high, nan_color=GREY)
            bars.append(ColorBar(color_mapper=mapper, width=12, title=PlainText(spec.column or ""), visible=i == 0))
        else:
            palette = list(spec.palette) if len(spec.palette) > 1 else [spec.palette[0]] * 2
            mapper = LinearColorMapper(palette=palette, low=-0.5, high=len(palette) - 0.5, nan_color=GREY)
            bars.append(None)
        mappers.append(mapper)
        legends.append(legend_html(spec))

    fields, title_column, text_column, thumb_column = _tooltip_columns(store, rows, data, options)
    table_columns = [name for name in (options.table_columns or store.display_columns()[:8])]
    for name in table_columns:
        if name not in data:
            data[name] = _texts(store, name, rows)
    source = ColumnDataSource(data=data)

    fig = figure(
        width=options.width, height=options.height, output_backend="webgl",
        tools="pan,wheel_zoom,box_select,lasso_select,tap,reset", active_drag="pan", active_scroll="wheel_zoom",
        toolbar_location="above",
    )
    fig.title.text = options.title or entry.key  # Title draws plain text: no math, no HTML
    fig.xaxis.axis_label = PlainText(entry.axis_names[0] if entry.axis_names else "x")
    fig.yaxis.axis_label = PlainText(entry.axis_names[1] if len(entry.axis_names) > 1 else "y")
    fig.grid.grid_line_alpha = 0.3
    if sampled:
        _raster_underlay(fig, coords, specs[0])
    points = fig.scatter("x", "y", source=source, size=5 if rows.size > 20_000 else 7, line_color=None, fill_alpha=0.85,
                         fill_color={"field": "c0", "transform": mappers[0]})
    points.nonselection_glyph = points.glyph.clone(fill_color=GREY, fill_alpha=0.25)
    points.selection_glyph = points.glyph.clone()
    for bar in bars:
        if bar is not None:
            fig.add_layout(bar, "right")
    links = ColumnDataSource(data={"x0": [], "y0": [], "x1": [], "y1": []})
    fig.segment("x0", "y0", "x1", "y1", source=links, line_color=NEIGHBOR_COLOR, line_alpha=0.7, line_width=1.2)
    hover_code = _asset("card.js") + "\n" + _asset("source_hover.js")
    fig.add_tools(HoverTool(renderers=[points], tooltips=None, callback=CustomJS(
        args={"source": source, "title": title_column, "text": text_column or "", "thumb": thumb_column or "", "fields": fields},
        code=hover_code,
    )))

    neighbors, distances, k = _neighbors(store, rows, options, sampled)
    shown_columns = [TableColumn(field="row", title="row", formatter=NumberFormatter(format="0"), width=60)]
    shown_columns += [TableColumn(field=name, title=name, formatter=StringFormatter()) for name in table_columns]
    table_source = ColumnDataSource(data={name: [] for name in ["row", *table_columns]})
    table = DataTable(source=table_source, columns=shown_columns, width=options.width, height=260, index_position=None, css_classes=["projector-table"])
    neighbor_source = ColumnDataSource(data={name: [] for name in ["rank", "distance", "row", *table_columns]})
    neighbor_table = DataTable(
        source=neighbor_source,
        columns=[TableColumn(field="rank", title="#", width=30), TableColumn(field="distance", title=f"{options.metric} distance", formatter=NumberFormatter(format="0.0000"), width=110)] + shown_columns,
        width=options.width, height=240, index_position=None, css_classes=["projector-neighbors"],
    )
    count = Div(text=f"0 of {rows.size:,} shown points selected", css_classes=["projector-selection-count"])
    source.selected.js_on_change("indices", CustomJS(
        args={"source": source, "table": table_source, "columns": ["row", *table_columns], "limit": TABLE_ROWS, "count": count,
              "neighbors": neighbors, "distances": distances, "k": k, "links": links, "ntable": neighbor_source},
        code=_asset("select.js"),
    ))
    legend = Div(text=legends[0], width=200, css_classes=["projector-legend-box"])
    widgets = []
    if len(colors) > 1:
        switch = Select(title="Colour by", options=colors, value=colors[0], width=220)
        switch.js_on_change("value", CustomJS(args={"renderer": points, "mappers": mappers, "legends": legends, "legend": legend, "bars": bars}, code=_asset("color.js")))
        widgets.append(switch)
    counts = (
        f"{n:,} points: all drawn as a datashader image; {rows.size:,} of them (a sample stratified by "
        f"{escape(colors[0]) if label_codes is not None else 'nothing'}) are interactive. Neighbours are searched among those."
        if sampled else f"{n:,} points, all interactive."
    )
    about = Div(text=f'<div class="projector-drawn" style="font-size:12px;color:#444">{counts} {_quality_line(entry)}</div>', width=options.width)
    hint = Div(text='<div style="font-size:12px;color:#666">Hover for the sample; click a point for its nearest neighbours in the original space; box or lasso to fill the table.</div>', width=options.width)
    return column(about, row(*widgets), row(fig, legend), hint, count, table, Div(text="<b>Nearest neighbours of the clicked point</b>"), neighbor_table)


def _quality_line(entry: "MapEntry") -> str:
    projection = entry.projection
    if projection is None or projection.quality is None:
        return ""
    quality = projection.quality
    return escape(f"Trustworthiness {quality.trustworthiness:.3f}, {quality.k}-NN preserved {quality.knn_preservation:.1%}.")


def _texts(store: "DataStore", name: str, rows: np.ndarray) -> list[str]:
    import pyarrow as pa

    values = store.dataset.table.column(name).take(pa.array(rows)).to_pylist()
    return ["" if v is None else truncate(str(v), TEXT_CHARS) for v in values]


def _tooltip_columns(store: "DataStore", rows: np.ndarray, data: dict, options: MapOptions):
    roles = store.dataset.roles
    label = roles.labels[0] if roles.labels else None
    title_column = "_title"
    ids = _texts(store, roles.id, rows)
    if label is not None:
        labels = _texts(store, label, rows)
        data[title_column] = [f"{label}: {value} · id {i}" for value, i in zip(labels, ids)]
    else:
        data[title_column] = [f"id {i}" for i in ids]
    text_column = None
    if roles.texts:
        text_column = "_text"
        data[text_column] = _texts(store, roles.texts[0], rows)
    thumb_column = None
    if roles.images:
        thumb_column = "_thumb"
        budget = rows[: options.thumbnails] if rows.size > options.thumbnails else rows
        keep = set(budget.tolist())
        data[thumb_column] = [
            "data:image/png;base64," + base64.b64encode(store.thumbnail(int(r), roles.images[0], THUMBNAIL_SIZE)).decode("ascii") if int(r) in keep else ""
            for r in rows
        ]
    fields = [name for name in store.display_columns() if name not in (label, roles.id, *(roles.texts[:1]))][:4]
    for name in fields:
        data[name] = _texts(store, name, rows)
    return fields, title_column, text_column, thumb_column


def _neighbors(store: "DataStore", rows: np.ndarray, options: MapOptions, sampled: bool):
    """Each shown point's k nearest shown points in the ORIGINAL space, as positions in ``rows``."""
    from projector.neighbors import knn_graph

    vectors = store.dataset.vectors()[rows]
    k = max(1, min(options.k, rows.size - 1))
    graph = knn_graph(np.ascontiguousarray(vectors), k, metric=options.metric)
    return graph.indices.astype(np.int32).ravel(), graph.distances.astype(np.float32).ravel(), k


def _raster_underlay(fig, coords: np.ndarray, spec) -> None:
    """A datashader image of every point, fixed to the data bounds, under the sample."""
    import datashader as ds
    import datashader.transfer_functions as tf
    import pandas as pd

    from projector.media import encode_png

    x, y = coords[:, 0], coords[:, 1]
    x0, x1, y0, y1 = float(x.min()), float(x.max()), float(y.min()), float(y.max())
    width, height = 1600, 1200
    canvas = ds.Canvas(plot_width=width, plot_height=height, x_range=(x0, x1), y_range=(y0, y1))
    frame = pd.DataFrame({"x": x, "y": y})
    if spec.kind == "categorical":
        frame["c"] = pd.Categorical(spec.values.astype(np.int64))
        aggregate = canvas.points(frame, "x", "y", agg=ds.count_cat("c"))
        key = {code: spec.palette[int(code)] for code in frame["c"].cat.categories}
        image = tf.shade(aggregate, color_key=key, min_alpha=60)
    else:
        aggregate = canvas.points(frame, "x", "y")
        image = tf.shade(aggregate, cmap=["#bbbbbb", "#333333"], min_alpha=60)
    image = tf.spread(image, px=1)
    png = encode_png(image.to_pil(), compress_level=6)
    uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    fig.image_url(url=[uri], x=x0, y=y1, w=x1 - x0, h=y1 - y0, anchor="top_left", global_alpha=0.5)
