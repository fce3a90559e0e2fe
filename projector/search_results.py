"""Search results for people and programs: ``projector search`` prints them as a plain table
or as JSON records, without embedding vectors or raw media bytes (nobody reads 384 floats).

Text from the data reaches a terminal here, so every control character in it (escape
sequences, carriage returns, bidirectional overrides) is shown escaped, never obeyed: a row
cannot clear the screen or rewrite what the user sees.
"""

from __future__ import annotations

import json
import math
import unicodedata
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

    from projector.dataset import Dataset

__all__ = ["readable_columns", "result_records", "results_json", "results_text", "terminal_safe"]

CELL_CHARS = 60  # a longer value is cut with an ellipsis in the terminal table (never in JSON)


def readable_columns(dataset: "Dataset", table: "pa.Table") -> list[str]:
    """The columns of ``table`` worth showing: all but embeddings and media held as bytes."""
    import pyarrow as pa

    media = {*dataset.roles.images, *dataset.roles.audio}

    def holds_bytes(kind: pa.DataType) -> bool:
        if pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_fixed_size_binary(kind):
            return True
        return pa.types.is_struct(kind) and any(holds_bytes(kind.field(i).type) for i in range(kind.num_fields))

    skip = set(dataset.roles.vectors)
    return [
        field.name for field in table.schema
        if field.name not in skip and not holds_bytes(field.type) and not (field.name in media and not pa.types.is_string(field.type))
    ]


def result_records(dataset: "Dataset", table: "pa.Table") -> list[dict[str, Any]]:
    """One dict per result row over :func:`readable_columns`, JSON-ready (NaN becomes None)."""
    rows = table.select(readable_columns(dataset, table)).to_pylist()
    return [{name: _json_value(value) for name, value in row.items()} for row in rows]


def results_json(dataset: "Dataset", table: "pa.Table") -> str:
    """The results as a JSON list of records (non-ASCII kept; dates and such as text)."""
    return json.dumps(result_records(dataset, table), ensure_ascii=False, default=str, indent=1)


def results_text(dataset: "Dataset", table: "pa.Table") -> str:
    """The results as an aligned plain-text table, score first, each cell on one line."""
    records = result_records(dataset, table)
    if not records:
        return "no rows"
    names = list(records[0])
    score = next((name for name in reversed(names) if name.endswith("score")), None)
    if score is not None:
        names = [score, *(name for name in names if name != score)]
    cells = [[terminal_safe(name, CELL_CHARS) for name in names]]
    for record in records:
        cells.append([_cell(record[name], name == score) for name in names])
    widths = [max(len(row[i]) for row in cells) for i in range(len(names))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def terminal_safe(value: Any, limit: int | None = None) -> str:
    """``value`` as one line of inert text: whitespace runs become one space, other control
    and format characters (ESC, BEL, U+202E ...) are written as escapes like ``\\x1b``."""
    text = " ".join(str(value).split())
    safe = "".join(
        char if not unicodedata.category(char).startswith("C") else char.encode("unicode_escape").decode("ascii")
        for char in text
    )
    return safe if limit is None or len(safe) <= limit else safe[: limit - 1] + "…"


def _cell(value: Any, is_score: bool) -> str:
    if value is None:
        return ""
    if is_score and isinstance(value, float):
        return f"{value:.4f}"
    return terminal_safe(value, CELL_CHARS)


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (bytes, bytearray)):
        return None
    return value
