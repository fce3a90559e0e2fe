"""Embedding columns: find them, cast them once to ``fixed_size_list<float32>[D]``, check them.

Everything downstream (FAISS, numpy, torch) reads an embedding as a zero-copy ``(N, D)``
float32 C-contiguous view, so this module makes every embedding column exactly one chunk of
``fixed_size_list<float32>`` with no nulls, whatever it came in as.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from projector.errors import SchemaError, VectorError
from projector.schema import first_values

__all__ = [
    "primitive_values",
    "numeric_array",
    "matrix_to_column",
    "is_vector_type",
    "looks_like_json_vectors",
    "find_prefix_groups",
    "gather_prefix",
    "to_vector_column",
    "as_matrix",
    "nonfinite_rows",
]

_PREFIXED = re.compile(r"^(.*?)(\d+)$")
MIN_PREFIX_COLUMNS = 4
_BLOCK_ROWS = 1 << 16


def is_vector_type(kind: pa.DataType) -> bool:
    """A list of numbers of any list flavour."""
    if not (pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind)):
        return False
    value = kind.value_type
    return pa.types.is_integer(value) or pa.types.is_floating(value) or pa.types.is_decimal(value)


def looks_like_json_vectors(column: pa.ChunkedArray) -> bool:
    """A string column whose first values are JSON lists of numbers, as CSV files carry them."""
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return False
    sample = first_values(column, 8)
    if not sample:
        return False
    for value in sample:
        text = value.strip()
        if not (text.startswith("[") and text.endswith("]")):
            return False
        try:
            [float(x) for x in text[1:-1].split(",") if x.strip()]
        except ValueError:
            return False
    return True


def find_prefix_groups(names: Sequence[str], numeric: set[str]) -> dict[str, list[str]]:
    """Numeric columns numbered 0..D-1 under one prefix (``emb_0 ... emb_767``), D >= 4."""
    groups: dict[str, dict[int, str]] = {}
    for name in names:
        match = _PREFIXED.match(name)
        if match and name in numeric:
            groups.setdefault(match.group(1), {})[int(match.group(2))] = name
    found = {}
    for prefix, members in groups.items():
        if len(members) >= MIN_PREFIX_COLUMNS and sorted(members) == list(range(len(members))):
            found[prefix] = [members[i] for i in range(len(members))]
    return found


def gather_prefix(table: pa.Table, prefix: str, columns: list[str] | None = None) -> tuple[pa.Table, str]:
    """Replace the numbered columns under ``prefix`` by one embedding column named after it."""
    if columns is None:
        numeric = {f.name for f in table.schema if pa.types.is_integer(f.type) or pa.types.is_floating(f.type)}
        columns = find_prefix_groups(table.column_names, numeric).get(prefix)
        if not columns:
            raise SchemaError(
                f"vector_prefix={prefix!r}: no numeric columns {prefix}0, {prefix}1, ... found; "
                f"columns are: {_names(table.column_names)}"
            )
    n, d = table.num_rows, len(columns)
    matrix = np.empty((n, d), dtype=np.float32)
    for j, name in enumerate(columns):
        matrix[:, j] = table.column(name).to_numpy(zero_copy_only=False)
    out_name = prefix.rstrip("_-. ") or "embedding"
    first = table.column_names.index(columns[0])
    table = table.drop_columns(columns)
    if out_name in table.column_names:
        out_name = f"{out_name}_vector"
    return table.add_column(first, out_name, matrix_to_column(matrix)), out_name


def matrix_to_column(matrix: np.ndarray) -> pa.FixedSizeListArray:
    """Wrap a 2-D float32 C-contiguous array as a fixed_size_list column without copying."""
    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    return pa.FixedSizeListArray.from_arrays(numeric_array(matrix.reshape(-1)), matrix.shape[1])


def primitive_values(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A null-free numeric Arrow array as numpy, without a copy when it is one chunk.

    Reads the data buffer directly: ``Array.to_numpy`` imports pandas (half a second).
    """
    if isinstance(values, pa.ChunkedArray):
        if values.num_chunks != 1:
            return np.concatenate([primitive_values(c) for c in values.chunks]) if values.num_chunks else np.empty(0)
        values = values.chunk(0)
    dtype = np.dtype(values.type.to_pandas_dtype())
    return np.frombuffer(values.buffers()[1], dtype=dtype, count=len(values), offset=values.offset * dtype.itemsize)


def numeric_array(values: np.ndarray) -> pa.Array:
    """A 1-D numeric numpy array as an Arrow array, sharing its memory.

    Used instead of ``pa.array``, which imports pandas (half a second) to sniff its input.
    """
    values = np.ascontiguousarray(values)
    if not values.dtype.isnative:
        values = values.astype(values.dtype.newbyteorder("="))
    return pa.Array.from_buffers(pa.from_numpy_dtype(values.dtype), len(values), [None, pa.py_buffer(values)])


