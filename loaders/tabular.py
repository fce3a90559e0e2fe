"""Tables on disk: Parquet, Arrow IPC / Feather (memory-mapped), CSV, TSV, JSON Lines."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)

from projector.errors import FormatError, LoadError
from projector.loaders._common import Loaded, binary_mismatch, check_file, check_names, format_mismatch

__all__ = ["read_parquet", "read_ipc", "read_csv", "read_tsv", "read_jsonl"]


def read_parquet(path: Path) -> Loaded:
    """A Parquet file, or a folder of Parquet files read as one table.

    List-of-float columns of one length (embeddings, by the inference rules) are streamed in
    small batches straight into one float32 buffer: pyarrow's ``read_table`` peaks at several
    times the size of such a column, this at little more than the column itself.
    """
    import pyarrow.parquet as pq

    if path.is_dir():
        try:
            table = pq.read_table(path)
            check_names(table.schema, path)
            return Loaded(table, str(path), media_root=path)
        except (pa.ArrowException, OSError) as exc:
            raise format_mismatch(path, "Parquet", exc) from None
    check_file(path)
    try:
        parquet = pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 20)
        schema = parquet.schema_arrow
        check_names(schema, path)
        if len(set(schema.names)) < len(schema.names):  # read whole; the Dataset names the duplicate
            return Loaded(parquet.read(), str(path), media_root=_root(path))
        streamed = [f.name for f in schema if _is_float_list(f.type)]
        rest = parquet.read(columns=[n for n in schema.names if n not in streamed]) if len(streamed) < len(schema) else None
        columns = {}
        for field_ in schema:
            if field_.name in streamed:
                columns[field_.name] = _stream_vectors(parquet, field_.name)
            else:
                columns[field_.name] = rest.column(field_.name)
    except (pa.ArrowException, OSError) as exc:
        raise format_mismatch(path, "Parquet", exc) from None
    table = pa.table(columns).replace_schema_metadata(schema.metadata)
    return Loaded(table, str(path), media_root=_root(path))


_STREAM_ROWS = 4096


def _is_float_list(kind: pa.DataType) -> bool:
    return (pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind)) and (
        pa.types.is_floating(kind.value_type)
    )


def _stream_vectors(parquet, name: str):
    """One column of equal-length float lists as a fixed_size_list<float32>, read batch by batch.

    Falls back to a plain read (and so to the Dataset's own error messages) when a batch holds
    a null vector, a null value or vectors of different lengths.
    """
    import numpy as np

    from projector._vectors import matrix_to_column, primitive_values

    rows = parquet.metadata.num_rows
    out = None
    position = 0
    for batch in parquet.iter_batches(batch_size=_STREAM_ROWS, columns=[name]):
        column = batch.column(0)
        values = column.flatten()
        if column.null_count or values.null_count or len(column) == 0:
            return parquet.read(columns=[name]).column(0)
        dim, remainder = divmod(len(values), len(column))
        if out is None:
            out = np.empty((rows, dim), dtype=np.float32)
        if remainder or dim != out.shape[1] or (
            not pa.types.is_fixed_size_list(column.type) and pa.compute.min_max(pa.compute.list_value_length(column))["min"].as_py() != dim
        ):
            return parquet.read(columns=[name]).column(0)
        out[position : position + len(column)] = primitive_values(values).reshape(len(column), dim)
        position += len(column)
    if out is None or position != rows:
        return parquet.read(columns=[name]).column(0)
    return matrix_to_column(out)


def read_ipc(path: Path) -> Loaded:
    """Arrow IPC file or stream, or Feather v1/v2, memory-mapped so nothing is copied."""
    check_file(path)
    source = pa.memory_map(str(path), "r")
    try:
        try:
            table = pa.ipc.open_file(source).read_all()
        except pa.ArrowInvalid:
            source.seek(0)
            try:
                table = pa.ipc.open_stream(source).read_all()
            except pa.ArrowInvalid:
                import pyarrow.feather as feather

                table = feather.read_table(str(path), memory_map=True)
        # IPC readers trust the file's offsets; a corrupt one would crash the process later
        table.validate(full=True)
    except (pa.ArrowException, OSError) as exc:
        raise format_mismatch(path, "Arrow IPC/Feather", exc) from None
    check_names(table.schema, path)
    return Loaded(table, str(path), media_root=_root(path))


def read_csv(path: Path, *, encoding: str = "utf-8", delimiter: str = ",") -> Loaded:
    """A CSV file with a header row; quoted fields may hold delimiters, quotes and newlines."""
    return _read_delimited(path, encoding=encoding, delimiter=delimiter, kind="CSV")


def read_tsv(path: Path, *, encoding: str = "utf-8", metadata: str | os.PathLike | None = None) -> Loaded:
    """A TSV file: a TensorFlow projector tensors file when its first line is all numbers
    (``metadata=`` then names its row-aligned metadata file), otherwise a table with a header row."""
    from projector.loaders import tf_projector

    check_file(path)
    _refuse_binary(path, "TSV")
    if tf_projector.is_tensors_tsv(path, encoding=encoding):
        return tf_projector.read_tensors_tsv(path, metadata=metadata, encoding=encoding)
    if metadata is not None:
        raise LoadError(
            f"{path}: metadata= applies to a TensorFlow projector tensors file (numbers only, no "
            "header row); this TSV has a header row, so add the metadata columns to it instead"
        )
    return _read_delimited(path, encoding=encoding, delimiter="\t", kind="TSV")


def read_jsonl(path: Path) -> Loaded:
    """JSON Lines: one object per line; lists of numbers become embeddings."""
    import pyarrow.json as pj

    check_file(path)
    _refuse_binary(path, "JSON Lines")
    null_line = _null_line(path)
    if null_line is not None:
        raise FormatError(
            f"{path} (line {null_line}): not valid JSON Lines: the line is null; every line must be "
            "a JSON object, one record per line"
        )
    try:
        table = pj.read_json(path, read_options=pj.ReadOptions(block_size=1 << 24))
    except pa.ArrowInvalid as exc:
        line = _first_bad_json_line(path)
        where = f" (line {line})" if line else ""
        raise FormatError(f"{path}{where}: not valid JSON Lines: {str(exc).splitlines()[0]}") from None
    check_names(table.schema, path)
    return Loaded(table, str(path), media_root=_root(path))


def _read_delimited(path: Path, *, encoding: str, delimiter: str, kind: str) -> Loaded:
    import pyarrow.csv as pcsv

    check_file(path)
    _refuse_binary(path, kind)
    try:
        table = pcsv.read_csv(
            path,
            read_options=pcsv.ReadOptions(encoding=encoding, block_size=1 << 24),
            parse_options=pcsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pcsv.ConvertOptions(check_utf8=True, strings_can_be_null=False),
        )
    except pa.ArrowInvalid as exc:
        raise _delimited_error(path, exc, kind, encoding) from None
    except (UnicodeError, LookupError) as exc:  # UnicodeError: a UTF-16 file without its BOM
        raise FormatError(f"{path}: cannot decode as {encoding!r}: {exc}; pass encoding=... naming the file's encoding") from None
    try:
        table.schema.names
    except UnicodeDecodeError:  # the header row is not checked for UTF-8
        raise _non_utf8_error(path) from None
    if any(pa.types.is_binary(f.type) for f in table.schema):
        # pyarrow reads a column with invalid UTF-8 as binary rather than failing
        raise _non_utf8_error(path)
    return Loaded(table, str(path), media_root=_root(path))


def _refuse_binary(path: Path, kind: str) -> None:
    mismatch = binary_mismatch(path, kind)
    if mismatch is not None:
        raise mismatch


def _non_utf8_error(path: Path) -> FormatError:
    line = _first_non_utf8_line(path)
    where = f", line {line}" if line else ""
    return FormatError(
        f"{path}{where}: bytes that are not valid UTF-8; pass encoding='latin-1' "
        "(or the file's real encoding) to projector.load"
    )


def _delimited_error(path: Path, exc: Exception, kind: str, encoding: str) -> FormatError:
    message = str(exc).splitlines()[0]
    if "UTF8" in message or "UTF-8" in message:
        return _non_utf8_error(path)
    return FormatError(
        f"{path}: not a well-formed {kind} file: {message}. Fields holding the delimiter, "
        "quotes or newlines must be quoted with double quotes"
    )


def _first_non_utf8_line(path: Path) -> int | None:
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return None


def _first_bad_json_line(path: Path) -> int | None:
    import json

    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    json.loads(line)
                except ValueError:
                    return number
    return None


_NULL_LINE = re.compile(rb"\n[ \t\r]*null[ \t\r]*(?:\n|$)")


def _null_line(path: Path) -> int | None:
    """The first line holding only ``null``: pyarrow's JSON reader (26.0) segfaults on one that
    starts a block, so it is refused before parsing. A scan costs ~2% of the parse."""
    import mmap

    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        first = data[: data.find(b"\n")] if data.find(b"\n") >= 0 else data[:]
        if first.removeprefix(b"\xef\xbb\xbf").strip() == b"null":
            return 1
        match = _NULL_LINE.search(data)
        return None if match is None else data[: match.start()].count(b"\n") + 2


def _root(path: Path) -> Path:
    return path if path.is_dir() else path.parent
