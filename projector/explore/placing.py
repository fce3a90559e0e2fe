"""Rows from another file placed into the map a page shows, without changing the dataset.

A page hands over a file's bytes and name (Parquet, Arrow/Feather, CSV/TSV, JSON Lines; read
by projector's own table loaders, never unpickled). Its rows need the map's embedding column;
a file without it is embedded from its texts by the model recorded for that column, or the one
``serve --model`` names (the one search by meaning uses), so a CSV of new texts lands in a map of embedded texts. The rows are
then placed by :meth:`Projection.transform <projector.projection.Projection.transform>` into
the map as fitted (PCA exactly; UMAP and t-SNE move only the new rows).

Reading and embedding the file (:func:`read_new_rows`) is kept apart from placing
(:func:`place_rows`), so a page that switches maps places the same vectors again without
reading or embedding anything. Every error is a :class:`PlaceError` that names the file and
the way out. Nothing here imports Panel or Bokeh.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from projector.errors import ProjectorError
from projector.explore.jobs import Job
from projector.progress import Cancelled

if TYPE_CHECKING:
    from projector.explore.map_clusters import MapClusters
    from projector.explore.maps import MapEntry
    from projector.explore.store import DataStore
    from projector.progress import Progress

__all__ = ["PlaceError", "NewRows", "PlacedRows", "MAX_FILE_BYTES", "FILE_SUFFIXES", "check_placeable", "read_new_rows", "place_rows", "start_placing"]

# A page's file travels over the Bokeh websocket, whose messages stop at 20 MB (base64 adds a
# third); bigger files go through `projector project NEW --into OUT.parquet`.
MAX_FILE_BYTES = 15 * 2**20
_READERS = {  # suffix -> the table reader of projector.loaders.tabular
    ".parquet": "read_parquet", ".pq": "read_parquet",
    ".arrow": "read_ipc", ".arrows": "read_ipc", ".feather": "read_ipc", ".ipc": "read_ipc",
    ".csv": "read_csv", ".tsv": "read_tsv", ".tab": "read_tsv", ".jsonl": "read_jsonl", ".ndjson": "read_jsonl",
}
FILE_SUFFIXES = tuple(_READERS)
_SHOWN_CHARS = 300  # hover text per placed row
_OTHER_WAY = "or place it from the terminal with `projector project NEW --into MAP.parquet`"


class PlaceError(ProjectorError):
    """A file's rows cannot be placed into the map shown; the message names the file and the way out."""


@dataclass(frozen=True)
class NewRows:
    """A file's rows, ready to place: their vectors in the map's embedding space and what hover shows."""

    file: str  # the name the user gave (shown as text only)
    column: str  # the map's embedding column the vectors belong to
    vectors: np.ndarray  # (M, D) float32
    texts: tuple[str, ...] | None = None  # shown on hover
    labels: tuple[str, ...] | None = None
    embedded_by: str | None = None  # the model that embedded the file's texts, when it had no vectors

    def __len__(self) -> int:
        return len(self.vectors)


