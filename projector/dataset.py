"""The Dataset: one Arrow table plus the roles of its columns. Every later stage takes one.

Build one with :func:`projector.load`, :meth:`Dataset.from_table` or
:meth:`Dataset.from_arrays`. The table is never mutated; embeddings are exposed as zero-copy
``(N, D)`` float32 views with :meth:`Dataset.vectors`.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np
import pyarrow as pa

from projector import _vectors
from projector._derived import Derived, GraphKey
from projector.errors import EmptyDatasetError, ProjectorWarning, SchemaError
from projector._table_checks import _check_column_names, _check_finite, _check_media_column, _pick_id, _require_column
from projector.schema import GENERATED_ID, Roles, infer_roles, roles_from_schema, with_roles

if TYPE_CHECKING:
    from projector.clusters import Clusters
    from projector.info import DatasetInfo
    from projector.neighbors import KnnGraph, NeighborIndex
    from projector.progress import ProgressCallback
    from projector.projection import Projection

__all__ = ["Dataset", "MIN_PROJECTABLE_ROWS"]

MIN_PROJECTABLE_ROWS = 4
Names = str | Sequence[str] | None


class Dataset:
    """An Arrow table of samples with one or more embedding columns and named column roles.

    Attributes:
        table: the data, with roles recorded in its schema metadata.
        roles: which column is the id, the embeddings, images, text, labels, numbers.
        source: where it was loaded from, for messages (a path, or a description).
        media_root: the folder media paths are resolved against and confined to.
        notes: what loading had to say (warnings, substitutions), also shown by ``info``.
    """

    __slots__ = ("table", "roles", "source", "media_root", "notes", "_derived")

    def __init__(
        self,
        table: pa.Table,
        roles: Roles,
        *,
        source: str | None = None,
        media_root: Path | None = None,
        notes: Sequence[str] = (),
    ) -> None:
        self.table = with_roles(table, roles)
        self.roles = roles
        self.source = source
        self.media_root = media_root
        self.notes = tuple(notes)
        self._derived = Derived()  # built once from the table and kept: kNN graphs, indexes, hashes

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def from_table(
        cls,
        table: pa.Table,
        *,
        id: str | None = None,
        vector: Names = None,
        vector_prefix: str | None = None,
        text: Names = None,
        image: Names = None,
        audio: Names = None,
        label: Names = None,
        drop_nonfinite: bool = False,
        media_root: str | os.PathLike | None = None,
        source: str | None = None,
        notes: Sequence[str] = (),
    ) -> "Dataset":
        """Validate ``table``, cast its embeddings once, and give every column a role.

        Roles named here win; the rest come from roles stored in the schema by an earlier
        save, then from the inference rules in :mod:`projector.schema`.
        """
        where = f"{source}: " if source else ""
        notes = list(notes)
        _check_column_names(table, where)
        if table.num_rows == 0:
            raise EmptyDatasetError(f"{where}no rows; a dataset needs at least one sample")
        stored = roles_from_schema(table.schema)
        for role_name, given in (("vector", vector), ("text", text), ("image", image), ("audio", audio), ("label", label)):
            for name in _as_list(given):
                _require_column(table, name, role_name, where)
        if id is not None:
            _require_column(table, id, "id", where)

        vectors = _as_list(vector)
        if vector_prefix is not None:
            table, gathered = _vectors.gather_prefix(table, vector_prefix)
            vectors.append(gathered)
        if not vectors and stored is not None:
            vectors = list(stored.vectors)
        if not vectors:
            table, vectors = _infer_vectors(table)
        if not vectors:
            raise SchemaError(
                f"{where}no embedding column found among {_vectors._names(table.column_names)}; "
                "name it with vector=COLUMN, or vector_prefix='emb_' for emb_0..emb_N columns"
            )

        id_name, create_id, generated = _pick_id(table, id, stored, where)
        ids = None if create_id else table.column(id_name)
        for name in vectors:
            column = _vectors.to_vector_column(table.column(name), name, ids)
            table = table.set_column(table.column_names.index(name), name, column)
        table = _check_finite(table, vectors, ids, drop_nonfinite, where, notes)
        if create_id:
            table = table.append_column(GENERATED_ID, _vectors.numeric_array(np.arange(table.num_rows, dtype=np.int64)))

        keep = stored if stored is not None and id is None else None
        roles = infer_roles(
            table,
            id=id_name,
            vectors=vectors,
            images=_as_list(image) if image is not None else (keep.images if keep else None),
            texts=_as_list(text) if text is not None else (keep.texts if keep else None),
            audio=_as_list(audio) if audio is not None else (keep.audio if keep else None),
            labels=_as_list(label) if label is not None else (keep.labels if keep else None),
            generated_id=generated,
        )
        root = Path(media_root).resolve() if media_root is not None else None
        for name in (*roles.images, *roles.audio):
            _check_media_column(table.column(name), root, name)

        if table.num_rows < MIN_PROJECTABLE_ROWS:
            message = (
                f"{where}only {table.num_rows} rows: they load and can be inspected, but PCA, "
                f"UMAP and t-SNE need at least {MIN_PROJECTABLE_ROWS}"
            )
            warnings.warn(message, ProjectorWarning, stacklevel=2)
            notes.append(message)
        return cls(table, roles, source=source, media_root=root, notes=notes)

    @classmethod
    def from_arrays(
        cls,
        embeddings: Any,
        metadata: Any = None,
        *,
        name: str = "embedding",
        **roles: Any,
    ) -> "Dataset":
        """A Dataset from an ``(N, D)`` array (numpy, torch, anything ``np.asarray`` takes).

        ``metadata`` is anything :func:`projector.load` takes in memory (a DataFrame, an Arrow
        table, a dict of columns, a list of dicts) with one row per embedding row, or None.
        ``embeddings`` may also be a mapping of several named ``(N, D)`` arrays.
        """
        from projector.loaders.memory import arrays_table, to_table

        table = arrays_table(embeddings if isinstance(embeddings, Mapping) else {name: embeddings})
        names = table.column_names
        if metadata is not None:
            meta = to_table(metadata)
            if meta.num_rows != table.num_rows:
                from projector.errors import RowCountError

                raise RowCountError(
                    f"metadata has {meta.num_rows} rows but the embeddings have {table.num_rows}; "
                    "they must describe the same samples in the same order"
                )
            clash = sorted(set(meta.column_names) & set(names))
            if clash:
                raise SchemaError(
                    f"metadata column {clash[0]!r} has the name of an embedding; rename it or pass name="
                )
            for field_ in meta.schema:
                table = table.append_column(field_, meta.column(field_.name))
        roles.setdefault("vector", names)
        return cls.from_table(table, source=roles.pop("source", "arrays"), **roles)

    # -- access ------------------------------------------------------------------------------

    def __len__(self) -> int:
        return self.table.num_rows

    @property
    def num_rows(self) -> int:
        return self.table.num_rows

    @property
    def column_names(self) -> list[str]:
        return self.table.column_names

    @property
    def vector_columns(self) -> tuple[str, ...]:
        return self.roles.vectors

    def vectors(self, column: str | None = None) -> np.ndarray:
        """The embedding ``column`` (default: the first) as a read-only ``(N, D)`` float32 view.

        No copy is made: the array shares memory with the Arrow table (and with the file, when
        it was memory-mapped).
        """
        return _vectors.as_matrix(self.table.column(self._vector_name(column)))

    def _vector_name(self, column: str | None) -> str:
        name = column if column is not None else self.roles.vectors[0]
        if name not in self.roles.vectors:
            raise SchemaError(f"{name!r} is not an embedding column; embedding columns: {list(self.roles.vectors)}")
        return name

    def graph(
        self,
        column: str | None = None,
        metric: str = "cosine",
        k: int = 15,
        *,
        exact: bool | None = None,
        device: str = "auto",
        progress: "ProgressCallback | Sequence[ProgressCallback] | None" = None,
    ) -> "KnnGraph":
        """The kNN graph of ``column`` (default: the first embedding) in ``metric``: each row's
        ``k`` nearest other rows, as a :class:`~projector.neighbors.KnnGraph`.

        Built once per ``(column, metric)`` in the full space and kept: a later call (by you,
        ``project``, quality scores or the app) with a smaller ``k`` gets it sliced; a larger
        ``k``, or ``exact=True`` after an approximate graph, builds a new one in its place.
        ``exact``, ``device`` and ``progress`` are those of :func:`projector.neighbors.knn_graph`.
        Thread-safe. Pass the graph to ``project(..., knn=graph)`` to lay it out.
        """
        from projector.validation import check_k, check_metric

        name = self._vector_name(column)
        check_metric(metric)
        k = check_k(k)

        def build(k: int) -> "KnnGraph":
            from projector.neighbors import knn_graph

            return knn_graph(self.vectors(name), k, metric, exact=exact, device=device, progress=progress)

        return self._derived.graph(GraphKey(name, metric), k, build, exact=bool(exact))

    def index(self, column: str | None = None, metric: str = "cosine") -> "NeighborIndex":
        """The exact :class:`~projector.neighbors.NeighborIndex` of ``column`` (default: the first
        embedding) in ``metric``, built on the first call per ``(column, metric)`` and kept.
        Thread-safe: callers asking while it builds wait for that one build."""
        from projector.validation import check_metric

        name = self._vector_name(column)
        check_metric(metric)

        def build() -> "NeighborIndex":
            from projector.neighbors import NeighborIndex

            return NeighborIndex(self.vectors(name), metric)

        return self._derived.index(name, metric, build)

    def neighbors(
        self,
        query: Any,
        k: int = 10,
        *,
        metric: str = "cosine",
        column: str | None = None,
        exclude_self: bool = True,
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, distances)``, each (M, k): the nearest samples to ``query``, nearest first.

        ``query`` is a row position (int) or a sequence of them, or vectors: a float array shaped
        (D,) or (M, D). ``ids`` are values of the id column; ``distances`` are in ``metric``
        (``"cosine"``, ``"l2"`` or ``"ip"``, see :mod:`projector.neighbors`). A row query leaves
        its own row out unless ``exclude_self=False``. The search is exact, by :meth:`index`.
        """
        from projector.neighbors import _take_ids

        rows, distances = self.index(column, metric).neighbors(query, k, exclude_self=exclude_self)
        return _take_ids(self.table.column(self.roles.id), rows), distances

    def search(self, query: str, k: int = 10, *, column: str | None = None, model: str | os.PathLike | None = None) -> pa.Table:
        """The ``k`` rows nearest in meaning to the text ``query``, best first, with a ``score``
        column: the cosine similarity of query and row (1: the same direction).

        The query is embedded by ``model`` (a local sentence-transformers folder, or
        ``"all-MiniLM-L6-v2"``) or else by the model recorded with ``column`` when projector
        embedded it, then searched in the original space through :meth:`index`. Rows repeating
        another's vector each appear, with equal scores. See :mod:`projector.search`.
        """
        from projector.search import search

        return search(self, query, k, column=column, model=model)

    @property
    def ids(self) -> np.ndarray:
        """Row ids, as numpy (strings come back as an object array)."""
        return self.table.column(self.roles.id).to_numpy()

    def info(self, **options: Any) -> "DatasetInfo":
        """Rows, columns and roles, embedding dimensions and data warnings; see ``projector info``."""
        from projector.info import describe

        return describe(self, **options)

    def project(self, method: str = "auto", **options: Any) -> "Projection | None":
        """Project an embedding column to a 2-D or 3-D map: PCA, UMAP or t-SNE.

        See :func:`projector.reduce.project` for the options (``column=``, ``device=``,
        ``cache=``, ``quality=``, ``progress=`` and the method's parameters). Raises
        :class:`~projector.errors.TooFewRowsError` (a ValueError) below four rows; returns
        None only for ``cache_only=True`` when the cache does not hold the map.
        """
        from projector.reduce import project

        return project(self, method, **options)

    def embed(
        self,
        text: str | None = None,
        image: str | None = None,
        *,
        model: Any = None,
        device: str = "auto",
        batch_size: int = 64,
        column: str = "embedding",
        overwrite: bool = False,
        cache: Any = True,
        progress: "ProgressCallback | None" = None,
    ) -> "Dataset":
        """A new Dataset with ``column`` added: the ``text`` (or ``image``) column embedded by a
        local ``model`` (None: the packaged all-MiniLM-L6-v2). This one is left as it was.

        See :func:`projector.embedding.embed_table` for every option, the cache and what
        happens to missing texts and broken images.
        """
        from projector.embedding import embed_table

        table = embed_table(
            self.table, text=text, image=image, model=model, device=device, batch_size=batch_size,
            column=column, overwrite=overwrite, media_root=self.media_root, cache=cache, progress=progress,
        )
        vectors = [*self.roles.vectors, *([] if column in self.roles.vectors else [column])]
        return Dataset.from_table(table, vector=vectors, media_root=self.media_root, source=self.source, notes=self.notes)

    def clusters(self, projection: "Projection", **options: Any) -> "Clusters":
        """Clusters of ``projection``'s rows, each named in its members' words; see
        :func:`projector.clusters.cluster` and :class:`~projector.clusters.ClusterParams` for
        ``options``. Attach them with ``projection.with_clusters(...)``."""
        from projector.clusters import cluster

        return cluster(self, projection, **options)

    def save_image(
        self,
        path: str | os.PathLike,
        projection: "Projection | str | None" = None,
        *,
        color_by: str | None = None,
        title: str | None = None,
        width: int = 1200,
        height: int = 900,
        point_size: int | None = None,
        overlays: Any = None,  # True, "labels", "contours", {"contours": COLUMN} or an explore Overlays (not named here: a lower layer)
        overwrite: bool = False,
    ) -> Path:
        """Write the map as a PNG or SVG (by the suffix) with title, legend and footer; returns the path.

        ``projection`` None computes ``self.project("auto")``; ``color_by`` None colours by the
        first label column; ``overlays=True`` draws cluster labels and density contours over the
        points (``"labels"`` or ``"contours"`` one of them; ``{"contours": "label"}`` outlines the
        label column's top categories). See :func:`projector.image.export_image` for every option.
        """
        from projector.image import export_image

        return export_image(
            self, path, projection=projection, color_by=color_by, title=title,
            width=width, height=height, point_size=point_size, overlays=overlays, overwrite=overwrite,
        )

    def to_parquet(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write the table, roles included, to Parquet atomically; never replaces a file unless told."""
        import pyarrow.parquet as pq

        from projector._io import write_atomically

        return write_atomically(path, lambda temp: pq.write_table(self.table, temp), overwrite=overwrite)

    def save_html(self, path: str | os.PathLike, projection: "Projection | str | None" = None, **options: Any) -> Path:
        """A self-contained, interactive HTML report of one map; see :func:`projector.report.save_html`."""
        from projector.report import save_html

        return save_html(self, path, projection, **options)

    def _repr_mimebundle_(self, include=None, exclude=None):
        """In Jupyter, a dataset displays as its interactive map (see :func:`projector.show`)."""
        from projector.notebook import MapView, repr_bundle

        return repr_bundle(lambda: MapView(self), repr(self), include, exclude)

    def __repr__(self) -> str:
        dims = ", ".join(f"{name}[{self.table.column(name).type.list_size}]" for name in self.roles.vectors)
        return f"<Dataset {self.num_rows} rows, embeddings {dims}, {self.table.num_columns} columns>"


def _as_list(names: Names) -> list[str]:
    if names is None:
        return []
    return [names] if isinstance(names, str) else list(names)


def _infer_vectors(table: pa.Table) -> tuple[pa.Table, list[str]]:
    found = [f.name for f in table.schema if _vectors.is_vector_type(f.type)]
    if found:
        return table, found
    found = [f.name for f in table.schema if _vectors.looks_like_json_vectors(table.column(f.name))]
    if found:
        return table, found
    numeric = {f.name for f in table.schema if pa.types.is_integer(f.type) or pa.types.is_floating(f.type)}
    for prefix, columns in _vectors.find_prefix_groups(table.column_names, numeric).items():
        table, name = _vectors.gather_prefix(table, prefix, columns)
        found.append(name)
    return table, found
