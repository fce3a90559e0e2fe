"""Column roles: what each column of a dataset is for, inferred by documented rules.

A :class:`Roles` value names the id column, the embedding columns and the media, text, label
and numeric columns. It is stored as JSON under the ``projector:roles`` key of the Arrow schema
metadata, so a table written to Parquet and read back keeps its roles.

Inference rules, applied to every column the user did not name (first match wins):

1. ``id``: the column named ``id=``; else a column called ``id`` whose values are unique and
   non-null; else a generated ``_row_id`` column 0..N-1.
2. embedding: a list / large_list / fixed_size_list column of numbers; a string column whose
   values are JSON lists of numbers (``"[0.1, 0.2]"``, as CSV files carry them); or numeric
   columns sharing a prefix and numbered from 0 (``emb_0 ... emb_767``, at least 4 of them).
3. image: a ``{bytes, path}`` struct (as Hugging Face writes images); binary values with an
   image file signature; strings ending in an image suffix (``.png .jpg .jpeg .gif .bmp .webp
   .tif .tiff``), as paths or URLs.
4. audio: strings ending in an audio suffix (``.wav .mp3 .flac .ogg .m4a .opus``).
5. label: boolean and dictionary columns; string columns with at most 256 distinct values
   that repeat (fewer distinct values than half the rows); integer columns named like a label
   (``label``, ``class``, ``target``, ``category``, ``cluster``, ``y`` and such).
6. text: the remaining string columns.
7. numeric: the remaining integer and floating-point columns.

Anything else (timestamps, nested data) keeps no role and is carried along untouched.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, fields
from typing import Sequence

import pyarrow as pa
import pyarrow.compute as pc

from projector.media import AUDIO_SUFFIXES, IMAGE_SUFFIXES, is_url, looks_like_image_bytes

__all__ = ["Roles", "ROLES_METADATA_KEY", "infer_roles", "roles_from_schema", "with_roles", "first_values"]

ROLES_METADATA_KEY = b"projector:roles"
GENERATED_ID = "_row_id"
MAX_LABEL_CATEGORIES = 256
_LABEL_NAME = re.compile(
    r"^(label|labels|class|classes|target|category|categories|cluster|y|split|group|tag|kind|"
    r"digit|species|.*_label|.*_class)$",
    re.IGNORECASE,
)
_SAMPLE = 32


@dataclass(frozen=True)
class Roles:
    """Which column plays which part. Every name is a column of the table."""

    id: str
    vectors: tuple[str, ...]
    images: tuple[str, ...] = ()
    texts: tuple[str, ...] = ()
    audio: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    numeric: tuple[str, ...] = ()
    generated_id: bool = False

    def role_of(self, column: str) -> str | None:
        """The role of ``column`` (``"id"``, ``"vector"``, ``"image"``, ...), or None."""
        if column == self.id:
            return "id"
        for role, names in (
            ("vector", self.vectors),
            ("image", self.images),
            ("text", self.texts),
            ("audio", self.audio),
            ("label", self.labels),
            ("numeric", self.numeric),
        ):
            if column in names:
                return role
        return None

    def to_json(self) -> str:
        data = asdict(self)
        return json.dumps({"version": 1, **data}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> "Roles":
        data = json.loads(text)
        data.pop("version", None)
        known = {f.name for f in fields(cls)}
        kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in known}
        return cls(**kwargs)


def roles_from_schema(schema: pa.Schema) -> Roles | None:
    """Roles stored in a schema's metadata by an earlier save, if they still fit its columns."""
    raw = (schema.metadata or {}).get(ROLES_METADATA_KEY)
    if raw is None:
        return None
    try:
        roles = Roles.from_json(raw)
    except (ValueError, TypeError):
        return None
    names = set(schema.names)
    used = {roles.id, *roles.vectors, *roles.images, *roles.texts, *roles.audio, *roles.labels, *roles.numeric}
    return roles if used <= names else None


