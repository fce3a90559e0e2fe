"""A session's views driven through its state, in plain pytest (the browser tests cover drawing)."""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import panel as pn
import pytest

import projector
from projector.app.shell import Session, error_page
from projector.explore.store import DataStore
from projector.app.views.legend import legend_html

HOSTILE = "<img src=x onerror=alert(1)>"
SCRIPT = "</script><script>alert(2)</script>"


pytestmark = pytest.mark.usefixtures("private_cache")  # a fresh cache per test (tests/conftest.py)


@pytest.fixture(scope="module")
def store():
    rng = np.random.default_rng(0)
    n = 90
    centers = rng.standard_normal((3, 16)) * 6
    vectors = (centers[np.arange(n) % 3] + rng.standard_normal((n, 16))).astype(np.float32)
    table = pa.table(
        {
            "emb": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), 16),
            "text": [HOSTILE if i == 0 else SCRIPT if i == 1 else f"$5 to $10, item {i}" for i in range(n)],
            "label": [["<b>bold</b>", "b", "c"][i % 3] for i in range(n)],
            "score": np.linspace(0, 1, n),
        }
    )
    store = DataStore(projector.Dataset.from_table(table, vector="emb", label="label", text="text"), name="hostile")
    store.project("pca")
    return store


@pytest.fixture
def session(store):
    return Session(store)


def test_a_new_session_shows_the_first_map_coloured_by_label(session, store):
    assert session.state.map_key == "PCA of emb"
    assert session.state.color_by == "label"
    assert session.map.source.data["x"].dtype == np.float32  # binary arrays, not lists
    assert session.map.source.data["x"].size == store.num_rows
    assert "90 points, all drawn" in session.header.object


def test_sessions_do_not_share_state(store):
    first, second = Session(store), Session(store)
    first.state.select([1, 2])
    assert second.state.selection.size == 0


def test_click_focuses_the_nearest_point_and_lists_its_neighbours(session):
    x, y = session.map._x, session.map._y
    session.map.click(float(x[7]), float(y[7]))
    assert session.state.focused == 7
    np.testing.assert_array_equal(session.state.selection, [7])
    html = session.neighbors.list.object
    assert html.count('class="projector-neighbor"') == 10
    assert "also among its 10 nearest on the map" in html
    assert len(session.map.links.data["x1"]) == 10
    session.state.neighbor_k = 3
    assert session.neighbors.list.object.count('class="projector-neighbor"') == 3


def test_box_and_lasso_select_rows_on_the_server(session):
    x, y = session.map._x, session.map._y
    x0, x1 = float(np.quantile(x, 0.2)), float(np.quantile(x, 0.8))
    session.map.select_geometry({"type": "rect", "x0": x0, "x1": x1, "y0": float(y.min()), "y1": float(y.max())})
    expected = np.flatnonzero((x >= x0) & (x <= x1))
    np.testing.assert_array_equal(session.state.selection, expected)
    assert session.map.source.selected.indices == expected.tolist()
    assert f"{expected.size:,} of 90 selected" in session.selection.count.object


def test_filters_and_isolate_narrow_what_is_drawn(session):
    session.state.filters = {"label": ["b"]}
    assert session.map.visible.sum() == 30
    assert "30 of 90 points drawn" in session.header.object
    session.state.select([1, 4, 5])
    session.state.isolate = True
    np.testing.assert_array_equal(np.flatnonzero(session.map.visible), [1, 4])  # 5 is label c
    session.state.filters = {}
    session.state.clear_selection()
    assert session.map.visible is None


def test_search_selects_matches_and_reports_bad_regex(session):
    session.search.column.value = "text"
    session.search.query.value = r"item \d$"
    session.state.search_regex = True
    session.search._submit()
    np.testing.assert_array_equal(session.state.selection, np.arange(2, 10))
    assert "8 matches" in session.search.result.object
    session.search.query.value = "("
    session.search._submit()
    assert "not a valid regular expression" in session.search.result.object


def test_colour_by_changes_the_legend_and_escapes_names(session, store):
    assert "&lt;b&gt;bold&lt;/b&gt;" in session.legend.panel.object
    assert "<b>bold</b>" not in session.legend.panel.object
    session.state.color_by = "score"
    assert session.legend.panel.object == ""  # numbers get a colour bar instead
    assert session.map.colorbar.visible
    session.state.color_by = "k-NN preserved: PCA of emb"  # scored in the background, drawn when it arrives
    assert store.quality_job(store.map("PCA of emb"), (0, 1)).wait(120)
    session.map_controls._refresh_maps()
    assert session.map.colors.kind == "numeric"