@dataclass(frozen=True)
class PlacedRows:
    """New rows with coordinates in one map (every coordinate of it; a page draws two)."""

    rows: NewRows
    map_key: str
    coords: np.ndarray  # (M, dims) float32, the map's own frame
    neighbours: np.ndarray | None = None  # (M, k) each row's nearest mapped rows, original space, nearest first

    @property
    def legend(self) -> str:
        """The legend line, e.g. ``placed: new.parquet (120 rows)``."""
        n = len(self.rows)
        return f"placed: {self.rows.file} ({n:,} row{'s' if n != 1 else ''})"

    def cluster_names(self, found: "MapClusters | None") -> list[str]:
        """Each placed row's cluster in ``found`` (the map's clusters, as drawn), the one most
        of its nearest mapped rows are in; "" for all when ``found`` is of another map or none."""
        if found is None or found.key != self.map_key or self.neighbours is None:
            return [""] * len(self.rows)
        from projector.clusters import by_neighbours

        clusters = found.clusters
        return [name or "none" for name in clusters.label_of(by_neighbours(clusters.labels, self.neighbours))]

    def xy(self, axes: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """The x and y of each placed row on the map's drawn ``axes``."""
        i, j = axes
        return np.ascontiguousarray(self.coords[:, i], np.float32), np.ascontiguousarray(self.coords[:, j], np.float32)


def check_placeable(entry: "MapEntry", file: str = "the file") -> None:
    """Raise :class:`PlaceError` when ``entry``'s map cannot take new rows (cheap: call it first)."""
    if entry.projection is None:
        raise PlaceError(f"{file}: the map shown ({entry.key}) has coordinates given with the data, so new rows have no place in it; switch to a PCA, UMAP or t-SNE map first")
    from projector.reduce.placement import PLACEABLE

    if entry.method not in PLACEABLE:
        raise PlaceError(f"{file}: the map shown ({entry.key}) is a {entry.method} map, which cannot place new rows; switch to a PCA, UMAP or t-SNE map first")


def read_new_rows(store: "DataStore", column: str, data: bytes, file: str, progress: Callable[["Progress"], Any] | None = None) -> NewRows:
    """``file``'s rows as vectors of ``column``: its own ``column``, or its texts embedded by
    the model recorded for ``column``. Blocks (a model may load): run it as a job."""
    table = _read_table(data, file)
    text = _first_present(table.column_names, _text_columns(store, column))
    labels = _first_present(table.column_names, store.dataset.roles.labels)
    dim = store.dimension(column)
    embedded_by = None
    if column in table.column_names:
        from projector.reduce.placement import new_vectors

        vectors = _named(file, lambda: new_vectors(table, column, dim))
    elif text is not None:
        from projector.embedding import read_model_info

        model = _named(file, lambda: _model(store, column, file))
        recorded = read_model_info(store.dataset.table.schema, column)
        # as the map's data names it, unless `serve --model` named another
        embedded_by = recorded.name if recorded is not None and store.search_model is None else model.info.name
        vectors = _named(file, lambda: model.encode(table.column(text).to_pylist(), progress=progress))
    else:
        raise PlaceError(
            f"{file}: no column {column!r} (the map's embedding column) and no text column to embed "
            f"({', '.join(map(repr, _text_columns(store, column))) or 'none known'}); its columns: {table.column_names}. "
            f"Add the vectors as {column!r}, {_OTHER_WAY}"
        )
    if len(vectors) == 0:
        raise PlaceError(f"{file}: no rows to place; give a file with at least one row")
    return NewRows(file, column, vectors, _shown(table, text), _shown(table, labels), embedded_by)


def place_rows(store: "DataStore", entry: "MapEntry", rows: NewRows, progress: Callable[["Progress"], Any] | None = None) -> PlacedRows:
    """``rows`` placed into ``entry``'s map, in its frame (blocks: UMAP and t-SNE optimise)."""
    check_placeable(entry, rows.file)
    if entry.column != rows.column:
        raise PlaceError(f"{rows.file}: its rows were read as {rows.column!r} vectors but the map shown is of {entry.column!r}; add the file again")
    from projector.clusters import VOTERS
    from projector.reduce.placement import place

    placement = _named(rows.file, lambda: place(entry.projection, rows.vectors, store.dataset, progress=progress))
    # UMAP and t-SNE placement found each row's nearest mapped rows: they vote on its cluster
    nearest = placement.neighbours[:, :VOTERS] if placement.neighbours is not None else None
    return PlacedRows(rows, entry.key, np.ascontiguousarray(placement.coords, dtype=np.float32), nearest)


def start_placing(store: "DataStore", entry: "MapEntry", data: bytes | NewRows, file: str = "") -> Job:
    """Read (and if needed embed) a file's bytes, or take rows read before, and place them into
    ``entry`` on the store's short-job threads; the job's result is a :class:`PlacedRows`.
    Poll the job; its progress says which stage runs."""
    name = data.file if isinstance(data, NewRows) else file
    check_placeable(entry, name)

    def run(progress: Callable[["Progress"], Any]) -> PlacedRows:
        rows = data if isinstance(data, NewRows) else read_new_rows(store, entry.column, data, name, progress)
        return place_rows(store, entry, rows, progress)

    return store.run_job(f"placing {name}", run)


def _read_table(data: bytes, file: str):
    """The file's table, read by projector's loaders from a private temporary copy."""
    from projector.loaders import tabular

    suffix = Path(file).suffix.lower()
    if suffix not in _READERS:
        raise PlaceError(f"{file}: {suffix or 'no suffix'} is not a table file; give a {', '.join(FILE_SUFFIXES)} file")
    if len(data) > MAX_FILE_BYTES:
        raise PlaceError(f"{file}: {len(data) / 2**20:.1f} MB is over the page's limit of {MAX_FILE_BYTES // 2**20} MB; place fewer rows, {_OTHER_WAY}")
    if not data:
        raise PlaceError(f"{file}: the file is empty; give a file with at least one row")
    with tempfile.TemporaryDirectory(prefix="projector-place-") as folder:
        path = Path(folder) / ("new" + suffix)
        path.write_bytes(data)
        try:
            table = getattr(tabular, _READERS[suffix])(path).table
        except ProjectorError as exc:  # the loader names the copy: name the user's file instead
            message = str(exc).replace(str(path), file)
            raise PlaceError(message if message.startswith(file) else f"{file}: {message}") from None
        # Arrow files are memory-mapped: copy the rows so nothing still maps the temporary file
        return table.take(np.arange(table.num_rows)) if _READERS[suffix] == "read_ipc" else table


def _text_columns(store: "DataStore", column: str) -> list[str]:
    """Where a new file's texts may be: the column embedded into ``column``, then the dataset's texts."""
    from projector.embedding import read_embedding_record

    try:
        embedded = (read_embedding_record(store.dataset.table.schema, column).get("input") or {}).get("text")
    except ProjectorError:
        embedded = None
    names = [embedded] if isinstance(embedded, str) else []
    return [*names, *(name for name in store.dataset.roles.texts if name not in names)]


def _model(store: "DataStore", column: str, file: str):
    from projector.search import query_model

    try:
        return query_model(store.dataset, column, store.search_model)
    except ProjectorError as exc:
        page = "" if store.search_model else "; a page names the model with `projector serve PATH --model NAME_OR_PATH`"
        raise PlaceError(f"{file}: it has no {column!r} vectors, and its texts cannot be embedded: {exc}{page}") from None


def _named(file: str, work: Callable[[], Any]) -> Any:
    """``work()``, its projector errors restated with the file's name first."""
    try:
        return work()
    except (PlaceError, Cancelled):
        raise
    except ProjectorError as exc:
        raise PlaceError(f"{file}: {exc}") from None


def _first_present(columns: list[str], names) -> str | None:
    return next((name for name in names if name in columns), None)


def _shown(table, column: str | None) -> tuple[str, ...] | None:
    """A column's values as short strings for hover (None where the file lacks it)."""
    if column is None:
        return None
    return tuple("" if value is None else _short(str(value)) for value in table.column(column).to_pylist())


def _short(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 1] + "…"
