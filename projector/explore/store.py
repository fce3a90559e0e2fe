"""The data store behind the app: one read-only dataset, its maps, and every question views ask.

One store is shared by all browser sessions of a dataset. Sessions never change the dataset;
new maps are added under a lock, and derived data (colourings, thumbnails, the neighbour
index) is built once and kept. Nothing here imports Panel or Bokeh, so it is tested in plain
pytest.
"""

from __future__ import annotations

import io
import re
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from projector.explore.colors import ColorSpec, color_spec
from projector.explore.jobs import Job
from projector.errors import ProjectorError, SchemaError, UnsafeInputError
from projector.validation import method_name
from projector.media import BrokenMedia

if TYPE_CHECKING:
    from projector.dataset import Dataset
    from projector.projection import Projection
    from projector.quality import Quality

__all__ = ["DataStore", "MapEntry", "ComparisonResult", "comparison_column", "EXPORT_FORMATS", "TOOLTIP_TEXT_CHARS"]

EXPORT_FORMATS = ("csv", "parquet", "jsonl")
TOOLTIP_TEXT_CHARS = 160
PCA_APP_COMPONENTS = 10  # the app computes this many PCA components, so any two can be the axes
_THUMBNAILS_KEPT = 4096
_NEIGHBOR_JOBS_KEPT = 64
BACKGROUND_NICE = 10  # how much lower the CPU priority of background maps and quality scores is
MEDIA_CHECK_ROWS = 100_000  # media paths checked per column in the background (as ``projector info``)
SHARED_ENTRIES = 16  # map layouts kept for new pages (a map and a pair of its axes each)
QUALITY_PREFIX = "k-NN preserved: "


@dataclass(frozen=True)
class MapEntry:
    """One map the page can show: coordinates for every row, and where they came from."""

    key: str
    coords: np.ndarray  # (N, dims) float32
    source: str  # "computed", "cache", "user" (coordinates given with the data)
    projection: "Projection | None" = None
    axis_names: tuple[str, ...] = ()

    @property
    def method(self) -> str:
        return self.projection.method if self.projection is not None else "user"

    @property
    def dims(self) -> int:
        return self.coords.shape[1]

    @property
    def column(self) -> str | None:
        """The embedding column the map was computed from (None for given coordinates)."""
        return self.projection.column if self.projection is not None else None

    def describe(self, quality: "Quality | None" = None, pending: str = "") -> list[str]:
        """Lines for the page: the quality of the axes drawn (or how far its computation is),
        explained variance, notes."""
        lines: list[str] = []
        projection = self.projection
        if projection is None:
            return ["coordinates given with the data, shown as they are"]
        if quality is not None:
            of = f" ({quality.describe_axes(self.axis_labels())})" if quality.axes else ""
            lines.append(f"trustworthiness {quality.trustworthiness:.3f} · k-NN preserved {quality.knn_preservation:.1%}{of}")
        elif pending:
            lines.append(pending)
        ratios = projection.provenance.get("explained_variance_ratio")
        if ratios:
            shown = ", ".join(f"PC{i + 1} {r:.1%}" for i, r in enumerate(ratios[:10]))
            lines.append(f"explained variance: {shown}")
        lines.extend(projection.notes)
        return lines


    def axis_labels(self) -> list[str]:
        """A name per coordinate: PC1, PC2 ... for PCA, else the column names."""
        if self.method == "pca":
            return [f"PC{i + 1}" for i in range(self.dims)]
        return list(self.axis_names) if len(self.axis_names) == self.dims else [f"axis {i + 1}" for i in range(self.dims)]

    def drawn_axes(self, pca_x: int = 1, pca_y: int = 2) -> tuple[int, int]:
        """The two coordinates a 2-D view draws: the chosen components of a wide PCA (1-based
        ``pca_x``, ``pca_y``), else the first two."""
        if self.method == "pca" and self.dims > 2:
            return (min(pca_x, self.dims) - 1, min(pca_y, self.dims) - 1)
        return (0, 1)


def comparison_column(a: str, b: str, k: int) -> str:
    """The colour-by name of a comparison's per-row overlap."""
    return f"{k}-NN overlap: {a} vs {b}"


@dataclass(frozen=True)
class ComparisonResult:
    """A comparison of two embedding columns and the two maps drawn for it (B aligned to A)."""

    comparison: Any
    coords_a: np.ndarray
    coords_b: np.ndarray


