"""The TensorFlow Embedding Projector's data files: tensors TSV, metadata TSV, raw ``.bytes``.

People arrive with what projector.tensorflow.org reads: a ``tensors.tsv`` plus a
``metadata.tsv``, or a raw float32 ``.bytes`` file. This module reads them by TensorFlow's own
rules, without TensorFlow:

- tensors TSV: no header, one vector per line, values separated by tabs;
- metadata TSV: a header row only when there is more than one column; one column means one
  label per line and no header; no quoting (a ``"`` is a literal character);
- ``.bytes``: little-endian float32, row after row; the shape comes from elsewhere.

The configs that name these files (``projector_config.json``/``.pbtxt``) are read by
:mod:`projector.loaders.tf_config`, which builds on :func:`tensors_column`,
:func:`bytes_column` and :func:`decode_text`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from projector._vectors import matrix_to_column, primitive_values
from projector.errors import FormatError, LoadError, VectorError
from projector.validation import check_whole
from projector.loaders._common import Loaded, attach_metadata, check_file, read_metadata, sniff

__all__ = [
    "is_tensors_tsv",
    "read_tensors_tsv",
    "read_metadata_tsv",
    "read_bytes",
    "tensors_column",
    "bytes_column",
    "decode_text",
]

_MAX_LINE = 1 << 24
_LEADING_ZERO = r"^[-+]?0\d"


# -- tensors TSV ------------------------------------------------------------------------------


def is_tensors_tsv(path: Path, *, encoding: str = "utf-8") -> bool:
    """True when the first non-empty line is all numbers: a tensors file has no header row."""
    line = _first_line(Path(path), encoding)
    if line is None:
        return False
    try:
        [float(value) for value in line.split("\t")]
    except ValueError:
        return False
    return True


def read_tensors_tsv(
    path: Path, *, metadata: str | os.PathLike | None = None, encoding: str = "utf-8"
) -> Loaded:
    """A tensors TSV as an ``embedding`` column, with the rows of ``metadata=`` beside it.

    The metadata file follows the TensorFlow rules (see :func:`read_metadata_tsv`) when it is
    a TSV; CSV, Parquet, Feather and JSON Lines metadata work too.
    """
    path = Path(path)
    check_file(path)
    table = pa.table({"embedding": tensors_column(path, encoding)})
    if metadata is not None:
        table = _join_metadata(table, Path(metadata).expanduser(), str(path), encoding)
    return Loaded(table, str(path), hints={"vector": "embedding"}, media_root=path.parent)


def tensors_column(path: Path, encoding: str) -> pa.FixedSizeListArray:
    """The vectors of a tensors TSV as one fixed-size-list column; errors name the bad line."""
    import pyarrow.csv as pcsv

    line = _first_line(path, encoding)
    if line is None:
        raise FormatError(f"{path}: only blank lines; a tensors file holds one vector per line")
    dim = line.count("\t") + 1
    try:
        table = pcsv.read_csv(
            path,
            read_options=pcsv.ReadOptions(encoding=encoding, autogenerate_column_names=True, block_size=1 << 24),
            parse_options=pcsv.ParseOptions(delimiter="\t", quote_char=False),
            convert_options=pcsv.ConvertOptions(
                column_types={f"f{i}": pa.float32() for i in range(dim)}, null_values=[]
            ),
        )
    except (pa.ArrowInvalid, UnicodeError) as exc:  # UnicodeError: a UTF-16 file without its BOM
        raise _tensors_error(path, exc, dim, encoding) from None
    matrix = np.empty((table.num_rows, dim), dtype=np.float32)
    for j, column in enumerate(table.columns):
        matrix[:, j] = primitive_values(column)
    return matrix_to_column(matrix)


def _tensors_error(path: Path, exc: Exception, dim: int, encoding: str) -> Exception:
    """Name the first bad line; pyarrow's message says neither the row nor the file."""
    row = -1
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                text = raw.decode(encoding).rstrip("\r\n").lstrip("\ufeff")
            except UnicodeDecodeError:
                return FormatError(
                    f"{path}, line {number}: bytes that are not valid {encoding}; pass "
                    "encoding='latin-1' (or the file's real encoding) to projector.load"
                )
            if not text:
                continue
            row += 1
            values = text.split("\t")
            if len(values) != dim:
                return VectorError(
                    f"{path}: row {row} has {len(values)} values, expected {dim} (line {number}); "
                    "a tensors file holds one vector per line, all of the same length"
                )
            for column, value in enumerate(values):
                try:
                    float(value)
                except ValueError:
                    return VectorError(
                        f"{path}: row {row}, column {column} is {value[:40]!r}, not a number "
                        f"(line {number}); a tensors file holds numbers only, with no header row"
                    )
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return FormatError(f"{path}: cannot be read as a tensors TSV: {detail}")


