"""The panels linked to a report's maps: the colour switch and legend, the selection table and
the clicked point's neighbour table (column titles escaped), wired in JavaScript to every map.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from projector.explore.html import escape
from projector.figures.options import MapOptions
from projector.figures.points import ShownPoints
from projector.figures.scripts import script

if TYPE_CHECKING:
    from projector.explore.store import DataStore

__all__ = ["linked_panels"]

TABLE_ROWS = 1_000


def linked_panels(store: "DataStore", points: ShownPoints, maps: list, options: MapOptions, sampled: bool):
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
        code=script("card.js") + "\n" + script("select.js"),
    ))
    legend = Div(text=points.legends[0], width=200, css_classes=["projector-legend-box"])
    switch = None
    if len(points.specs) > 1:
        switch = Select(title="Colour by", options=points.colors, value=points.colors[0], width=240)
        bars = [[bar for _, _, _, per_map, _, _ in maps for bar in per_map[i]] for i in range(len(points.specs))]
        switch.js_on_change("value", CustomJS(
            args={"renderers": [renderer for _, renderer, _, _, _, _ in maps], "mappers": points.mappers, "legends": points.legends, "legend": legend, "bars": bars},
            code=script("color.js"),
        ))
    return switch, legend, count, table, neighbor_table


def _neighbors(store: "DataStore", rows: np.ndarray, options: MapOptions):
    """Each shown point's k nearest shown points in the ORIGINAL space, as positions in ``rows``."""
    from projector.neighbors import knn_graph

    vectors = store.dataset.vectors(options.column)[rows]
    k = max(1, min(options.k, rows.size - 1))
    graph = knn_graph(np.ascontiguousarray(vectors), k, metric=options.metric)
    return graph.indices.astype(np.int32).ravel(), graph.distances.astype(np.float32).ravel(), k
