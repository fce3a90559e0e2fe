"""The TensorFlow Embedding Projector's files: tensors TSV, metadata TSV, raw ``.bytes``, configs.

People arrive with what projector.tensorflow.org and TensorBoard read: a ``tensors.tsv`` plus
a ``metadata.tsv``, a raw float32 ``.bytes`` file, a standalone ``projector_config.json``, or a
TensorBoard log dir holding ``projector_config.pbtxt`` (what ``SummaryWriter.add_embedding``
writes). This module reads them by TensorFlow's own rules, without TensorFlow or protobuf:

- tensors TSV: no header, one vector per line, values separated by tabs;
- metadata TSV: a header row only when there is more than one column; one column means one
  label per line and no header; no quoting (a ``"`` is a literal character);
- ``.bytes``: little-endian float32, row after row; the shape comes from elsewhere;
- configs: paths relative to the config's folder (the standalone site's also relative to the
  folder above it), never leaving it; a sprite sheet is a row-major grid of equal tiles.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from projector._vectors import matrix_to_column, primitive_values
from projector.errors import FormatError, LoadError, ProjectorWarning, UnsafeInputError, VectorError
from projector.loaders._common import Loaded, attach_metadata, binary_mismatch, check_file, read_metadata, sniff
from projector.media import MAX_IMAGE_PIXELS, THUMBNAIL_SIZE, placeholder_png, resolve_media_path

__all__ = [
    "is_tensors_tsv",
    "read_tensors_tsv",
    "read_metadata_tsv",
    "read_bytes",
    "read_config",
    "list_embeddings",
]

CONFIG_NAMES = ("projector_config.pbtxt", "projector_config.json")
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
    table = pa.table({"embedding": _tensors_column(path, encoding)})
    if metadata is not None:
        table = _join_metadata(table, Path(metadata).expanduser(), str(path), encoding)
    return Loaded(table, str(path), hints={"vector": "embedding"}, media_root=path.parent)


def _tensors_column(path: Path, encoding: str) -> pa.FixedSizeListArray:
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
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
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
                raise LoadError(f"encoding={encoding!r} is not a known text encoding; try 'utf-8' or 'latin-1'") from None
            text = text.lstrip("\ufeff").rstrip("\r\n")
            if text.strip():
                return text
    return None


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
    text = _decode(data, path, encoding)
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


def _decode(data: bytes, path: Path, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except LookupError:
        raise LoadError(f"encoding={encoding!r} is not a known text encoding; try 'utf-8' or 'latin-1'") from None
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
    table = pa.table({"embedding": _bytes_column(path, dim=dim, shape=shape, rows=rows)})
    if meta is not None:
        table = attach_metadata(
            table, meta, vectors_from=str(path), metadata_from=str(meta_path), single_column_rule=True
        )
    return Loaded(table, str(path), hints={"vector": "embedding"}, media_root=path.parent)


def _bytes_column(
    path: Path,
    *,
    dim: int | None,
    shape: Sequence[int] | None,
    rows: tuple[int, str] | None,
    how: str = "pass dim=D (values per vector) to projector.load",
) -> pa.FixedSizeListArray:
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
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
            raise LoadError(f"dim={dim!r} must be a positive whole number: the values per vector")
        d = int(dim)
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


# -- configs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    """One embedding a config lists; paths as written in the config."""

    name: str
    tensor_path: str | None
    tensor_shape: tuple[int, ...]
    metadata_path: str | None
    sprite_path: str | None
    sprite_dim: tuple[int, ...]

    def files(self) -> list[tuple[str, str]]:
        named = (("tensor file", self.tensor_path), ("metadata file", self.metadata_path), ("sprite", self.sprite_path))
        return [(what, value) for what, value in named if value]


@dataclass(frozen=True)
class _Config:
    file: Path
    entries: list[_Entry]
    root: Path
    checkpoint: str | None


def list_embeddings(path: str | os.PathLike) -> list[str]:
    """The tensor names a projector config (or a log dir holding one) lists, in order."""
    return [entry.name for entry in _read_config_file(_find_config(Path(path).expanduser())).entries]


def read_config(path: Path, *, embedding: str | None = None) -> Loaded:
    """One embedding of a projector config: vectors, metadata columns and sprite thumbnails.

    ``path`` is a ``projector_config.json`` (standalone projector), a
    ``projector_config.pbtxt`` (TensorBoard) or a folder holding one. ``embedding=`` picks an
    entry by tensor name (TensorBoard's ``tag:step`` names also answer to the bare tag);
    without it the first entry whose files all exist loads, and a warning names the others.

    Paths in a config are relative to its folder (the standalone site's may be relative to the
    folder above) and may not leave it: one that does, by ``..`` or a symbolic link, refuses
    the whole config.
    """
    config = _read_config_file(_find_config(Path(path)))
    missing = {entry: _missing(config, entry) for entry in config.entries}
    notes: list[str] = []
    if embedding is not None:
        entry = _select(config, embedding)
        if missing[entry]:
            usable = [repr(e.name) for e in config.entries if not missing[e]]
            others = f" Embeddings that load: {', '.join(usable)}." if usable else ""
            raise LoadError(
                f"{config.file}: embedding {entry.name!r} cannot load: {'; '.join(missing[entry])} "
                f"(paths are relative to {config.root}).{others}"
            )
    else:
        usable_entries = [e for e in config.entries if not missing[e]]
        if not usable_entries:
            reasons = "; ".join(f"{e.name!r}: {', '.join(missing[e])}" for e in config.entries)
            raise LoadError(f"{config.file}: no embedding can be loaded. {reasons}")
        entry = usable_entries[0]
        if len(config.entries) > 1:
            message = _choice_note(config, entry, missing)
            warnings.warn(message, ProjectorWarning, stacklevel=2)
            notes.append(message)
    table, hints = _load_entry(config, entry, notes)
    return Loaded(
        table, f"{config.file.name}: embedding {entry.name!r}", hints=hints, media_root=config.root, notes=notes
    )


def _find_config(path: Path) -> Path:
    if path.is_dir():
        for name in CONFIG_NAMES:
            if (path / name).is_file():
                return path / name
        runs = sorted({p.parent.name for name in CONFIG_NAMES for p in path.glob(f"*/{name}")})
        hint = f"; these subfolders hold one, pass one of them: {', '.join(runs)}" if runs else ""
        raise LoadError(f"{path}: no {' or '.join(CONFIG_NAMES)} in this folder{hint}")
    check_file(path)
    return path


def _read_config_file(file: Path) -> _Config:
    text = _decode(file.read_bytes(), file, "utf-8").lstrip("\ufeff")
    if file.suffix.lower() == ".json":
        entries, checkpoint = _json_entries(file, text)
        roots = [file.parent, file.parent.parent]
    else:
        entries, checkpoint = _pbtxt_entries(file, text)
        roots = [file.parent]
    if not entries:
        raise FormatError(f"{file}: lists no embeddings")
    root = next((r for r in roots if _any_file_under(r, entries)), roots[0])
    config = _Config(file, entries, root, checkpoint)
    for entry in entries:
        for what, value in entry.files():
            _resolve(config, entry, what, value)
    return config


def _any_file_under(root: Path, entries: list[_Entry]) -> bool:
    """Whether ``root`` is the folder the config's paths are written against."""
    for entry in entries:
        for _, value in entry.files():
            try:
                if resolve_media_path(root, value).is_file():
                    return True
            except UnsafeInputError:
                continue
    return False


def _resolve(config: _Config, entry: _Entry, what: str, value: str) -> Path:
    try:
        return resolve_media_path(config.root, value)
    except UnsafeInputError as exc:
        raise UnsafeInputError(
            f"{config.file}: embedding {entry.name!r}, {what} {value!r} is refused: {exc}. Paths in a "
            f"projector config must stay inside {config.root}"
        ) from None


def _missing(config: _Config, entry: _Entry) -> list[str]:
    """Why ``entry`` cannot load, one reason per missing file; empty when it can."""
    reasons = []
    if not entry.tensor_path:
        where = f" (the TensorFlow checkpoint {config.checkpoint!r})" if config.checkpoint else ""
        reasons.append(f"no tensor path: its values live in a checkpoint{where}, which projector cannot read")
    for what, value in entry.files():
        if not _resolve(config, entry, what, value).is_file():
            reasons.append(f"{what} {value} is missing")
    return reasons


def _select(config: _Config, wanted: str) -> _Entry:
    for entry in config.entries:
        if entry.name == wanted:
            return entry
    by_tag = [e for e in config.entries if e.name.rpartition(":")[0] == wanted]
    if len(by_tag) == 1:
        return by_tag[0]
    names = [e.name for e in config.entries]
    close = difflib.get_close_matches(wanted, names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else "."
    raise LoadError(
        f"{config.file}: no embedding named {wanted!r}{hint} It lists {', '.join(repr(n) for n in names)}; "
        "pass one of them as embedding="
    )


def _choice_note(config: _Config, chosen: _Entry, missing: dict[_Entry, list[str]]) -> str:
    others = [e for e in config.entries if e is not chosen and not missing[e]]
    skipped = [e for e in config.entries if missing[e]]
    parts = [f"{config.file.name} lists {len(config.entries)} embeddings; loaded {chosen.name!r}."]
    if others:
        parts.append(f"Others: {', '.join(repr(e.name) for e in others)}.")
    if skipped:
        parts.append(
            "Skipped, files missing: "
            + "; ".join(f"{e.name!r} ({', '.join(missing[e])})" for e in skipped)
            + "."
        )
    if others:
        parts.append(f"Choose one with embedding={others[0].name!r}.")
    else:
        parts.append(f"Paths are relative to {config.root}; add the missing files to load the others.")
    return " ".join(parts)


def _load_entry(config: _Config, entry: _Entry, notes: list[str]) -> tuple[pa.Table, dict[str, Any]]:
    where = f"{config.file}: embedding {entry.name!r}"
    tensor_file = _resolve(config, entry, "tensor file", entry.tensor_path or "")
    meta = meta_file = None
    if entry.metadata_path:
        meta_file = _resolve(config, entry, "metadata file", entry.metadata_path)
        meta = read_metadata_tsv(meta_file)
    if tensor_file.suffix.lower() == ".bytes":
        shape = entry.tensor_shape if len(entry.tensor_shape) == 2 else None
        rows = (meta.num_rows, str(meta_file)) if meta is not None and shape is None else None
        if shape is None and rows is None:
            raise FormatError(
                f"{where}: {entry.tensor_path} is raw float32 and the entry gives no tensor shape; "
                "add the shape to the config (tensorShape: [rows, dim] or tensor_shape)"
            )
        column = _bytes_column(tensor_file, dim=None, shape=shape, rows=rows, how="add the tensor shape to the config")
    else:
        check_file(tensor_file)
        mismatch = binary_mismatch(tensor_file, "tensors TSV")
        if mismatch is not None:
            raise mismatch
        column = _tensors_column(tensor_file, "utf-8")
        actual = (len(column), column.type.list_size)
        if len(entry.tensor_shape) == 2 and entry.tensor_shape != actual:
            message = f"{where}: the config says shape {list(entry.tensor_shape)}, the file holds {list(actual)}; loaded the file"
            warnings.warn(message, ProjectorWarning, stacklevel=3)
            notes.append(message)
    table = pa.table({"embedding": column})
    if meta is not None:
        table = attach_metadata(
            table, meta, vectors_from=str(tensor_file), metadata_from=str(meta_file), single_column_rule=True
        )
    hints: dict[str, Any] = {"vector": "embedding"}
    if entry.sprite_path:
        sprite_file = _resolve(config, entry, "sprite", entry.sprite_path)
        dims = entry.sprite_dim
        if len(dims) not in (1, 2) or min(dims) < 1:
            raise FormatError(
                f"{where}: the sprite needs its tile size, single_image_dim [width, height] in pixels; got {list(dims)}"
            )
        width, height = dims[0], dims[-1]
        name = "image" if "image" not in table.column_names else "sprite_image"
        thumbs = _sprite_tiles(sprite_file, table.num_rows, width, height, notes)
        table = table.append_column(name, pa.array(thumbs, pa.binary()))
        hints["image"] = name
    return table, hints


# -- sprites ----------------------------------------------------------------------------------


def _sprite_tiles(path: Path, n: int, width: int, height: int, notes: list[str]) -> list[bytes]:
    """One PNG per row, cut from a row-major grid of ``width`` x ``height`` tiles.

    The grid has as many columns as fit across the sheet (ceil(sqrt(N)) for sheets the
    projector and TensorBoard write). An unreadable or oversized sheet gives placeholders.
    """
    from PIL import Image

    size = min(max(width, height), THUMBNAIL_SIZE)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as sheet:
                if sheet.width * sheet.height > MAX_IMAGE_PIXELS:
                    raise Image.DecompressionBombError(
                        f"{sheet.width}x{sheet.height} pixels is more than {MAX_IMAGE_PIXELS:,}"
                    )
                pixels = np.asarray(sheet.convert("RGBA"))
    except (OSError, ValueError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        _warn(notes, f"{path}: cannot read the sprite ({exc}); showing placeholders")
        return [placeholder_png(size)] * n
    pixels = _fewest_channels(pixels)
    columns, rows = pixels.shape[1] // width, pixels.shape[0] // height
    tiles = columns * rows
    if tiles < n:
        _warn(
            notes,
            f"{path}: the sprite holds {tiles} tiles of {width}x{height} pixels for {n} rows; "
            f"rows from {tiles} on show placeholders",
        )
    out = []
    blank = placeholder_png(size)
    for index in range(n):
        if index >= tiles:
            out.append(blank)
            continue
        row, column = divmod(index, columns)
        tile = pixels[row * height : (row + 1) * height, column * width : (column + 1) * width]
        if max(width, height) > THUMBNAIL_SIZE:
            image = Image.fromarray(tile)
            image.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
            tile = np.asarray(image)
        out.append(_png(tile))
    return out


def _fewest_channels(pixels: np.ndarray) -> np.ndarray:
    """Drop an alpha channel that is all opaque, and colour from a grey sheet: smaller PNGs."""
    if (pixels[..., 3] == 255).all():
        pixels = pixels[..., :3]
        if (pixels[..., 0] == pixels[..., 1]).all() and (pixels[..., 1] == pixels[..., 2]).all():
            pixels = pixels[..., 0]
    return pixels


def _png(pixels: np.ndarray) -> bytes:
    """An 8-bit grey, RGB or RGBA array as PNG, written directly: Pillow's encoder costs
    ten times more per call, which dominates for the 10,000 small tiles of a sprite sheet."""
    import struct
    import zlib

    height, width = pixels.shape[:2]
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    rows = np.zeros((height, 1 + width * channels), dtype=np.uint8)  # filter byte 0 per row
    rows[:, 1:] = pixels.reshape(height, -1)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    color = {1: 0, 3: 2, 4: 6}[channels]
    header = struct.pack(">IIBBBBB", width, height, 8, color, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
        + chunk(b"IEND", b"")
    )


def _warn(notes: list[str], message: str) -> None:
    warnings.warn(message, ProjectorWarning, stacklevel=3)
    notes.append(message)


# -- config files -----------------------------------------------------------------------------


def _json_entries(file: Path, text: str) -> tuple[list[_Entry], str | None]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormatError(f"{file}, line {exc.lineno} column {exc.colno}: not valid JSON: {exc.msg}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("embeddings"), list):
        raise FormatError(
            f"{file}: not a TensorFlow projector config (no \"embeddings\" list); projector reads "
            ".json files as projector configs only; write records as JSON Lines (.jsonl)"
        )
    entries = []
    for index, item in enumerate(doc["embeddings"]):
        where = f"{file}: embeddings[{index}]"
        if not isinstance(item, dict):
            raise FormatError(f"{where} is not an object")
        sprite = item.get("sprite") or {}
        if not isinstance(sprite, dict):
            raise FormatError(f"{where}.sprite is not an object")
        entries.append(
            _Entry(
                name=str(item.get("tensorName") or f"embedding {index}"),
                tensor_path=_text(item.get("tensorPath"), f"{where}.tensorPath"),
                tensor_shape=_ints(item.get("tensorShape"), f"{where}.tensorShape"),
                metadata_path=_text(item.get("metadataPath"), f"{where}.metadataPath"),
                sprite_path=_text(sprite.get("imagePath"), f"{where}.sprite.imagePath"),
                sprite_dim=_ints(sprite.get("singleImageDim"), f"{where}.sprite.singleImageDim"),
            )
        )
    checkpoint = doc.get("modelCheckpointPath")
    return entries, checkpoint if isinstance(checkpoint, str) else None


def _pbtxt_entries(file: Path, text: str) -> tuple[list[_Entry], str | None]:
    fields = _parse_pbtxt(text, file)
    entries = []
    for index, item in enumerate(fields.get("embeddings", [])):
        where = f"{file}: embeddings #{index + 1}"
        if not isinstance(item, dict):
            raise FormatError(f"{where} is a value, expected a block in braces")
        sprite = _one(item, "sprite") or {}
        if not isinstance(sprite, dict):
            raise FormatError(f"{where}: sprite is a value, expected a block in braces")
        entries.append(
            _Entry(
                name=_text(_one(item, "tensor_name"), f"{where}.tensor_name") or f"embedding {index}",
                tensor_path=_text(_one(item, "tensor_path"), f"{where}.tensor_path"),
                tensor_shape=_ints(item.get("tensor_shape"), f"{where}.tensor_shape"),
                metadata_path=_text(_one(item, "metadata_path"), f"{where}.metadata_path"),
                sprite_path=_text(_one(sprite, "image_path"), f"{where}.sprite.image_path"),
                sprite_dim=_ints(sprite.get("single_image_dim"), f"{where}.sprite.single_image_dim"),
            )
        )
    checkpoint = _one(fields, "model_checkpoint_path")
    return entries, checkpoint if isinstance(checkpoint, str) else None


def _one(fields: dict[str, list], name: str) -> Any:
    values = fields.get(name)
    return values[-1] if values else None


def _text(value: Any, where: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise FormatError(f"{where} must be a string, got {value!r}")
    return value


def _ints(value: Any, where: str) -> tuple[int, ...]:
    if value is None:
        return ()
    try:
        numbers = tuple(int(v) for v in value)
        ok = all(not isinstance(v, (bool, float)) and n >= 0 for v, n in zip(value, numbers))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise FormatError(f"{where} must be a list of whole numbers, got {value!r}")
    return numbers


# A tiny reader for the subset of protobuf text format projector configs use: fields,
# nested blocks in {} or <>, [lists], strings with C escapes, numbers, # comments.
_TOKEN = re.compile(
    r"""(?P<skip>\s+|\#[^\n]*)
      | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
      | (?P<word>[-+]?(?:\d[\w.]*[eE][-+]\d+|[\w.]+))
      | (?P<punct>[{}<>:\[\],;])""",
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}
_CLOSE = {"{": "}", "<": ">"}


def _parse_pbtxt(text: str, file: Path) -> dict[str, list]:
    """Fields of a text-format message: each name maps to its values (fields repeat)."""
    tokens: list[tuple[str, Any, int]] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise FormatError(f"{file}, line {_line(text, position)}: unexpected {text[position]!r}")
        kind = match.lastgroup or "skip"
        if kind == "string":
            value = _unescape(match.group()[1:-1])
            if tokens and tokens[-1][0] == "string":  # adjacent strings join, as in C
                tokens[-1] = ("string", tokens[-1][1] + value, tokens[-1][2])
            else:
                tokens.append(("string", value, position))
        elif kind != "skip":
            tokens.append((kind, match.group(), position))
        position = match.end()
    tokens.append(("end", None, len(text)))
    fields, _ = _parse_fields(tokens, 0, None, text, file)
    return fields


def _parse_fields(tokens: list, i: int, close: str | None, text: str, file: Path) -> tuple[dict[str, list], int]:
    fields: dict[str, list] = {}

    def fail(at: int, what: str) -> FormatError:
        return FormatError(f"{file}, line {_line(text, tokens[at][2])}: {what}; not valid protobuf text format")

    while True:
        kind, value, _ = tokens[i]
        if kind == "end" or (kind == "punct" and value in "}>"):
            if (close is None) != (kind == "end") or (close is not None and value != close):
                raise fail(i, f"expected {close!r}" if close else f"unexpected {value!r}")
            return fields, i + 1
        if kind != "word":
            raise fail(i, f"expected a field name, found {value!r}")
        name = value
        i += 1
        if tokens[i][:2] == ("punct", ":"):
            i += 1
            if tokens[i][:2] == ("punct", "["):
                values, i = _parse_list(tokens, i + 1, text, file, fail)
                fields.setdefault(name, []).extend(values)
            else:
                item, i = _parse_value(tokens, i, text, file, fail)
                fields.setdefault(name, []).append(item)
        elif tokens[i][0] == "punct" and tokens[i][1] in _CLOSE:
            item, i = _parse_fields(tokens, i + 1, _CLOSE[tokens[i][1]], text, file)
            fields.setdefault(name, []).append(item)
        else:
            raise fail(i, f"expected ':' or '{{' after {name!r}")
        if tokens[i][0] == "punct" and tokens[i][1] in ",;":
            i += 1


def _parse_value(tokens: list, i: int, text: str, file: Path, fail: Any) -> tuple[Any, int]:
    kind, value, _ = tokens[i]
    if kind == "punct" and value in _CLOSE:
        return _parse_fields(tokens, i + 1, _CLOSE[value], text, file)
    if kind in ("string", "word"):
        return value, i + 1
    raise fail(i, f"expected a value, found {value!r}")


def _parse_list(tokens: list, i: int, text: str, file: Path, fail: Any) -> tuple[list, int]:
    values: list = []
    if tokens[i][:2] == ("punct", "]"):
        return values, i + 1
    while True:
        item, i = _parse_value(tokens, i, text, file, fail)
        values.append(item)
        if tokens[i][:2] == ("punct", "]"):
            return values, i + 1
        if tokens[i][:2] != ("punct", ","):
            raise fail(i, "expected ',' or ']' in a list")
        i += 1


def _unescape(body: str) -> str:
    """C-style escapes as protobuf writes them; octal and hex escapes are UTF-8 bytes."""
    if "\\" not in body:
        return body
    out = bytearray()
    i = 0
    while i < len(body):
        char = body[i]
        if char != "\\":
            out += char.encode("utf-8")
            i += 1
            continue
        code = body[i + 1]
        octal = re.match(r"[0-7]{1,3}", body[i + 1 :])
        hexa = re.match(r"[xX]([0-9a-fA-F]{1,2})", body[i + 1 :])
        if octal:
            out.append(int(octal.group(), 8) & 0xFF)
            i += 1 + len(octal.group())
        elif hexa:
            out.append(int(hexa.group(1), 16))
            i += 1 + len(hexa.group())
        else:
            out += _ESCAPES.get(code, code).encode("utf-8")
            i += 2
    return out.decode("utf-8", errors="replace")


def _line(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1
