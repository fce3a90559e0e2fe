"""The clusterings of a store's maps: one background job per map and cluster parameters, shared
by every page, and the ``cluster`` colour-by names that point at them.

A page asks :meth:`Clusterings.job` for the shown map at its own parameters; the first page to
ask starts the work, later ones share it. The result is a
:class:`~projector.explore.map_clusters.MapClusters`, so the labels drawn, the cluster list and
the colouring come from one computation. Only UMAP and t-SNE maps are clustered on the page.
This class holds no threads: the store hands it ``submit``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Callable

from projector.explore.colors import ColorSpec, color_spec
from projector.explore.jobs import Job

if TYPE_CHECKING:
    from projector.clusters import ClusterParams
    from projector.dataset import Dataset
    from projector.explore.map_clusters import MapClusters
    from projector.explore.maps import MapEntry

__all__ = ["Clusterings", "CLUSTERED_METHODS", "CLUSTERINGS_KEPT"]

CLUSTERED_METHODS = ("umap", "tsne")  # maps that get clusters, their labels and contours on the page
CLUSTERINGS_KEPT = 8  # clusterings at other than the default parameters kept, all maps together


class Clusterings:
    """Clusters of the maps of ``dataset``, computed through ``submit(job) -> job``."""

    def __init__(self, dataset: "Dataset", submit: Callable[[Job], Job]) -> None:
        self.dataset = dataset
        self._submit = submit
        self._lock = threading.Lock()
        self._jobs: "OrderedDict[tuple[str, ClusterParams], Job]" = OrderedDict()
        self._columns: dict[str, "ClusterParams"] = {}  # colour-by name -> parameters
        self.column()  # "cluster" names the default clusters, even in a link opened first

    def job(self, entry: "MapEntry", params: "ClusterParams | None" = None, *, start: bool = True) -> Job | None:
        """The clusters of ``entry``'s map at ``params`` (None: the defaults), computed once in
        the background; None for maps other than UMAP and t-SNE, and when not ``start``-ed."""
        if entry.projection is None or entry.method not in CLUSTERED_METHODS:
            return None
        slot = (entry.key, params if params is not None else _defaults())
        with self._lock:
            job = self._jobs.get(slot)
            if job is not None or not start:
                return job
            job = self._jobs[slot] = Job(f"clusters of {entry.key}", lambda progress: self._compute(entry, slot[1], progress))
            for known in [known for known in self._jobs if known[1] != _defaults()][:-CLUSTERINGS_KEPT]:
                del self._jobs[known]  # the defaults' clusters stay; of other parameters, the latest few
        return self._submit(job)

    def result(self, entry: "MapEntry", params: "ClusterParams | None" = None) -> "MapClusters | None":
        """The finished clusters of ``entry`` at ``params``; None when not asked, running or failed."""
        job = self.job(entry, params, start=False)
        return job.result if job is not None and job.state == "done" else None

    def column(self, params: "ClusterParams | None" = None) -> str:
        """The colour-by name of the clusters at ``params`` (:func:`~projector.explore.map_clusters.cluster_column`)."""
        from projector.explore.map_clusters import cluster_column

        params = params if params is not None else _defaults()
        name = cluster_column(params, self.dataset.column_names)
        with self._lock:
            self._columns[name] = params
        return name

    def names(self) -> list[str]:
        """The colour-by names handed out so far."""
        with self._lock:
            return list(self._columns)

    def colors(self, column: str, entry: "MapEntry | None", n: int, max_categories: int = 20) -> ColorSpec | None:
        """The colouring of ``entry``'s map by the cluster column ``column``: one colour until
        its clusters are found; None when ``column`` names no clusters (a table column)."""
        with self._lock:
            params = self._columns.get(column)
        if params is None or column in self.dataset.column_names:
            return None
        found = self.result(entry, params) if entry is not None else None
        return found.colors(max_categories) if found is not None else color_spec(column, None, n)

    def _compute(self, entry: "MapEntry", params: "ClusterParams", progress: Callable) -> "MapClusters":
        from projector.explore.map_clusters import cluster_map

        base = self.result(entry) if params != _defaults() else None  # contours follow the map, not the clusters
        contours = base.overlays.contours if base is not None else None
        return cluster_map(self.dataset, entry.projection, entry.key, params, self.column(params), contours=contours, progress=progress)


def _defaults() -> "ClusterParams":
    from projector.clusters import ClusterParams

    return ClusterParams()
