"""The page's list of likely mislabels (app/views/suspects.py), driven through the state in
plain pytest; tests/browser/test_suspects_browser.py clicks it in a real page."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import projector
from projector.app.shell import Session
from projector.app.views.suspects import SuspectsView, suspect_options
from projector.explore.store import DataStore

pytestmark = pytest.mark.usefixtures("private_cache")  # a fresh cache per test (tests/conftest.py)

HOSTILE = "<img src=x onerror=alert(1)>"
FLIPPED = {4: HOSTILE, 50: "a", 100: "b"}  # rows labelled as another blob


def _table(n: int = 150, second_label: bool = False) -> pa.Table:
    rng = np.random.default_rng(1)
    blob = np.arange(n) * 3 // n
    vectors = (np.eye(8)[blob] * 10 + rng.standard_normal((n, 8)) * 0.5).astype(np.float32)
    columns = {
        "emb": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), 8),
        "label": [FLIPPED.get(i, "abc"[b]) for i, b in enumerate(blob)],
    }
    if second_label:
        columns["kind"] = ["xy"[i % 2] for i in range(n)]  # unrelated to the space: many suspects
    return pa.table(columns)


@pytest.fixture
def store():
    store = DataStore(projector.Dataset.from_table(_table(), vector="emb", label="label"), name="blobs")
    store.project("pca")
    yield store
    store.close()


def test_the_list_waits_for_the_checks_then_shows_them_most_doubtful_first(store):
    from projector.app.state import ViewState

    view = SuspectsView(store, ViewState(num_rows=store.num_rows))
    assert store.checks is None  # nothing computed before a page has painted
    assert view.list.options == {} and "found once the page has painted" in view.summary.object
    view.after_paint()  # outside a served page the watch waits for the checks
    found = store.suspects.mislabels("label")
    assert store.checks.state == "done" and found is not None and found.count == len(FLIPPED)
    assert list(view.list.options.values()) == found.rows().tolist() and set(FLIPPED) == set(view.list.options.values())
    first = next(iter(view.list.options))
    assert first.startswith("100% · row ") and "of 10 neighbours are" in first
    assert f"row 4 labelled {HOSTILE}: 10 of 10 neighbours are a" in " | ".join(view.list.options)  # option text, never markup
    assert "3 of 150 rows are likely mislabelled in <b>label</b>" in view.summary.object
    assert view.list.options == suspect_options(found)
    later = SuspectsView(store, ViewState(num_rows=store.num_rows))  # a page opened later lists the same checks at once
    assert later.list.options == view.list.options


def test_picking_a_suspect_focuses_and_selects_it_and_keeps_the_list_open(store):
    session = Session(store)
    tab = session.details.titles.index("Mislabels")
    session.details.tabs.active = tab
    view = session.suspects
    view.list.value = [50]
    assert session.state.focused == 50 and session.state.selection.tolist() == [50]
    assert session.details.tabs.active == tab  # the next suspect is one click away
    assert session.details.filled(1) and session.details.filled(2)  # its neighbours and card are ready when opened
    view.list.value = [50, 100]  # ctrl-click adds one: both selected, the new one focused
    assert session.state.selection.tolist() == [50, 100] and session.state.focused == 100
    session.state.focused = 4  # a click on the map still opens the neighbours when the list is not shown
    session.details.tabs.active = 0
    session.state.focused = 50
    assert session.details.tabs.active == 1


def test_each_label_column_has_its_list_and_pages_without_labels_have_none():
    store = DataStore(projector.Dataset.from_table(_table(second_label=True), vector="emb", label=["label", "kind"]), name="two")
    store.project("pca")
    session = Session(store)
    view = session.suspects
    assert view.column.visible and view.column.options == ["label", "kind"]
    view.column.value = "kind"
    found = store.suspects.mislabels("kind")
    assert found.count > len(FLIPPED) and list(view.list.options.values()) == found.rows()[: len(view.list.options)].tolist()
    assert "kind" in view.summary.object
    store.close()
    plain = DataStore(projector.Dataset.from_table(_table().drop(["label"]), vector="emb"), name="plain")
    plain.project("pca")
    assert Session(plain).suspects is None and "Mislabels" not in Session(plain).details.titles
    plain.close()


def test_a_hostile_label_column_name_is_text_in_every_tab_and_menu():
    """The column NAME comes from data too: the Mislabels summary, the 'Contours of' menu, the
    colour-by menu's derived entries and the legend all show it as text, never markup."""
    from projector.app.state import ViewState

    named = "<b onmouseover=alert(3)>lbl</b>"
    table = _table().rename_columns(["emb", named])
    store = DataStore(projector.Dataset.from_table(table, vector="emb", label=named), name="hostile names")
    store.project("pca")
    try:
        session = Session(store)
        view = SuspectsView(store, ViewState(num_rows=store.num_rows))
        view.after_paint()
        view.refresh()
        assert "&lt;b onmouseover=alert(3)&gt;lbl&lt;/b&gt;" in view.summary.object and named not in view.summary.object
        assert named in session.overlays.contours_by.options.values()  # a Select option: text in Bokeh
        assert f"mislabel share: {named}" in store.suspects.names
        session.state.color_by = named
        assert "&lt;b onmouseover=alert(3)&gt;lbl" in session.legend.panel.object and named not in session.legend.panel.object
    finally:
        store.close()


def test_a_label_column_of_one_value_gets_no_mislabel_list():
    """Every row labelled alike: nothing to doubt, so no mislabel column, tab or menu entry;
    a second, varied label column still gets them."""
    digits = projector.demo()
    table = digits.table.append_column("source", pa.array(["scan"] * digits.num_rows))
    one = DataStore(projector.Dataset.from_table(table, vector="pixels", label="source"), name="one")
    both = DataStore(projector.Dataset.from_table(table, vector="pixels", label=["source", "label"]), name="both")
    try:
        assert one.suspects.labels == [] and not any(name.startswith("mislabel share") for name in one.suspects.names)
        assert Session(one).suspects is None
        assert both.suspects.labels == ["label"]
        assert list(Session(both).suspects.column.options) == ["label"]
    finally:
        one.close()
        both.close()
