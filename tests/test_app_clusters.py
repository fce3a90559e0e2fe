"""Clusters on the page, driven through a session's state on real data (scikit-learn's digits,
one digit relabelled with markup): one clustering per map and parameters feeds the labels, the
cluster list and the ``cluster`` colour-by; a click in the list selects the cluster's rows;
reclustering in the background redraws all three; names from the data stay text."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from bokeh.models import StringFormatter

import projector
from projector.app.shell import Session
from projector.clusters import ClusterParams
from projector.errors import ParameterError
from projector.explore.cluster_table import cluster_rows, purity
from projector.explore.html import legend_html
from projector.explore.map_clusters import NOISE, cluster_column
from projector.explore.store import DataStore

HOSTILE = "<img src=x onerror=alert(1)>"
FIXTURES = Path(os.environ.get("PROJECTOR_FIXTURES", Path(__file__).resolve().parents[2] / "shared" / "fixtures"))
REAL_TEXT = FIXTURES / "real-text" / "pydata_docs_minilm.parquet"


@pytest.fixture(scope="module")
def store():
    digits = projector.demo()
    labels = [HOSTILE if value == "3" else value for value in digits.table.column("label").to_pylist()]
    table = digits.table.set_column(digits.table.schema.get_field_index("label"), "label", pa.array(labels))
    store = DataStore(projector.Dataset.from_table(table, vector="pixels", label="label"), name="digits")
    store.project("pca")
    store.project("umap", params={"n_epochs": 50, "seed": 0})
    yield store
    store.close()


def _umap(store):
    return store.map(next(key for key in store.map_keys if key.startswith("UMAP")))


@pytest.fixture
def session(store):
    session = Session(store)
    session.state.map_key = _umap(store).key  # the paint ran at once (outside a server): clusters found
    return session


def test_purity_is_the_majority_label_and_its_share_and_the_list_runs_largest_first():
    clusters = np.array([0, 0, 0, 1, 1, -1, 1, 1])
    labels = ["a", "a", "b", "c", None, "a", "c", "c"]
    assert purity(clusters, labels) == [("a", pytest.approx(2 / 3)), ("c", 0.75)]
    from projector.clusters import Clusters

    found = Clusters(clusters.astype(np.int32), "leiden", {}, 0.0, names=("alpha · beta", "gamma"))
    rows = cluster_rows(found, labels, keyword_named=True)
    assert [(row.cluster, row.size, row.purity) for row in rows] == [(1, 4, "c · 75%"), (0, 3, "a · 67%")]
    assert rows[1].terms == ("alpha", "beta") and cluster_rows(found)[0].purity is None


def test_one_clustering_feeds_labels_list_and_colouring(session, store):
    entry = _umap(store)
    found = session.overlays.result
    assert found is not None and found is store.clusterings.result(entry) and found.key == entry.key
    assert store.clusterings.job(entry, start=False) is session.overlays.job  # shared, computed once
    drawn = {text for renderer in session.map.overlays.labels for text in renderer.data_source.data["text"]}
    assert drawn <= set(found.clusters.names) | set(found.clusters.coarse_names) and drawn
    listed = session.clusters.list.source.data
    assert listed["label"] == [row.label for row in found.table] and listed["size"] == sorted(listed["size"], reverse=True)
    assert sum(listed["size"]) == int((found.clusters.labels >= 0).sum())
    truth = store.dataset.table.column("label").to_pylist()
    assert max(row.share for row in found.table) > 0.95  # a digit is one cluster, nearly pure
    assert any(row.purity.startswith(f"{truth[int(found.members(row.cluster)[0])]}") for row in found.table)


def test_cluster_colour_by_appears_once_found_and_colours_by_label_text(session, store):
    assert "cluster" in session.style.color.options.values()
    session.state.color_by = "cluster"
    spec = session.map.colors
    found = session.overlays.result
    assert spec.kind == "categorical" and spec.column == "cluster"
    named = {entry.name: entry.count for entry in spec.legend}
    for row in found.table[: len(spec.legend) - 1]:
        assert named.get(row.label, row.size) == row.size  # a category per cluster, counted alike
    codes = spec.values
    assert len(set(codes[found.members(found.table[0].cluster)].tolist())) == 1  # one colour per cluster
    # before a map is clustered, the name colours with one colour; another map offers none
    session.state.map_key = "PCA of pixels"
    assert session.map.colors.kind == "none" and "cluster" not in session.style.color.options.values()


def test_markup_in_cluster_names_stays_text_in_the_legend_and_the_list(session, store):
    session.state.color_by = "cluster"
    found = session.overlays.result
    hostile = [row for row in found.table if row.label.startswith(HOSTILE)]
    assert hostile  # the relabelled digit names its cluster
    legend = legend_html(session.map.colors)
    assert HOSTILE not in legend and "&lt;img src=x onerror=alert(1)&gt;" in legend
    # the list hands the raw text to a formatter that makes text nodes, never markup
    column = next(column for column in session.clusters.list.table.columns if column.field == "label")
    assert isinstance(column.formatter, StringFormatter) and hostile[0].label in session.clusters.list.source.data["label"]
    titles = [column.title for column in session.clusters.list.table.columns]
    assert titles == ["label (majority label · share)", "rows"]  # no text: the label is the purity


def test_clicking_a_listed_cluster_selects_its_rows_and_other_selections_unmark_it(session):
    found = session.overlays.result
    second = found.table[1]
    session.clusters.list.source.selected.indices = [1]  # what a click on the second row sends
    assert np.array_equal(session.state.selection, found.members(second.cluster))
    assert session.state.selection.size == second.size
    assert f"{second.size:,} of" in session.selection.count.object  # the selection panel follows
    session.map.click(float(session.map._x[0]), float(session.map._y[0]))
    assert session.clusters.list.source.selected.indices == [] and session.state.selection.tolist() == [0]


def test_recluster_computes_in_the_background_and_redraws_labels_list_and_colours(session, store):
    entry = _umap(store)
    default = session.overlays.result
    session.state.color_by = "cluster"
    fine = next(widget for widget in session.clusters.form.params if widget.label == "resolution")
    fine.value = 4  # what a browser sends for 4.0
    session.clusters.form.apply()
    assert session.state.cluster_params == {"resolution": 4.0}
    assert [value for value in session.style.color.options.values() if value.startswith("cluster")] == ["cluster (resolution=4.0)"]
    found = session.overlays.result
    assert found is not default and found.params == ClusterParams(resolution=4.0)
    assert found.clusters.count > default.clusters.count  # finer clusters
    assert found.overlays.contours is default.overlays.contours  # contours follow the map, not the clusters
    assert session.state.color_by == "cluster (resolution=4.0)" == found.column == cluster_column(found.params)
    assert len(session.map.colors.legend) > len(default.colors().legend) or session.map.colors.folded
    assert session.clusters.list.source.data["label"] == [row.label for row in found.table]
    assert "clusters" in session.clusters.form.status.object
    # another page asking the same parameters shares the result; the defaults are still kept
    other = Session(store, _state(store, entry, cluster_params={"resolution": 4.0}))
    assert other.overlays.result is found and store.clusterings.result(entry) is default
    session.clusters.form.apply(defaults=True)
    assert session.overlays.result is default and session.state.color_by == "cluster"
    assert next(widget for widget in session.clusters.form.params if widget.label == "resolution").value == 1.0


def test_parameters_out_of_bounds_are_named_and_nothing_is_recomputed(session):
    before = session.overlays.result
    widget = next(widget for widget in session.clusters.form.params if widget.label == "algorithm")
    assert widget.options == ["leiden", "hdbscan"]
    sizes = next(widget for widget in session.clusters.form.params if widget.label == "min_cluster_size")
    assert sizes.value is None  # optional: the class picks it
    sizes.value = 1
    session.clusters.form.apply()
    assert "min_cluster_size=1 must be in [2, 1000000]" in session.clusters.form.status.object
    assert session.overlays.result is before and session.state.cluster_params == {}
    with pytest.raises(ParameterError):
        ClusterParams.from_options({"resolution": 0})


def test_rows_in_no_cluster_are_coloured_as_none(store):
    entry = _umap(store)
    job = store.clusterings.job(entry, ClusterParams(min_cluster_size=150))
    assert job.wait(300) and job.state == "done"
    found = job.result
    spec = store.colors(found.column, 20, entry)
    none = [legend for legend in spec.legend if legend.name == NOISE]
    assert none and none[0].count == int((found.clusters.labels < 0).sum()) > 0


def test_a_table_column_called_cluster_keeps_its_name(store):
    table = store.dataset.table.append_column("cluster", pa.array(np.zeros(store.num_rows, dtype=np.int64)))
    other = DataStore(projector.Dataset.from_table(table, vector="pixels", label="label"), name="with-cluster")
    try:
        assert other.clusterings.column() == "cluster (projector)"
        assert other.colors("cluster").column == "cluster"  # the table's own column
    finally:
        other.close()


def test_a_rendered_colour_menu_follows_a_recluster_instead_of_falling_back_to_none(session):
    """On a page the menu has a browser model: new options without the old name used to reset
    it (and the map's colouring) to none."""
    session.style.color.get_root()  # what a page's first render does
    session.state.color_by = "cluster"
    fine = next(widget for widget in session.clusters.form.params if widget.label == "resolution")
    fine.value = 3.0
    session.clusters.form.apply()
    assert session.state.color_by == "cluster (resolution=3.0)" == session.style.color.value
    assert session.map.colors.column == "cluster (resolution=3.0)"


def test_real_text_clusters_are_listed_with_their_terms_and_purity_against_the_package():
    """600 docstrings of four packages: each cluster is named by terms of its own members, and
    its purity is the share of its most common package."""
    import pyarrow.parquet as pq

    table = pq.read_table(REAL_TEXT, columns=["name", "package", "text", "embedding"]).slice(0, 600)
    store = DataStore(projector.Dataset.from_table(table, vector="embedding", label="package", text="text"), name="real-text")
    try:
        entry = store.project("umap", params={"n_epochs": 50})
        session = Session(store, _state(store, entry))
        found = session.overlays.result
        assert found is not None and len(found.table) >= 3
        titles = [column.title for column in session.clusters.list.table.columns]
        assert titles == ["label (top terms)", "rows", "purity (package)"]
        packages = np.asarray(table.column("package").to_pylist(), dtype=object)
        texts = [text.lower() for text in table.column("text").to_pylist()]
        for row in found.table:
            members = found.members(row.cluster)
            assert row.terms and all(any(term in texts[i] for i in members) for term in row.terms)
            majority, count = np.unique(packages[members], return_counts=True)
            assert row.purity == f"{majority[np.argmax(count)]} · {count.max() / members.size:.0%}"
        assert max(row.share for row in found.table) > 0.8  # docstrings of one package gather
    finally:
        store.close()


def _state(store, entry, **values):
    """A new page's state on ``entry``'s map."""
    from projector.app.state import ViewState

    return ViewState(map_key=entry.key, num_rows=store.num_rows, **values)


def test_a_selection_export_carries_the_shown_maps_clusters(session, store):
    """The page's download of a cluster's rows holds `cluster` and `cluster_label` as drawn."""
    import io

    import pyarrow.parquet as pq

    found = session.overlays.result
    biggest = found.table[0]
    session.state.select(found.members(biggest.cluster))
    session.selection.export_format.value = "parquet"
    exported = pq.read_table(io.BytesIO(session.selection._export_file().getvalue()))
    assert set(exported.column("cluster").to_pylist()) == {biggest.cluster}
    assert set(exported.column("cluster_label").to_pylist()) == {found.clusters.names[biggest.cluster]}
    assert exported.num_rows == biggest.size and "label" in exported.column_names