def test_user_strings_never_reach_html_unescaped(session, store):
    session.state.focused = 0
    card = session.card.panel.object
    assert HOSTILE not in card and "&lt;img src=x onerror=alert(1)&gt;" in card
    session.state.focused = 1
    assert "</script>" not in session.card.panel.object
    session.state.select([0, 1])
    table = session.selection.table.object
    assert HOSTILE not in table and "</script>" not in table
    assert "</script>" not in session.neighbors.list.object and HOSTILE not in session.neighbors.list.object
    assert HOSTILE not in legend_html(store.colors("text", 100))
    page = error_page("x<script>", "bad <img src=x onerror=alert(1)>")
    assert "<script>" not in page[0].object and HOSTILE not in page[1].object


def test_switching_maps_and_pca_axes(session, store):
    entry = store.project("pca", params={"dims": 3})
    session.state.pca_y = 3
    np.testing.assert_allclose(session.map._y, store.map(session.state.map_key).coords[:, 2])
    session.state.map_key = entry.key
    assert session.map_controls.maps.value == entry.key


def test_the_parameter_form_is_built_when_opened(session):
    controls = session.map_controls
    assert not any(isinstance(w, pn.widgets.Widget) for w in controls.params.objects) and not controls.params.visible
    assert controls.options() == {}  # closed: the method's defaults
    controls.tune.value = True
    assert controls.params.visible and "n_neighbors" in [w.label for w in controls.params.objects]
    controls.method.value = "t-SNE"
    assert "perplexity" in [w.label for w in controls.params.objects]
    controls.tune.value = False
    assert not controls.params.visible and "perplexity" in controls.options()  # what was typed still counts


def test_controls_validate_parameters_before_computing(session):
    session.map_controls.tune.value = True
    session.map_controls.method.value = "UMAP"
    names = [widget.label for widget in session.map_controls.params.objects]
    assert "n_neighbors" in names and "backend" not in names
    n_neighbors = next(w for w in session.map_controls.params.objects if w.label == "n_neighbors")
    assert (n_neighbors.start, n_neighbors.end) == (2, 200)
    assert session.map_controls.options()["n_neighbors"] == 15
    min_dist = next(w for w in session.map_controls.params.objects if w.label == "min_dist")
    min_dist.value = 7.0
    session.map_controls._start()
    assert "min_dist" in session.map_controls.status.object and session.map_controls.job is None


def test_a_link_with_stale_values_falls_back_safely(store):
    session = Session(store)
    session.state.url_selection = "1,2,999"  # rows past the end are dropped as the link is read
    np.testing.assert_array_equal(session.state.selection, [1, 2])
    session.state.map_key = "UMAP of nothing"
    session.state.focused = 10_000
    session._check_url_state()
    assert session.state.map_key == store.map_keys[0]
    assert "not computed here" in session.state.message
    assert session.state.focused is None
    np.testing.assert_array_equal(session.state.selection, [1, 2])


def test_computing_a_map_from_the_form_shows_it_when_done(store):
    session = Session(store)
    controls = session.map_controls
    controls.method.value = "t-SNE"
    controls.tune.value = True
    next(w for w in controls.params.objects if w.label == "n_iter").value = 50
    next(w for w in controls.params.objects if w.label == "early_exaggeration_iter").value = 50
    controls._start()
    assert controls.progress.visible and controls.cancel.visible and controls.compute.disabled
    assert controls.job.wait(120), controls.job.describe()
    controls.poll()
    assert controls.job.state == "done", controls.job.describe()
    assert session.state.map_key.startswith("t-SNE of emb")
    assert not controls.progress.visible and not controls.compute.disabled
    assert session.map._x.size == store.num_rows
    # the map paints at once; its quality follows from the background
    job = store.quality_job(store.map(session.state.map_key), (0, 1))
    assert "trustworthiness" in controls.about.object or "quality: computing in the background" in controls.about.object
    assert job.wait(120), job.describe()
    controls._refresh_maps()
    assert "trustworthiness" in controls.about.object


def test_datasets_served_together_are_linked_from_the_header(store):
    session = Session(store, others=["hostile", "run-step1", "<x>"])
    assert 'href="./run-step1"' in session.header.object  # relative: also under --prefix
    assert 'href="./hostile"' not in session.header.object  # not itself
    assert "&lt;x&gt;" in session.header.object and "<x>" not in session.header.object


