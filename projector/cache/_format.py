"""One cache entry on disk: its file format, written and read.

**File format.** One entry is one uncompressed Arrow IPC file, ``<kind>-<64 hex>.arrow``. Each
array is one ``large_binary`` column holding its raw C-order bytes; dtype, shape and a content
hash of every array, the key, the kind, the creation time and the caller's metadata sit in the
schema metadata as JSON. A read memory-maps the file and hands out read-only numpy views of the
mapping: no copy, no pickle, and any tool that reads Arrow can open an entry.
"""

from __future__ import annotations

import json
import math
import mmap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from projector.cache._keys import KEY, check_dtype, content_hash, dtype_descr, json_default

if TYPE_CHECKING:
    import numpy as np

__all__ = ["CacheEntry", "FORMAT_VERSION"]

FORMAT_VERSION = 1
META_KEY = b"projector.cache"


@dataclass(frozen=True, eq=False)
class CacheEntry:
    """One cached result: read-only arrays (views of the memory-mapped file) and its metadata."""

    key: str
    arrays: dict[str, "np.ndarray"]
    meta: dict[str, Any]
    created: float
    path: Path

    @property
    def kind(self) -> str:
        return KEY.fullmatch(self.key)["kind"]  # type: ignore[index]


def prepare(key: str, arrays: Mapping[str, "np.ndarray"], meta: Mapping[str, Any] | None):
    """Check the arrays and metadata before touching the disk; returns columns and header."""
    import numpy as np

    columns: dict[str, np.ndarray] = {}
    described: dict[str, Any] = {}
    for name, value in arrays.items():
        if not isinstance(name, str) or not name:
            raise TypeError(f"array names must be non-empty strings, not {name!r}")
        array = np.asarray(value)
        check_dtype(array.dtype, f"array {name!r}")
        columns[name] = array
        described[name] = {"dtype": dtype_descr(array.dtype), "shape": list(array.shape), "hash": content_hash(array)}
    header = {
        "format": FORMAT_VERSION,
        "key": key,
        "created": time.time(),
        "arrays": described,
        "meta": dict(meta or {}),
    }
    try:
        text = json.dumps(header, default=json_default, allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"cache metadata for {key} is not JSON-ready: {exc}") from exc
    return columns, text


def write(sink, columns: Mapping[str, "np.ndarray"], header: str) -> None:
    import numpy as np
    import pyarrow as pa

    fields, values = [], []
    for name, array in columns.items():
        flat = np.ascontiguousarray(array).reshape(-1).view(np.uint8)  # a view when already C order
        offsets = pa.py_buffer(np.array([0, flat.nbytes], dtype=np.int64))
        values.append(pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(flat)]))
        fields.append(pa.field(name, pa.large_binary(), nullable=False))
    schema = pa.schema(fields, metadata={META_KEY: header.encode()})
    batch = pa.record_batch(values, schema=schema)
    with pa.ipc.new_file(sink, schema) as writer:
        writer.write_batch(batch)


def read(handle, key: str, path: Path, verify: bool) -> CacheEntry | None:
    import numpy as np
    import pyarrow as pa

    mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)  # ValueError when empty
    reader = pa.ipc.open_file(pa.BufferReader(pa.py_buffer(mapped)))  # ArrowInvalid when truncated
    metadata = reader.schema.metadata or {}
    if META_KEY not in metadata or reader.num_record_batches != 1:
        return None
    header = json.loads(metadata[META_KEY])
    if header.get("format") != FORMAT_VERSION or header.get("key") != key:
        return None
    described: dict[str, Any] = header["arrays"]
    batch = reader.get_batch(0)
    if batch.num_rows != (1 if described else 0) or batch.schema.names != list(described):
        return None
    arrays: dict[str, np.ndarray] = {}
    for name, column in zip(batch.schema.names, batch.columns):
        spec = described[name]
        dtype = np.dtype(_dtype_from_descr(spec["dtype"]))
        shape = tuple(int(n) for n in spec["shape"])
        if column.type != pa.large_binary() or column.null_count or min(shape, default=0) < 0:
            return None
        column.validate(full=True)
        _, offsets, data = column.buffers()  # Scalar.as_buffer() would copy; these are the mapping
        start, stop = (int(n) for n in np.frombuffer(offsets, np.int64)[column.offset : column.offset + 2])
        if stop - start != math.prod(shape) * dtype.itemsize:
            return None
        data = data.slice(start, stop - start) if data is not None else pa.py_buffer(b"")
        array = np.frombuffer(data, dtype=dtype).reshape(shape)
        if verify and content_hash(array) != spec["hash"]:
            return None
        arrays[name] = array
    return CacheEntry(key, arrays, dict(header["meta"]), float(header["created"]), path)


def _dtype_from_descr(text: Any) -> str:
    import numpy as np

    if not isinstance(text, str):
        raise ValueError(f"bad dtype {text!r}")
    check_dtype(np.dtype(text), "cache entry")
    return text


# What parsing a damaged entry can raise besides pyarrow's own errors (ArrowException), and what
# a write to a broken, read-only or full disk raises (pyarrow's ArrowIOError is OSError).
DAMAGED: tuple[type[BaseException], ...] = (OSError, ValueError, TypeError, KeyError, IndexError, OverflowError)
