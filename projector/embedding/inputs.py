"""What a model is given: the texts of a column, or the image files of one, checked first.

A missing text embeds as ``""`` (a counted warning says how many); a missing, unreadable,
remote or out-of-root image embeds as the grey placeholder the app shows for it, so one bad
file never stops a run (the project's rule for media), and a counted warning names the rows.
Nothing is fetched from the network: a URL is a broken image here.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from projector.errors import ProjectorError, SchemaError, UnsafeInputError

__all__ = ["Inputs", "text_inputs", "image_inputs"]

_SHOWN = 5


@dataclass(frozen=True)
class Inputs:
    """The values to embed, in row order, and what had to be substituted.

    Attributes:
        values: texts (str) or encoded images (bytes), one per row.
        substituted: rows whose value was missing or broken and was replaced (see the module).
        note: the sentence that says so, or "" when nothing was replaced.
    """

    values: list
    substituted: list[int] = field(default_factory=list)
    note: str = ""


def _column(table: pa.Table, name: str, what: str) -> pa.ChunkedArray:
    if name not in table.column_names:
        raise SchemaError(f"{what}={name!r}: no such column; the columns are {', '.join(map(repr, table.column_names))}")
    return table.column(name)


def _rows_text(rows: list[int]) -> str:
    shown = ", ".join(map(str, rows[:_SHOWN])) + (", ..." if len(rows) > _SHOWN else "")
    return f"row{'s' if len(rows) > 1 else ''} {shown}"


def text_inputs(table: pa.Table, name: str) -> Inputs:
    """The texts of column ``name``; nulls become ``""`` and are counted."""
    column = _column(table, name, "text")
    kind = column.type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)):
        if pa.types.is_nested(kind) or pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
            raise SchemaError(f"text={name!r} holds {kind} values, not texts; name a column of strings")
        column = column.cast(pa.string())  # numbers and dates embed as their text
    values = column.to_pylist()
    missing = [row for row, value in enumerate(values) if value is None]
    note = ""
    if missing:
        note = (
            f"{len(missing):,} of {len(values):,} rows have no text in {name!r} ({_rows_text(missing)}); "
            "they are embedded as the empty string and sit together on the map"
        )
    return Inputs(["" if value is None else value for value in values], missing, note)


def image_inputs(table: pa.Table, name: str, root: Path | None) -> Inputs:
    """The encoded images of column ``name`` (bytes, Hugging Face ``{bytes, path}`` structs, or
    paths confined to ``root``); broken ones become the placeholder image and are counted."""
    from projector.media import placeholder_png

    column = _column(table, name, "image")
    values: list[bytes] = []
    broken: list[int] = []
    placeholder = placeholder_png()
    for row, value in enumerate(column.to_pylist()):
        data = _image_bytes(value, root)
        if data is None:
            broken.append(row)
            data = placeholder
        values.append(data)
    note = ""
    if broken:
        note = (
            f"{len(broken):,} of {len(values):,} images in {name!r} are missing, unreadable, remote or outside the data root "
            f"({_rows_text(broken)}); each is embedded as the grey placeholder image shown in their place"
        )
    return Inputs(values, broken, note)


def _image_bytes(value: Any, root: Path | None) -> bytes | None:
    """The bytes of one readable image cell, or None when it is missing or broken."""
    from projector.media import is_url, resolve_media_path

    if isinstance(value, dict):  # Hugging Face Image feature: bytes, else a path
        value = value.get("bytes") or value.get("path")
    if isinstance(value, str):
        if not value or is_url(value) or root is None:
            return None
        try:
            value = resolve_media_path(root, value).read_bytes()
        except (OSError, UnsafeInputError):
            return None
    if not isinstance(value, (bytes, bytearray)) or not value:
        return None
    return bytes(value) if _readable(bytes(value)) else None


def _readable(data: bytes) -> bool:
    """Pillow can decode the image, and it is not a decompression bomb."""
    import warnings

    from PIL import Image

    from projector.media import MAX_IMAGE_PIXELS

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.width * image.height > MAX_IMAGE_PIXELS:
                    return False
                image.load()
        return True
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning, ProjectorError):
        return False
