"""A shared link runs its search again once the page has painted (SearchView.after_paint).

The page is built as the server builds it (Session, then sync_url reading the link through a
real Panel Location); the hooks Panel runs once a served page has loaded are collected, so the
tests see what happens before the first paint (nothing) and after it (the search). The packaged
MiniLM embeds hand-written sentences (tests/meaning_data.py).
"""

from __future__ import annotations

import numpy as np
import panel as pn
import pytest
from panel.io.location import Location

from projector import Dataset
from projector.app.shell import Session
from projector.explore.store import DataStore
from meaning_data import SENTENCES, TOPICS, sentence_table

DELIVERY = SENTENCES.index(TOPICS["delivery"])
pytestmark = pytest.mark.usefixtures("private_cache")


@pytest.fixture(scope="module")
def store():
    from projector.embedding import load_text_model

    store = DataStore(Dataset.from_table(sentence_table(load_text_model()), text="text", label="kind"), name="sentences")
    store.project("pca")
    yield store
    store.close()


@pytest.fixture
def open_link(monkeypatch):
    """``open_link(store, "?q=...")``: the page a browser gets for that link, and the hooks
    Panel would run once it has painted (``paint()`` runs them)."""

    def open_link(store: DataStore, query: str):
        hooks: list = []
        monkeypatch.setattr(pn.state, "onload", lambda callback, threaded=False: hooks.append(callback))
        location = Location(search=query)
        monkeypatch.setattr(type(pn.state), "location", property(lambda self: location))
        session = Session(store)
        session.sync_url()

        def paint() -> None:
            for hook in hooks:
                hook()

        return session, paint

    return open_link


def _said(session: Session) -> str:
    """The search's result line, as text."""
    import html
    import re

    return html.unescape(re.sub(r"<[^>]+>", "", session.search.result.object))


def _hits(session: Session) -> list[tuple[int, float]]:
    """(row, score) of each listed hit, best first."""
    import re

    return [(int(row), float(score)) for row, score in re.findall(r'data-row="(\d+)"><span class="projector-meaning-score">([0-9.-]+)', session.search.hits.object)]


def test_a_link_searching_by_meaning_lists_its_hits_after_the_first_paint(store, open_link):
    session, paint = open_link(store, "?q=my+parcel+never+came&meaning=true&qk=3")
    search = session.search
    assert search.query.value == "my parcel never came", "the box shows the link's query"
    assert search._watch.job is None and search.hits.object == "" and _said(session) == "", "nothing runs before the paint"
    paint()
    hits = _hits(session)
    assert len(hits) == 3 and hits[0][0] == DELIVERY, hits
    scores = [score for _, score in hits]
    assert scores == sorted(scores, reverse=True) and 0 < scores[-1] < scores[0] <= 1
    assert sorted(session.state.selection.tolist()) == sorted(row for row, _ in hits), "a link without sel= selects the hits"
    assert session.state.url_selection  # ... and the URL now carries them
    assert _said(session).startswith("3 rows nearest in meaning, best first: scores ")


def test_the_selection_a_link_carries_is_kept_over_its_search(store, open_link):
    first, paint = open_link(store, "?q=my+parcel+never+came&meaning=true&qk=3")
    paint()
    same = first.state.url_selection
    again, paint = open_link(store, f"?q=my+parcel+never+came&meaning=true&qk=3&sel={same}")
    paint()
    assert again.state.url_selection == same and _hits(again) == _hits(first)
    assert "kept" not in _said(again), "the link's selection is the hits: nothing to say"
    edited, paint = open_link(store, "?q=my+parcel+never+came&meaning=true&qk=3&sel=0,1")
    paint()
    np.testing.assert_array_equal(edited.state.selection, [0, 1])
    assert _hits(edited)[0][0] == DELIVERY
    assert _said(edited).endswith("; the link's own selection of 2 rows is kept")
    edited.search.query.value = "my parcel never came"
    edited.search._submit()  # a search the user runs selects its own rows again
    assert DELIVERY in edited.state.selection and edited.state.selection.size == 3


def test_a_substring_link_says_how_many_match_again(store, open_link):
    session, paint = open_link(store, "?q=film&qcol=nothing-here")
    assert session.state.search_column == "text", "a column the table lacks falls back to the one shown"
    paint()
    films = [i for i, text in enumerate(SENTENCES) if "film" in text.lower()]
    assert _said(session) == f"{len(films)} matches" and session.search.hits.object == ""
    assert session.state.selection.tolist() == films


def test_a_link_without_a_query_runs_no_search(store, open_link):
    session, paint = open_link(store, "?sel=4,5")
    paint()
    assert session.search._watch.job is None and _said(session) == ""
    assert session.state.selection.tolist() == [4, 5]
