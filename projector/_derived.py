"""What a Dataset builds once from its table and keeps: kNN graphs, neighbour indexes,
content hashes and the models that embed its search queries, behind one lock.

The app asks from worker threads, so every getter is thread-safe: a second caller asking for
what is being built waits for that build and gets its result; builds of different things run
side by side (each holds only its own build lock, never the holder's).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Hashable, TypeVar

if TYPE_CHECKING:
    from projector.neighbors import KnnGraph, NeighborIndex

__all__ = ["GraphKey", "Derived"]

T = TypeVar("T")


@dataclass(frozen=True)
class GraphKey:
    """Which kNN graph: of embedding ``column`` in ``metric``, searched in ``space`` (None: the
    full space; an int: that many PCA components), over every row or only ``distinct`` ones
    (one row per distinct vector, as UMAP lays them out)."""

    column: str
    metric: str
    space: int | None = None
    distinct: bool = False


class Derived:
    """The holder behind :meth:`Dataset.graph`, :meth:`Dataset.index` and the reductions."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._building: dict[Hashable, threading.Lock] = {}
        self._graphs: dict[GraphKey, "KnnGraph"] = {}
        self._indexes: dict[tuple[str, str], "NeighborIndex"] = {}
        self._hashes: dict[str, str] = {}
        self._models: dict[Hashable, object] = {}

    def graph(self, key: GraphKey, k: int, build: Callable[[int], "KnnGraph"], *, exact: bool = False) -> "KnnGraph":
        """The held graph for ``key`` cut to ``k`` neighbours; ``build(k)`` makes (and replaces)
        it when none is held, the held one is narrower, or ``exact`` and it is approximate."""

        def usable(graph: "KnnGraph | None") -> bool:
            wide = graph is not None and (graph.k >= k or graph.k == graph.n - 1)  # k was clamped to N - 1
            return wide and (graph.exact or not exact)

        held = self._once(self._graphs, key, lambda: build(k), usable)
        return held.head(min(k, held.k))

    def index(self, column: str, metric: str, build: Callable[[], "NeighborIndex"]) -> "NeighborIndex":
        """The index of ``column`` in ``metric``, built once by ``build()``."""
        return self._once(self._indexes, (column, metric), build, lambda index: index is not None)

    def content_hash(self, column: str, compute: Callable[[], str]) -> str:
        """The content hash of ``column``'s vectors (the cache keys' part), computed once."""
        return self._once(self._hashes, column, compute, lambda value: value is not None)

    def model(self, key: Hashable, load: Callable[[], T]) -> T:
        """The query model kept under ``key`` (its folder and device), loaded once by ``load()``:
        a second search does not pay the seconds a model takes to load."""
        return self._once(self._models, key, load, lambda value: value is not None)

    def graphs(self) -> dict[GraphKey, "KnnGraph"]:
        """A copy of the graphs held, by key (for tests and diagnostics)."""
        with self._lock:
            return dict(self._graphs)

    def indexes(self) -> dict[tuple[str, str], "NeighborIndex"]:
        """A copy of the indexes held, by ``(column, metric)``."""
        with self._lock:
            return dict(self._indexes)

    def __len__(self) -> int:
        with self._lock:
            return len(self._graphs) + len(self._indexes) + len(self._hashes) + len(self._models)

    def __repr__(self) -> str:
        return f"<Derived {len(self._graphs)} graphs, {len(self._indexes)} indexes, {len(self._hashes)} hashes>"

    def _once(self, held: dict, key: Hashable, build: Callable[[], T], usable: Callable[[T | None], bool]) -> T:
        with self._lock:
            value = held.get(key)
            building = self._building.setdefault((id(held), key), threading.Lock())
        if usable(value):
            return value
        with building:
            with self._lock:
                value = held.get(key)
            if not usable(value):
                value = build()
                with self._lock:
                    held[key] = value
        return value
