"""Rows of another file placed into the map shown: the explore module in plain pytest, then the
page's view through a Session (the browser test draws and clears them for real)."""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

import projector
from projector.app.shell import Session
from projector.explore import placing
from projector.explore.maps import MapEntry
from projector.explore.placing import PlaceError, place_rows, read_new_rows, start_placing
from projector.explore.store import DataStore

REAL_TEXT = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "real-text" / "pydata_docs_minilm.parquet"
if not REAL_TEXT.is_file():
    REAL_TEXT = Path("/work/shared/fixtures/real-text/pydata_docs_minilm.parquet")
HOSTILE = "<img src=x onerror=alert(1)>.parquet"
MAP_ROWS, NEW_ROWS = 600, 40


def _parquet(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def real():
    """The real-text fixture split: a map of 600 rows, and 40 other rows to place."""
    table = pq.read_table(REAL_TEXT).slice(0, MAP_ROWS + NEW_ROWS)
    return table.slice(0, MAP_ROWS), table.slice(MAP_ROWS, NEW_ROWS)


@pytest.fixture(scope="module")
def store(real):
    fitted, _ = real
    store = DataStore(projector.Dataset.from_table(fitted, vector="embedding", label="package", text="text"), name="real-text")
    store.project("pca")
    store.add_map(MapEntry("given x / y", store.map("PCA of embedding").coords[:, :2].copy(), "user", axis_names=("x", "y")))
    yield store
    store.close()


def test_placed_rows_sit_where_the_projection_puts_them_with_their_texts_and_labels(store, real):
    _, new = real
    entry = store.map("PCA of embedding")
    rows = read_new_rows(store, "embedding", _parquet(new), "new.parquet")
    placed = place_rows(store, entry, rows)
    np.testing.assert_array_equal(placed.coords, entry.projection.transform(new))
    assert placed.coords.shape == (NEW_ROWS, entry.dims) and placed.map_key == entry.key
    assert rows.texts[0].rstrip("…") in " ".join(new.column("text")[0].as_py().split())  # one line, cut for hover
    assert list(rows.labels) == new.column("package").to_pylist()
    assert placed.legend == f"placed: new.parquet ({NEW_ROWS} rows)"
    x, y = placed.xy((2, 0))
    np.testing.assert_array_equal(x, placed.coords[:, 2])
    np.testing.assert_array_equal(y, placed.coords[:, 0])


def test_every_table_format_reads_and_a_job_reports_progress_and_places(store, real):
    _, new = real
    entry = store.map("PCA of embedding")
    expected = entry.projection.transform(new)
    buffer = io.BytesIO()
    feather.write_feather(new, buffer)
    job = start_placing(store, entry, buffer.getvalue(), "new.feather")
    job.wait(60)
    assert job.state == "done", job.error
    np.testing.assert_array_equal(job.result.coords, expected)
    assert job.title == "placing new.feather"
    # CSV and JSON Lines hold vectors only as text: with no vectors and no recorded model, the error says so
    plain = pa.table({"text": new.column("text")})
    csv = io.BytesIO()
    pacsv.write_csv(plain, csv)
    with pytest.raises(PlaceError, match=r"^new\.csv: it has no 'embedding' vectors, and its texts cannot be embedded: .*no record of the model"):
        read_new_rows(store, "embedding", csv.getvalue(), "new.csv")


@pytest.mark.parametrize(
    "data, file, pattern",
    [
        (b"not a table" * 20, "broken.parquet", r"^broken\.parquet: cannot be read as Parquet"),
        (pickle.dumps({"x": 1}), "sneaky.parquet", r"^sneaky\.parquet: "),
        (b"x,y\n1,2\n", "rows.xlsx", r"^rows\.xlsx: \.xlsx is not a table file; give a \.parquet"),
        (b"", "empty.csv", r"^empty\.csv: the file is empty"),
        (b"name,package\na,numpy\n", "no_vectors.csv", r"^no_vectors\.csv: no column 'embedding' .*its columns: \['name', 'package'\]"),
    ],
)
def test_unusable_files_are_refused_naming_the_file_and_the_way_out(store, data, file, pattern):
    with pytest.raises(PlaceError, match=pattern):
        read_new_rows(store, "embedding", data, file)


def test_a_file_over_the_limit_and_vectors_of_another_model_are_refused(store, monkeypatch):
    wrong = pa.table({"embedding": pa.FixedSizeListArray.from_arrays(pa.array(np.ones(3 * 8, np.float32)), 8)})
    with pytest.raises(PlaceError, match=r"^other\.parquet: transform: the new rows have D=8 but the map of 'embedding' was fitted on D=384 .*same model"):
        read_new_rows(store, "embedding", _parquet(wrong), "other.parquet")
    monkeypatch.setattr(placing, "MAX_FILE_BYTES", 100)
    with pytest.raises(PlaceError, match=r"^big\.parquet: .* over the page's limit .*project NEW --into"):
        read_new_rows(store, "embedding", b"x" * 101, "big.parquet")


def test_a_map_of_given_coordinates_cannot_take_rows(store, real):
    with pytest.raises(PlaceError, match=r"^new\.parquet: the map shown \(given x / y\) has coordinates given with the data.*switch to a PCA"):
        start_placing(store, store.map("given x / y"), _parquet(real[1]), "new.parquet")


def test_texts_without_vectors_are_embedded_by_the_maps_recorded_model():
    """A CSV of texts only lands where the same texts sit in a map of MiniLM vectors."""
    from meaning_data import SENTENCES, sentence_table
    from projector.embedding import load_text_model

    table = sentence_table(load_text_model())
    store = DataStore(projector.Dataset.from_table(table, vector="embedding", label="kind", text="text"), name="sentences")
    try:
        entry = store.project("pca")
        csv = io.BytesIO()
        pacsv.write_csv(pa.table({"text": SENTENCES[:5], "kind": ["new"] * 5}), csv)
        placed = place_rows(store, entry, read_new_rows(store, "embedding", csv.getvalue(), "texts.csv"))
        assert placed.rows.embedded_by == "all-MiniLM-L6-v2"
        np.testing.assert_allclose(placed.coords, entry.coords[:5], atol=1e-4)
        assert list(placed.rows.labels) == ["new"] * 5
    finally:
        store.close()


def test_texts_placed_into_vectors_brought_without_a_record_use_the_model_serve_names():
    """`serve --model` (the store's search_model) embeds a CSV of texts for a map whose vectors
    have no record; without it, the error says which model to name."""
    from meaning_data import SENTENCES, sentence_table
    from projector.embedding import load_text_model

    table = sentence_table(load_text_model()).replace_schema_metadata(None)  # vectors brought without a record
    store = DataStore(projector.Dataset.from_table(table, vector="embedding", label="kind", text="text"), name="sentences")
    try:
        entry = store.project("pca")
        csv = io.BytesIO()
        pacsv.write_csv(pa.table({"text": SENTENCES[:5]}), csv)
        with pytest.raises(PlaceError, match="texts.csv.*projector serve PATH --model"):
            read_new_rows(store, "embedding", csv.getvalue(), "texts.csv")
        store.search_model = "all-MiniLM-L6-v2"
        placed = place_rows(store, entry, read_new_rows(store, "embedding", csv.getvalue(), "texts.csv"))
        assert placed.rows.embedded_by == "all-MiniLM-L6-v2"
        np.testing.assert_allclose(placed.coords, entry.coords[:5], atol=1e-4)
    finally:
        store.close()


# -- the page ---------------------------------------------------------------------------------


def test_a_page_draws_placed_rows_on_top_with_a_legend_line_and_clears_them(store, real):
    _, new = real
    session = Session(store)
    view = session.place
    assert view._layer is None  # a page sends no placed layer until rows are placed
    view.add(_parquet(new), HOSTILE)
    layer = view._layer
    entry = store.map(session.state.map_key)
    np.testing.assert_array_equal(layer.source.data["x"], entry.projection.transform(new)[:, 0])
    assert len(layer.source.data["text"]) == NEW_ROWS and layer.source.data["label"] == new.column("package").to_pylist()
    assert layer.renderer is session.map.figure.renderers[-1]  # on top of the map's points
    assert layer.legend.items[0].label.value == f"placed: {HOSTILE} ({NEW_ROWS} rows)"  # drawn as text
    assert "<img" not in view.status.object and "&lt;img" in view.status.object
    assert not view.clear_button.disabled
    assert store.num_rows == MAP_ROWS  # the dataset is untouched

    session.state.pca_x = 3  # other axes redraw the same rows
    np.testing.assert_array_equal(layer.source.data["x"], view.placed.coords[:, 2])

    view.clear()
    assert len(layer.source.data["x"]) == 0 and not layer.legend.visible and view.clear_button.disabled


def test_switching_maps_replaces_the_rows_or_says_why_not(store, real):
    session = Session(store)
    view = session.place
    view.add(_parquet(real[1]), "new.parquet")
    assert view.placed is not None
    session.state.map_key = "given x / y"
    assert view.placed is None and len(view._layer.source.data["x"]) == 0
    assert "coordinates given with the data" in view.status.object
    session.state.map_key = "PCA of embedding"  # nothing to re-place: the user clears or adds again
    assert view.placed is None
    view.add(_parquet(real[1]), "new.parquet")
    store.add_map(MapEntry("PCA again", store.map("PCA of embedding").coords, "computed", store.map("PCA of embedding").projection))
    session.state.map_key = "PCA again"
    assert view.placed is not None and view.placed.map_key == "PCA again"
    assert len(view._layer.source.data["x"]) == NEW_ROWS


def test_placed_rows_hover_names_the_cluster_most_of_their_nearest_mapped_rows_are_in(real):
    fitted, new = real
    store = DataStore(projector.Dataset.from_table(fitted, vector="embedding", label="package", text="text"), name="real-text")
    try:
        entry = store.project("tsne", params={"seed": 0})
        session = Session(store)
        session.state.map_key = entry.key  # outside a server the paint runs at once: clusters found
        found = session.overlays.result
        assert found is not None and found.key == entry.key
        session.place.add(_parquet(new), "new.parquet")
        shown = session.place._layer.source.data["cluster"]
        # the vote, recomputed here by brute force: cosine neighbours among the mapped rows
        mapped = fitted.column("embedding").combine_chunks().values.to_numpy().reshape(MAP_ROWS, -1)
        placed = new.column("embedding").combine_chunks().values.to_numpy().reshape(NEW_ROWS, -1)
        unit = lambda v: v / np.linalg.norm(v, axis=1, keepdims=True)  # noqa: E731
        nearest = np.argsort(-(unit(placed) @ unit(mapped).T), axis=1, kind="stable")[:, :15]
        names = np.array([name or "none" for name in found.clusters.label_of()], dtype=object)
        for row, near in enumerate(nearest):
            values, counts = np.unique(names[near], return_counts=True)
            assert counts.max() == (names[near] == shown[row]).sum(), f"row {row}: {shown[row]!r}, neighbours {list(names[near])}"
        assert len(set(shown)) > 1  # 40 docstrings fall in more than one cluster

        session.state.cluster_params = {"resolution": 4.0}  # recluster: the hover follows
        again = session.overlays.result
        assert again is not found and set(again.clusters.names) != set(found.clusters.names)
        assert set(session.place._layer.source.data["cluster"]) <= {*again.clusters.names, "none"}
    finally:
        store.close()
