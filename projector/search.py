"""Search by meaning: a text query embedded by the model that made the embedding column, then
looked up in that column's shared neighbour index, in the ORIGINAL space (never on a map).

Which model embeds the query (:func:`query_model`): the one named by ``model=``, else the one
recorded with the column (a CLIP model embeds a text query for a column of images, so
"a photo of a dog" finds dogs) when projector embedded it (:func:`projector.embedding.read_model_info`).
A query embedded by another model than the rows is meaningless, so a dimension mismatch is an
error, and a different model of the same size is a warning. The model is loaded once per
dataset and kept (:meth:`projector._derived.Derived.model`): the next query costs milliseconds.

The score is the cosine similarity of query and row, in [-1, 1] (1: the same direction). Rows
that repeat another row's vector exactly each appear, with equal scores, in row order, so a
result lists every copy rather than hiding some.
"""

from __future__ import annotations

import os
import warnings
from typing import TYPE_CHECKING, Sequence

import numpy as np

from projector.errors import ParameterError, ProjectorWarning, SchemaError

if TYPE_CHECKING:
    import pyarrow as pa

    from projector.dataset import Dataset
    from projector.embedding import EmbeddingModel, ModelInfo

__all__ = ["SCORE_COLUMN", "query_model", "embed_queries", "search_rows", "search"]

SCORE_COLUMN = "score"  # "search_score" when the data already has a column named score
_METRIC = "cosine"  # the score is a cosine similarity, so the search is in cosine


def query_model(dataset: "Dataset", column: str | None = None, model: str | os.PathLike | None = None, *, device: str = "auto") -> "EmbeddingModel":
    """The model that embeds text queries for ``column`` (default: the first embedding).

    ``model`` (a local sentence-transformers folder, or ``"all-MiniLM-L6-v2"``, the packaged
    default) wins over the model recorded with the column. Raises :class:`SchemaError` when
    neither says which model, or when the model's dimension is not the column's, and
    :class:`~projector.embedding.EmbeddingModelError` when the model cannot be loaded.
    """
    from projector.embedding import read_model_info

    name = dataset._vector_name(column)
    recorded = read_model_info(dataset.table.schema, name)
    dim = int(dataset.table.column(name).type.list_size)
    if model is None and recorded is None:
        raise SchemaError(
            f"{name!r} has no record of the model that made it (it was embedded outside projector); "
            "pass model= (--model) naming that model: a local sentence-transformers folder, or 'all-MiniLM-L6-v2'"
        )
    loaded = _load(dataset, model if model is not None else _recorded_folder(recorded, name), device)
    if loaded.info.dim != dim:
        raise SchemaError(
            f"model {loaded.info.name!r} makes {loaded.info.dim}-dimensional vectors but {name!r} holds "
            f"{dim}-dimensional ones; pass model= (--model) naming the model that made {name!r}"
        )
    if recorded is not None and recorded.revision != loaded.info.revision:
        warnings.warn(
            f"{name!r} was embedded by {recorded.name!r} (revision {recorded.revision}) but queries are embedded "
            f"by {loaded.info.name!r} (revision {loaded.info.revision}); scores compare two models' vectors",
            ProjectorWarning,
            stacklevel=2,
        )
    return loaded


def embed_queries(dataset: "Dataset", texts: Sequence[str], column: str | None = None, model: str | os.PathLike | None = None) -> np.ndarray:
    """``(len(texts), D)`` float32: ``texts`` embedded in ``column``'s space (see :func:`query_model`)."""
    for text in texts:
        if not isinstance(text, str) or not text.strip():
            raise ParameterError(f"query={text!r}: search by meaning needs some words, e.g. 'refund my money'")
    return query_model(dataset, column, model).encode(list(texts))


def search_rows(
    dataset: "Dataset", query: str, k: int = 10, *, column: str | None = None, model: str | os.PathLike | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, scores)``: the row positions of the ``k`` rows nearest in meaning to ``query``,
    best first, and their cosine similarities. Equal scores come in row order."""
    from projector.validation import check_k

    k = check_k(k)  # before the model loads: a bad k should not cost seconds
    vector = embed_queries(dataset, [query], column, model)
    distances, rows = dataset.index(column, _METRIC).search(vector, k)
    scores = (1.0 - distances[0]).astype(np.float32)
    order = np.lexsort((rows[0], -scores))  # best first; copies of one vector in row order
    return rows[0][order].astype(np.int64), scores[order]


def search(
    dataset: "Dataset", query: str, k: int = 10, *, column: str | None = None, model: str | os.PathLike | None = None
) -> "pa.Table":
    """The ``k`` rows of ``dataset`` nearest in meaning to ``query``, best first, with a
    ``score`` column (cosine similarity; see the module's notes on duplicates). See
    :meth:`projector.Dataset.search`."""
    import pyarrow as pa

    rows, scores = search_rows(dataset, query, k, column=column, model=model)
    table = dataset.table.take(pa.array(rows))
    name = SCORE_COLUMN if SCORE_COLUMN not in table.column_names else f"search_{SCORE_COLUMN}"
    return table.append_column(name, pa.array(scores, pa.float32()))


def _recorded_folder(recorded: "ModelInfo", column: str) -> str:
    """Where the recorded model is on this machine: its folder, or the packaged default."""
    from pathlib import Path

    from projector.embedding import DEFAULT_TEXT_MODEL

    if Path(recorded.path).is_dir():
        return recorded.path
    if recorded.name == DEFAULT_TEXT_MODEL:
        return DEFAULT_TEXT_MODEL
    raise SchemaError(
        f"{column!r} was embedded by {recorded.name!r} from {recorded.path!r}, which is not on this machine; "
        "pass model= (--model) naming a local copy of it"
    )


def _load(dataset: "Dataset", model: str | os.PathLike, device: str) -> "EmbeddingModel":
    """The model, loaded once per dataset, folder and device and kept on the dataset: a
    sentence-transformers model, or a CLIP model (whose text tower embeds queries for images)."""
    from projector.embedding.choose import load_model
    from projector.embedding.models import model_folder

    _, folder = model_folder(model)
    return dataset._derived.model(("text", str(folder), device), lambda: load_model(model, device=device))
