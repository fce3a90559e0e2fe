"""Hugging Face datasets saved with ``save_to_disk``, read with pyarrow alone (no ``datasets``).

A saved ``Dataset`` is a folder with ``state.json`` (its Arrow files, in order),
``dataset_info.json`` (its ``features``) and Arrow IPC *stream* files, which are memory-mapped:
images and text stay in the files; an embedding written in several record batches is joined
into one contiguous block once, as every embedding column must be.
A saved ``DatasetDict`` is a folder with ``dataset_dict.json`` and one such folder per split.

Features carry meaning the Arrow types do not: ``Image`` columns are the image role (``Audio``
columns the audio role; both are ``{bytes, path}`` structs), and ``ClassLabel`` integers
become a dictionary column of the class names, which makes them labels. Paths inside image
structs resolve relative to the folder that was loaded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from projector.errors import FormatError, LoadError
from projector.loaders._common import Loaded, check_names, format_mismatch
from projector.media import resolve_media_path

__all__ = ["read_hf_disk"]

_HF_METADATA_KEY = b"huggingface"


def read_hf_disk(path: Path, *, split: str | None = None) -> Loaded:
    """A saved Dataset, or a DatasetDict: one split with ``split=``, else all of them.

    All splits are concatenated with a ``split`` column naming each row's split.

    Args:
        split: the split of a DatasetDict to load (``"train"``, ``"test"``, ...).
    """
    if (path / "dataset_dict.json").is_file():
        return _read_dict(path, split)
    if split is not None:
        raise LoadError(f"{path}: split={split!r} applies to a DatasetDict; this folder holds a single Dataset")
    table, media = _read_split(path, str(path))
    return _loaded(table, media, str(path), path, [])


def _read_dict(path: Path, split: str | None) -> Loaded:
    splits = _json(path / "dataset_dict.json").get("splits")
    if not isinstance(splits, list) or not splits or not all(isinstance(s, str) for s in splits):
        raise FormatError(
            f"{path / 'dataset_dict.json'}: expected {{\"splits\": [names]}}; was it written by save_to_disk?"
        )
    if split is not None:
        if split not in splits:
            raise LoadError(f"{path}: split={split!r} is not one of its splits: {', '.join(map(repr, splits))}")
        source = f"{path} (split {split!r})"
        table, media = _read_split(_inside(path, split), source)
        return _loaded(table, media, source, path, [])
    tables, media = [], {}
    for name in splits:
        table, split_media = _read_split(_inside(path, name), f"{path} (split {name!r})")
        media.update(split_media)
        tables.append(table)
    column = "split" if all("split" not in t.column_names for t in tables) else "hf_split"
    names = pa.array(splits)
    tables = [
        t.append_column(column, pa.DictionaryArray.from_arrays(np.full(t.num_rows, i, dtype=np.int32), names))
        for i, t in enumerate(tables)
    ]
    try:
        table = pa.concat_tables(tables, promote_options="default")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise LoadError(
            f"{path}: its splits have different columns and cannot be stacked ({exc}); "
            f"load one with split=NAME (one of {', '.join(map(repr, splits))})"
        ) from None
    counts = ", ".join(f"{name} ({t.num_rows} rows)" for name, t in zip(splits, tables))
    note = f"stacked the splits {counts} with a {column!r} column; pass split=NAME to load one"
    return _loaded(table, media, str(path), path, [note])


def _read_split(folder: Path, source: str) -> tuple[pa.Table, dict[str, str]]:
    """One saved Dataset, its Arrow files memory-mapped in order, ClassLabels as names.

    Returns the table and ``{column: "image" | "audio"}`` for its media features.
    """
    state = _json(folder / "state.json")
    files = state.get("_data_files")
    listed = isinstance(files, list) and all(isinstance(f, dict) and isinstance(f.get("filename"), str) for f in files)
    if not listed:
        raise FormatError(f"{folder / 'state.json'}: no '_data_files' list; was it written by save_to_disk?")
    if state.get("_indices_data_files"):
        raise LoadError(
            f"{folder}: saved with an indices mapping (an old datasets release); re-save it with "
            "dataset.flatten_indices().save_to_disk(...)"
        )
    tables = [_read_arrow(_inside(folder, f["filename"])) for f in files]
    if not tables:
        raise FormatError(f"{folder / 'state.json'}: lists no data files")
    try:
        table = pa.concat_tables(tables)
    except pa.ArrowInvalid as exc:
        raise FormatError(f"{folder}: its Arrow files have different schemas ({exc})") from None
    info = folder / "dataset_info.json"
    features = _json(info).get("features") if info.is_file() else None
    if not isinstance(features, dict):
        features = _features_from_schema(table.schema)
    table = table.replace_schema_metadata(_without_hf(table.schema.metadata))
    media = {}
    for name, feature in features.items():
        if name not in table.column_names or not isinstance(feature, dict):
            continue
        kind = feature.get("_type")
        if kind in ("Image", "Audio"):
            media[name] = kind.lower()
        elif kind == "ClassLabel" and pa.types.is_integer(table.column(name).type):
            index = table.column_names.index(name)
            table = table.set_column(index, name, _class_labels(table.column(name), feature, name, source))
    return table, media


def _read_arrow(path: Path) -> pa.Table:
    """An Arrow IPC stream (as ``datasets`` writes) or file, memory-mapped."""
    if not path.is_file():
        raise LoadError(f"{path}: listed in state.json but missing; the saved dataset is incomplete")
    try:
        source = pa.memory_map(str(path), "r")
        try:
            table = pa.ipc.open_stream(source).read_all()
        except pa.ArrowInvalid:
            table = pa.ipc.open_file(source).read_all()
        # IPC readers trust the file's offsets; a corrupt one would crash the process later
        table.validate(full=True)
    except (pa.ArrowException, OSError) as exc:
        raise format_mismatch(path, "Arrow IPC stream", exc) from None
    check_names(table.schema, path)
    return table


def _loaded(table: pa.Table, media: dict[str, str], source: str, root: Path, notes: list[str]) -> Loaded:
    hints: dict[str, Any] = {}
    if media:
        # the features say exactly which structs are images; an Audio struct looks the same
        hints = {role: [name for name, kind in media.items() if kind == role] for role in ("image", "audio")}
    return Loaded(table, source, hints=hints, media_root=root, notes=notes)


def _class_labels(column: pa.ChunkedArray, feature: dict[str, Any], name: str, source: str) -> pa.ChunkedArray:
    """ClassLabel integers as a dictionary of the class names; -1 (no label) becomes null."""
    names = feature.get("names")
    if not isinstance(names, list):
        names = [str(i) for i in range(int(feature.get("num_classes") or 0))]
    dictionary = pa.array([str(n) for n in names], pa.string())
    chunks, offset = [], 0
    for chunk in column.chunks:
        indices = chunk.cast(pa.int32())
        beyond = pc.greater_equal(indices, len(names))
        if pc.any(beyond).as_py():
            row = offset + int(np.flatnonzero(beyond.to_numpy(zero_copy_only=False))[0])
            raise FormatError(
                f"{source}: column {name!r}, row {row}: class {indices[row - offset].as_py()}, but its "
                f"ClassLabel feature names only {len(names)} classes"
            )
        indices = pc.if_else(pc.less(indices, 0), pa.scalar(None, pa.int32()), indices)
        chunks.append(pa.DictionaryArray.from_arrays(indices, dictionary))
        offset += len(chunk)
    return pa.chunked_array(chunks, pa.dictionary(pa.int32(), pa.string()))


def _features_from_schema(schema: pa.Schema) -> dict[str, Any]:
    """Features from the Arrow schema metadata, for folders missing ``dataset_info.json``."""
    raw = (schema.metadata or {}).get(_HF_METADATA_KEY)
    try:
        features = json.loads(raw)["info"]["features"] if raw else {}
    except (ValueError, KeyError, TypeError):
        return {}
    return features if isinstance(features, dict) else {}


def _without_hf(metadata: dict[bytes, bytes] | None) -> dict[bytes, bytes] | None:
    """Schema metadata without the features, which no longer match once ClassLabels are names."""
    if not metadata:
        return metadata
    return {k: v for k, v in metadata.items() if k != _HF_METADATA_KEY} or None


def _inside(folder: Path, name: str) -> Path:
    """``folder/name``, refusing names from the JSON files that would leave ``folder``."""
    return resolve_media_path(folder, name)


def _json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise LoadError(f"{path}: missing; a folder saved with save_to_disk has one")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise FormatError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise FormatError(f"{path}: expected a JSON object")
    return data