def _first_line(path: Path, encoding: str) -> str | None:
    with open(path, "rb") as handle:
        while raw := handle.readline(_MAX_LINE):
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError:
                return None
            except LookupError:
                raise _unknown_encoding(encoding) from None
            text = text.lstrip("\ufeff").rstrip("\r\n")
            if text.strip():
                return text
    return None


def _unknown_encoding(encoding: str) -> LoadError:
    return LoadError(f"encoding={encoding!r} is not a known text encoding; try 'utf-8' or 'latin-1'")


# -- metadata TSV -----------------------------------------------------------------------------


def read_metadata_tsv(path: Path, *, encoding: str = "utf-8") -> pa.Table:
    """A metadata TSV by the TensorFlow projector's rules.

    One column (the first line has no tab): one label per line, no header, a column named
    ``label``. Several columns: the first line names them. No quoting. Numeric columns become
    numbers, so they can colour points by value. CRLF line ends and a UTF-8 BOM are fine, and
    so are blank lines at the end.
    """
    path = Path(path)
    check_file(path)
    data = path.read_bytes()
    text = decode_text(data, path, encoding)
    lines = text.lstrip("\ufeff").split("\n")
    if "\r" in text:
        lines = [line[:-1] if line.endswith("\r") else line for line in lines]
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise FormatError(f"{path}: only blank lines; a metadata file holds one row per embedding")
    if "\t" not in lines[0]:
        if "\t" in text:
            number = next(i for i, line in enumerate(lines, start=1) if "\t" in line)
            fields = lines[number - 1].count("\t") + 1
            raise FormatError(
                f"{path}, line {number} has {fields} fields, expected 1: an unquoted tab inside a "
                "value? The first line has no tab, so every line is one label; a file with several "
                "columns needs a header row naming them all"
            )
        return pa.table({"label": _typed(pa.array(lines, pa.string()))})
    header = lines[0].split("\t")
    _check_header(path, header)
    width = len(header)
    parts = pc.split_pattern(pa.array(lines[1:], pa.string()), "\t")
    lengths = pc.list_value_length(parts).to_numpy(zero_copy_only=False)
    bad = np.flatnonzero(lengths != width)
    if bad.size:
        index = int(bad[0])
        number = index + 2
        if not lines[index + 1].strip():
            raise FormatError(f"{path}, line {number} is blank, expected {width} tab-separated fields; remove it")
        raise FormatError(
            f"{path}, line {number} has {lengths[index]} fields, expected {width}: an unquoted tab "
            "inside a value? TSV metadata has no quoting; replace tabs inside values with spaces"
        )
    flat = pc.list_flatten(parts)
    n = len(lines) - 1
    columns = {
        name: _typed(flat.take(pa.array(np.arange(j, n * width, width, dtype=np.int64))))
        for j, name in enumerate(header)
    }
    return pa.table(columns)


def _check_header(path: Path, header: list[str]) -> None:
    seen: set[str] = set()
    for number, name in enumerate(header, start=1):
        if not name.strip():
            raise FormatError(
                f"{path}, line 1 (the header): column {number} has no name; a metadata file with "
                "several columns needs a header row naming every column"
            )
        if name in seen:
            raise FormatError(f"{path}, line 1 (the header): column name {name!r} appears twice; rename one")
        seen.add(name)


def _typed(values: pa.Array) -> pa.Array:
    """Numbers as numbers (empty cells as nulls); anything else, or zero-padded codes, as text."""
    present = pc.not_equal(values, "")
    filled = values.filter(present)
    if len(filled) == 0 or pc.any(pc.match_substring_regex(filled, _LEADING_ZERO)).as_py():
        return values
    for kind in (pa.int64(), pa.float64()):
        try:
            filled.cast(kind)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        return pc.if_else(present, values, pa.scalar(None, pa.string())).cast(kind)
    return values