def to_vector_column(column: pa.ChunkedArray, name: str, ids: pa.ChunkedArray | None = None) -> pa.ChunkedArray:
    """Cast ``column`` to one chunk of ``fixed_size_list<float32>[D]``, or say what is wrong.

    Accepts list/large_list/fixed_size_list of any numeric type and JSON-list strings. A null
    vector or a row of the wrong length is an error naming the row; missing values inside a
    vector become NaN and are caught by the non-finite check.
    """
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        column = _parse_json_vectors(column, name)
        kind = column.type
    if not is_vector_type(kind):
        raise SchemaError(
            f"column {name!r} has type {kind}, which is not an embedding; an embedding column "
            "holds lists of numbers (or JSON lists in CSV cells, or emb_0..emb_N columns via vector_prefix=)"
        )
    if column.null_count:
        row = _first_index(pc.is_null(column))
        raise VectorError(
            f"column {name!r}, row {_row_label(row, ids)}: no vector (null); "
            f"{column.null_count} rows have none; remove those rows before loading"
        )
    if pa.types.is_fixed_size_list(kind) and pa.types.is_float32(kind.value_type) and column.num_chunks == 1:
        chunk = column.chunk(0)
        if chunk.values.null_count == 0:
            return column
    dim = _common_length(column, name, ids)
    parts = []
    for chunk in column.chunks:
        values = chunk.flatten()
        if not pa.types.is_float32(values.type):
            try:
                values = values.cast(pa.float32())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise VectorError(f"column {name!r}: values cannot be read as numbers ({exc})") from None
        if values.null_count:
            values = values.fill_null(np.float32("nan"))
        parts.append(values)
    values = parts[0] if len(parts) == 1 else pa.concat_arrays(parts)
    return pa.chunked_array([pa.FixedSizeListArray.from_arrays(values, dim)])


def _parse_json_vectors(column: pa.ChunkedArray, name: str) -> pa.ChunkedArray:
    trimmed = pc.utf8_trim(column, "[] \t\r\n")
    pieces = pc.split_pattern_regex(trimmed, r"\s*,\s*")
    try:
        return pieces.cast(pa.list_(pa.float32()))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        # find the row to name it
        for row, value in enumerate(column.to_pylist()):
            try:
                if value is not None:
                    [float(x) for x in value.strip().strip("[]").split(",") if x.strip()]
            except ValueError:
                raise VectorError(
                    f"column {name!r}, row {row}: {value[:60]!r} is not a list of numbers"
                ) from None
        raise VectorError(f"column {name!r}: cells are not JSON lists of numbers") from None


def _common_length(column: pa.ChunkedArray, name: str, ids: pa.ChunkedArray | None) -> int:
    kind = column.type
    if pa.types.is_fixed_size_list(kind):
        return kind.list_size
    lengths = pc.list_value_length(column)
    low, high = pc.min_max(lengths).values()
    if low.as_py() == high.as_py():
        dim = low.as_py()
        if dim == 0:
            raise VectorError(f"column {name!r}: every vector is empty")
        return dim
    counts = Counter(lengths.to_numpy(zero_copy_only=False).tolist())
    expected = counts.most_common(1)[0][0]
    row = _first_index(pc.not_equal(lengths, expected))
    got = lengths[row].as_py()
    bad = len(lengths) - counts[expected]
    raise VectorError(
        f"column {name!r}, row {_row_label(row, ids)} has {got} values, expected {expected} "
        f"({bad} of {len(lengths)} rows differ); every vector must have the same length"
    )


def _first_index(mask: pa.ChunkedArray | pa.Array) -> int:
    return int(np.flatnonzero(mask.to_numpy(zero_copy_only=False))[0])


def _row_label(row: int, ids: pa.ChunkedArray | None) -> str:
    return f"{row} (id {ids[row].as_py()!r})" if ids is not None else str(row)


def _names(names: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def as_matrix(column: pa.ChunkedArray) -> np.ndarray:
    """The zero-copy ``(N, D)`` float32 view of a normalised embedding column."""
    chunk = column.chunk(0) if column.num_chunks == 1 else pa.concat_arrays(column.chunks)
    dim = chunk.type.list_size
    return primitive_values(chunk.flatten()).reshape(len(chunk), dim)


def nonfinite_rows(matrix: np.ndarray) -> np.ndarray:
    """Indices of rows holding NaN or +-inf, found in one streaming pass.

    A row's sum (one BLAS matrix-vector product, the fastest pass over the data) is NaN or
    infinite when the row holds NaN or infinity; the rare finite row whose float32 sum
    overflows is a false candidate, so candidates are re-checked element by element.
    """
    ones = np.ones(matrix.shape[1], dtype=np.float32)
    bad = []
    with np.errstate(over="ignore", invalid="ignore"):
        for start in range(0, len(matrix), _BLOCK_ROWS):
            block = matrix[start : start + _BLOCK_ROWS]
            candidates = np.flatnonzero(~np.isfinite(block @ ones))
            if candidates.size:
                keep = ~np.isfinite(block[candidates]).all(axis=1)
                bad.append(candidates[keep] + start)
    return np.concatenate(bad) if bad else np.empty(0, dtype=np.int64)
