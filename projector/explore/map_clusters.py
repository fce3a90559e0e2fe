"""One clustering of one map, kept whole: the clusters, the overlays drawn from them, the
cluster list and the ``cluster`` colour-by column, so labels, list and colouring always agree.

:func:`cluster_map` computes it (the store runs it in the background, once per map and
parameters). The colour-by column is named by :func:`cluster_column`: ``"cluster"`` for the
default parameters and ``"cluster (resolution=2.0)"`` for others, so the colour-by menu and a
copied link say which clustering colours the map. Rows in no cluster are coloured as
:data:`NOISE`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Collection

import numpy as np

from projector.explore.cluster_table import ClusterRow, cluster_rows
from projector.explore.colors import ColorSpec, color_spec
from projector.explore.overlays import Overlays

if TYPE_CHECKING:
    from projector.clusters import ClusterParams, Clusters
    from projector.dataset import Dataset
    from projector.projection import Projection

__all__ = ["MapClusters", "cluster_map", "cluster_column", "CLUSTER_COLUMN", "NOISE"]

CLUSTER_COLUMN = "cluster"  # the colour-by name of a map's clusters at the default parameters
NOISE = "none"  # the colour-by category of rows in no cluster (cluster -1)


@dataclass(frozen=True)
class MapClusters:
    """The clusters of one map at one set of parameters, and what the page draws from them.

    Attributes:
        key: the map's key. params: the parameters asked for (``clusters.params`` holds the
        effective ones). clusters: a cluster per row. overlays: labels and contours to draw.
        column: the colour-by name. table: the cluster list, largest first.
    """

    key: str
    params: "ClusterParams"
    clusters: "Clusters"
    overlays: Overlays
    column: str
    table: tuple[ClusterRow, ...]
    _colors: dict = field(default_factory=dict, repr=False, compare=False)  # max_categories -> ColorSpec
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def members(self, cluster: int) -> np.ndarray:
        """The rows of ``cluster`` (ascending), as a selection takes them."""
        return np.flatnonzero(self.clusters.labels == int(cluster)).astype(np.int64)

    def colors(self, max_categories: int = 20) -> ColorSpec:
        """The categorical colouring by cluster label (built once per ``max_categories``)."""
        with self._lock:
            spec = self._colors.get(max_categories)
        if spec is None:
            spec = _cluster_colors(self.column, self.clusters, max_categories)
            with self._lock:
                spec = self._colors.setdefault(max_categories, spec)
        return spec


def cluster_column(params: "ClusterParams", taken: Collection[str] = ()) -> str:
    """The colour-by name of the clusters at ``params``; ``(projector)`` is added when a table
    column (``taken``) already has the name (a parquet written by ``project --clusters``)."""
    from projector.clusters import ClusterParams

    base = CLUSTER_COLUMN if CLUSTER_COLUMN not in taken else f"{CLUSTER_COLUMN} (projector)"
    default = ClusterParams().to_dict()
    changed = [f"{name}={_typed(value, default[name])}" for name, value in params.to_dict().items() if value != default[name]]
    return f"{base} ({', '.join(changed)})" if changed else base


def _typed(value: object, default: object) -> object:
    """``value`` as its default's type: a page sends 4 for resolution 4.0, one name for both."""
    return float(value) if isinstance(default, float) and isinstance(value, (int, float)) else value


def cluster_map(
    dataset: "Dataset", projection: "Projection", key: str, params: "ClusterParams", column: str, *,
    contours: tuple | None = None, progress: Callable | None = None,
) -> MapClusters:
    """Cluster ``projection``'s map at ``params`` and derive labels, contours (unless given:
    they do not depend on the clusters), the list and the colouring from that one result."""
    from projector.clusters import cluster
    from projector.explore.map_overlays import map_overlays

    found = cluster(dataset, projection, params, progress=progress)
    kinds = ("labels",) if contours is not None else ("labels", "contours")
    overlays, _ = map_overlays(dataset, projection, kinds, clusters=found)
    if contours is not None:
        overlays = Overlays(labels=overlays.labels, contours=contours)
    roles = dataset.roles
    labels = dataset.table.column(roles.labels[0]).to_pylist() if roles.labels else None
    table = cluster_rows(found, labels, keyword_named=bool(roles.texts))
    return MapClusters(key, params, found, overlays, column, table)


def _cluster_colors(column: str, clusters: "Clusters", max_categories: int) -> ColorSpec:
    """Categories by label text; two clusters with one name get their ids added, so they stay apart."""
    import pyarrow as pa

    names = list(clusters.names) or [f"cluster {c}" for c in range(clusters.count)]
    seen: dict[str, int] = {}
    for name in names:
        seen[name] = seen.get(name, 0) + 1
    distinct = [name if seen[name] == 1 and name != NOISE else f"{name} (cluster {c})" for c, name in enumerate(names)]
    codes = np.where(clusters.labels >= 0, clusters.labels, len(distinct)).astype(np.int32)
    data = pa.chunked_array([pa.DictionaryArray.from_arrays(pa.array(codes), pa.array([*distinct, NOISE], pa.string()))])
    return color_spec(column, data, len(codes), max_categories)
