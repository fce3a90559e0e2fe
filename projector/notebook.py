"""Maps in Jupyter: the app's views over one dataset, with the selection readable and settable.

    view = projector.show(ds, projection=umap)   # displays the interactive map
    view.selection                                # the selected rows, as an Arrow table
    view.selection.to_pandas()                    # ... or pandas
    view.select([3, 14, 15])                      # select from Python; the map follows

A :class:`~projector.dataset.Dataset` or :class:`~projector.projection.Projection` left at the
end of a cell displays the same way; a terminal IPython, which shows only text, gets the text
repr without computing a map or importing Panel (:func:`wants_map`).

The notebook has none of the app's HTTP routes, so the views run inline
(:class:`~projector.explore.links.InlineLinks`): thumbnails and sound are ``data:`` URLs, and hover
cards ask Python over the notebook's comm (:mod:`projector.figures.hover`). The map writes
Bokeh models directly; Panel sends such changes made from a cell only while the output's
document is held, so :meth:`MapView.select` and :meth:`MapView.focus` hold and push it, and
so do the map's own Python callbacks (:func:`_dispatch_callbacks`) in place of the Bokeh
pane's ``autodispatch``: that one leaves the document held after the first callback it runs,
and the later events of the same comm message then never reach their callbacks (a hover ask
queued behind a resize was never answered).
"""

from __future__ import annotations

import functools
import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

import numpy as np

if TYPE_CHECKING:
    import pyarrow as pa

    from projector.dataset import Dataset
    from projector.projection import Projection

__all__ = ["MapView", "show", "wants_map", "repr_bundle"]

# what a Panel output is made of; a front end that takes neither gets the text repr
_MAP_TYPES = ("text/html", "application/vnd.holoviews_exec.v0+json")


def wants_map(include: Iterable[str] | None = None, exclude: Iterable[str] | None = None) -> bool:
    """Whether the front end asking for a repr can show the interactive map.

    IPython passes no ``include`` when it formats a cell's result; its formatter's active types
    say what the front end shows (only ``text/plain`` in a terminal IPython).
    """
    if include is None and "IPython" in sys.modules:  # never imported here just to ask
        from IPython import get_ipython

        shell = get_ipython()
        formatter = getattr(shell, "display_formatter", None)
        include = getattr(formatter, "active_types", None)
    wanted = set(_MAP_TYPES) if include is None else set(include) & set(_MAP_TYPES)
    return bool(wanted - set(exclude or ()))


def repr_bundle(make_view: Callable[[], "MapView"], text: str, include=None, exclude=None) -> dict[str, Any]:
    """The mime bundle of an object that displays as a map: ``make_view()`` only when the
    front end shows maps, else just ``text`` (no PCA, no Panel import)."""
    if not wants_map(include, exclude):
        return {"text/plain": text}
    return make_view()._repr_mimebundle_(include, exclude)


class MapView:
    """One interactive map of a dataset in a notebook (the app's session, without a server).

    Args:
        dataset: the data.
        projection: the map to show first; None shows the data as is when D <= 3, else PCA.
        color_by: the column points are coloured by (default: the first label column).
    """

    def __init__(self, dataset: "Dataset", projection: "Projection | None" = None, *, color_by: str | None = None) -> None:
        from projector.app.shell import Session, initial_state
        from projector.explore.store import DataStore

        store = DataStore(dataset, name="notebook")
        entry = store.add_projection(projection, "computed") if projection is not None else None
        if entry is None and not store.map_keys:
            entry = store.project("pca")
        state = initial_state(store)
        if entry is not None:
            state.map_key = entry.key
        if color_by is not None:
            if color_by not in dataset.column_names:
                from projector.errors import SchemaError

                raise SchemaError(f"color_by={color_by!r}: no such column; columns: {dataset.column_names}")
            state.color_by = color_by
        self.store = store
        self.session = Session(store, state, inline=True)  # no HTTP routes in a notebook
        self.session.map.panel.autodispatch = False
        _dispatch_callbacks(self.session.map.figure, self.session.panel)

    @property
    def rows(self) -> np.ndarray:
        """Positions of the selected rows in the dataset table."""
        return self.session.state.selection.copy()

    @property
    def selection(self) -> "pa.Table":
        """The selected rows (every column but embeddings and raw media); ``.to_pandas()`` for pandas."""
        return self.store.rows.table(self.session.state.selection)

    @selection.setter
    def selection(self, rows: Iterable[int]) -> None:
        self.select(rows)

    def select(self, rows: Iterable[int]) -> None:
        """Select rows by position (0..N-1); the map greys the rest and the table follows."""
        array = np.asarray(list(rows), dtype=np.int64)
        n = self.store.num_rows
        if array.size and (array.min() < 0 or array.max() >= n):
            from projector.errors import ProjectorError

            bad = int(array[(array < 0) | (array >= n)][0])
            raise ProjectorError(f"row {bad} is outside 0..{n - 1}")
        with _pushed(self.session.panel):
            self.session.state.select(array)

    def focus(self, row: int) -> None:
        """Show ``row``'s sample card and its nearest neighbours in the original space."""
        with _pushed(self.session.panel):
            self.session.state.focused = int(row)

    def panel(self):
        """The Panel layout, e.g. to put into a larger dashboard."""
        return self.session.panel

    def _repr_mimebundle_(self, include=None, exclude=None):
        if not wants_map(include, exclude):
            return {"text/plain": repr(self)}
        import panel as pn

        pn.extension(inline=True)  # no CDN: notebook outputs work offline too
        bundle = self.session.panel._repr_mimebundle_(include, exclude)
        from panel.io.state import state

        for ref in list(self.session.panel._models):  # later updates stay offline too
            if ref in state._views:
                _inline_stylesheets(state._views[ref][2])
        return bundle

    def __repr__(self) -> str:
        return f"<MapView {self.store.num_rows:,} rows, map {self.session.state.map_key!r}, {self.session.state.selection.size:,} selected>"


