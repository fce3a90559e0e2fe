"""Search by meaning for the page: the ranked rows of a query and their list, UI-free.

Beside the substring and regex search of :meth:`~projector.explore.rows.Rows.search`. The
work (a model load the first time, seconds; then a query, milliseconds) is
:func:`projector.search.search_rows`; a view runs :func:`search_by_meaning` as a job, off the
event loop. The page has no ``model=`` box, so it searches with the model recorded with the
column, and says what to do when there is none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from projector.errors import ProjectorError
from projector.explore.html import escape, truncate

if TYPE_CHECKING:
    from projector.dataset import Dataset
    from projector.explore.rows import Rows

__all__ = ["MeaningHits", "search_by_meaning", "meaning_unavailable", "hits_html", "HIT_TEXT_CHARS"]

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


def meaning_unavailable(dataset: "Dataset", column: str | None = None) -> str | None:
    """Why the page cannot search ``column`` by meaning (None when it can try): the table does
    not say which text model made it. Cheap: nothing is loaded."""
    from projector.embedding import read_model_info

    name = dataset._vector_name(column)
    try:
        info = read_model_info(dataset.table.schema, name)
    except ProjectorError as error:  # a damaged record must not break the page that shows the data
        return f"search by meaning needs the model that made {name!r}: {error}"
    if info is None:
        return (
            f"search by meaning needs the model that made {name!r}, and this data does not record one; "
            "embed the texts with `projector embed` (it records its model), or use `projector search PATH QUERY --model ...`"
        )
    if info.kind != "text":
        return f"{name!r} was embedded by the {info.kind} model {info.name!r}; searching it by text is not available yet"
    return None


def search_by_meaning(dataset: "Dataset", query: str, k: int, column: str | None = None) -> MeaningHits:
    """The ``k`` rows nearest in meaning to ``query`` (blocks: run it as a job)."""
    from projector.search import search_rows

    reason = meaning_unavailable(dataset, column)
    if reason is not None:
        raise ProjectorError(reason)
    rows, scores = search_rows(dataset, query, k, column=column)
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
