"""What every file loader shares: the result type, file checks, sniffing, metadata alignment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from projector.errors import FormatError, LoadError, RowCountError

__all__ = ["Loaded", "check_file", "check_names", "sniff", "binary_mismatch", "format_mismatch", "attach_metadata", "read_metadata"]

_MAGIC = (
    (b"PAR1", "Parquet file"),
    (b"ARROW1", "Arrow IPC file"),
    (b"\xff\xff\xff\xff", "Arrow IPC stream"),
    (b"FEA1", "Feather v1 file"),
    (b"\x93NUMPY", "NumPy .npy file"),
    (b"PK\x03\x04", "zip archive (.npz, .pt)"),
    (b"\x1f\x8b", "gzip-compressed file"),
    (b"\x80", "Python pickle"),
    (b"\x89PNG", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
)


@dataclass
class Loaded:
    """A loader's result: an Arrow table, the roles the format itself implies, and notes."""

    table: pa.Table
    source: str
    hints: dict[str, Any] = field(default_factory=dict)
    media_root: Path | None = None
    notes: list[str] = field(default_factory=list)


def check_file(path: Path) -> None:
    """Fail early, naming the file, when it is missing, not a file, or empty."""
    if not path.exists():
        raise LoadError(f"{path}: no such file or directory")
    if not path.is_file():
        raise LoadError(f"{path}: not a regular file")
    if path.stat().st_size == 0:
        raise FormatError(f"{path}: the file is empty (0 bytes)")


def sniff(path: Path) -> str | None:
    """What the first bytes of ``path`` say it is, or None for text or unknown content."""
    with open(path, "rb") as handle:
        head = handle.read(16)
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    if len(head) >= 9 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") < 1 << 30:
        return "safetensors file"
    return None


def check_names(schema: pa.Schema, path: Path) -> None:
    """Fail naming the file and column when a column name is not UTF-8 (Arrow stores bytes)."""
    for index in range(len(schema.types)):
        try:
            schema.field(index).name
        except UnicodeDecodeError:
            raise FormatError(
                f"{path}: column {index + 1} has a name that is not valid UTF-8 text; the file is "
                "corrupt or was written in another encoding (for CSV/TSV, pass encoding=...)"
            ) from None


def binary_mismatch(path: Path, expected: str) -> FormatError | None:
    """The error for a binary file given where ``expected`` was claimed, or None if it fits."""
    actual = sniff(path) if path.is_file() else None
    if actual and not actual.lower().startswith(expected.split()[0].lower()):
        return FormatError(
            f"{path}: not a {expected} file; its first bytes look like a {actual}. "
            f"Rename it with the right suffix or pass format=... to projector.load"
        )
    return None


def format_mismatch(path: Path, expected: str, exc: Exception) -> FormatError:
    """A FormatError for a file that failed to parse as ``expected``, saying what it looks like."""
    mismatch = binary_mismatch(path, expected)
    if mismatch is not None:
        return mismatch
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return FormatError(f"{path}: cannot be read as {expected} (truncated or corrupt?): {detail}")


def read_metadata(path: Path, *, encoding: str = "utf-8") -> pa.Table:
    """A row-aligned metadata file: TSV (TensorFlow projector rules), CSV, Parquet, Feather, JSONL."""
    from projector.loaders import tabular, tf_projector

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".tsv", ".tab", ".txt"):
        return tf_projector.read_metadata_tsv(path, encoding=encoding)
    readers = {
        ".csv": tabular.read_csv,
        ".parquet": tabular.read_parquet,
        ".pq": tabular.read_parquet,
        ".arrow": tabular.read_ipc,
        ".feather": tabular.read_ipc,
        ".jsonl": tabular.read_jsonl,
        ".ndjson": tabular.read_jsonl,
    }
    reader = readers.get(suffix)
    if reader is None:
        raise LoadError(f"{path}: metadata must be .tsv, .csv, .parquet, .feather/.arrow or .jsonl")
    return reader(path).table


def attach_metadata(
    table: pa.Table,
    metadata: pa.Table,
    *,
    vectors_from: str,
    metadata_from: str,
    single_column_rule: bool = False,
) -> pa.Table:
    """Append metadata columns to ``table`` row by row, or explain why the counts differ."""
    n, m = table.num_rows, metadata.num_rows
    if n != m:
        hint = ""
        if m == n + 1:
            hint = (
                " One extra row: a header line in a one-column TSV counts as a row (the TensorFlow "
                "projector format has no header when there is one column); remove it."
                if single_column_rule and metadata.num_columns == 1
                else " One extra row: is there a blank or repeated header line?"
            )
        elif m == n - 1:
            hint = (
                " One row short: the first line was read as a header; a metadata file with several "
                "columns needs a header row naming them."
            )
        raise RowCountError(
            f"{metadata_from} has {m} metadata rows but {vectors_from} has {n} vectors; "
            f"they must describe the same samples in the same order.{hint}"
        )
    for field_ in metadata.schema:
        name = field_.name
        if name in table.column_names:
            name = f"{name}_meta"
        table = table.append_column(pa.field(name, field_.type), metadata.column(field_.name))
    return table


def relative_to_cwd(path: Path) -> str:
    """A short path for messages."""
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)