@dataclass
class _Derived:
    colors: dict[tuple[str | None, int], ColorSpec] = field(default_factory=dict)
    thumbnails: "OrderedDict[tuple[str, int, int], bytes]" = field(default_factory=OrderedDict)
    color_columns: tuple[str, ...] | None = None
    summaries: dict[tuple, Any] = field(default_factory=dict)  # categories and ranges for filters
    shared: "OrderedDict[tuple, Any]" = field(default_factory=OrderedDict)  # see DataStore.shared


class DataStore:
    """The dataset of one app, its maps, and derived data, shared by every session.

    Args:
        dataset: the data; never modified.
        name: the short name shown on the page and used in its URL.
        x, y: columns holding coordinates the user supplied; shown as a map as they are.
        compute_workers: projections computed at once; the rest queue.
    """

    def __init__(
        self, dataset: "Dataset", *, name: str = "data", x: str | None = None, y: str | None = None,
        compute_workers: int = 1, compute: Mapping[str, Any] | None = None,
    ) -> None:
        self.dataset = dataset
        self.name = name
        self.compute = dict(compute or {})  # device=, cache= for every map and score
        self._maps: dict[str, MapEntry] = {}
        self._lock = threading.Lock()
        self._derived = _Derived()
        self.broken_media = BrokenMedia()  # images shown as placeholders, for one counted warning
        self.media_check: Job | None = None  # the background check_media, once started
        self._shared_lock = threading.Lock()
        self._comparisons: dict[str, ComparisonResult] = {}
        self._executor = ThreadPoolExecutor(max_workers=compute_workers, thread_name_prefix="projector-compute", initializer=_yield_to_pages)
        # quality scores of the maps as drawn: never behind (or ahead of) a map the user asked for
        self._scoring = ThreadPoolExecutor(max_workers=1, thread_name_prefix="projector-quality", initializer=_yield_to_pages)
        self._quality_jobs: dict[tuple[str, tuple[int, ...]], Job] = {}
        # short work a page waits for (neighbour lists, raster frames, searches, a comparison's
        # drawing): never on a session's event loop, never queued behind a projection
        self._short = ThreadPoolExecutor(max_workers=2, thread_name_prefix="projector-short")
        self._jobs: list[Job] = []  # every job not yet finished, so close() can cancel them all
        self._neighbor_jobs: "OrderedDict[tuple, Job]" = OrderedDict()
        self._index_locks: dict[tuple, threading.Lock] = {}
        self.auto_job: Job | None = None  # the map computed unasked after the first paint
        self.auto_method: str | None = None  # ... and its method, until a page has painted
        self.auto_params: dict[str, Any] = {}  # ... and its parameters (serve --param, --metric, --seed)
        self.first_map = ""  # the map every page opens on
        if (x is None) != (y is None):
            raise SchemaError("--x and --y go together: name both coordinate columns or neither")
        if x is not None and y is not None:
            self.add_map(MapEntry(f"{x} / {y}", self._user_coords(x, y), "user", axis_names=(x, y)))
        elif self.dimension() <= 3:
            projection = dataset.project("identity")
            if projection is not None:
                self.add_projection(projection, "user")

    # -- maps -------------------------------------------------------------------------------

    @property
    def num_rows(self) -> int:
        return self.dataset.num_rows

    def dimension(self, column: str | None = None) -> int:
        return int(self.dataset.vectors(column).shape[1])

    @property
    def map_keys(self) -> list[str]:
        with self._lock:
            return list(self._maps)

    def map(self, key: str) -> MapEntry:
        with self._lock:
            try:
                return self._maps[key]
            except KeyError:
                raise ProjectorError(f"no map {key!r}; maps: {list(self._maps)}") from None

    def add_map(self, entry: MapEntry) -> MapEntry:
        with self._lock:
            self._maps[entry.key] = entry
        return entry

    def add_projection(self, projection: "Projection", source: str = "computed") -> MapEntry:
        """Register a finished projection as a map; its key names method, column and parameters."""
        key = map_key(projection)
        return self.add_map(MapEntry(key, np.ascontiguousarray(projection.coords, dtype=np.float32), source, projection, tuple(projection.columns)))

    def project(self, method: str, column: str | None = None, params: Mapping[str, Any] | None = None, progress: Callable | None = None) -> MapEntry | None:
        """Compute (or read from the cache) a projection and register it; blocks. Its quality
        is scored apart, for the axes a page draws (:meth:`quality_job`)."""
        options = dict(params or {})
        if method == "pca":
            options.setdefault("dims", min(PCA_APP_COMPONENTS, self.dimension(column)))
        from projector.errors import TooFewRowsError

        try:
            projection = self.dataset.project(method, column=column, progress=progress, quality=False, **self.compute, **options)
        except TooFewRowsError:  # the rows load and can be inspected; the page says why there is no map
            return None
        return self.add_projection(projection, "computed")

    def start_projection(self, method: str, column: str | None = None, params: Mapping[str, Any] | None = None) -> Job:
        """Compute a projection on the store's worker thread; poll the returned job."""
        title = f"{method_name(method)} of {column or self.dataset.roles.vectors[0]}"
        return self._submit(Job(title, lambda progress: self.project(method, column, params, progress)), self._executor)

    def _submit(self, job: Job, executor: ThreadPoolExecutor) -> Job:
        with self._lock:
            self._jobs = [known for known in self._jobs if not known.finished]
            self._jobs.append(job)
        return job.submit(executor)

    def run_short(self, title: str, work: Callable[[], Any]) -> Job:
        """Run ``work`` on the store's short-job threads (not a session's event loop, and not
        behind a projection); poll the returned job."""
        return self._submit(Job(title, lambda progress: work()), self._short)

    @property
    def short_executor(self) -> ThreadPoolExecutor:
        """The threads :meth:`run_short` uses, for views that await work (raster frames)."""
        return self._short

    def start_auto_map(self) -> Job | None:
        """Compute :attr:`auto_method`'s map in the background (once; pages call this when they
        have painted). Pages switch to it when it is ready unless their user chose another view."""
        with self._lock:
            method, self.auto_method = self.auto_method, None
            if method is None or self.auto_job is not None:
                return self.auto_job
            params = self.auto_params
            self.auto_job = Job(f"{method_name(method)} of {self.dataset.roles.vectors[0]}", lambda progress: self.project(method, None, params, progress))
        return self._submit(self.auto_job, self._executor)

    def quality_job(self, entry: MapEntry, axes: Sequence[int], *, start: bool = True) -> Job | None:
        """The quality of ``entry``'s ``axes`` as drawn, scored once in the background and shared
        by every page (None for coordinates that came with the data, and when not ``start``-ed)."""
        if entry.projection is None or entry.method == "identity":
            return None
        slot = (entry.key, tuple(int(a) for a in axes))
        with self._lock:
            job = self._quality_jobs.get(slot)
            if job is not None or not start:
                return job
            job = self._quality_jobs[slot] = Job(f"quality of {entry.key}", lambda progress: self._score(entry, slot[1], progress))
        return self._submit(job, self._scoring)

    def quality(self, entry: MapEntry, axes: Sequence[int]) -> "Quality | None":
        """The finished quality of ``entry``'s ``axes``, or None while it is computed (or failed)."""
        job = self.quality_job(entry, axes)
        return job.result if job is not None and job.state == "done" else None

    def _score(self, entry: MapEntry, axes: tuple[int, ...], progress: Callable) -> "Quality":
        from projector.reduce.scoring import map_quality

        return map_quality(self.dataset, entry.projection, axes, cache=self.compute.get("cache", True), progress=progress)

    def compare(self, a: str, b: str, k: int = 10, method: str = "pca", progress: Callable | None = None) -> "ComparisonResult":
        """Compare two embedding columns of the same rows (blocks): per-row k-NN overlap, and a
        map of each, the second aligned to the first. The overlap becomes a colour-by column."""
        from projector.comparison import align, compare

        comparison = compare(self.dataset, a, b, k=k)
        first = self.project(method, a, None, progress)
        second = self.project(method, b, None, progress)
        if first is None or second is None:
            raise ProjectorError(f"{self.num_rows} rows cannot be mapped; PCA, UMAP and t-SNE need at least 4")
        result = ComparisonResult(comparison, first.coords[:, :2], align(first.coords[:, :2], second.coords[:, :2]))
        with self._lock:
            self._comparisons[comparison_column(a, b, k)] = result
        return result

    def start_comparison(self, a: str, b: str, k: int = 10, method: str = "pca") -> Job:
        """:meth:`compare` on the store's worker thread; poll the returned job."""
        return self._submit(Job(f"comparing {a} with {b}", lambda progress: self.compare(a, b, k, method, progress)), self._executor)

    def comparison_columns(self) -> list[str]:
        """Colour-by names of the comparisons computed so far."""
        with self._lock:
            return list(self._comparisons)

    def add_cached(self, methods: Sequence[str] = ("umap", "tsne", "pca")) -> list[MapEntry]:
        """Register the maps an earlier run left in the cache (default parameters), computing nothing."""
        import warnings

        found = []
        for column in self.dataset.roles.vectors:
            if self.dimension(column) <= 3:
                continue
            for method in methods:
                options = {"dims": min(PCA_APP_COMPONENTS, self.dimension(column))} if method == "pca" else {}
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # clamped parameters are reported when computed
                    projection = self.dataset.project(method, column=column, cache_only=True, quality=False, **self.compute, **options)
                if projection is not None:
                    found.append(self.add_projection(projection, "cache"))
        return found

    def warm(self) -> None:
        """Derive now what every new page needs (colour-by columns, the default colouring), so
        the first visitor does not wait for it."""
        self.color_columns()
        roles = self.dataset.roles
        if roles.labels:
            self.colors(roles.labels[0])

    def shared(self, key: tuple, make: Callable[[], Any]) -> Any:
        """``make()``, built once per ``key`` and handed to every session of this store: what
        pages would otherwise each derive alike (a map's drawn axes, framing, raster binning).
        The :data:`SHARED_ENTRIES` keys used last are kept; values must not be changed."""
        cache = self._derived.shared
        with self._shared_lock:
            if key in cache:
                cache.move_to_end(key)
                return cache[key]
        value = make()  # not under the lock: a slow build blocks no other key
        with self._shared_lock:
            value = cache.setdefault(key, value)
            cache.move_to_end(key)
            while len(cache) > SHARED_ENTRIES:
                cache.popitem(last=False)
        return value

    def close(self) -> None:
        """Cancel every job, queued or running (a running projection stops at its next
        progress report), and stop taking new ones."""
        with self._lock:
            jobs = list(self._jobs)
        for job in jobs:
            job.cancel()
        for executor in (self._executor, self._scoring, self._short):
            executor.shutdown(wait=False, cancel_futures=True)

    def wait_idle(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for every job to end; False if one still runs."""
        import time

        deadline = time.monotonic() + timeout
        with self._lock:
            jobs = list(self._jobs)
        return all(job.wait(max(0.0, deadline - time.monotonic())) for job in jobs)

    def _user_coords(self, x: str, y: str) -> np.ndarray:
        columns = []
        for name in (x, y):
            if name not in self.dataset.column_names:
                raise SchemaError(f"coordinate column {name!r} not found; columns: {self.dataset.column_names}")
            column = self.dataset.table.column(name)
            if not (pa.types.is_floating(column.type) or pa.types.is_integer(column.type)):
                raise SchemaError(f"coordinate column {name!r} holds {column.type}, not numbers")
            values = np.asarray(column.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float32)
            if not np.isfinite(values).all():
                row = int(np.flatnonzero(~np.isfinite(values))[0])
                raise SchemaError(f"coordinate column {name!r}, row {row}: {values[row]} is not a finite number")
            columns.append(values)
        return np.stack(columns, axis=1)

    # -- columns ----------------------------------------------------------------------------

    def display_columns(self) -> list[str]:
        """Columns worth showing in tables and cards: everything but embeddings and raw media."""
        roles = self.dataset.roles
        hidden = set(roles.vectors) | set(roles.images) | set(roles.audio)
        if roles.generated_id:
            hidden.add(roles.id)
        return [name for name in self.dataset.column_names if name not in hidden]

    def color_columns(self) -> list[str]:
        """Columns a map can be coloured by: labels, numbers, short text with few values."""
        with self._lock:
            known = self._derived.color_columns
        if known is not None:
            return list(known)
        roles = self.dataset.roles
        names = [*roles.labels, *roles.numeric]
        for name in roles.texts:
            if pc.count_distinct(self.dataset.table.column(name)).as_py() <= 256:
                names.append(name)
        with self._lock:
            self._derived.color_columns = tuple(names)
        return names

    def numeric_columns(self) -> list[str]:
        return list(self.dataset.roles.numeric)

    def text_columns(self) -> list[str]:
        roles = self.dataset.roles
        return [*roles.texts, *roles.labels, *([] if roles.generated_id else [roles.id])]

    def colors(self, column: str | None, max_categories: int = 20, entry: MapEntry | None = None, axes: Sequence[int] = (0, 1)) -> ColorSpec:
        """The colouring by ``column``; ``"k-NN preserved: <map>"`` colours by the per-point
        quality of the ``axes`` drawn (one colour until it is scored)."""
        if column and column in self._comparisons:
            return color_spec(column, self._comparisons[column].comparison.jaccard, self.num_rows, max_categories)
        if column and column.startswith(QUALITY_PREFIX) and entry is not None:
            quality = self.quality(entry, axes)
            values = quality.per_point_preservation if quality is not None else None
            return color_spec(column, values, self.num_rows, max_categories)
        key = (column, max_categories)
        spec = self._derived.colors.get(key)
        if spec is None:
            data = self.dataset.table.column(column) if column else None
            if column and column not in self.dataset.column_names:
                raise SchemaError(f"colour-by column {column!r} not found; columns: {self.color_columns()}")
            spec = self._derived.colors[key] = color_spec(column, data, self.num_rows, max_categories)
        return spec

    def numbers(self, column: str) -> np.ndarray:
        """A numeric column as float32 (NaN where missing)."""
        data = self.dataset.table.column(column)
        if not (pa.types.is_floating(data.type) or pa.types.is_integer(data.type)):
            raise SchemaError(f"column {column!r} holds {data.type}, not numbers")
        return np.asarray(data.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float32)

    # -- rows -------------------------------------------------------------------------------

    def _check_row(self, row: int) -> int:
        row = int(row)
        if not 0 <= row < self.num_rows:
            raise ProjectorError(f"row {row} is outside 0..{self.num_rows - 1}")
        return row

    def value(self, column: str, row: int) -> Any:
        return self.dataset.table.column(column)[self._check_row(row)].as_py()

    def record(self, row: int, *, text_chars: int | None = TOOLTIP_TEXT_CHARS) -> dict[str, Any]:
        """What a tooltip or card shows of ``row``: raw values (escaped by whoever draws them)."""
        row = self._check_row(row)
        roles = self.dataset.roles
        fields: list[tuple[str, str]] = []
        for name in self.display_columns():
            value = self.dataset.table.column(name)[row].as_py()
            text = "" if value is None else str(value)
            if text_chars is not None and len(text) > text_chars:
                text = text[: text_chars - 1] + "…"
            fields.append((name, text))
        label = roles.labels[0] if roles.labels else None
        text_column = roles.texts[0] if roles.texts else None
        return {
            "row": row,
            "id": str(self.dataset.table.column(roles.id)[row].as_py()),
            "label": None if label is None else _text(self.dataset.table.column(label)[row].as_py()),
            "label_column": label,
            "text": None if text_column is None else _snippet(self.dataset.table.column(text_column)[row].as_py(), text_chars),
            "text_column": text_column,
            "images": [name for name in roles.images if self.dataset.table.column(name)[row].is_valid],
            "audio": [name for name in roles.audio if self.dataset.table.column(name)[row].is_valid],
            "fields": fields,
        }

    def rows_table(self, rows: Sequence[int] | np.ndarray, columns: Sequence[str] | None = None) -> pa.Table:
        """The selected ``rows`` (in that order) as an Arrow table, embeddings and media bytes left out."""
        rows = np.asarray(rows, dtype=np.int64)
        names = list(columns) if columns is not None else self.display_columns()
        return self.dataset.table.select(names).take(pa.array(rows) if rows.size else pa.array([], type=pa.int64()))

    def export(self, rows: Sequence[int] | np.ndarray, fmt: str) -> bytes:
        """The selected rows as a CSV, Parquet or JSONL file's bytes (all columns but raw bytes)."""
        if fmt not in EXPORT_FORMATS:
            raise ProjectorError(f"export format {fmt!r} must be one of {EXPORT_FORMATS}")
        table = self.rows_table(rows, self._exportable_columns(fmt))
        sink = io.BytesIO()
        if fmt == "parquet":
            import pyarrow.parquet as pq

            pq.write_table(table, sink)
        elif fmt == "csv":
            import pyarrow.csv as pacsv

            pacsv.write_csv(_formula_safe(table), sink)
        else:
            import json

            for record in table.to_pylist():
                sink.write(json.dumps(record, ensure_ascii=False, default=str).encode("utf-8") + b"\n")
        return sink.getvalue()

    def _exportable_columns(self, fmt: str) -> list[str]:
        roles = self.dataset.roles
        names = []
        for name in self.dataset.column_names:
            kind = self.dataset.table.column(name).type
            binary = pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_struct(kind)
            if binary or (fmt == "csv" and name in roles.vectors) or (roles.generated_id and name == roles.id):
                continue  # CSV has no list cells; Parquet and JSONL keep embeddings
            names.append(name)
        return names

    # -- media ------------------------------------------------------------------------------

    def thumbnail(self, row: int, column: str | None = None, size: int = 96) -> bytes:
        """A PNG of ``row``'s image, at most ``size`` pixels a side. A missing, empty, unreadable,
        remote or out-of-root image is a grey square, counted in :attr:`broken_media`."""
        from projector.media import make_thumbnail, placeholder_png

        row = self._check_row(row)
        column = column or (self.dataset.roles.images[0] if self.dataset.roles.images else None)
        if column is None or column not in self.dataset.roles.images:
            raise ProjectorError(f"{column!r} is not an image column; image columns: {list(self.dataset.roles.images)}")
        key = (column, row, size)
        cache = self._derived.thumbnails
        with self._lock:
            hit = cache.get(key)
            if hit is not None:
                cache.move_to_end(key)
                return hit
        value = self.dataset.table.column(column)[row].as_py()
        if isinstance(value, dict):
            value = value.get("bytes") or value.get("path")

        def broken(reason: str = "") -> bytes:
            self.broken_media.add(column, row)
            return placeholder_png(size)

        if not value:
            png = broken()
        elif isinstance(value, (bytes, bytearray)):
            png = make_thumbnail(bytes(value), size, on_error=broken)
        else:
            try:
                source = self.media_file(column, row)
            except UnsafeInputError:  # missing, remote, or outside the data root: never opened
                png = broken()
            else:
                png = make_thumbnail(source, size, on_error=broken)
        with self._lock:
            cache[key] = png
            while len(cache) > _THUMBNAILS_KEPT:
                cache.popitem(last=False)
        return png

    def start_media_check(self) -> Job:
        """Run :meth:`check_media` in the background (once); pages show its note when done."""
        if self.media_check is None:  # called once, by open_sources, before any page exists
            self.media_check = self.run_short("checking media files", self.check_media)
        return self.media_check

    def media_notes(self) -> list[str]:
        """One line per media column with placeholders so far (see :attr:`broken_media`)."""
        roles = self.dataset.roles
        return [m for m in (self.broken_media.message(c) for c in (*roles.images, *roles.audio)) if m is not None]

    def check_media(self, limit: int = MEDIA_CHECK_ROWS) -> list[str]:
        """Find the media that will show as placeholders (missing, empty, remote or outside the
        data root; the first ``limit`` rows of each column), count them in :attr:`broken_media`
        and warn once per column. Runs in the background after the first paint
        (:meth:`run_short`); an unreadable file is counted when a thumbnail of it is made."""
        import warnings

        from projector.errors import ProjectorWarning

        roles = self.dataset.roles
        messages = []
        for column in (*roles.images, *roles.audio):
            data = self.dataset.table.column(column).slice(0, limit)
            if pa.types.is_struct(data.type):  # Hugging Face {bytes, path}: a row needs one of them
                have_bytes = pc.fill_null(pc.greater(pc.binary_length(pc.struct_field(data, "bytes")), 0), False)
                have_bytes = have_bytes.to_numpy(zero_copy_only=False)
                paths = pc.struct_field(data, "path")
            elif pa.types.is_string(data.type) or pa.types.is_large_string(data.type):
                have_bytes, paths = None, data
            else:  # bytes stored in the table: only empty ones are broken (unreadable: when drawn)
                empty = pc.fill_null(pc.equal(pc.binary_length(data), 0), True)
                for row in np.flatnonzero(empty.to_numpy(zero_copy_only=False)):
                    self.broken_media.add(column, int(row))
                paths = None
            if paths is not None:
                for row, value in enumerate(paths.to_pylist()):
                    if have_bytes is not None and have_bytes[row]:
                        continue
                    try:
                        self._media_path(column, row, value)  # empty, remote or outside the root: raises
                    except UnsafeInputError:
                        self.broken_media.add(column, row)
            message = self.broken_media.message(column)
            if message is not None:
                messages.append(message)
                warnings.warn(message, ProjectorWarning, stacklevel=2)
        return messages

    def media_file(self, column: str, row: int) -> Path:
        """The file behind a media path value, confined to the data root (raises otherwise)."""
        if column not in (*self.dataset.roles.images, *self.dataset.roles.audio):
            raise UnsafeInputError(f"{column!r} is not a media column")
        return self._media_path(column, row, self.value(column, row))

    def _media_path(self, column: str, row: int, value: Any) -> Path:
        """:meth:`media_file` for ``value``, the row's cell already read."""
        from projector.media import is_url, resolve_media_path

        if isinstance(value, dict):
            value = value.get("path")
        if not isinstance(value, str) or not value or is_url(value):
            raise UnsafeInputError(f"{column!r} row {row} names no local file")
        root = self.dataset.media_root
        if root is None:
            raise UnsafeInputError(f"{column!r} row {row}: no data root to serve {value!r} from")
        path = resolve_media_path(root, value)
        if not path.is_file():
            raise UnsafeInputError(f"{column!r} row {row}: {value!r} is not a file under the data root")
        return path

    def media_url_value(self, column: str, row: int) -> str | None:
        """A URL stored in the data (http/https/data:) that the browser may load itself."""
        from projector.media import is_url

        value = self.value(column, row)
        if isinstance(value, dict):
            value = value.get("path")
        return value if isinstance(value, str) and is_url(value) else None

    # -- neighbours, search, filters --------------------------------------------------------

    def neighbors(self, row: int, k: int = 10, metric: str = "cosine", column: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(rows, distances)``: the ``k`` nearest rows to ``row`` in the ORIGINAL space."""
        row = self._check_row(row)
        index = self._neighbor_index(column or self.dataset.roles.vectors[0], metric)
        k = max(1, min(int(k), self.num_rows - 1))
        rows, distances = index.neighbors([row], k, exclude_self=True)
        return rows[0].astype(np.int64), distances[0]

    def neighbors_job(self, row: int, k: int = 10, metric: str = "cosine", column: str | None = None) -> Job:
        """:meth:`neighbors` on the short-job threads; the same question asked again (by the
        map's rings and the neighbour list, or another page) shares one job."""
        key = (self._check_row(row), int(k), metric, column or self.dataset.roles.vectors[0])
        with self._lock:
            job = self._neighbor_jobs.get(key)
            if job is not None and job.state not in ("failed", "cancelled"):
                self._neighbor_jobs.move_to_end(key)
                return job
        job = Job(f"neighbours of row {key[0]}", lambda progress: self.neighbors(*key))
        with self._lock:
            self._neighbor_jobs[key] = job
            while len(self._neighbor_jobs) > _NEIGHBOR_JOBS_KEPT:
                self._neighbor_jobs.popitem(last=False)
        return self._submit(job, self._short)

    def _neighbor_index(self, column: str, metric: str):
        """The index of ``column`` in ``metric`` (:meth:`Dataset.index`), built once; its build
        holds only the dataset's lock for that index, so the store answers everything else meanwhile."""
        return self.dataset.index(column, metric)

    @staticmethod
    def map_neighbors(coords: np.ndarray, row: int, k: int) -> np.ndarray:
        """The ``k`` rows nearest to ``row`` in the map (2-D distance), nearest first."""
        distances = np.square(coords[:, :2] - coords[row, :2]).sum(axis=1)
        distances[row] = np.inf
        k = min(k, len(coords) - 1)
        nearest = np.argpartition(distances, k - 1)[:k] if k < len(coords) else np.arange(len(coords))
        return nearest[np.argsort(distances[nearest], kind="stable")]

    def search(self, column: str, query: str, *, regex: bool = False) -> np.ndarray:
        """Rows whose ``column`` contains ``query`` (case-insensitive), or matches it as a regex."""
        if column not in self.dataset.column_names:
            raise SchemaError(f"search column {column!r} not found; text columns: {self.text_columns()}")
        if not query:
            return np.zeros(0, dtype=np.int64)
        data = self.dataset.table.column(column)
        if not (pa.types.is_string(data.type) or pa.types.is_large_string(data.type)):
            data = data.cast(pa.string())
        if regex:
            try:
                re.compile(query)
            except re.error as exc:
                raise ProjectorError(f"search: {query!r} is not a valid regular expression ({exc})") from None
            try:
                hits = pc.match_substring_regex(data, query, ignore_case=True)
            except pa.ArrowInvalid as exc:  # RE2 refuses a few Python constructs (look-arounds)
                raise ProjectorError(f"search: {query!r} is not supported ({exc}); look-arounds and back-references are not") from None
        else:
            hits = pc.match_substring(data, query, ignore_case=True)
        mask = np.asarray(hits.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
        return np.flatnonzero(mask)

    def filter_mask(self, filters: Mapping[str, Any]) -> np.ndarray | None:
        """Rows that pass every filter, as a bool mask (None: no filter set).

        A filter is ``{column: [allowed categories]}`` for a label/text column or
        ``{column: (low, high)}`` for a numeric one (inclusive).
        """
        mask: np.ndarray | None = None
        for column, rule in filters.items():
            if rule is None:
                continue
            if column in self.dataset.roles.numeric:
                low, high = rule
                values = self.numbers(column)
                passed = (values >= low) & (values <= high)
            else:
                data = self.dataset.table.column(column)
                if pa.types.is_dictionary(data.type):
                    data = data.cast(data.type.value_type)
                allowed = pa.array([str(v) for v in rule], type=pa.string())
                passed = np.asarray(pc.is_in(data.cast(pa.string()), value_set=allowed).fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
            mask = passed if mask is None else mask & passed
        return mask

    def categories(self, column: str, limit: int = 256) -> list[str]:
        """The distinct values of a label/text column, most frequent first (for filter widgets;
        counted once, as every new page asks)."""
        key = ("categories", column, limit)
        known = self._derived.summaries.get(key)
        if known is None:
            data = self.dataset.table.column(column)
            counts = pc.value_counts(data.cast(pa.string()) if not pa.types.is_string(data.type) else data)
            pairs = sorted(((c["counts"].as_py(), c["values"].as_py()) for c in counts if c["values"].is_valid), key=lambda p: (-p[0], p[1]))
            known = self._derived.summaries[key] = tuple(value for _, value in pairs[:limit])
        return list(known)

    def value_range(self, column: str) -> tuple[float, float] | None:
        """The smallest and largest finite value of a numeric column (None if it has none);
        found once, as every new page's filters ask."""
        key = ("range", column)
        if key not in self._derived.summaries:
            values = self.numbers(column)
            finite = values[np.isfinite(values)]
            self._derived.summaries[key] = (float(finite.min()), float(finite.max())) if finite.size else None
        return self._derived.summaries[key]


def _yield_to_pages() -> None:
    """A map or quality score computed in the background runs at a lower CPU priority than the
    threads that answer pages (Linux keeps a nice value per thread, and the threads a library
    starts from this one inherit it), so hovers and paints stay quick while a UMAP computes."""
    import os

    try:
        thread = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, thread, min(19, os.getpriority(os.PRIO_PROCESS, thread) + BACKGROUND_NICE))
    except (AttributeError, OSError):  # not Linux, or not allowed: the same priority as before
        pass


_FORMULA = r"^[=+\-@\t\r]"  # what a spreadsheet reads as a formula (OWASP's list)


def _formula_safe(table: pa.Table) -> pa.Table:
    """Text cells and column names a spreadsheet would run as a formula, quoted with a leading
    apostrophe (it shows the text as written)."""
    columns, names = [], []
    for name, column in zip(table.column_names, table.columns):
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            risky = pc.match_substring_regex(column, _FORMULA)
            column = pc.if_else(risky, pc.binary_join_element_wise("'", column, ""), column)
        columns.append(column)
        names.append(f"'{name}" if re.match(_FORMULA, name) else name)
    return pa.table(columns, names=names)


def map_key(projection: "Projection") -> str:
    """A readable, unique name for a projection: method, column and non-default parameters."""
    from projector.reduce.params import PARAMS

    method = projection.method
    key = f"{method_name(method)} of {projection.column}"
    params_type = PARAMS.get(method)
    if params_type is not None:
        defaults = params_type().to_dict()
        changed = [f"{name}={value}" for name, value in projection.params.items() if name not in ("dims",) and defaults.get(name) != value]
        if changed:
            key += f" ({', '.join(changed)})"
    if method != "pca" and projection.coords.shape[1] == 3:
        key += " [3-D]"
    return key


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _snippet(value: Any, chars: int | None) -> str | None:
    if value is None:
        return None
    text = str(value)
    if chars is not None and len(text) > chars:
        return text[: chars - 1] + "…"
    return text
