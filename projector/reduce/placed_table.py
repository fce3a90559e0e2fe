"""New rows placed into a saved map, as a table: what ``projector project NEW --into OUT`` writes.

The output holds the new rows with the map's coordinate columns (the same names as the saved
map's, so both tables draw in one frame) and a boolean ``placed`` column, true for them. When
the saved map has clusters (``project --clusters``), each new row joins the cluster most of its
nearest mapped rows in the original space are in (:func:`projector.clusters.by_neighbours`). With
``combined=True`` the saved map's own rows come first, ``placed`` false, so one file holds the
map and its newcomers (colour by ``placed`` to see them). The schema metadata is the saved
map's provenance plus a ``placement`` entry: rows, neighbours, exact copies, seconds, source.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from projector.errors import ProjectorError, SchemaError
from projector.progress import ProgressCallback

if TYPE_CHECKING:
    from projector.dataset import Dataset

__all__ = ["placed_table", "describe", "PLACED_COLUMN"]

PLACED_COLUMN = "placed"
CLUSTER_COLUMN, CLUSTER_LABEL_COLUMN = "cluster", "cluster_label"  # as Projection.to_table writes them


def placed_table(
    existing: "Dataset",
    new: "Dataset",
    *,
    column: str | None = None,
    combined: bool = False,
    progress: ProgressCallback | list[ProgressCallback] | None = None,
) -> pa.Table:
    """``new``'s table with coordinates in the map saved in ``existing`` (and ``placed`` = true).

    ``existing`` is a ``projector project`` output (coordinates, the embedding and the map's
    provenance); ``column`` names ``new``'s embedding column when it is not called as the map's.
    """
    from projector.projection import PROVENANCE_KEY, Projection
    from projector.reduce.placement import place

    projection = Projection.from_saved(existing)
    name = column or projection.column
    if name not in new.roles.vectors:
        raise SchemaError(
            f"{new.source or 'the new rows'}: no embedding column {name!r} (the map's column); its embedding "
            f"columns: {list(new.roles.vectors)}. Name the one to place with --vector COL"
        )
    placement = place(projection, new.vectors(name), existing, progress=progress)
    coords, info = placement.coords, placement.info
    info["into"] = existing.source
    clusters = None
    if CLUSTER_COLUMN in existing.table.column_names:
        if CLUSTER_COLUMN in new.table.column_names:
            info["clusters"] = f"not assigned: the new rows have their own {CLUSTER_COLUMN!r} column"
        else:
            clusters, info["clusters"] = _placed_clusters(existing, new.vectors(name), projection, placement.neighbours)
    provenance = {**projection.provenance, "placement": info}
    placed = Projection(coords, projection.method, projection.column, projection.params, None, provenance)
    out = _with_flag(placed.to_table(new.table), True)
    for column, values in (clusters or {}).items():
        out = out.append_column(column, values)
    if not combined:
        return out
    before = _with_flag(existing.table, False)
    try:
        both = pa.concat_tables([before, out], promote_options="default")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise ProjectorError(
            f"combined output: the saved map's rows and the new rows have clashing columns ({exc}); "
            "leave out --combined to write the new rows alone"
        ) from exc
    metadata = dict(before.schema.metadata or {})
    metadata[PROVENANCE_KEY] = json.dumps({**json.loads(metadata[PROVENANCE_KEY]), "placement": info}, default=str).encode()
    return both.replace_schema_metadata(metadata)


def _placed_clusters(existing: "Dataset", vectors: np.ndarray, projection, neighbours: np.ndarray | None) -> tuple[dict[str, pa.Array], str]:
    """The new rows' ``cluster`` (and ``cluster_label``) columns, and how they were chosen:
    by their nearest mapped rows, those placement found (UMAP, t-SNE) or, for PCA, searched here."""
    from projector.clusters import VOTERS, by_neighbours

    mapped = np.asarray(existing.table.column(CLUSTER_COLUMN).fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
    k = min(VOTERS, len(mapped))
    if neighbours is None:
        _, neighbours = existing.index(projection.column, projection.params.get("metric", "cosine")).search(vectors, k)
    rows = neighbours[:, :k]
    clusters = by_neighbours(mapped, rows)
    columns = {CLUSTER_COLUMN: pa.array(clusters, pa.int32())}
    if CLUSTER_LABEL_COLUMN in existing.table.column_names:
        names = dict(zip(mapped.tolist(), existing.table.column(CLUSTER_LABEL_COLUMN).to_pylist()))
        columns[CLUSTER_LABEL_COLUMN] = pa.array([names.get(c) if c >= 0 else None for c in clusters.tolist()], pa.string())
    return columns, f"the cluster most of each row's {rows.shape[1]} nearest mapped rows are in (original space)"


def _with_flag(table: pa.Table, value: bool) -> pa.Table:
    flag = pa.array(np.full(table.num_rows, value), pa.bool_())
    if PLACED_COLUMN in table.column_names:
        return table.set_column(table.column_names.index(PLACED_COLUMN), PLACED_COLUMN, flag)
    return table.append_column(PLACED_COLUMN, flag)


def describe(table: pa.Table) -> dict[str, Any]:
    """The ``placement`` entry of a table ``placed_table`` wrote (empty if none)."""
    from projector.projection import PROVENANCE_KEY

    raw = (table.schema.metadata or {}).get(PROVENANCE_KEY)
    return json.loads(raw).get("placement", {}) if raw else {}
