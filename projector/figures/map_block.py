"""An interactive map that needs no server: a Bokeh layout whose every interaction is JavaScript.

It reads the same objects as the app (:class:`~projector.explore.store.DataStore` for colourings,
records, thumbnails; :class:`~projector.projection.Projection` for coordinates) and draws the
same hover card (``assets/card.js``). Everything the page needs is inside the layout: points,
colour codes, tooltip text, thumbnails as data URIs, and each point's nearest neighbours in
the original space, precomputed at export time.

Past :data:`INTERACTIVE_MAX_POINTS` the map shows an image of ALL points (binned as datashader does) under an
interactive layer of a stratified sample, and says so with both counts.
"""

from __future__ import annotations

import base64
import warnings
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Sequence

import numpy as np

from projector.explore.framing import Frame, frame
from projector.explore.html import escape, legend_html, truncate
from projector.errors import ProjectorError, ProjectorWarning

if TYPE_CHECKING:
    from projector.explore.maps import MapEntry
    from projector.explore.store import DataStore

__all__ = ["MapOptions", "map_block", "compare_block", "stratified_sample", "INTERACTIVE_MAX_POINTS"]

# Points drawn as interactive WebGL glyphs; more are drawn as an image under a stratified sample
# of this many. Software WebGL (VMs, CI) spends about 9 ms per thousand points on every pan frame
# on a quiet 2-core machine (benchmarks/bench_scatter_threshold.py), so 20,000 points keep a
# frame near 0.2 s. benchmarks/bench_report.py at 100,000 points, quiet machine: with 20,000
# interactive points export 4.4 s and first paint 2.3 s; with 50,000, 7.2 s and 3.4 s.
INTERACTIVE_MAX_POINTS = 20_000
# Rows whose thumbnails are inlined (a data URI each, about 0.5-2 kB at 32 px).
INLINE_THUMBNAILS = 10_000
THUMBNAIL_SIZE = 32
TEXT_CHARS = 160
TABLE_ROWS = 1_000
RASTER_SIZE = (1600, 1200)  # pixels of the image of all points under a sampled map
GREY = "#c8c8c8"
NEIGHBOR_COLOR = "#e4005b"
RANGE_PAD = 0.05  # margin on each side of a map's ranges, as Bokeh's automatic ranges had


def _asset(name: str) -> str:
    """A script of the report; ``card.js`` (the hover card) is the app's own."""
    package = "projector.app" if name == "card.js" else "projector.report"
    return resources.files(package).joinpath(f"assets/{name}").read_text(encoding="utf-8")


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
        column: the embedding column neighbours are searched in (default: the first).
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
    column: str | None = None
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


@dataclass
class _Points:
    """The shown points of one dataset and everything drawn from them, shared by the maps."""

    source: object
    rows: np.ndarray
    colors: list[str]
    specs: list
    mappers: list
    legends: list[str]
    hover_args: dict
    table_columns: list[dict]  # column metas (name, key, cats) shown in the tables
    label_codes: np.ndarray | None


def _colors(store: "DataStore", options: MapOptions) -> list[str]:
    colors = list(options.color_by) if options.color_by is not None else _default_colors(store)
    for name in colors:
        if name not in store.dataset.column_names:
            raise ProjectorError(f"color_by={name!r}: no such column; columns: {store.dataset.column_names}")
    return colors


def _points(store: "DataStore", coords: dict[str, np.ndarray], options: MapOptions, extra_specs: Sequence = ()) -> _Points:
    """The shown rows (all, or a stratified sample) with coordinates, colour codes, tooltip
    and table columns; ``coords`` maps column names ("x", "y", ...) to all rows' values."""
    from bokeh.models import ColumnDataSource, LinearColorMapper

    import colorcet

    n = store.num_rows
    colors = _colors(store, options)
    specs = [*extra_specs, *(store.colors(name) for name in colors)] or [store.colors(None)]
    first = next((spec for spec in specs if spec.kind == "categorical"), None)
    label_codes = first.values.astype(np.int64) if first is not None else None
    rows = stratified_sample(label_codes, n, options.max_points, options.seed)
    data: dict[str, object] = {name: np.ascontiguousarray(values[rows], dtype=np.float32) for name, values in coords.items()}
    data["row"] = rows.astype(np.int64)
    mappers, legends = [], []
    for i, spec in enumerate(specs):
        data[f"c{i}"] = np.ascontiguousarray(spec.values[rows], dtype=np.float32)
        if spec.kind == "numeric":
            mappers.append(LinearColorMapper(palette=list(colorcet.palette["bmy"]), low=spec.low, high=spec.high, nan_color=GREY))
        else:
            palette = list(spec.palette) if len(spec.palette) > 1 else [spec.palette[0]] * 2
            mappers.append(LinearColorMapper(palette=palette, low=-0.5, high=len(palette) - 0.5, nan_color=GREY))
        legends.append(legend_html(spec))
    table_columns = list(options.table_columns or store.rows.display_columns()[:8])
    encoded = _Columns(store, rows, data)
    for name in table_columns:
        encoded.add(name)
    hover_args = _hover_args(store, rows, data, encoded, options)
    source = ColumnDataSource(data=data)
    hover_args["source"] = source
    table = [encoded.meta(name) for name in table_columns]
    return _Points(source, rows, [spec.column or "" for spec in specs], specs, mappers, legends, hover_args, table, label_codes)


