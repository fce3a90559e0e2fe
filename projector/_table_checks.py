"""The checks a table passes on its way into a Dataset: column names, the id column, media
paths confined to their root, finite embeddings. Each error names the column and the way out."""

from __future__ import annotations

import difflib
import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa

from projector import _vectors
from projector.errors import EmptyDatasetError, ProjectorWarning, SchemaError, VectorError
from projector.media import check_paths
from projector.schema import GENERATED_ID, Roles


def _check_column_names(table: pa.Table, where: str) -> None:
    names = table.column_names
    empty = [i for i, name in enumerate(names) if not name or not name.strip()]
    if empty:
        raise SchemaError(f"{where}column {empty[0]} has an empty name; give every column a name")
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise SchemaError(f"{where}column name {name!r} appears more than once; rename the duplicates")
        seen.add(name)


def _require_column(table: pa.Table, name: str, role: str, where: str) -> None:
    if name in table.column_names:
        return
    close = difflib.get_close_matches(name, table.column_names, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise SchemaError(
        f"{where}{role}={name!r}: no such column{hint}. Columns are: {_vectors._names(table.column_names)}"
    )


def _check_media_column(column: pa.ChunkedArray, root: Path | None, name: str) -> None:
    """Refuse media paths that leave ``root``, reading no image bytes: they may be gigabytes in
    a memory-mapped file, and copying them out would cost that much memory."""
    import pyarrow.compute as pc

    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        check_paths(column.to_pylist(), root, name)
        return
    if not pa.types.is_struct(column.type) or column.type.get_field_index("path") < 0:
        return
    has_bytes = column.type.get_field_index("bytes") >= 0
    offset = 0
    for chunk in column.chunks:
        paths = pc.struct_field(chunk, "path")
        if has_bytes:
            # a path matters only where no bytes sit beside it; the null test reads validity bits
            rows = pc.indices_nonzero(pc.is_null(pc.struct_field(chunk, "bytes")))
            paths, numbers = paths.take(rows), [offset + row for row in rows.to_pylist()]
        else:
            numbers = range(offset, offset + len(chunk))
        check_paths(paths.to_pylist(), root, f"{name}.path", rows=numbers)
        offset += len(chunk)


def _pick_id(table: pa.Table, id: str | None, stored: Roles | None, where: str) -> tuple[str, bool, bool]:
    """The id column: ``(name, create_it, generated)``; generated ids are row numbers."""
    if id is not None:
        column = table.column(id)
        if column.null_count:
            raise SchemaError(f"{where}id column {id!r} has {column.null_count} missing values; ids must be set on every row")
        distinct = _distinct(column)
        if distinct is None:
            raise SchemaError(
                f"{where}id column {id!r} holds {column.type} values, which cannot be told apart as ids; "
                "name a column of strings or integers, or leave id= out to number rows"
            )
        if distinct != len(column):
            raise SchemaError(f"{where}id column {id!r} repeats values; ids must be unique (leave id= out to number rows)")
        return id, False, False
    if stored is not None and stored.id in table.column_names:
        column = table.column(stored.id)
        if column.null_count == 0 and _distinct(column) == len(column):
            return stored.id, False, stored.generated_id
    if "id" in table.column_names:
        column = table.column("id")
        if column.null_count == 0 and not _vectors.is_vector_type(column.type) and _distinct(column) == len(column):
            return "id", False, False
    if GENERATED_ID in table.column_names:
        raise SchemaError(
            f"{where}column {GENERATED_ID!r} is reserved for generated row ids; rename it, or name it with id="
        )
    return GENERATED_ID, True, True


def _distinct(column: pa.ChunkedArray) -> int | None:
    """How many distinct values; None for a type Arrow cannot count (lists, nested structs)."""
    import pyarrow.compute as pc

    try:
        return pc.count_distinct(column).as_py()
    except pa.ArrowNotImplementedError:
        return None


def _check_finite(
    table: pa.Table,
    vectors: list[str],
    ids: pa.ChunkedArray | None,
    drop: bool,
    where: str,
    notes: list[str],
) -> pa.Table:
    bad_rows = np.unique(
        np.concatenate([_vectors.nonfinite_rows(_vectors.as_matrix(table.column(name))) for name in vectors])
    )
    if bad_rows.size == 0:
        return table
    if not drop:
        shown = bad_rows[:10]
        labels = [repr(ids[int(i)].as_py()) for i in shown] if ids is not None else [str(int(i)) for i in shown]
        more = f" and {bad_rows.size - len(shown)} more" if bad_rows.size > len(shown) else ""
        kind = "ids" if ids is not None else "rows"
        raise VectorError(
            f"{where}{bad_rows.size} embedding rows hold NaN or infinite values ({kind} "
            f"{', '.join(labels)}{more}); pass drop_nonfinite=True to drop them"
        )
    keep = np.ones(table.num_rows, dtype=bool)
    keep[bad_rows] = False
    message = f"{where}dropped {bad_rows.size} of {table.num_rows} rows whose embeddings hold NaN or infinite values"
    warnings.warn(message, ProjectorWarning, stacklevel=3)
    notes.append(message)
    table = table.filter(pa.array(keep))
    if table.num_rows == 0:
        raise EmptyDatasetError(f"{where}no rows left after dropping non-finite embeddings")
    for name in vectors:
        table = table.set_column(table.column_names.index(name), name, table.column(name).combine_chunks())
    return table