def with_roles(table: pa.Table, roles: Roles) -> pa.Table:
    """``table`` with ``roles`` recorded in its schema metadata (no data copied)."""
    metadata = dict(table.schema.metadata or {})
    metadata[ROLES_METADATA_KEY] = roles.to_json().encode()
    return table.replace_schema_metadata(metadata)


def infer_roles(
    table: pa.Table,
    *,
    id: str | None,
    vectors: Sequence[str],
    images: Sequence[str] | None = None,
    texts: Sequence[str] | None = None,
    audio: Sequence[str] | None = None,
    labels: Sequence[str] | None = None,
    generated_id: bool = False,
) -> Roles:
    """Give every column a role, keeping the ones named explicitly (see the module rules).

    ``vectors`` are already known (normalised by :mod:`projector._vectors`); a role given as a
    sequence, even empty, is taken as is and not inferred.
    """
    taken = {id, *vectors} if id else set(vectors)
    for given in (images, texts, audio, labels):
        taken.update(given or ())
    inferred: dict[str, list[str]] = {"images": [], "texts": [], "audio": [], "labels": [], "numeric": []}
    n = table.num_rows
    for name in table.column_names:
        if name in taken:
            continue
        role = _infer_one(name, table.column(name), n)
        if role is not None:
            inferred[role].append(name)

    def pick(given: Sequence[str] | None, key: str) -> tuple[str, ...]:
        return tuple(given) if given is not None else tuple(inferred[key])

    return Roles(
        id=id,
        vectors=tuple(vectors),
        images=pick(images, "images"),
        texts=pick(texts, "texts"),
        audio=pick(audio, "audio"),
        labels=pick(labels, "labels"),
        numeric=tuple(inferred["numeric"]),
        generated_id=generated_id,
    )


def _infer_one(name: str, column: pa.ChunkedArray, n: int) -> str | None:
    kind = column.type
    if pa.types.is_struct(kind):
        field_names = {kind.field(i).name for i in range(kind.num_fields)}
        return "images" if {"bytes", "path"} <= field_names else None
    if pa.types.is_dictionary(kind) or pa.types.is_boolean(kind):
        return "labels"
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        sample = _sample(column)
        return "images" if sample and all(looks_like_image_bytes(v) for v in sample) else None
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        sample = _sample(column)
        if sample:
            lowered = [_strip_query(v).lower() for v in sample]
            if all(v.endswith(IMAGE_SUFFIXES) for v in lowered):
                return "images"
            if all(v.endswith(AUDIO_SUFFIXES) for v in lowered):
                return "audio"
        if not _short(sample):
            return "texts"  # long values are text: counting them would copy every one into a hash table
        distinct = pc.count_distinct(column).as_py()
        return "labels" if distinct <= MAX_LABEL_CATEGORIES and distinct < max(n / 2, 2) else "texts"
    if pa.types.is_integer(kind):
        return "labels" if _LABEL_NAME.match(name) else "numeric"
    if pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return "numeric"
    return None


def first_values(column: pa.ChunkedArray, n: int) -> list:
    """The first ``n`` non-null values as Python objects, copying no others: ``drop_null``
    copies what it keeps, which for a whole column is all its text or bytes."""
    values: list = []
    start, size = 0, n
    while len(values) < n and start < len(column):
        window = column.slice(start, size)  # windows grow, for columns that start with many nulls
        rows = pc.indices_nonzero(pc.is_valid(window)).slice(0, n - len(values))
        values.extend(window[row].as_py() for row in rows.to_pylist())
        start, size = start + size, size * 2
    return values


def _sample(column: pa.ChunkedArray) -> list:
    return [v for v in first_values(column, _SAMPLE) if v not in ("", b"")]


def _strip_query(value: str) -> str:
    return value.split("?", 1)[0].split("#", 1)[0] if is_url(value) else value


def _short(sample: list[str]) -> bool:
    return all(len(v) <= 100 for v in sample)