@contextmanager
def _pushed(viewable) -> Iterator[None]:
    """Bokeh changes made inside reach every notebook output of ``viewable``.

    Panel sends a document's *held* events over its comm; changes made from a cell outside
    Panel's own callbacks are not held, so they would never reach the page. This holds each
    output's document, runs the change, pushes, and restores the hold.
    """
    from panel.io.notebook import push
    from panel.io.state import state

    outputs = [state._views[ref] for ref in list(viewable._models) if ref in state._views]
    outputs = [(doc, comm) for _, _, doc, comm in outputs if comm is not None]
    held = [(doc, doc.callbacks.hold_value) for doc, _ in outputs]
    for doc, _ in held:
        _inline_stylesheets(doc)
        doc.hold("combine")
    try:
        yield
    finally:
        for doc, comm in outputs:
            push(doc, comm)
        for doc, before in held:
            doc.unhold()
            if before is not None:
                doc.hold(before)


class _InlineStylesheets(dict):
    """Panel's per-document stylesheet cache (``state._stylesheets``), answering the CDN and
    server-local URLs it gives models it updates after the first display with ``data:`` URLs
    of the installed files: the output fetches nothing. (Panel checks a cached sheet's ``url``, so the copies
    stay ``ImportedStyleSheet`` objects rather than inline ones.)"""

    def __missing__(self, url: str):
        import base64

        from bokeh.models import ImportedStyleSheet
        from panel.io.resources import CDN_DIST, DIST_DIR, LOCAL_DIST

        prefix = next((p for p in (CDN_DIST, LOCAL_DIST) if isinstance(url, str) and url.startswith(p)), None)
        path = DIST_DIR / url.removeprefix(prefix).split("?")[0] if prefix else None
        if path is None or not path.is_file():
            raise KeyError(url)
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        self[url] = sheet = ImportedStyleSheet(url=f"data:text/css;base64,{data}")
        return sheet

    def __contains__(self, url: object) -> bool:
        try:
            self[url]
        except KeyError:
            return False
        return True


def _inline_stylesheets(doc) -> None:
    """Install :class:`_InlineStylesheets` as ``doc``'s cache (once; keeping what it held)."""
    from panel.io.state import state

    cache = state._stylesheets.get(doc)
    if not isinstance(cache, _InlineStylesheets):
        fresh = _InlineStylesheets()
        for url, sheet in (cache or {}).items():
            if url not in fresh:  # CDN URLs get their data: copy; any other sheet is kept
                fresh[url] = sheet
        state._stylesheets[doc] = fresh


def _dispatch_callbacks(figure, viewable) -> None:
    """Every Python callback on ``figure`` and the models it holds pushes what it changed to
    each notebook output of ``viewable`` (see the module docs)."""
    from bokeh.model import Model

    def on_change(callback):
        @functools.wraps(callback)
        def run(attr, old, new):
            with _pushed(viewable):
                callback(attr, old, new)
        return run

    def on_event(callback):
        @functools.wraps(callback)
        def run(event):
            with _pushed(viewable):
                callback(event)
        return run

    for model in figure.select({"type": Model}):
        for registry, wrap in ((model._callbacks, on_change), (model._event_callbacks, on_event)):
            for callbacks in registry.values():
                callbacks[:] = [wrap(callback) for callback in callbacks]


def show(dataset: Any, projection: "Projection | None" = None, *, color_by: str | None = None) -> MapView:
    """An interactive map of ``dataset`` (anything :func:`projector.load` takes) for notebooks."""
    from projector.dataset import Dataset

    if not isinstance(dataset, Dataset):
        import projector

        dataset = projector.load(dataset)
    return MapView(dataset, projection, color_by=color_by)