def _map_figure(points: _Points, x: str, y: str, title: str, axis_names: Sequence[str], options: MapOptions, width: int, view: Frame):
    """One scatter of ``points`` at columns ``x``/``y``, with hover card and neighbour links,
    opening on ``view``'s first ranges (the bulk); its reset tool shows every point.
    Returns ``(figure, renderer, links source, colour bars per option)``."""
    from bokeh.models import ColorBar, ColumnDataSource, CustomJS, HoverTool, PlainText, Range1d
    from bokeh.plotting import figure

    ranges = {
        name: Range1d(start=start, end=end, reset_start=low, reset_end=high)
        for name, (start, end), (low, high) in (("x_range", view.x, view.x_full), ("y_range", view.y, view.y_full))
    }
    fig = figure(
        width=width, height=options.height, output_backend="webgl", **ranges,
        tools="pan,wheel_zoom,box_select,lasso_select,tap,reset", active_drag="pan", active_scroll="wheel_zoom",
        toolbar_location="above",
    )
    fig.title.text = title  # a Title draws plain text: no math, no HTML
    fig.xaxis.axis_label = PlainText(axis_names[0] if axis_names else "x")
    fig.yaxis.axis_label = PlainText(axis_names[1] if len(axis_names) > 1 else "y")
    fig.grid.grid_line_alpha = 0.3
    renderer = fig.scatter(x, y, source=points.source, size=5 if points.rows.size > 20_000 else 7, line_color=None, fill_alpha=0.85,
                           fill_color={"field": "c0", "transform": points.mappers[0]})
    renderer.nonselection_glyph = renderer.glyph.clone(fill_color=GREY, fill_alpha=0.25)
    renderer.selection_glyph = renderer.glyph.clone()
    renderer.hover_glyph = renderer.glyph.clone(line_color="#000000", line_width=2)
    bars = []
    for i, spec in enumerate(points.specs):
        if spec.kind == "numeric":
            bar = ColorBar(color_mapper=points.mappers[i], width=12, title=PlainText(spec.column or ""), visible=i == 0)
            fig.add_layout(bar, "right")
            bars.append([bar])
        else:
            bars.append([])
    links = ColumnDataSource(data={"x0": [], "y0": [], "x1": [], "y1": []})
    fig.segment("x0", "y0", "x1", "y1", source=links, line_color=NEIGHBOR_COLOR, line_alpha=0.7, line_width=1.2)
    fig.add_tools(HoverTool(renderers=[renderer], tooltips=None, callback=CustomJS(args=points.hover_args, code=_asset("card.js") + "\n" + _asset("source_hover.js"))))
    return fig, renderer, links, bars


def _linked_panels(store: "DataStore", points: _Points, maps: list, options: MapOptions, sampled: bool):
    """Colour switch, legend, selection table and neighbour table, wired to every map."""
    from bokeh.models import ColumnDataSource, CustomJS, DataTable, Div, NumberFormatter, Select, StringFormatter, TableColumn

    neighbors, distances, k = _neighbors(store, points.rows, options)
    shown_columns = [TableColumn(field="row", title="row", formatter=NumberFormatter(format="0"), width=60)]
    shown_columns += [TableColumn(field=meta["key"], title=escape(meta["name"]), formatter=StringFormatter()) for meta in points.table_columns]
    table_source = ColumnDataSource(data={name: [] for name in ["row", *(meta["key"] for meta in points.table_columns)]})
    table = DataTable(source=table_source, columns=shown_columns, width=options.width, height=260, index_position=None, css_classes=["projector-table"])
    neighbor_source = ColumnDataSource(data={name: [] for name in ["rank", "distance", "row", *(meta["key"] for meta in points.table_columns)]})
    neighbor_table = DataTable(
        source=neighbor_source,
        columns=[TableColumn(field="rank", title="#", width=30), TableColumn(field="distance", title=f"{options.metric} distance", formatter=NumberFormatter(format="0.0000"), width=110)] + shown_columns,
        width=options.width, height=240, index_position=None, css_classes=["projector-neighbors"],
    )
    count = Div(text=f"0 of {points.rows.size:,} shown points selected", css_classes=["projector-selection-count"])
    points.source.selected.js_on_change("indices", CustomJS(
        args={"source": points.source, "table": table_source, "columns": points.table_columns, "limit": TABLE_ROWS, "count": count,
              "neighbors": neighbors, "distances": distances, "k": k, "ntable": neighbor_source,
              "maps": [[links, x, y] for _, renderer, links, _, x, y in maps]},
        code=_asset("card.js") + "\n" + _asset("select.js"),
    ))
    legend = Div(text=points.legends[0], width=200, css_classes=["projector-legend-box"])
    switch = None
    if len(points.specs) > 1:
        switch = Select(title="Colour by", options=points.colors, value=points.colors[0], width=240)
        bars = [[bar for _, _, _, per_map, _, _ in maps for bar in per_map[i]] for i in range(len(points.specs))]
        switch.js_on_change("value", CustomJS(
            args={"renderers": [renderer for _, renderer, _, _, _, _ in maps], "mappers": points.mappers, "legends": points.legends, "legend": legend, "bars": bars},
            code=_asset("color.js"),
        ))
    return switch, legend, count, table, neighbor_table


