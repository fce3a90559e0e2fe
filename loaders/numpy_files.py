"""NumPy files: ``.npy`` memory-mapped straight into Arrow, ``.npz`` archives of named arrays.

Nothing is ever unpickled (``allow_pickle=False``): an array of Python objects is refused.
The rule for a file of *named* arrays lives here too (:func:`plan_arrays`), and the PyTorch
and safetensors loaders use it, so ``.npz``, ``.pt`` and ``.safetensors`` files holding the
same arrays load the same table:

- 2-D floating-point arrays with a common row count N are embeddings, named by their keys
  (2-D integer arrays only when there is no floating-point one: ``input_ids`` are not
  embeddings). When 2-D arrays disagree on N, the N most of them share wins (ties: the larger).
- 1-D arrays (numbers, strings, booleans) and lists of length N are metadata columns.
- Anything else is left out, with a note saying so.
"""

from __future__ import annotations

import os
import tokenize
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Mapping

import numpy as np
import pyarrow as pa

from projector._vectors import matrix_to_column
from projector.errors import ProjectorError, UnsafeInputError, VectorError
from projector.loaders._common import Loaded, attach_metadata, check_file, format_mismatch, read_metadata

__all__ = [
    "read_npy",
    "read_npz",
    "ArrayPlan",
    "plan_arrays",
    "planned_table",
    "attach_metadata_option",
    "shape_error",
    "starts_with",
]

_NPY = "NumPy .npy"
_NPZ = "zip archive of .npy arrays (.npz)"
_NUMBERS = frozenset("fiu")
_METADATA_KINDS = frozenset("fiubUS") | {"list"}
_PLAIN_ARRAYS = (
    "plain arrays instead: numeric (N, D) embeddings, and strings as a 'U' array "
    "(np.asarray(names, dtype=str)) or in a separate metadata file"
)


def read_npy(path: Path, *, metadata: Any = None) -> Loaded:
    """One ``(N, D)`` array as the column ``embedding``.

    A float32 C-ordered file is memory-mapped and handed to Arrow without a copy, so files
    larger than memory load; other number types are cast to float32 once.

    Args:
        metadata: a row-aligned metadata file (TSV, CSV, Parquet, Feather, JSONL) or an
            in-memory table, one row per embedding row.
    """
    check_file(path)
    if not starts_with(path, b"\x93NUMPY"):
        raise format_mismatch(path, _NPY, ValueError("it does not start with the .npy signature"))
    with open(path, "rb") as handle:
        try:
            shape, kind = _npy_header(handle)
        except ValueError as exc:
            raise format_mismatch(path, _NPY, exc) from None
    if kind == "O":
        raise _pickled(path, "holds an array of Python objects")
    if len(shape) != 2:
        raise shape_error(path, shape)
    if shape[1] == 0:
        raise VectorError(f"{path}: holds an array of shape {tuple(shape)}: vectors of 0 values; an embedding needs at least one")
    if kind not in _NUMBERS:
        raise VectorError(f"{path}: holds {_kind_name(kind)}; embeddings must be numbers")
    try:
        matrix = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise format_mismatch(path, _NPY, exc) from None
    table = pa.table({"embedding": matrix_to_column(matrix)})
    table = attach_metadata_option(table, metadata, path)
    return Loaded(table, str(path), hints={"vector": "embedding"}, media_root=path.parent)


def read_npz(path: Path, *, metadata: Any = None) -> Loaded:
    """Named arrays from ``np.savez``/``np.savez_compressed``, by the rules of this module.

    Array headers are read first, so arrays that are left out are never decompressed.

    Args:
        metadata: a row-aligned metadata file or in-memory table, as for :func:`read_npy`.
    """
    check_file(path)
    if not starts_with(path, b"PK"):
        raise format_mismatch(path, _NPZ, ValueError("it is not a zip archive"))
    try:
        with zipfile.ZipFile(path) as archive:
            members = {}
            entries: dict[str, tuple[tuple[int, ...], str]] = {}
            skipped = []
            for info in archive.infolist():
                key = info.filename.removesuffix(".npy")
                with archive.open(info) as member:
                    try:
                        entries[key] = _npy_header(member)
                    except ValueError:
                        skipped.append(f"left out {info.filename!r}: not a NumPy array")
                        continue
                members[key] = info

            def read(key: str) -> np.ndarray:
                with archive.open(members[key]) as member:
                    return np.lib.format.read_array(member, allow_pickle=False)

            plan = plan_arrays(entries, str(path))
            table, notes = planned_table(plan, read)
    except ProjectorError:  # what the arrays hold (a VectorError is also a ValueError), not a broken zip
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise format_mismatch(path, _NPZ, exc) from None
    table = attach_metadata_option(table, metadata, path)
    return Loaded(
        table,
        str(path),
        hints={"vector": plan.vectors},
        media_root=path.parent,
        notes=[*skipped, *plan.notes, *notes],
    )


@dataclass(frozen=True)
class ArrayPlan:
    """Which named arrays of a file become embedding columns and which metadata columns."""

    vectors: list[str]
    metadata: list[str]
    order: list[str]
    notes: list[str] = field(default_factory=list)


