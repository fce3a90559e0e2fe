"""TensorFlow projector configs: which files make up each embedding, and loading one of them.

A standalone ``projector_config.json`` (the projector website's) or a TensorBoard log dir
holding ``projector_config.pbtxt`` (what ``SummaryWriter.add_embedding`` writes) lists
embeddings, each a tensor file, an optional metadata file and an optional sprite sheet. This
module finds the config, picks an entry, and reads its files with
:mod:`projector.loaders.tf_projector`, without TensorFlow or protobuf:

- paths are relative to the config's folder (the standalone site's also relative to the
  folder above it), never leaving it;
- a sprite sheet is a row-major grid of equal tiles, one per row, cut into PNG thumbnails.
"""

from __future__ import annotations

import difflib
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from projector.errors import FormatError, LoadError, ProjectorWarning, UnsafeInputError
from projector.loaders import _pbtxt
from projector.loaders._common import Loaded, attach_metadata, binary_mismatch, check_file
from projector.loaders.tf_projector import bytes_column, decode_text, read_metadata_tsv, tensors_column
from projector.media import MAX_IMAGE_PIXELS, THUMBNAIL_SIZE, encode_png, placeholder_png, resolve_media_path

__all__ = ["CONFIG_NAMES", "read_config", "list_embeddings"]

CONFIG_NAMES = ("projector_config.pbtxt", "projector_config.json")
_TILE_COMPRESS_LEVEL = 1  # thousands of tiny PNGs: zlib's fastest level


# -- choosing and loading an entry --------------------------------------------------------------


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
    text = decode_text(file.read_bytes(), file, "utf-8").lstrip("\ufeff")
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
        column = bytes_column(tensor_file, dim=None, shape=shape, rows=rows, how="add the tensor shape to the config")
    else:
        check_file(tensor_file)
        mismatch = binary_mismatch(tensor_file, "tensors TSV")
        if mismatch is not None:
            raise mismatch
        column = tensors_column(tensor_file, "utf-8")
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
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:  # Pillow raises SyntaxError for some broken PNG chunks
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
        image = Image.fromarray(pixels[row * height : (row + 1) * height, column * width : (column + 1) * width])
        if max(width, height) > THUMBNAIL_SIZE:
            image.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
        out.append(encode_png(image, compress_level=_TILE_COMPRESS_LEVEL))
    return out


def _fewest_channels(pixels: np.ndarray) -> np.ndarray:
    """Drop an alpha channel that is all opaque, and colour from a grey sheet: smaller PNGs."""
    if (pixels[..., 3] == 255).all():
        pixels = pixels[..., :3]
        if (pixels[..., 0] == pixels[..., 1]).all() and (pixels[..., 1] == pixels[..., 2]).all():
            pixels = pixels[..., 0]
    return pixels


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
    fields = _pbtxt.parse(text, file)
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
