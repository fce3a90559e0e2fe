"""What is in a dataset, and what is wrong with it: the data behind ``projector info``.

Checks that would slow every load (duplicate vectors, constant dimensions, missing media
files) run here, on request, not in the loaders.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from projector.dataset import MIN_PROJECTABLE_ROWS, Dataset
from projector.duplicates import unique_rows
from projector.media import is_url
from projector.schema import first_values
from projector.validation import method_names_text

__all__ = ["DatasetInfo", "describe", "INFO_SCHEMA_VERSION"]

INFO_SCHEMA_VERSION = 1
MAX_MEDIA_CHECKS = 100_000
_SHOWN = 5


@dataclass
class DatasetInfo:
    """A stable, JSON-ready summary of a :class:`Dataset` (see :meth:`to_json`)."""

    source: str | None
    rows: int
    columns: list[dict[str, Any]]
    embeddings: list[dict[str, Any]]
    media: list[dict[str, Any]]
    id_column: str
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": INFO_SCHEMA_VERSION, **asdict(self)}

    def to_json(self) -> str:
        """The machine-readable document ``projector info --json`` prints; keys are stable."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def to_text(self) -> str:
        """The human summary ``projector info`` prints."""
        lines = [f"source   {self.source}", f"rows     {self.rows:,}", f"id       {self.id_column}", ""]
        width = max(len(c["name"]) for c in self.columns)
        lines.append(f"{'column':<{width}}  {'role':<8}  type")
        for column in self.columns:
            lines.append(f"{column['name']:<{width}}  {column['role'] or '-':<8}  {column['type']}")
        if self.embeddings:
            lines.append("")
            for emb in self.embeddings:
                lines.append(f"embedding {emb['name']!r}: {emb['dim']} dimensions, float32")
        for item in self.media:
            lines.append(f"{item['role']} {item['name']!r}: {item['storage']}")
        for note in self.notes:
            lines.append(f"note: {note}")
        lines.append("")
        lines.extend(f"warning: {w}" for w in self.warnings)
        if not self.warnings:
            lines.append("no warnings")
        return "\n".join(lines)


def describe(dataset: Dataset, *, check_media: bool = True) -> DatasetInfo:
    """Summarise ``dataset`` and run the data checks (duplicates, constant dims, missing media)."""
    roles = dataset.roles
    table = dataset.table
    columns = [{"name": f.name, "type": str(f.type), "role": roles.role_of(f.name)} for f in table.schema]
    warnings: list[str] = []
    embeddings = []
    for name in roles.vectors:
        matrix = dataset.vectors(name)
        embeddings.append({"name": name, "dim": int(matrix.shape[1])})
        warnings.extend(_vector_warnings(name, matrix, dataset))
    media = []
    for role, names in (("image", roles.images), ("audio", roles.audio)):
        for name in names:
            storage = _storage(table.column(name))
            media.append({"name": name, "role": role, "storage": storage})
            if check_media and storage == "path":
                warnings.extend(_missing_files(name, table.column(name), dataset.media_root))
    if len(dataset) < MIN_PROJECTABLE_ROWS:
        warnings.append(f"only {len(dataset)} rows: too few to project ({method_names_text(last='and')} need {MIN_PROJECTABLE_ROWS})")
    return DatasetInfo(
        source=dataset.source,
        rows=len(dataset),
        columns=columns,
        embeddings=embeddings,
        media=media,
        id_column=roles.id,
        warnings=warnings,
        notes=list(dataset.notes),
    )


def _vector_warnings(name: str, matrix: np.ndarray, dataset: Dataset) -> list[str]:
    out = []
    duplicates, groups, example = duplicate_rows(matrix)
    if duplicates:
        ids = dataset.table.column(dataset.roles.id)
        shown = ", ".join(repr(ids[int(i)].as_py()) for i in example[:_SHOWN])
        out.append(
            f"embedding {name!r}: {duplicates} rows repeat another row's vector exactly "
            f"({groups} distinct repeated vectors; e.g. ids {shown})"
        )
    constant = np.flatnonzero(matrix.min(axis=0) == matrix.max(axis=0)) if len(matrix) > 1 else np.empty(0)
    if constant.size == matrix.shape[1] and len(matrix) > 1:
        out.append(f"embedding {name!r}: every vector is the same; nothing to project")
    elif constant.size:
        shown = ", ".join(str(int(i)) for i in constant[:10])
        out.append(
            f"embedding {name!r}: {constant.size} of {matrix.shape[1]} dimensions are constant "
            f"(dimension {shown}{', ...' if constant.size > 10 else ''}); they carry no information"
        )
    return out


def duplicate_rows(matrix: np.ndarray) -> tuple[int, int, np.ndarray]:
    """Exact duplicate rows: (rows repeating an earlier one, distinct repeated vectors, examples)."""
    unique = unique_rows(matrix)
    repeated = unique.repeated
    if repeated.size == 0:
        return 0, 0, np.empty(0, dtype=np.int64)
    example = np.flatnonzero(np.isin(unique.inverse, repeated))
    return unique.duplicates, int(repeated.size), example


def _storage(column: pa.ChunkedArray) -> str:
    kind = column.type
    if pa.types.is_struct(kind):
        return "bytes or path (struct)"
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return "bytes"
    sample = first_values(column, 16)
    if sample and all(is_url(v) for v in sample):
        return "url"
    return "path"


def _missing_files(name: str, column: pa.ChunkedArray, root: Path | None) -> list[str]:
    values = column.slice(0, MAX_MEDIA_CHECKS).to_pylist()
    base = root or Path.cwd()
    missing = [(row, v) for row, v in enumerate(values) if v and not is_url(v) and not (base / v).exists()]
    if not missing:
        return []
    checked = "" if len(column) <= MAX_MEDIA_CHECKS else f" (checked the first {MAX_MEDIA_CHECKS:,} rows)"
    shown = ", ".join(f"row {row}: {value!r}" for row, value in missing[:_SHOWN])
    return [f"column {name!r}: {len(missing)} media files are missing under {base}{checked}; {shown}"]