def plan_arrays(entries: Mapping[str, tuple[tuple[int, ...], str]], source: str) -> ArrayPlan:
    """Apply the module's rules to ``{name: (shape, kind)}`` before any data is read.

    ``kind`` is a numpy dtype kind (``"f"``, ``"i"``, ``"u"``, ``"b"``, ``"U"``, ``"S"``,
    ``"O"`` for pickled objects), ``"list"`` for a Python list, or a type name for anything
    else. Raises when nothing can be an embedding, naming what the file holds.
    """
    matrices = {k: s for k, (s, kind) in entries.items() if len(s) == 2 and s[1] > 0 and kind == "f"}
    if not matrices:
        matrices = {k: s for k, (s, kind) in entries.items() if len(s) == 2 and s[1] > 0 and kind in _NUMBERS}
    refused = [k for k, (_, kind) in entries.items() if kind == "O"]
    if not matrices:
        held = "; ".join(f"{k!r} {_describe(s, kind)}" for k, (s, kind) in entries.items()) or "nothing"
        if refused:
            names = ", ".join(map(repr, refused))
            raise _pickled(source, f"holds arrays of Python objects ({names}) and no plain embedding array")
        raise VectorError(
            f"{source}: no 2-D array of numbers to use as embeddings; it holds: {held}. "
            "Save embeddings as an (N, D) array, one row per sample"
        )
    counts = Counter(shape[0] for shape in matrices.values())
    rows = max(counts, key=lambda n: (counts[n], n))
    vectors = [k for k, s in matrices.items() if s[0] == rows]
    metadata, notes = [], []
    first = vectors[0]
    for key, (shape, kind) in entries.items():
        if key in vectors:
            continue
        what = f"left out {key!r} {_describe(shape, kind)}"
        if kind == "O":
            notes.append(f"{what}: Python objects need unpickling, which projector never does; save {_PLAIN_ARRAYS}")
        elif len(shape) == 1 and shape[0] == rows and kind in _METADATA_KINDS:
            metadata.append(key)
        elif len(shape) in (1, 2) and shape[0] != rows:
            notes.append(f"{what}: {shape[0]} rows, but {first!r} has {rows}")
        elif len(shape) == 2 and kind in _NUMBERS:
            notes.append(f"{what}: integers, while the floating-point arrays are the embeddings")
        else:
            notes.append(f"{what}: neither an (N, D) embedding nor one value per row")
    return ArrayPlan(vectors, metadata, [k for k in entries if k in vectors or k in metadata], notes)


def planned_table(plan: ArrayPlan, get: Callable[[str], Any]) -> tuple[pa.Table, list[str]]:
    """Read the planned arrays with ``get(name)`` into one table; returns it and extra notes.

    A float32 C-ordered array becomes its column without a copy (memory maps stay mapped).
    """
    from projector.loaders.memory import to_numpy

    columns: dict[str, Any] = {}
    notes = []
    for key in plan.order:
        value = get(key)
        if key in plan.vectors:
            columns[key] = matrix_to_column(to_numpy(value))
            continue
        if isinstance(value, tuple):
            value = list(value)
        if not isinstance(value, list):
            value = to_numpy(value)
            value = value.astype(np.float32) if value.dtype == np.float16 else value
        try:
            columns[key] = pa.array(value)
        except (pa.ArrowException, TypeError, ValueError) as exc:
            notes.append(f"left out {key!r}: its values do not fit one column type ({exc})")
    return pa.table(columns), notes


def attach_metadata_option(table: pa.Table, metadata: Any, path: Path) -> pa.Table:
    """Append the ``metadata=`` option (a file path or an in-memory table) row by row."""
    if metadata is None:
        return table
    if isinstance(metadata, (str, os.PathLike)):
        meta_path = Path(metadata).expanduser()
        meta = read_metadata(meta_path)
        origin, tsv = str(meta_path), meta_path.suffix.lower() in (".tsv", ".tab", ".txt")
    else:
        from projector.loaders.memory import to_table

        meta, origin, tsv = to_table(metadata), "metadata=", False
    return attach_metadata(table, meta, vectors_from=str(path), metadata_from=origin, single_column_rule=tsv)


def starts_with(path: Path, magic: bytes) -> bool:
    """Whether the file begins with ``magic``; checked before a parser guesses at other bytes."""
    with open(path, "rb") as handle:
        return handle.read(len(magic)) == magic


def _npy_header(handle: IO[bytes]) -> tuple[tuple[int, ...], str]:
    """Shape and dtype kind from a .npy header, without reading (or unpickling) the data."""
    version = np.lib.format.read_magic(handle)
    try:
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(handle)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(handle)
    except (tokenize.TokenError, SyntaxError) as exc:  # numpy re-tokenizes a corrupt header
        raise ValueError(f"its header is not readable ({exc})") from None
    return tuple(shape), "O" if dtype.hasobject else dtype.kind


def _pickled(source: Path | str, what: str) -> UnsafeInputError:
    return UnsafeInputError(
        f"{source}: {what}; loading them means unpickling, which can run code, so projector "
        f"refuses it. Save {_PLAIN_ARRAYS}"
    )


def shape_error(source: Path | str, shape: tuple[int, ...]) -> VectorError:
    """The error for a lone array that is not ``(N, D)``, with the way to fix it."""
    if len(shape) == 1:
        hint = "A single embedding? Stack several with np.stack(vectors)"
    else:
        hint = "Flatten each sample with array.reshape(len(array), -1) before saving"
    return VectorError(
        f"{source}: holds an array of shape {tuple(shape)}; projector needs a 2-D (N, D) array, "
        f"one embedding per row. {hint}"
    )


def _kind_name(kind: str) -> str:
    names = {"b": "booleans", "U": "strings", "S": "bytes", "O": "Python objects", "c": "complex numbers"}
    return "numbers" if kind in _NUMBERS else names.get(kind, f"dtype kind {kind!r}")


def _describe(shape: tuple[int, ...], kind: str) -> str:
    if kind == "list":
        return f"(a list of {shape[0]})"
    if len(kind) == 1:
        return f"(shape {shape}, {_kind_name(kind)})"
    return f"({kind})"
