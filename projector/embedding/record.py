"""Which model made an embedding column, kept in the table's schema metadata.

The record travels with the table through Parquet and Arrow files, so a search on a saved
file embeds its query with the same model, and a cache or a user can tell two embeddings apart.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Mapping

from projector.embedding.models import EmbeddingModelError, ModelInfo

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["MODELS_KEY", "read_embedding_record", "read_model_info", "with_model_info"]

MODELS_KEY = b"projector.embedding_models"  # JSON: {column name: ModelInfo fields + what embed_table adds}


def _records(schema: "pa.Schema") -> dict[str, dict]:
    raw = (schema.metadata or {}).get(MODELS_KEY)
    if not raw:
        return {}
    try:
        records = json.loads(raw)
    except ValueError:
        raise EmbeddingModelError(f"the table's {MODELS_KEY.decode()} metadata is not JSON: {raw!r:.200}") from None
    return records if isinstance(records, dict) else {}


def read_model_info(schema: "pa.Schema", column: str) -> ModelInfo | None:
    """The model recorded for ``column``, or None when the table does not say."""
    record = _records(schema).get(column)
    return None if record is None else ModelInfo.from_json(json.dumps(record))


def read_embedding_record(schema: "pa.Schema", column: str) -> dict[str, Any]:
    """Everything recorded for ``column``: the model's fields plus what embedding it noted
    (``input``: the column embedded, ``notes``: truncated texts, placeholders); {} if none."""
    return dict(_records(schema).get(column) or {})


def with_model_info(table: "pa.Table", column: str, info: ModelInfo, extra: Mapping[str, Any] | None = None) -> "pa.Table":
    """``table`` with ``info`` recorded as the model of ``column`` (other records kept);
    ``extra`` (JSON-ready, e.g. ``{"notes": [...]}``) is kept beside the model's fields."""
    records = _records(table.schema)
    records[column] = {**dict(extra or {}), **json.loads(info.to_json())}
    metadata = dict(table.schema.metadata or {})
    metadata[MODELS_KEY] = json.dumps(records, sort_keys=True).encode()
    return table.replace_schema_metadata(metadata)
