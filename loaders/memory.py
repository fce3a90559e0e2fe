"""In-memory inputs: numpy arrays, torch tensors, DataFrames, Arrow objects, lists of dicts.

Nothing here imports pandas, polars or torch: objects are recognised by their type's module
and converted through their own methods or the Arrow C stream interface.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pyarrow as pa

from projector.errors import LoadError, SchemaError
from projector.loaders._common import Loaded

__all__ = ["read_object", "to_table", "arrays_table", "to_numpy"]


def read_object(obj: Any, *, metadata: Any = None) -> Loaded:
    """Any supported in-memory object as a table; a 2-D array becomes an ``embedding`` column."""
    kind = _describe(obj)
    if _is_array_like(obj):
        table = arrays_table({"embedding": obj})
        hints: dict[str, Any] = {"vector": "embedding"}
    else:
        table = to_table(obj)
        hints = {}
    if metadata is not None:
        from projector.loaders._common import attach_metadata

        table = attach_metadata(table, to_table(metadata), vectors_from=kind, metadata_from="metadata")
    return Loaded(table, kind, hints=hints)


def to_table(obj: Any) -> pa.Table:
    """An Arrow table from a DataFrame, Arrow object, C-stream producer, dict or list of dicts."""
    if isinstance(obj, pa.Table):
        return obj
    if isinstance(obj, pa.RecordBatch):
        return pa.Table.from_batches([obj])
    if isinstance(obj, pa.RecordBatchReader):
        return obj.read_all()
    module = type(obj).__module__.split(".")[0]
    if module == "pandas":
        return _from_pandas(obj)
    if module == "polars":
        return obj.to_arrow() if hasattr(obj, "to_arrow") else obj.collect().to_arrow()
    if hasattr(obj, "__arrow_c_stream__"):
        return pa.RecordBatchReader.from_stream(obj).read_all()
    if isinstance(obj, Mapping):
        return pa.table({str(k): _column(v) for k, v in obj.items()})
    if isinstance(obj, list) and obj and all(isinstance(row, Mapping) for row in obj):
        return pa.Table.from_pylist(obj)
    if isinstance(obj, list) and not obj:
        return pa.table({})
    raise LoadError(
        f"cannot load a {_describe(obj)}; pass a path, a numpy array or torch tensor, a pandas or "
        "polars DataFrame, a pyarrow Table, a list of dicts or a dict of columns"
    )


def arrays_table(arrays: Mapping[str, Any]) -> pa.Table:
    """A table of one embedding column per named ``(N, D)`` array, with no copy for float32."""
    from projector._vectors import matrix_to_column

    columns = {}
    for name, value in arrays.items():
        matrix = to_numpy(value)
        if matrix.ndim != 2:
            raise SchemaError(f"embedding {name!r} has shape {matrix.shape}; expected (N, D), one row per sample")
        if matrix.dtype.kind not in "fiu":
            raise SchemaError(f"embedding {name!r} has dtype {matrix.dtype}; expected numbers")
        columns[name] = matrix_to_column(matrix)
    lengths = {len(c) for c in columns.values()}
    if len(lengths) > 1:
        raise SchemaError(f"embeddings have different row counts: { {k: len(v) for k, v in columns.items()} }")
    return pa.table(columns)


def to_numpy(value: Any) -> np.ndarray:
    """numpy view of an array-like; torch tensors are detached and moved to the CPU."""
    if type(value).__module__.split(".")[0] == "torch":
        value = value.detach()
        if value.dtype.is_floating_point and value.element_size() < 4:
            value = value.float()
        return value.cpu().numpy()
    return np.asarray(value)


def _is_array_like(obj: Any) -> bool:
    return isinstance(obj, np.ndarray) or type(obj).__module__.split(".")[0] in ("torch", "jax", "jaxlib", "cupy")


def _column(value: Any) -> Any:
    if _is_array_like(value):
        array = to_numpy(value)
        if array.ndim == 2:
            from projector._vectors import matrix_to_column

            return matrix_to_column(array)
        return array
    return value


def _from_pandas(frame: Any) -> pa.Table:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    # drop pandas' own metadata so a RangeIndex never comes back as a column
    return table.replace_schema_metadata(None)


def _describe(obj: Any) -> str:
    kind = type(obj)
    shape = getattr(obj, "shape", None)
    suffix = f" of shape {tuple(shape)}" if shape is not None else ""
    return f"{kind.__module__}.{kind.__qualname__}{suffix}"