def decode_text(data: bytes, path: Path, encoding: str) -> str:
    """``data`` as text; an unknown encoding or undecodable bytes fail naming the file and line."""
    try:
        return data.decode(encoding)
    except LookupError:
        raise _unknown_encoding(encoding) from None
    except UnicodeDecodeError as exc:
        kind = sniff(path)
        if kind:
            raise FormatError(f"{path}: not a text file; its first bytes look like a {kind}") from None
        line = data.count(b"\n", 0, exc.start) + 1
        raise FormatError(
            f"{path}, line {line}: bytes that are not valid {encoding} "
            f"({data[exc.start:exc.start + 1]!r} at byte {exc.start}); pass encoding='latin-1' "
            "(or the file's real encoding) to projector.load"
        ) from None


def _join_metadata(table: pa.Table, path: Path, vectors_from: str, encoding: str = "utf-8") -> pa.Table:
    check_file(path)
    meta = read_metadata(path, encoding=encoding)
    return attach_metadata(table, meta, vectors_from=vectors_from, metadata_from=str(path), single_column_rule=True)


# -- raw .bytes -------------------------------------------------------------------------------


def read_bytes(
    path: Path,
    *,
    dim: int | None = None,
    metadata: str | os.PathLike | None = None,
    shape: Sequence[int] | None = None,
) -> Loaded:
    """Raw little-endian float32 vectors, memory-mapped: nothing is read until used.

    The file stores no shape: pass ``dim=`` (values per vector) or ``shape=(rows, dim)``, or
    ``metadata=`` alone to take the row count from the metadata file.
    """
    path = Path(path)
    check_file(path)
    meta_path = Path(metadata).expanduser() if metadata is not None else None
    meta = None
    if meta_path is not None:
        check_file(meta_path)
        meta = read_metadata(meta_path)
    rows = (meta.num_rows, str(meta_path)) if meta is not None else None
    table = pa.table({"embedding": bytes_column(path, dim=dim, shape=shape, rows=rows)})
    if meta is not None:
        table = attach_metadata(
            table, meta, vectors_from=str(path), metadata_from=str(meta_path), single_column_rule=True
        )
    return Loaded(table, str(path), hints={"vector": "embedding"}, media_root=path.parent)


def bytes_column(
    path: Path,
    *,
    dim: int | None,
    shape: Sequence[int] | None,
    rows: tuple[int, str] | None,
    how: str = "pass dim=D (values per vector) to projector.load",
) -> pa.FixedSizeListArray:
    """A ``.bytes`` file memory-mapped as ``(rows, dim)`` float32 vectors.

    The shape comes from ``shape=``, else ``dim=``, else ``rows=(count, file it came from)``;
    ``how`` ends the error when the sizes disagree, saying how to give the shape.
    """
    size = path.stat().st_size
    if shape is not None:
        n, d = _check_shape(shape)
        if dim is not None and dim != d:
            raise LoadError(f"dim={dim} disagrees with shape={tuple(shape)}; give one of them")
        if n * d * 4 != size:
            raise FormatError(
                f"{path}: shape ({n}, {d}) needs {n * d * 4:,} bytes of float32 but the file has "
                f"{size:,}; truncated, or the wrong shape?"
            )
    elif dim is not None:
        d = check_whole("dim", dim, minimum=1, meaning="the values per vector")
        if size % (4 * d):
            raise FormatError(
                f"{path}: {size:,} bytes is not a whole number of {d}-d float32 vectors "
                f"({4 * d} bytes each); truncated, or the wrong dim=?"
            )
        n = size // (4 * d)
    elif rows is not None:
        count, source = rows
        values = size // 4
        if size % 4 or count == 0 or values % count:
            raise FormatError(
                f"{path}: {size:,} bytes do not split into {count} float32 vectors (the rows of "
                f"{source}); truncated? Otherwise {how}"
            )
        n, d = count, values // count
    else:
        raise LoadError(
            f"{path}: a .bytes file holds raw float32 values without their shape; pass dim=D "
            f"(values per vector), e.g. projector.load({path.name!r}, dim=128), or metadata=FILE "
            "to take the row count from its rows"
        )
    matrix = np.memmap(path, dtype="<f4", mode="r", shape=(n, d))
    return matrix_to_column(matrix)


def _check_shape(shape: Sequence[int]) -> tuple[int, int]:
    try:
        n, d = (int(v) for v in shape)
        ok = all(float(v) == int(v) for v in shape) and n > 0 and d > 0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise LoadError(f"shape={shape!r} must be two positive whole numbers: (rows, values per vector)")
    return n, d
