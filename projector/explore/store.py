"""The data store behind the app: one read-only dataset, its maps, and the jobs that make them.

One store is shared by all browser sessions of a dataset. Sessions never change the dataset;
new maps are added under a lock, and derived data (colourings, shared layouts, the neighbour
index) is built once and kept. The store composes the pieces with one job each: the maps
(:mod:`~projector.explore.maps`), the rows' records, columns, exports, search and filters
(:attr:`DataStore.rows`, :mod:`~projector.explore.rows`) and their media
(:attr:`DataStore.media`, :mod:`~projector.explore.media_rows`), likely mislabels and
outliers (:attr:`DataStore.suspects`, :mod:`~projector.explore.suspect_columns`), the maps'
clusters with their labels, contours, list and colour-by column (:attr:`DataStore.clusterings`,
:mod:`~projector.explore.clusterings`, on the quality thread); it keeps
what needs its threads or its maps: background jobs, quality scores, comparisons, colourings
and neighbours.
Nothing here imports Panel or Bokeh, so it is tested in plain pytest.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import numpy as np
import pyarrow as pa

from projector.errors import ProjectorError, SchemaError, TooFewRowsError
from projector.explore.clusterings import Clusterings
from projector.explore.colors import ColorSpec, color_spec
from projector.explore.jobs import Job
from projector.explore.maps import QUALITY_PREFIX, ComparisonResult, MapEntry, comparison_column, map_key
from projector.explore.media_rows import MediaRows
from projector.explore.rows import Rows
from projector.explore.suspect_columns import SuspectColumns
from projector.validation import method_name, method_names_text

if TYPE_CHECKING:
    from projector.dataset import Dataset
    from projector.projection import Projection
    from projector.quality import Quality

__all__ = ["DataStore", "BACKGROUND_NICE", "PCA_APP_COMPONENTS", "SHARED_ENTRIES"]

PCA_APP_COMPONENTS = 10  # the app computes this many PCA components, so any two can be the axes
_NEIGHBOR_JOBS_KEPT = 64
BACKGROUND_NICE = 10  # how much lower the CPU priority of background maps and quality scores is
SHARED_ENTRIES = 16  # map layouts kept for new pages (a map and a pair of its axes each)


@dataclass
class _Derived:
    colors: dict[tuple[str | None, int], ColorSpec] = field(default_factory=dict)
    shared: "OrderedDict[tuple, Any]" = field(default_factory=OrderedDict)  # see DataStore.shared


class DataStore:
    """The dataset of one app, its maps, and derived data, shared by every session.

    Row questions go to :attr:`rows` (:class:`~projector.explore.rows.Rows`), media ones to
    :attr:`media` (:class:`~projector.explore.media_rows.MediaRows`).

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
        self.rows = Rows(dataset)  # records, columns, exports, search, filters
        self.media = MediaRows(dataset, self.rows)  # thumbnails, media files and their check
        self.media_check: Job | None = None  # the background media check, once started
        self.checks: Job | None = None  # likely mislabels and outliers, once started (start_checks)
        self.suspects = SuspectColumns(dataset, self.rows)  # "mislabel share: ..." and "outlier score: ..." columns
        self.clusterings = Clusterings(dataset, lambda job: self._submit(job, self._scoring))  # clusters, labels, contours per map
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
        self.auto_job: Job | None = None  # the map computed unasked after the first paint
        self.auto_method: str | None = None  # ... and its method, until a page has painted
        self.auto_params: dict[str, Any] = {}  # ... and its parameters (serve --param, --metric, --seed)
        self.first_map = ""  # the map every page opens on
        self.search_model: str | None = None  # the text model `serve --model` names for search by meaning (None: the recorded one)
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
        axes = tuple(projection.provenance.get("axis_titles") or projection.columns)  # custom axes name their ends
        return self.add_map(MapEntry(key, np.ascontiguousarray(projection.coords, dtype=np.float32), source, projection, axes))

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

    def run_job(self, title: str, run: Callable[[Callable], Any]) -> Job:
        """Run ``run(progress)`` in the background, beside the scores and clusters (not on the
        short threads that draw raster frames); the store cancels it on close."""
        return self._submit(Job(title, run), self._scoring)

    @property
    def short_executor(self) -> ThreadPoolExecutor:
        """The threads :meth:`run_short` uses, for views that await work (raster frames)."""
        return self._short

    def start_auto_map(self) -> Job | None:
        """Compute :attr:`auto_method`'s map in the background (once; pages call this when they
        have painted). Pages switch to it when it is ready unless their user chose another view.
        The checks of the data (:meth:`start_checks`) start with it."""
        self.start_checks()
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
            from projector.dataset import MIN_PROJECTABLE_ROWS

            raise TooFewRowsError(f"{self.num_rows} rows cannot be mapped; {method_names_text(last='and')} need at least {MIN_PROJECTABLE_ROWS}")
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
        self.rows.color_columns()
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

    # -- colourings --------------------------------------------------------------------------

    def colors(self, column: str | None, max_categories: int = 20, entry: MapEntry | None = None, axes: Sequence[int] = (0, 1)) -> ColorSpec:
        """The colouring by ``column``; ``"k-NN preserved: <map>"`` colours by the per-point
        quality of the ``axes`` drawn (one colour until it is scored)."""
        if column and column in self._comparisons:
            return color_spec(column, self._comparisons[column].comparison.jaccard, self.num_rows, max_categories)
        if column and column in self.suspects.names:  # one colour until the checks are done
            return color_spec(column, self.rows.derived_values(column), self.num_rows, max_categories)
        clustered = self.clusterings.colors(column, entry, self.num_rows, max_categories) if column else None
        if clustered is not None:  # "cluster": one colour until the shown map's clusters are found
            return clustered
        if column and column.startswith(QUALITY_PREFIX) and entry is not None:
            quality = self.quality(entry, axes)
            values = quality.per_point_preservation if quality is not None else None
            return color_spec(column, values, self.num_rows, max_categories)
        key = (column, max_categories)
        spec = self._derived.colors.get(key)
        if spec is None:
            data = self.dataset.table.column(column) if column else None
            if column and column not in self.dataset.column_names:
                raise SchemaError(f"colour-by column {column!r} not found; columns: {self.rows.color_columns()}")
            spec = self._derived.colors[key] = color_spec(column, data, self.num_rows, max_categories)
        return spec

    # -- checks of the data: likely mislabels and outliers -----------------------------------

    def start_checks(self) -> Job | None:
        """Find likely mislabels and outliers (:attr:`suspects`) in the background, once; None
        when there is nothing to check. They run on the quality thread, ahead of the first
        map's score (the graph they read is the one it needs), never before a page has painted;
        their columns colour and filter once done, and a page coloured by one redraws when that
        first score arrives."""
        with self._lock:
            if self.checks is not None or not self.suspects.names:
                return self.checks
            metric = self.auto_params.get("metric", "cosine")
            self.checks = Job("likely mislabels and outliers", lambda progress: self.suspects.compute(metric, progress))
        return self._submit(self.checks, self._scoring)

    def _check_row(self, row: int) -> int:
        """:meth:`Rows.check_row <projector.explore.rows.Rows.check_row>`, as the neighbour
        questions ask it."""
        return self.rows.check_row(row)

    # -- media ------------------------------------------------------------------------------

    def start_media_check(self) -> Job:
        """Run the media check (:meth:`~projector.explore.media_rows.MediaRows.check`) in
        the background, once; pages show its note when done."""
        if self.media_check is None:  # called once, by open_sources, before any page exists
            self.media_check = self.run_short("checking media files", self.media.check)
        return self.media_check

    # -- neighbours -------------------------------------------------------------------------

    def neighbors(self, row: int, k: int = 10, metric: str = "cosine", column: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(rows, distances)``: the ``k`` nearest rows to ``row`` in the ORIGINAL space."""
        row = self._check_row(row)
        index = self.dataset.index(column or self.dataset.roles.vectors[0], metric)  # built once, under its own lock
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


    @staticmethod
    def map_neighbors(coords: np.ndarray, row: int, k: int) -> np.ndarray:
        """The ``k`` rows nearest to ``row`` in the map (2-D distance), nearest first."""
        distances = np.square(coords[:, :2] - coords[row, :2]).sum(axis=1)
        distances[row] = np.inf
        k = min(k, len(coords) - 1)
        nearest = np.argpartition(distances, k - 1)[:k] if k < len(coords) else np.arange(len(coords))
        return nearest[np.argsort(distances[nearest], kind="stable")]


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