def test_comparing_two_embeddings_draws_linked_maps_and_offers_the_overlap_as_a_colour():
    rng = np.random.default_rng(0)
    n = 120
    a = (np.repeat(rng.standard_normal((12, 8)) * 10, 10, axis=0) + rng.standard_normal((n, 8))).astype(np.float32)
    b = a.copy()
    moved = np.arange(0, n, 2)
    b[moved] = a[rng.permutation(moved)]
    dataset = projector.Dataset.from_arrays({"a": a, "b": b}, metadata={"group": [str(i // 10) for i in range(n)]}, label="group")
    compare_store = DataStore(dataset, name="pair")
    compare_store.project("pca")
    session = Session(compare_store)
    assert session.compare is not None
    session.compare.start()
    assert session.compare.job.wait(120), session.compare.job.describe()
    session.compare.poll()
    assert session.compare.job.state == "done", session.compare.job.describe()
    assert len(session.compare.result.objects) == 1
    assert session.state.color_by == "10-NN overlap: a vs b"
    values = session.map.colors.values
    assert session.map.colors.kind == "numeric"
    np.testing.assert_allclose(values, projector.compare(dataset, "a", "b", k=10).jaccard)
    assert values[::2].mean() < values[1::2].mean()  # the moved rows lost more of their neighbourhoods
    assert "10-NN overlap: a vs b" in session.style.color.options.values()


def test_single_embedding_datasets_have_no_compare_tab(session):
    assert session.compare is None


def test_chosen_hover_columns_travel_in_the_row_url(session):
    session.style.hover.value = ["score", "text"]
    assert session.state.hover_columns == ["score", "text"]
    assert session.map.hover.callback.args["query"] == "?column=score&column=text"
    assert session.map.raster.hover_callback.args["query"] == "?column=score&column=text"


@pytest.mark.parametrize("webgl", [True, False])
def test_the_map_opens_on_the_bulk_and_resets_to_every_point(webgl):
    rng = np.random.default_rng(3)
    n = 400
    x, y = rng.standard_normal(n), rng.standard_normal(n)
    x[-4:] += 100.0  # 1% of the rows flung far away
    vectors = rng.standard_normal((n, 4)).astype(np.float32)
    table = pa.table({"emb": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), 4), "x": x, "y": y})
    store = DataStore(projector.Dataset.from_table(table, vector="emb"), name="far", x="x", y="y")
    session = Session(store, webgl_max_points=n if webgl else n - 1)
    assert session.map.mode == ("webgl" if webgl else "raster")
    xr, yr = session.map.figure.x_range, session.map.figure.y_range
    assert xr.start <= x[:-4].min() and x[:-4].max() <= xr.end < 10  # the bulk, not squeezed
    assert xr.reset_start < x.min() and x.max() < xr.reset_end  # reset shows the far rows too
    assert (yr.start, yr.end) == (yr.reset_start, yr.reset_end)  # nothing far along y
    assert yr.start < y.min() and y.max() < yr.end
    if not webgl:  # the raster is rendered for the first view, not the full extent
        image = session.map.raster.source.data
        assert image["x"][0] == xr.start and image["x"][0] + image["dw"][0] == pytest.approx(xr.end)


# -- first paint, background work, maps of other columns -----------------------------------------


def _two_columns(n: int = 120) -> projector.Dataset:
    """Two embedding columns of the same rows whose neighbourhoods differ."""
    rng = np.random.default_rng(5)
    a = rng.standard_normal((n, 12)).astype(np.float32)
    b = rng.standard_normal((n, 12)).astype(np.float32)
    return projector.Dataset.from_arrays({"a": a, "b": b}, {"label": [f"c{i % 3}" for i in range(n)]})


def test_the_first_map_paints_before_quality_and_umap_follows_in_the_background(tmp_path):
    from projector.app import open_sources

    path = tmp_path / "points.parquet"
    _two_columns().to_parquet(path)
    lines: list[str] = []
    [store] = open_sources([str(path)], {}, report=lines.append)
    first = store.map(store.first_map)
    assert store.first_map == "PCA of a" and first.projection.quality is None  # nothing scored before serving
    assert any("umap follows in the background once a page has painted" in line for line in lines)
    assert store.auto_job is None  # nothing runs before a page has painted (outside a server: at once)
    stays, follows = Session(store), Session(store)
    assert store.auto_job is not None
    stays.state.pca_y = 3  # a user who chose what to look at keeps it
    assert store.auto_job.wait(120), store.auto_job.describe()
    for session in (stays, follows):
        session.map_controls._refresh_maps()
    assert follows.state.map_key == "UMAP of a" and "UMAP of a is ready: showing it now" in follows.state.message
    assert stays.state.map_key == "PCA of a" and "pick it in the Map list" in stays.state.message
    later = Session(store)  # a page opened after the background map is ready starts on it
    assert later.state.map_key == "UMAP of a" and later.state.message == ""
    # the quality shown is that of the axes drawn: PC1 / PC3 on the page that chose them
    job = store.quality_job(first, (0, 2))
    assert job.wait(120), job.describe()
    stays.map_controls._refresh_maps()
    assert "(of PC1 / PC3)" in stays.map_controls.about.object
    store.close()


@pytest.mark.parametrize(("method", "expected"), [("none", None), ("pca", None), ("tsne", "tsne"), ("auto", "umap")])
def test_serve_method_chooses_the_background_map(tmp_path, method, expected):
    from projector.app import open_sources

    path = tmp_path / "points.parquet"
    _two_columns(40).to_parquet(path)
    [store] = open_sources([str(path)], {}, method=method, report=lambda line: None)
    assert store.auto_method == expected
    Session(store)  # its page has painted
    job = store.auto_job
    assert (job is None) == (expected is None)
    if job is not None:
        assert job.wait(120) and job.result.method == expected
    store.close()


def test_neighbours_are_searched_in_the_column_of_the_map_shown():
    dataset = _two_columns()
    store = DataStore(dataset, name="two")
    store.project("pca", column="a")
    store.project("pca", column="b")
    session = Session(store)
    session.state.map_key = "PCA of b"
    session.state.focused = 7
    expected, _ = dataset.neighbors(7, k=session.state.neighbor_k, column="b")
    listed = [int(row) for row in re.findall(r'data-row="(\d+)"', session.neighbors.list.object)]
    assert listed == [int(i) for i in expected[0]]
    assert "distance in b" in session.neighbors.list.object
    session.state.map_key = "PCA of a"
    listed_a = [int(row) for row in re.findall(r'data-row="(\d+)"', session.neighbors.list.object)]
    assert listed_a == [int(i) for i in dataset.neighbors(7, k=session.state.neighbor_k, column="a")[0][0]]
    assert listed_a != listed
    store.close()


def test_hidden_tabs_reach_the_page_when_first_opened(store):
    session = Session(store)
    details = session.details
    assert details.tabs[0] is session.selection.panel
    assert not details.filled(1) and not details.filled(2)  # not sent with the page
    session.map.click(float(session.map._x[7]), float(session.map._y[7]))  # a focused row fills both
    assert details.tabs.active == 1
    assert details.tabs[1] is session.neighbors.panel and details.tabs[2] is session.card.panel
    details.tabs.active = 0
    assert details.tabs[1] is session.neighbors.panel  # filled tabs stay


def test_a_hidden_tab_is_filled_when_opened(store):
    session = Session(store)
    session.details.tabs.active = 2
    assert session.details.tabs[2] is session.card.panel
    assert not session.details.filled(1)


def test_umap_maps_get_labels_and_contours_after_the_paint_and_the_switches_hide_them(store):
    """Overlays are computed once per UMAP/t-SNE map, in the background, only after the page has
    painted; PCA maps get none; each switch hides its own kind and shows it again, computing nothing."""
    entry = store.project("umap", params={"n_epochs": 30})
    session = Session(store)
    session.state.map_key = "PCA of emb"
    assert session.overlays.drawn is None and session.map.overlays is None  # PCA: none
    session.state.map_key = entry.key
    job = store.clusterings.job(entry, start=False)
    assert job is not None and job.state == "done"  # started by the paint (at once outside a server)
    assert session.overlays.drawn == entry.key and session.map.overlays is not None
    drawn = session.map.overlays
    texts = {text for renderer in drawn.labels for text in renderer.data_source.data["text"]}
    assert texts and all(isinstance(text, str) and text for text in texts)  # keywords of the rows' own texts
    session.state.labels = False
    assert not any(r.visible for r in drawn.labels) and all(r.visible for r in drawn.contours)
    session.state.contours = False
    assert not any(r.visible for r in drawn.renderers)
    session.state.labels = True
    assert all(r.visible for r in drawn.labels) and not any(r.visible for r in drawn.contours)
    assert session.map.overlays is drawn and store.clusterings.job(entry, start=False) is job  # computed once


def test_contours_of_a_label_column_outline_its_categories_in_their_legend_colours(store):
    """Choosing a label column for the contours draws lines per top category (names from the
    data, the hostile one included, as plain text), computed once for every page of the store."""
    entry = store.project("umap", params={"n_epochs": 30})
    session = Session(store)
    session.state.map_key = entry.key
    assert session.overlays.contours is None  # all points together by default
    session.state.contours_by = "label"  # as a link's contours_by=label sets it
    assert session.overlays.contours_by.value == "label"
    job = store.shared(("category contours", entry.key, "label"), lambda: None)
    assert job is not None and job.wait(60) and job.state == "done"
    session.overlays._paint()  # outside a server the watch has no loop to call back on
    drawn = session.overlays.contours
    assert drawn is not None and {contour.category for contour in drawn} == {"<b>bold</b>", "b", "c"}
    legend = {entry.name: entry.color for entry in store.colors("label").legend}
    assert all(contour.color == legend[contour.category] for contour in drawn)
    other = Session(store)
    other.state.map_key = entry.key
    other.state.contours_by = "label"
    assert store.shared(("category contours", entry.key, "label"), lambda: None) is job  # shared, not recomputed
    session.state.contours_by = ""
    assert session.overlays.contours is None
