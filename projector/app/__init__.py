"""The interactive app behind ``projector serve``: Panel pages over a shared data store.

- :mod:`~projector.explore.store`: the dataset, its maps and derived data, shared by sessions;
- :mod:`~projector.app.state`: one session's view state (parameters, mirrored in the URL);
- :mod:`~projector.app.views`: the map, legend, controls, selection, neighbours, sample card;
- :mod:`~projector.app.shell`: lays a session's views out;
- :mod:`~projector.app.routes`, :mod:`~projector.app.server`: media endpoints and serving.

Importing :mod:`projector` does not import this package (Panel and Bokeh load on first use).
"""

from __future__ import annotations

from typing import Any, Sequence

__all__ = ["open_sources", "sample_rows"]


def sample_rows(dataset: Any, n: int, seed: int = 0) -> Any:
    """A random ``n``-row subset of ``dataset`` (rows kept in their order), roles kept."""
    import numpy as np

    from projector.dataset import Dataset

    if n >= dataset.num_rows:
        return dataset
    rows = np.sort(np.random.default_rng(seed).choice(dataset.num_rows, size=n, replace=False))
    table = dataset.table.take(rows)
    note = f"showing a random sample of {n:,} of {dataset.num_rows:,} rows (--sample {n})"
    sampled = Dataset(table, dataset.roles, source=dataset.source, media_root=dataset.media_root, notes=[*dataset.notes, note])
    return sampled


AUTO_MAP_MAX_ROWS = 100_000
"""Up to this many rows, ``serve`` starts a UMAP right after the first paint. Measured on 2
cores, fresh process: 11 s for MNIST's 10,000 x 784, 43 s for 100,000 x 128; past that it
would hold both cores for minutes that the user did not ask for."""
SERVE_EXTRA_METHODS = ("auto", "none")
"""What ``serve --method`` takes besides the map methods: ``"none"`` computes no second map."""


def open_sources(
    paths: Sequence[str | None],
    options: dict[str, Any],
    *,
    x: str | None = None,
    y: str | None = None,
    sample: int | None = None,
    method: str = "auto",
    compute: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    report=print,
) -> list:
    """Load each path into a :class:`~projector.explore.store.DataStore` with a first map ready.

    The first map is one from an earlier run's cache, else a PCA (a fraction of a second even
    at a million rows); its quality is scored in the background once a page shows it. Then
    ``method`` runs in the background with the method parameters ``params``: ``"auto"`` is
    UMAP up to :data:`AUTO_MAP_MAX_ROWS` rows, ``"none"`` and ``"pca"`` compute nothing more.
    ``compute`` (``device``, ``cache``) applies to every map. A path that fails to load becomes a
    :class:`~projector.app.server.Failed` entry, whose page explains the error, so the others
    are still served.
    """
    import projector
    from projector.app.server import Failed, slug
    from projector.explore.store import DataStore
    from projector.errors import ProjectorError

    taken: set[str] = set()
    sources: list = []
    for path, name, entry_options in _expand_runs(paths, options):
        name = slug(name, taken)
        try:
            dataset = projector.demo() if path is None else projector.load(path, **entry_options)
            if sample is not None:
                dataset = sample_rows(dataset, sample)
            store = DataStore(dataset, name=name, x=x, y=y, compute=compute)
            cached = store.add_cached()
            if cached:
                report(f"{name}: maps from earlier runs: {', '.join(entry.key for entry in cached)}")
            if not store.map_keys:
                report(f"{name}: computing PCA of {dataset.num_rows:,} rows for the first map")
                store.project("pca")
            store.first_map = store.map_keys[0] if store.map_keys else ""
            store.warm()
            if store.dataset.roles.images or store.dataset.roles.audio:
                store.start_media_check()  # one counted warning per column, in the background
            store.auto_method = _background_method(method, store, x is not None)
            store.auto_params = dict(params or {})
            if store.auto_method is not None:
                report(f"{name}: {store.auto_method} follows in the background once a page has painted; pages switch to it when ready")
            sources.append(store)
        except ProjectorError as exc:
            report(f"projector: error: {exc}")
            sources.append(Failed(name, str(exc)))
    return sources


def _background_method(method: str, store: Any, user_coords: bool) -> str | None:
    """The map to compute after the first paint, or None (computed already, or not asked for)."""
    from projector.validation import check_method

    check_method(method, also=SERVE_EXTRA_METHODS)
    if method in ("none", "pca") or store.dimension() <= 3:
        return None
    if method == "auto":
        if user_coords or store.num_rows > AUTO_MAP_MAX_ROWS:
            return None
        method = "umap"
    if any(store.map(key).method == method for key in store.map_keys):
        return None  # an earlier run's map of this kind opens first
    return method


def _expand_runs(paths: Sequence[str | None], options: dict[str, Any]):
    """``(path, name, load options)`` per dataset: a run directory written by
    :func:`projector.log` becomes one dataset per logged set and step (newest last), like
    TensorBoard's logdir, unless ``name=``/``step=`` pick one."""
    from pathlib import Path

    from projector.runlog import MANIFEST_NAME, read_run

    for path in paths:
        if path is not None and (Path(path) / MANIFEST_NAME).is_file() and "name" not in options and "step" not in options:
            for entry in read_run(path):
                label = entry.name if entry.step is None else f"{entry.name}-step{entry.step}"
                yield path, label, {**options, "name": entry.name, "step": entry.step}
        else:
            yield path, "demo" if path is None else _stem(path), options


def _stem(path: str) -> str:
    from pathlib import Path

    p = Path(path)
    return p.stem if p.suffix else p.name
