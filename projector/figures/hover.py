"""Hover records over the Bokeh document, for pages without our HTTP routes (notebooks).

In a served page the hover card fetches ``/projector/<name>/row/<i>``. A notebook output lives
on the Jupyter server, which has no such route, so there the card asks Python instead: the page
writes ``{key, row, query}`` into the :attr:`CommHover.ask` source, the change travels over the
notebook's comm, and Python writes the record (thumbnail as a ``data:`` URL) into
:attr:`CommHover.answer`, whose change draws the card (``assets/answer.js``). Comms are
asynchronous: each answer names its key and the page draws it only while that key is still
the one under the pointer, so a late answer never shows the wrong row.

Only Bokeh models and the explore layer's records are needed, so it lives with the figures:
the app's map and the notebook both use it, and neither Panel nor the app is imported here.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from bokeh.models import ColumnDataSource, CustomJS

from projector.errors import ProjectorError
from projector.figures.scripts import script

if TYPE_CHECKING:
    from projector.explore.links import Links

__all__ = ["CommHover", "ANSWER_JS"]

ANSWER_JS = script("card.js") + "\n" + script("answer.js")
_MAX_ASKED = 16  # rows answered per message (the page asks one at a time)


class CommHover:
    """The ask/answer pair of one map; ``endpoint`` prefixes the page's cache keys, so two maps
    in one notebook never share cached cards."""

    def __init__(self, links: "Links") -> None:
        self.links = links
        self.ask = ColumnDataSource(data={"key": [], "row": [], "query": []})
        self.answer = ColumnDataSource(data={"key": [], "record": [], "n": []})
        self.endpoint = f"projector-{self.ask.id}/"
        self.answer.js_on_change("data", CustomJS(args={"answer": self.answer}, code=ANSWER_JS))
        self.ask.on_change("data", self._asked)
        # the hover callbacks' arguments; the answer is among them so that it is part of the page
        self.args = {"ask": self.ask, "answer": self.answer}
        self.answered = 0  # records sent (for tests and diagnostics)

    def _asked(self, attr: str, old, new) -> None:
        keys, rows, queries = (list(new.get(name, []))[:_MAX_ASKED] for name in ("key", "row", "query"))
        self.answer.data = self.respond(keys, rows, queries)

    def respond(self, keys: list, rows: list, queries: list) -> dict[str, list]:
        """The answer source's data for these asks: one JSON record (or ``null``) per key, and
        a running count, so asking again for the same row is a change the page sees."""
        records = []
        for row, query in zip(rows, queries):
            columns = [value for name, value in parse_qsl(str(query).lstrip("?")) if name == "column"]
            try:
                records.append(json.dumps(self.links.hover_record(int(row), columns), ensure_ascii=False))
            except (ProjectorError, ValueError, TypeError):
                records.append("null")
        self.answered += len(records)
        return {"key": [str(key) for key in keys[: len(records)]], "record": records, "n": [self.answered] * len(records)}
