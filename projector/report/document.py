"""The :class:`Report`: blocks (markdown, maps, metric tables) written as one offline HTML file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from projector.explore.html import escape
from projector.errors import ProjectorError, SchemaError

if TYPE_CHECKING:
    from projector.dataset import Dataset
    from projector.projection import Projection
    from projector.explore.overlays import Overlays

__all__ = ["Report", "save_html", "map_entry"]

_ROOT_ID = "projector-report"
_PAGE_CSS = (
    "<style>body{font-family:system-ui,sans-serif;margin:24px;color:#222}"
    ".projector-markdown{max-width:900px;line-height:1.45}"
    ".projector-metrics td,.projector-metrics th{padding:2px 10px;text-align:left;border-bottom:1px solid #eee}</style>"
)


def _markdown_html(text: str) -> str:
    """Markdown rendered safely: raw HTML in the text is shown as text, unsafe links dropped."""
    from markdown_it import MarkdownIt

    renderer = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
    return f'<div class="projector-markdown">{renderer.render(text)}</div>'


def _metrics_html(values: Mapping[str, Any] | Sequence[Mapping[str, Any]], title: str | None) -> str:
    """A table of metrics: a mapping gives name/value rows, a list of mappings gives columns."""
    def cell(value: Any) -> str:
        if isinstance(value, float):
            return escape(f"{value:.4g}")
        return escape(value)

    if isinstance(values, Mapping):
        body = "".join(f"<tr><th>{escape(name)}</th><td>{cell(value)}</td></tr>" for name, value in values.items())
        head = ""
    else:
        rows = list(values)
        names = list(dict.fromkeys(name for row in rows for name in row))
        head = "<tr>" + "".join(f"<th>{escape(name)}</th>" for name in names) + "</tr>"
        body = "".join("<tr>" + "".join(f"<td>{cell(row.get(name))}</td>" for name in names) + "</tr>" for row in rows)
    caption = f"<caption style='text-align:left;font-weight:600'>{escape(title)}</caption>" if title else ""
    return f'<table class="projector-metrics" style="border-collapse:collapse;font-size:13px">{caption}{head}{body}</table>'


def map_entry(dataset: "Dataset", projection: "Projection | str | None" = None, *, x: str | None = None, y: str | None = None):
    """The store and map a report shows: given coordinates, a projection, or one computed now."""
    from projector.explore.maps import MapEntry
    from projector.explore.store import DataStore

    store = DataStore(dataset, name="report", x=x, y=y)
    if x is not None:
        return store, store.map(store.map_keys[0])
    if projection is None or isinstance(projection, str):
        method = projection or "auto"
        if method == "auto" and store.map_keys:
            return store, store.map(store.map_keys[0])
        projection = dataset.project(method)
    if len(projection.coords) != dataset.num_rows:
        raise ProjectorError(f"the projection has {len(projection.coords)} rows but the dataset {dataset.num_rows}; project this dataset")
    entry: MapEntry = store.add_projection(projection, "computed")
    return store, entry


class Report:
    """An HTML report built from blocks, in order. Nothing is computed until a block is added.

    Args:
        title: the page title and first heading.
    """

    def __init__(self, title: str = "projector report") -> None:
        self.title = title
        self._blocks: list[Any] = []

    def markdown(self, text: str) -> "Report":
        """A block of Markdown; HTML inside it is shown as text, never run."""
        from bokeh.models import Div

        self._blocks.append(Div(text=_markdown_html(text), sizing_mode="stretch_width"))
        return self

    def metrics(self, values: Mapping[str, Any] | Sequence[Mapping[str, Any]], title: str | None = None) -> "Report":
        """A table of numbers: ``{"name": value}``, or a list of rows (one dict per row)."""
        from bokeh.models import Div

        self._blocks.append(Div(text=_metrics_html(values, title)))
        return self

    def map(
        self,
        dataset: "Dataset",
        projection: "Projection | str | None" = None,
        *,
        color_by: str | Sequence[str] | None = None,
        title: str | None = None,
        k: int = 10,
        x: str | None = None,
        y: str | None = None,
        max_points: int | None = None,
        overlays: "Overlays | bool | str | Sequence[str] | Mapping[str, bool | str] | None" = None,
    ) -> "Report":
        """An interactive map of ``dataset``: a Projection, a method name (computed now), or
        the coordinate columns ``x``/``y``. ``k`` neighbours per point are precomputed.
        ``overlays``: True draws cluster labels and density contours, ``"labels"`` or
        ``"contours"`` one of them, ``{"contours": "label"}`` the contours of the label
        column's top categories in their legend colours (see :mod:`projector.explore.map_overlays`)."""
        from projector.explore.map_overlays import resolve_overlays
        from projector.figures.map_block import map_block
        from projector.figures.options import INTERACTIVE_MAX_POINTS, MapOptions

        store, entry = map_entry(dataset, projection, x=x, y=y)
        colors = [color_by] if isinstance(color_by, str) else color_by
        drawn = resolve_overlays(overlays, dataset, entry.projection)
        options = MapOptions(color_by=colors, k=k, title=title, max_points=max_points or INTERACTIVE_MAX_POINTS, overlays=drawn)
        self._blocks.append(map_block(store, entry, options))
        return self

    def mislabels(
        self,
        dataset: "Dataset",
        label: str | None = None,
        *,
        limit: int | None = 20,
        column: str | None = None,
        metric: str = "cosine",
        k: int = 10,
        threshold: float | None = None,
        title: str | None = None,
    ) -> "Report":
        """A table of the likely mislabels of ``dataset``'s ``label`` column (default: the first
        label column), most doubtful first: row, id, label, the label the neighbours suggest,
        "9 of 10" neighbours, the share that disagree, and a preview (thumbnail, text).

        Found on the kNN graph of ``column`` (default: the first embedding) in ``metric`` with
        ``k`` neighbours (see :func:`projector.suspects.mislabels`); ``threshold`` is the share
        of disagreeing neighbours that makes a suspect (None: the default, 0.7); ``limit`` rows
        at most (None: all).
        """
        from bokeh.models import Div

        from projector.explore.store import DataStore
        from projector.report.mislabels import mislabels_html
        from projector.suspects import DEFAULT_THRESHOLD, mislabels

        if label is not None and label not in dataset.column_names:
            raise SchemaError(f"label={label!r} is not a column; columns: {dataset.column_names}")
        name = label or (dataset.roles.labels[0] if dataset.roles.labels else None)
        if name is None:
            raise SchemaError(
                f"a table of likely mislabels needs a label column and the dataset has none; name one with label= "
                f"(projector export: --label COL); columns: {dataset.column_names}"
            )
        found = mislabels(dataset, name, column=column, metric=metric, k=k, threshold=DEFAULT_THRESHOLD if threshold is None else threshold)
        store = DataStore(dataset, name="report")
        self._blocks.append(Div(text=mislabels_html(store, found, str(name), limit, title), sizing_mode="stretch_width"))
        return self

    def compare(
        self,
        dataset: "Dataset",
        a: str,
        b: str,
        *,
        k: int = 10,
        method: str = "umap",
        metric: str = "cosine",
        color_by: str | Sequence[str] | None = None,
        max_points: int | None = None,
    ) -> "Report":
        """Two embeddings of the same rows side by side: the map of ``b`` is aligned to that of
        ``a`` (a similarity transform fitted on all rows), points are coloured by how much of
        their ``k`` nearest neighbours they keep (see :func:`projector.compare`), and hover and
        selection are linked across the two maps."""
        from projector.explore.store import DataStore
        from projector.comparison import align, compare
        from projector.figures.map_block import compare_block
        from projector.figures.options import INTERACTIVE_MAX_POINTS, MapOptions

        comparison = compare(dataset, a, b, k=k, metric=metric)
        first = dataset.project(method, column=a)
        second = dataset.project(method, column=b)
        store = DataStore(dataset, name="report")
        colors = [color_by] if isinstance(color_by, str) else color_by
        options = MapOptions(color_by=colors, k=k, metric=metric if metric != "ip" else "cosine", max_points=max_points or INTERACTIVE_MAX_POINTS)
        self._blocks.append(compare_block(store, comparison, first.coords[:, :2], align(first.coords[:, :2], second.coords[:, :2]), options))
        return self

    def add(self, model: Any) -> "Report":
        """Any Bokeh model or layout, for views this API does not cover."""
        self._blocks.append(model)
        return self

    def html(self) -> str:
        """The whole page as one string: Bokeh's JavaScript and the document inlined.

        The page is assembled here rather than by ``bokeh.embed.file_html``, because once Panel
        is imported in the same process it adds script tags that load files from a server.
        """
        import json

        from bokeh.embed import json_item
        from bokeh.layouts import column
        from bokeh.models import Div
        from bokeh.resources import Resources

        heading = Div(text=f"<h1 style='margin:0 0 8px'>{escape(self.title)}</h1>")
        item = json_item(column(heading, *self._blocks), target=_ROOT_ID)
        # "<" as \u003c keeps any "</script>" in the data from ending the script element
        document = json.dumps(item, separators=(",", ":")).replace("<", "\\u003c")
        resources = Resources(mode="inline", components=["bokeh", "bokeh-gl", "bokeh-widgets", "bokeh-tables"])
        scripts = "".join(f"<script>{code}</script>" for code in resources.js_raw)
        styles = "".join(f"<style>{code}</style>" for code in resources.css_raw)
        return (
            f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(self.title)}</title>'
            f"{styles}{_PAGE_CSS}</head><body><div id=\"{_ROOT_ID}\"></div>{scripts}"
            f'<script type="application/json" id="projector-document">{document}</script>'
            "<script>Bokeh.embed.embed_item(JSON.parse(document.getElementById('projector-document').textContent));</script>"
            "</body></html>"
        )

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write the report atomically; an existing file is replaced only with ``overwrite=True``."""
        from projector._io import write_atomically

        page = self.html().encode("utf-8")
        return write_atomically(path, lambda temp: Path(temp).write_bytes(page), overwrite=overwrite)


def save_html(
    dataset: "Dataset", path: str | os.PathLike, projection: "Projection | str | None" = None, *,
    color_by: str | Sequence[str] | None = None, title: str | None = None, k: int = 10, x: str | None = None, y: str | None = None,
    overlays: Any = None, mislabels: bool | str = False, overwrite: bool = False,
) -> Path:
    """A one-map report of ``dataset`` (see :meth:`Report.map`); ``mislabels=True`` (or a
    label column's name) adds the table of likely mislabels under the map (:meth:`Report.mislabels`)."""
    name = title or f"projector · {dataset.source or 'dataset'}"
    report = Report(name).map(dataset, projection, color_by=color_by, k=k, x=x, y=y, overlays=overlays)
    if mislabels:
        report.mislabels(dataset, mislabels if isinstance(mislabels, str) else None)
    return report.save(path, overwrite=overwrite)