def _drawn_note(n: int, points: _Points, options: MapOptions) -> str:
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


def _frame(coords: np.ndarray) -> Frame:
    return frame(coords[:, 0], coords[:, 1], pad=RANGE_PAD)


def map_block(store: "DataStore", entry: "MapEntry", options: MapOptions | None = None):
    """The Bokeh layout of one interactive, self-contained map of ``entry``."""
    from bokeh.layouts import column, row
    from bokeh.models import Div

    options = options or MapOptions()
    n = store.num_rows
    points = _points(store, {"x": entry.coords[:, 0], "y": entry.coords[:, 1]}, options)
    view = _frame(entry.coords)
    fig, renderer, links, bars = _map_figure(points, "x", "y", options.title or entry.key, entry.axis_names, options, options.width, view)
    sampled = points.rows.size < n
    if sampled:
        _raster_underlay(fig, entry.coords, points.specs[0], view)
    switch, legend, count, table, neighbor_table = _linked_panels(store, points, [(fig, renderer, links, bars, "x", "y")], options, sampled)
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
    points = _points(store, coords, options, extra_specs=[change])
    half = max(300, options.width // 2)
    view_a, view_b = _frame(coords_a), _frame(coords_b)
    fig_a, renderer_a, links_a, bars_a = _map_figure(points, "x", "y", f"{comparison.a}", ("x", "y"), options, half, view_a)
    fig_b, renderer_b, links_b, bars_b = _map_figure(points, "xb", "yb", f"{comparison.b} (aligned to {comparison.a})", ("x", "y"), options, half, view_b)
    sampled = points.rows.size < n
    if sampled:
        _raster_underlay(fig_a, coords_a, points.specs[1] if len(points.specs) > 1 else points.specs[0], view_a)
        _raster_underlay(fig_b, coords_b, points.specs[1] if len(points.specs) > 1 else points.specs[0], view_b)
    maps = [(fig_a, renderer_a, links_a, bars_a, "x", "y"), (fig_b, renderer_b, links_b, bars_b, "xb", "yb")]
    switch, legend, count, table, neighbor_table = _linked_panels(store, points, maps, options, sampled)
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
        changed[meta["key"]] = _texts(store, meta["name"], worst)
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


def _texts(store: "DataStore", name: str, rows: np.ndarray) -> list[str]:
    import pyarrow as pa

    values = store.dataset.table.column(name).take(pa.array(rows)).to_pylist()
    return ["" if v is None else truncate(str(v), TEXT_CHARS) for v in values]


class _Columns:
    """Data columns of the shown rows, encoded compactly for the page: numbers as typed arrays,
    repeated values as integer codes plus their names once, other text as (truncated) strings.
    Keys are ``v0, v1, ...`` so no column name can collide with the coordinates."""

    MAX_CATEGORIES = 4096

    def __init__(self, store: "DataStore", rows: np.ndarray, data: dict) -> None:
        self.store = store
        self.rows = rows
        self.data = data
        self._metas: dict[str, dict] = {}

    def meta(self, name: str) -> dict:
        return self._metas[name] if name in self._metas else self.add(name)

    def add(self, name: str) -> dict:
        import pyarrow as pa
        import pyarrow.compute as pc

        if name in self._metas:
            return self._metas[name]
        key = f"v{len(self._metas)}"
        column = self.store.dataset.table.column(name).take(pa.array(self.rows))
        kind = column.type
        cats = None
        if pa.types.is_dictionary(kind):
            column = column.cast(kind.value_type)
            kind = column.type
        if pa.types.is_integer(kind) or pa.types.is_floating(kind):
            values = np.asarray(column.cast(pa.float64()).to_numpy(zero_copy_only=False))
            values = values.astype(np.int64) if pa.types.is_integer(kind) and not np.isnan(values).any() else values
        elif (pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_boolean(kind)) and pc.count_distinct(column).as_py() <= self.MAX_CATEGORIES:
            encoded = pc.dictionary_encode(column.cast(pa.string())).combine_chunks()
            cats = [truncate(str(v), TEXT_CHARS) for v in encoded.dictionary.to_pylist()]
            values = np.asarray(encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int32)
        else:
            values = ["" if v is None else truncate(str(v), TEXT_CHARS) for v in column.to_pylist()]
        self.data[key] = values
        meta = {"name": name, "key": key, "cats": cats}
        self._metas[name] = meta
        return meta


def _hover_args(store: "DataStore", rows: np.ndarray, data: dict, columns: _Columns, options: MapOptions) -> dict:
    """What the hover card reads: label, id, text, a few more columns, inlined thumbnails."""
    roles = store.dataset.roles
    label = columns.meta(roles.labels[0]) if roles.labels else None
    text = columns.meta(roles.texts[0]) if roles.texts else None
    shown = {roles.id, *(roles.labels[:1]), *(roles.texts[:1])}
    fields = [columns.meta(name) for name in store.rows.display_columns() if name not in shown][:4]
    thumbs: list[str] = []
    thumb_key = ""
    if roles.images:
        thumb_key = "_thumb"
        index = np.full(rows.size, -1, dtype=np.int32)
        for position in range(min(rows.size, options.thumbnails)):
            png = store.media.thumbnail(int(rows[position]), roles.images[0], THUMBNAIL_SIZE)  # broken: a placeholder, counted
            index[position] = len(thumbs)
            thumbs.append("data:image/png;base64," + base64.b64encode(png).decode("ascii"))
        data[thumb_key] = index
        message = store.media.broken.message(roles.images[0])
        if message is not None:
            warnings.warn(message, ProjectorWarning, stacklevel=2)
    return {"label": label, "id": columns.meta(roles.id), "text": text, "fields": fields, "thumbs": thumbs, "thumb": thumb_key}


def _neighbors(store: "DataStore", rows: np.ndarray, options: MapOptions):
    """Each shown point's k nearest shown points in the ORIGINAL space, as positions in ``rows``."""
    from projector.neighbors import knn_graph

    vectors = store.dataset.vectors(options.column)[rows]
    k = max(1, min(options.k, rows.size - 1))
    graph = knn_graph(np.ascontiguousarray(vectors), k, metric=options.metric)
    return graph.indices.astype(np.int32).ravel(), graph.distances.astype(np.float32).ravel(), k


def _raster_underlay(fig, coords: np.ndarray, spec, view: Frame) -> None:
    """An image of every point, fixed to the data bounds, under the interactive sample.

    When the first view leaves far points out, the points inside it get an image of their own
    over that view, so the bulk keeps the full resolution, and the far ones one over the full
    extent. It is binned like the app's raster mode (:class:`~projector.explore.shading.MapRaster`:
    datashader's count / count_cat / mean shading in NumPy), which needs no numba compilation:
    datashader's kernels cost 15-27 s to compile in a fresh process here.
    """
    from PIL import Image

    from projector.explore.shading import MapRaster, Viewport
    from projector.media import encode_png

    x, y = coords[:, 0], coords[:, 1]
    x0, x1, y0, y1 = float(x.min()), float(x.max()), float(y.min()), float(y.max())
    x1, y1 = (x1 if x1 > x0 else x0 + 1.0), (y1 if y1 > y0 else y0 + 1.0)
    images = [((x0, x1, y0, y1), None)]
    if view.trimmed:
        (vx0, vx1), (vy0, vy1) = view.x, view.y
        inside = (x >= vx0) & (x <= vx1) & (y >= vy0) & (y <= vy1)
        images = [((x0, x1, y0, y1), ~inside), ((vx0, vx1, vy0, vy1), inside)]
    raster = MapRaster(x, y)
    for (left, right, bottom, top), visible in images:
        packed = raster.render(Viewport(left, right, bottom, top, RASTER_SIZE[0], RASTER_SIZE[1]), spec, visible=visible, spread=1)
        rgba = np.ascontiguousarray(packed[::-1]).view(np.uint8).reshape(packed.shape[0], packed.shape[1], 4)  # PNG rows run top down
        png = encode_png(Image.fromarray(rgba, mode="RGBA"), compress_level=6)
        uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        fig.image_url(url=[uri], x=left, y=top, w=right - left, h=top - bottom, anchor="top_left", global_alpha=0.6)
