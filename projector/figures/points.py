"""The points a report map draws: the shown rows (all, or a stratified sample), their
coordinates, colour codes and mappers, hover card arguments, inlined thumbnails and the
compactly encoded table columns, built once and shared by every map of a block.
"""

from __future__ import annotations

import base64
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

from projector.errors import ProjectorError, ProjectorWarning
from projector.explore.colors import GREY, numeric_palette
from projector.explore.html import legend_html, truncate
from projector.explore.sampling import stratified_sample
from projector.figures.options import MapOptions

if TYPE_CHECKING:
    from projector.explore.store import DataStore

__all__ = ["ShownPoints", "shown_points", "column_texts"]

THUMBNAIL_SIZE = 32
TEXT_CHARS = 160


def _default_colors(store: "DataStore") -> list[str]:
    roles = store.dataset.roles
    return [*roles.labels, *roles.numeric][:8]


@dataclass
class ShownPoints:
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


def shown_points(store: "DataStore", coords: dict[str, np.ndarray], options: MapOptions, extra_specs: Sequence = ()) -> ShownPoints:
    """The shown rows (all, or a stratified sample) with coordinates, colour codes, tooltip
    and table columns; ``coords`` maps column names ("x", "y", ...) to all rows' values."""
    from bokeh.models import ColumnDataSource, LinearColorMapper

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
            mappers.append(LinearColorMapper(palette=numeric_palette(), low=spec.low, high=spec.high, nan_color=GREY))
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
    return ShownPoints(source, rows, [spec.column or "" for spec in specs], specs, mappers, legends, hover_args, table, label_codes)


def column_texts(store: "DataStore", name: str, rows: np.ndarray) -> list[str]:
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
