"""Search by meaning for the page: the ranked rows of a query and their list, UI-free.

Beside the substring and regex search of :meth:`~projector.explore.rows.Rows.search`. The
work (a model load the first time, seconds; then a query, milliseconds) is
:func:`projector.search.search_rows`; a view runs :func:`search_by_meaning` as a job, off the
event loop. The page has no ``model=`` box: it searches with the model ``projector serve
--model`` names (:attr:`~projector.explore.store.DataStore.search_model`, for embeddings brought
without a record; it wins over a record, as ``model=`` does in :meth:`projector.Dataset.search`),
else with the model recorded with the column, and says what to pass when there is neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from projector.errors import ProjectorError, SchemaError
from projector.explore.html import escape, truncate

if TYPE_CHECKING:
    from projector.dataset import Dataset
    from projector.explore.rows import Rows

__all__ = ["MeaningHits", "search_by_meaning", "meaning_unavailable", "named_model_notes", "hits_html", "HIT_TEXT_CHARS"]

HIT_TEXT_CHARS = 120  # of each hit's text in the ranked list


@dataclass(frozen=True)
class MeaningHits:
    """The rows nearest in meaning to ``query`` in embedding ``column``, best first, with their
    cosine similarities."""

    query: str
    column: str
    rows: np.ndarray  # (k,) int64 row positions, best first
    scores: np.ndarray  # (k,) float32

    def __len__(self) -> int:
        return int(self.rows.size)


def meaning_unavailable(dataset: "Dataset", column: str | None = None, model: str | None = None) -> str | None:
    """Why the page cannot search ``column`` by meaning (None when it can try): neither a
    ``model`` named to the page (``serve --model``) nor the table says which text model made
    it. Cheap: nothing is loaded (a named model's fit is checked when it loads)."""
    from projector.embedding import read_model_info

    name = dataset._vector_name(column)
    if model is not None:
        return None
    try:
        info = read_model_info(dataset.table.schema, name)
    except ProjectorError as error:  # a damaged record must not break the page that shows the data
        return f"search by meaning needs the model that made {name!r}: {error}"
    if info is None:
        return (
            f"search by meaning needs the model that made {name!r}, and this data does not record one; "
            "name it with `projector serve PATH --model NAME_OR_PATH` (a local sentence-transformers folder, or "
            "all-MiniLM-L6-v2), or embed the texts with `projector embed` (it records its model)"
        )
    if info.kind != "text":
        return f"{name!r} was embedded by the {info.kind} model {info.name!r}; searching it by text is not available yet"
    return None


def named_model_notes(dataset: "Dataset", name: str, revision: str) -> list[str]:
    """What to say when ``serve --model`` (model ``name``, content hash ``revision``) is not
    the model recorded with an embedding column: the named model wins, as ``model=`` does in
    :meth:`~projector.Dataset.search`, but queries and rows then come from two models. Cheap:
    only the records are read."""
    from projector.embedding import read_model_info

    notes = []
    for column in dataset.roles.vectors:
        try:
            info = read_model_info(dataset.table.schema, column)
        except ProjectorError:
            continue  # a damaged record says nothing to compare
        if info is not None and info.revision != revision:
            notes.append(
                f"{column!r} was embedded by {info.name!r} (revision {info.revision}) but --model names {name!r} "
                f"(revision {revision}): searches by meaning embed queries with {name!r}, so scores compare two models' vectors"
            )
    return notes


def search_by_meaning(dataset: "Dataset", query: str, k: int, column: str | None = None, model: str | None = None) -> MeaningHits:
    """The ``k`` rows nearest in meaning to ``query``, embedded by ``model`` (``serve --model``)
    or else the recorded model (blocks: run it as a job). A named model that does not fit the
    column (another dimension) is an error naming both sizes and the flag to change."""
    from projector.search import search_rows

    reason = meaning_unavailable(dataset, column, model)
    if reason is not None:
        raise ProjectorError(reason)
    try:
        rows, scores = search_rows(dataset, query, k, column=column, model=model)
    except SchemaError as error:
        if model is None:
            raise
        raise SchemaError(f"`projector serve --model {model}` does not fit this data: {error}") from None
    return MeaningHits(query, dataset._vector_name(column), rows, scores)


def hits_html(hits: MeaningHits, rows: "Rows", text_column: str | None) -> str:
    """The ranked list: rank, score and the row's text (escaped), best first."""
    items = []
    for rank, (row, score) in enumerate(zip(hits.rows.tolist(), hits.scores.tolist()), start=1):
        value = rows.value(text_column, row) if text_column else None
        text = truncate(" ".join(str(value).split()), HIT_TEXT_CHARS) if value is not None else f"row {row}"
        items.append(
            f'<li class="projector-meaning-hit" data-row="{row}"><span class="projector-meaning-score">{score:.3f}</span> '
            f"{escape(text)}</li>"
        )
    if not items:
        return ""
    return f'<ol class="projector-meaning-hits" style="margin:0;padding-left:1.6em;font-size:12px">{"".join(items)}</ol>'
