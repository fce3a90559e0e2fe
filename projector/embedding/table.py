"""Embedding a table: its text or image column in, the same table plus an embedding column out.

The result is cached on disk (kind ``"embedding"``), keyed by the content hash of the inputs,
the model's revision (a hash of its files) and what was embedded, so a second run finds it
without loading the model. The model, the column embedded and what had to be substituted
(empty texts, placeholder images, texts cut at the model's limit) are recorded in the
table's schema metadata (:func:`projector.embedding.read_embedding_record`).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from projector.embedding.choose import ModelSpec, choose_model, load_model
from projector.embedding.inputs import Inputs, image_inputs, text_inputs
from projector.embedding.models import ModelInfo
from projector.embedding.record import with_model_info
from projector.errors import ProjectorError, ProjectorWarning, SchemaError

if TYPE_CHECKING:
    from projector.cache import Cache
    from projector.progress import ProgressCallback

__all__ = ["embed_table"]

_LIBRARIES = ("torch", "transformers", "sentence-transformers")


def embed_table(
    table: pa.Table,
    *,
    text: str | None = None,
    image: str | None = None,
    model: ModelSpec = None,
    device: str = "auto",
    batch_size: int = 64,
    column: str = "embedding",
    overwrite: bool = False,
    media_root: str | Path | None = None,
    cache: "Cache | bool" = True,
    progress: "ProgressCallback | None" = None,
) -> pa.Table:
    """``table`` plus ``column``: a ``fixed_size_list<float32>[dim]`` embedding of one column.

    Args:
        text: the column of texts to embed. Missing texts embed as "" (a warning counts them);
            texts past the model's token limit are cut by the model (a warning counts them).
        image: the column of images to embed (bytes, ``{bytes, path}`` structs, or paths under
            ``media_root``); needs a CLIP ``model``. When given, the images are embedded and
            ``text`` is not. A broken image embeds as the grey placeholder (counted warning).
        model: a local model folder, None for the packaged all-MiniLM-L6-v2, or a model
            already loaded (:func:`projector.embedding.load_model`). Never downloads.
        device: "auto" (CUDA when present), "cpu" or "cuda".
        column: the new column's name; an existing column is replaced only with ``overwrite``.
        cache: True for the default on-disk cache, False for none, or a :class:`~projector.cache.Cache`.
        progress: called as batches finish (see :mod:`projector.progress`).
    """
    if text is None and image is None:
        raise SchemaError("nothing to embed: name a text column (text=COL, --text COL) or an image column (image=COL, --image COL)")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ProjectorError(f"batch_size={batch_size!r} must be a whole number >= 1, e.g. 64")
    if column in table.column_names and not overwrite:
        raise SchemaError(f"the table already has a column {column!r}; name another (column=NAME, --column NAME) or pass overwrite=True")
    source = ("image", image) if image is not None else ("text", text)
    inputs = image_inputs(table, image, Path(media_root) if media_root is not None else None) if image is not None else text_inputs(table, text)
    vectors, info, notes = _embed(inputs, source, model, device, batch_size, cache, progress)
    for note in notes:
        warnings.warn(note, ProjectorWarning, stacklevel=2)
    array = pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1), pa.float32()), info.dim)
    if column in table.column_names:
        table = table.set_column(table.column_names.index(column), column, array)
    else:
        table = table.append_column(column, array)
    return with_model_info(table, column, info, {"input": {source[0]: source[1]}, "notes": notes})


def _embed(inputs: Inputs, source: tuple[str, str], model: ModelSpec, device: str, batch_size: int, cache: Any, progress: Any):
    """(vectors, model info, notes), from the cache when it holds them, else from the model."""
    from projector.cache import Cache, cache_key, values_hash

    store = Cache() if cache is True else (cache or None)
    images = source[0] == "image"
    notes = [inputs.note] if inputs.note else []
    key = None
    if store is not None:
        revision = model.info.revision if hasattr(model, "info") else choose_model(model, images=images).revision
        key = cache_key("embedding", values_hash(inputs.values), {"model": revision, "input": source[0]}, _versions())
        hit = store.get(key)
        if hit is not None:
            return np.asarray(hit.arrays["vectors"]), ModelInfo.from_json(hit.meta["model"]), notes + list(hit.meta["notes"])
    loaded = load_model(model, device=device, images=images)
    cut: list[str] = []
    if images:
        vectors = loaded.encode_images(inputs.values, batch_size=batch_size, progress=progress)
    else:
        vectors = loaded.encode(inputs.values, batch_size=batch_size, progress=progress)
        count = loaded.count_truncated(inputs.values)
        if count:
            limit = loaded.info.max_tokens
            cut.append(
                f"{count:,} of {len(inputs.values):,} texts in {source[1]!r} are longer than the model's limit of "
                f"{limit} tokens; the model embedded their first {limit} tokens"
            )
    if store is not None and key is not None:
        store.put(key, {"vectors": vectors}, {"model": loaded.info.to_json(), "notes": cut})
    return vectors, loaded.info, notes + cut


def _versions() -> dict[str, str]:
    """The libraries whose versions may change an embedding's numbers."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for package in _LIBRARIES:
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            continue
    return out
