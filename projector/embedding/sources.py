"""Loading a file that may hold no embedding yet: texts or images are embedded on the way in.

This is what ``projector serve|project|export PATH --text COL`` does with a table of texts:
a table that already has an embedding loads exactly as :func:`projector.load` loads it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from projector.embedding.choose import ModelSpec
from projector.errors import SchemaError

if TYPE_CHECKING:
    from projector.dataset import Dataset
    from projector.progress import ProgressCallback

__all__ = ["load_embedded"]


def load_embedded(
    source: str | os.PathLike,
    *,
    model: ModelSpec = None,
    device: str = "auto",
    batch_size: int = 64,
    cache: bool = True,
    progress: "ProgressCallback | None" = None,
    **options: Any,
) -> "Dataset":
    """``projector.load(source, **options)``, embedding the ``text`` (or ``image``) column first
    when the file holds no embedding column (see :func:`projector.embedding.embed_table`).

    Raises :class:`~projector.errors.SchemaError` saying to name a text column when there is
    neither an embedding nor a ``text=``/``image=`` to embed.
    """
    from pathlib import Path

    from projector.dataset import Dataset
    from projector.embedding.record import read_embedding_record
    from projector.embedding.table import embed_table
    from projector.loaders import ROLE_OPTIONS, _load_path

    roles = {name: options.pop(name) for name in ROLE_OPTIONS if name in options}
    loaded = _load_path(Path(source).expanduser(), options.pop("format", None), options)
    hints = {**loaded.hints, **roles}
    if "media_root" not in roles and loaded.media_root is not None:
        hints["media_root"] = loaded.media_root
    table, notes = loaded.table, list(loaded.notes)
    if not _has_embedding(table, hints):
        text, image = _first(hints.get("text")), _first(hints.get("image"))
        if text is None and image is None:
            raise SchemaError(
                f"{loaded.source}: no embedding column among {', '.join(map(repr, table.column_names))}; "
                "pass --text COL (text=COL) to embed a text column with a local model, or --vector COL to name the embedding"
            )
        table = embed_table(
            table, text=text, image=image, model=model, device=device, batch_size=batch_size,
            media_root=hints.get("media_root"), cache=cache, progress=progress,
        )
        notes += read_embedding_record(table.schema, "embedding").get("notes", [])
    return Dataset.from_table(table, source=loaded.source, notes=notes, **hints)


def _first(names: Any) -> str | None:
    """The column to embed: the first of several named (the rest stay text/image columns)."""
    if names is None or isinstance(names, str):
        return names
    return next(iter(names), None)


def _has_embedding(table: Any, hints: dict[str, Any]) -> bool:
    """Whether :meth:`Dataset.from_table` would find an embedding column without embedding."""
    from projector.dataset import _infer_vectors
    from projector.schema import roles_from_schema

    if hints.get("vector") or hints.get("vector_prefix"):
        return True
    stored = roles_from_schema(table.schema)
    return bool(stored is not None and stored.vectors) or bool(_infer_vectors(table)[1])
