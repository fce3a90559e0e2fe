"""The app's data store, colourings, geometry and session state, without a browser."""

from __future__ import annotations

import json
import sys

import numpy as np
import pyarrow as pa
import pytest

import projector
from projector.explore.colors import MISSING, color_spec
from projector.explore.geometry import nearest_row, rows_for_geometry, rows_in_box, rows_in_polygon
from projector.explore.jobs import Job
from projector.app.state import URL_SELECTION_LIMIT, ViewState
from projector.explore.maps import map_key
from projector.explore.store import DataStore
from projector.errors import ProjectorError, SchemaError
from projector.progress import Cancelled, Progress


pytestmark = pytest.mark.usefixtures("private_cache")  # a fresh cache per test (tests/conftest.py)


@pytest.fixture(scope="module")
def demo_store():
    store = DataStore(projector.demo(), name="demo")
    store.project("pca")
    return store


def _table_store(**extra) -> DataStore:
    rng = np.random.default_rng(0)
    n = 60
    table = pa.table(
        {
            "emb": pa.FixedSizeListArray.from_arrays(pa.array(rng.standard_normal(n * 8).astype(np.float32)), 8),
            "text": [f"sample {i} " + ("<img src=x onerror=alert(1)>" if i == 3 else "cat" if i % 2 else "dog") for i in range(n)],
            "label": [["a", "b", "c"][i % 3] for i in range(n)],
            "score": np.linspace(0, 1, n),
            "px": np.arange(n, dtype=np.float64),
            "py": np.arange(n, dtype=np.float64)[::-1].copy(),
        }
    )
    return DataStore(projector.Dataset.from_table(table, vector="emb", label="label", text="text"), name="t", **extra)


# -- store ------------------------------------------------------------------------------------


def test_pca_map_has_ten_components_and_a_readable_key(demo_store):
    entry = demo_store.map(demo_store.map_keys[0])
    assert entry.method == "pca"
    assert entry.coords.shape == (1797, 10)
    assert entry.key == "PCA of pixels"
    assert any("explained variance" in line for line in entry.describe())


def test_user_coordinates_are_a_map_shown_as_they_are():
    store = _table_store(x="px", y="py")
    entry = store.map("px / py")
    assert entry.source == "user"
    np.testing.assert_array_equal(entry.coords[:, 0], np.arange(60, dtype=np.float32))
    with pytest.raises(SchemaError, match="--x and --y go together"):
        _table_store(x="px")
    with pytest.raises(SchemaError, match="'nope' not found"):
        _table_store(x="nope", y="py")
    with pytest.raises(SchemaError, match="not numbers"):
        _table_store(x="text", y="py")


def test_low_dimensional_data_gets_its_own_coordinates_as_a_map():
    coords = np.random.default_rng(1).standard_normal((30, 2)).astype(np.float32)
    store = DataStore(projector.Dataset.from_arrays(coords), name="flat")
    entry = store.map(store.map_keys[0])
    assert entry.method == "identity"
    np.testing.assert_allclose(entry.coords, coords)


def test_record_carries_raw_values_for_the_page_to_escape(demo_store):
    record = demo_store.rows.record(5)
    assert record["row"] == 5 and record["label_column"] == "label"
    assert record["images"] == ["image"]
    names = [name for name, _ in record["fields"]]
    assert "pixels" not in names and "image" not in names  # embeddings and raw bytes stay out
    with pytest.raises(ProjectorError, match="outside"):
        demo_store.rows.record(1797)


def test_record_truncates_long_text_only_when_asked():
    store = _table_store()
    long = store.rows.record(3, text_chars=10)
    assert long["text"].endswith("…") and len(long["text"]) == 10
    assert store.rows.record(3, text_chars=None)["text"].endswith("alert(1)>")


def test_thumbnail_is_a_png_and_is_kept(demo_store):
    png = demo_store.media.thumbnail(0, "image", 48)
    assert png.startswith(b"\x89PNG")
    assert demo_store.media.thumbnail(0, "image", 48) is png
    with pytest.raises(ProjectorError, match="not an image column"):
        demo_store.media.thumbnail(0, "label")


def test_neighbors_exclude_the_row_and_clamp_k(demo_store):
    rows, distances = demo_store.neighbors(0, 10)
    assert rows.shape == (10,) and 0 not in rows
    assert np.all(np.diff(distances) >= -1e-6)
    # digits: most neighbours of a '0' are '0's
    labels = demo_store.dataset.table.column("label").to_pylist()
    assert sum(labels[r] == labels[0] for r in rows) >= 8
    store = _table_store()
    rows, _ = store.neighbors(0, 500)
    assert rows.size == 59


def test_building_the_neighbour_index_holds_up_nothing_else(monkeypatch):
    """The index is built on a short-job thread under its own lock: the store keeps answering
    (maps, colours, rows) meanwhile, and the same question asked twice shares one job."""
    import threading

    import projector.neighbors

    entered, release = threading.Event(), threading.Event()
    real = projector.neighbors.NeighborIndex

    def slow_index(*args, **kwargs):
        entered.set()
        release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(projector.neighbors, "NeighborIndex", slow_index)
    store = _table_store()
    try:
        job = store.neighbors_job(0, 5)
        assert store.neighbors_job(0, 5) is job
        assert entered.wait(30)
        answered = threading.Event()
        threading.Thread(target=lambda: (store.map_keys, store.colors("label"), store.rows.record(1), answered.set()), daemon=True).start()
        assert answered.wait(10), "the store waited for the neighbour index"
        assert not job.finished
        release.set()
        assert job.wait(30) and job.state == "done", job.describe()
        rows, _ = job.result
        np.testing.assert_array_equal(rows, store.neighbors(0, 5)[0])
    finally:
        release.set()
        store.close()


def test_close_cancels_a_running_job_and_reports_whether_it_ended():
    import threading

    store = _table_store()
    started = threading.Event()

    def work(progress):
        started.set()
        while not progress(Progress("working", 0)):  # cancelled at its next report
            pass
        raise Cancelled()

    job = store._submit(Job("long", work), store._executor)
    assert started.wait(10)
    store.close()
    assert store.wait_idle(5)
    assert job.state == "cancelled"


def test_map_neighbors_are_nearest_in_two_dimensions():
    coords = np.array([[0, 0], [1, 0], [5, 0], [0.5, 0], [9, 9]], dtype=np.float32)
    np.testing.assert_array_equal(DataStore.map_neighbors(coords, 0, 2), [3, 1])


def test_search_substring_regex_and_bad_patterns():
    store = _table_store()
    np.testing.assert_array_equal(store.rows.search("text", "DOG"), np.arange(0, 60, 2))  # case-insensitive
    np.testing.assert_array_equal(store.rows.search("text", r"^sample 1\d ", regex=True), np.arange(10, 20))
    assert store.rows.search("text", "").size == 0
    with pytest.raises(ProjectorError, match="not a valid regular expression"):
        store.rows.search("text", "(", regex=True)
    with pytest.raises(SchemaError, match="not found"):
        store.rows.search("nope", "x")


def test_rows_answer_from_the_dataset_alone_and_the_store_shares_them():
    """Rows needs no store (no threads, no maps); the store's media pieces ask the same Rows."""
    from projector.explore.rows import Rows

    store = _table_store()
    rows = Rows(store.dataset)
    assert rows.record(4) == store.rows.record(4)
    np.testing.assert_array_equal(rows.search("text", "cat"), [r for r in range(1, 60, 2) if r != 3])  # row 3 holds markup
    assert rows.table([2, 0], ["label"]).column("label").to_pylist() == ["c", "a"]
    with pytest.raises(ProjectorError, match="row 60 is outside 0..59"):
        rows.check_row(60)
    assert store.media.rows is store.rows
    store.close()


def test_filters_combine_categories_and_ranges():
    store = _table_store()
    assert store.rows.filter_mask({}) is None
    mask = store.rows.filter_mask({"label": ["a"], "score": (0.0, 0.5)})
    expected = (np.arange(60) % 3 == 0) & (np.linspace(0, 1, 60) <= 0.5)
    np.testing.assert_array_equal(mask, expected)
    assert store.rows.categories("label") == ["a", "b", "c"]


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_export_round_trips_the_selected_rows(fmt, tmp_path):
    store = _table_store()
    data = store.rows.export([3, 7, 8], fmt)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(pa.BufferReader(data))
        assert table.column("emb").to_pylist()[0] == pytest.approx(store.dataset.vectors()[3].tolist())
    elif fmt == "csv":
        import pyarrow.csv as pacsv

        table = pacsv.read_csv(pa.BufferReader(data))
        assert "emb" not in table.column_names
    else:
        table = pa.Table.from_pylist([json.loads(line) for line in data.decode().splitlines()])
    assert table.column("text").to_pylist() == [store.rows.value("text", r) for r in (3, 7, 8)]
    with pytest.raises(ProjectorError, match="must be one of"):
        store.rows.export([1], "xlsx")


def test_map_key_names_changed_parameters(demo_store):
    projection = demo_store.dataset.project("pca", dims=2)
    assert map_key(projection) == "PCA of pixels"
    from dataclasses import replace

    umap_like = replace(projection, method="umap", params={"n_neighbors": 30, "min_dist": 0.1, "metric": "cosine"})
    assert map_key(umap_like) == "UMAP of pixels (n_neighbors=30)"


def test_projection_job_reports_progress_and_adds_the_map(demo_store):
    job = demo_store.start_projection("pca", params={"dims": 3})
    assert job.wait(60)
    assert job.state == "done", job.error
    assert job.result.key in demo_store.map_keys
    assert "done" in job.describe()


def test_a_cancelled_job_stops_and_a_failing_one_says_why():
    from concurrent.futures import ThreadPoolExecutor

    def slow(progress):
        from projector.progress import Progress

        for i in range(1000):
            if progress(Progress("work", i, 1000)):
                raise Cancelled("stop")
        return "finished"

    with ThreadPoolExecutor(1) as pool:
        job = Job("slow", slow)
        job.cancel()
        job.submit(pool)
        assert job.wait(5) and job.state == "cancelled" and job.result is None
        broken = Job("broken", lambda progress: 1 / 0).submit(pool)
        assert broken.wait(5) and broken.state == "failed"
        assert "ZeroDivisionError" in broken.describe()


# -- colours ----------------------------------------------------------------------------------


def test_categorical_colours_fold_the_rarest_into_other():
    values = pa.chunked_array([pa.array(["a"] * 5 + ["b"] * 3 + ["c"] * 2 + ["d"] + [None])])
    spec = color_spec("cat", values, 12, max_categories=2)
    assert spec.kind == "categorical"
    assert [entry.name for entry in spec.legend] == ["a", "b", "other (2 categories)", MISSING]
    assert [entry.count for entry in spec.legend] == [5, 3, 3, 1]
    np.testing.assert_array_equal(spec.values, [0] * 5 + [1] * 3 + [2] * 3 + [3])
    assert spec.folded == 2 and len(spec.palette) == 4


def test_many_categories_get_glasbey_and_numbers_get_a_range():
    values = pa.chunked_array([pa.array([f"c{i}" for i in range(30)])])
    spec = color_spec("many", values, 30, max_categories=30)
    assert len(set(spec.palette)) == 30
    numeric = color_spec("x", pa.chunked_array([pa.array([1.0, None, 3.0])]), 3)
    assert numeric.kind == "numeric" and (numeric.low, numeric.high) == (1.0, 3.0)
    assert np.isnan(numeric.values[1])
    assert color_spec(None, None, 4).kind == "none"


# -- geometry ---------------------------------------------------------------------------------


def test_box_lasso_and_click_pick_the_right_rows():
    x = np.array([0.0, 1.0, 2.0, 3.0, 1.5], dtype=np.float32)
    y = np.array([0.0, 1.0, 2.0, 3.0, 0.2], dtype=np.float32)
    np.testing.assert_array_equal(rows_in_box(x, y, 2.5, 0.5, 0.5, 2.5), [1, 2])
    quad = ([1.2, 2.5, 2.5, 1.2], [0.0, 0.0, 2.5, 2.5])
    np.testing.assert_array_equal(rows_in_polygon(x, y, *quad), [2, 4])
    np.testing.assert_array_equal(rows_for_geometry(x, y, {"type": "poly", "x": quad[0], "y": quad[1]}), [2, 4])
    assert rows_for_geometry(x, y, {"type": "point"}) is None
    assert nearest_row(x, y, 1.1, 1.0, 10, 10) == 1
    assert nearest_row(x, y, 1.1, 1.0, 20, 20, visible=np.array([1, 0, 1, 1, 1], bool)) is None
    assert nearest_row(x, y, 10, 10, 10, 10) is None


# -- state ------------------------------------------------------------------------------------


def test_selection_is_mirrored_in_the_url_only_when_small():
    state = ViewState()
    state.select([5, 3, 3])
    np.testing.assert_array_equal(state.selection, [3, 5])
    assert state.url_selection == "3,5"
    state.select(range(URL_SELECTION_LIMIT + 1))
    assert state.url_selection == ""
    state.clear_selection()
    assert state.selection.size == 0 and not state.isolate


def test_a_link_restores_the_selection_and_ignores_garbage():
    state = ViewState()
    state.url_selection = "7,2"
    np.testing.assert_array_equal(state.selection, [2, 7])
    state.url_selection = "1,x"
    assert "ignored the selection" in state.message


def test_maps_from_earlier_runs_are_found_in_the_cache_without_computing():
    first = _table_store()
    assert first.add_cached() == []
    first.project("pca")  # writes the cache, as `projector project` or an earlier session would
    again = DataStore(first.dataset, name="again")
    found = again.add_cached()
    assert [entry.key for entry in found] == ["PCA of emb"] and found[0].source == "cache"
    np.testing.assert_allclose(found[0].coords, first.map("PCA of emb").coords)
    assert projector.Dataset.project(first.dataset, "umap", cache_only=True) is None


def test_a_link_is_applied_value_by_value_with_types():
    state = ViewState(num_rows=100)
    state.apply_link({"focused": "7", "url_selection": "3,9", "search_regex": "true", "neighbor_k": "x", "color_by": "ink"})
    single = ViewState(num_rows=100)
    single.apply_link({"url_selection": 7, "focused": 7, "search_regex": True})  # as Panel decodes sel=7
    assert single.selection.tolist() == [7] and single.focused == 7
    assert state.focused == 7 and state.search_regex is True and state.color_by == "ink"
    np.testing.assert_array_equal(state.selection, [3, 9])
    assert state.neighbor_k == 10 and "neighbor_k" in state.message


def test_csv_export_quotes_what_a_spreadsheet_would_run():
    import pyarrow.csv as pacsv

    risky = ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2", "@SUM(A1)", "\tx", "plain", None]
    table = pa.table({
        "emb": pa.FixedSizeListArray.from_arrays(pa.array(np.ones(7 * 2, dtype=np.float32)), 2),
        "note": risky,
        "=cmd|' /C calc'!A0": ["a"] * 7,
        "score": [-1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
    })
    store = DataStore(projector.Dataset.from_table(table, vector="emb"))
    read = pacsv.read_csv(pa.BufferReader(store.rows.export(list(range(7)), "csv")))
    assert read.column("note").to_pylist()[:6] == ["'" + value for value in risky[:5]] + ["plain"]
    assert "'=cmd|' /C calc'!A0" in read.column_names  # a hostile column name, too
    assert read.column("score").to_pylist()[0] == -1.0  # numbers stay numbers
    parquet = store.rows.export([0], "parquet")  # other formats keep the text as it is
    import pyarrow.parquet as pq

    assert pq.read_table(pa.BufferReader(parquet)).column("note").to_pylist() == [risky[0]]


def test_value_range_skips_missing_and_non_finite_values():
    vectors = np.arange(40, dtype=np.float32).reshape(10, 4)
    metadata = {"score": [np.nan, -2.0, None, 5.0, np.inf, 1.0, 0.0, 3.0, 2.0, 4.0], "empty": [np.nan] * 10}
    store = DataStore(projector.Dataset.from_arrays({"emb": vectors}, metadata=metadata))
    assert store.rows.value_range("score") == (-2.0, 5.0)
    assert store.rows.value_range("empty") is None


def test_broken_media_are_placeholders_counted_once_with_their_rows(tmp_path):
    import io
    import warnings

    from PIL import Image

    from projector.errors import ProjectorWarning
    from projector.media import placeholder_png

    root = tmp_path / "data"
    (root / "imgs").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    paths = []
    for i in range(8):
        buffer = io.BytesIO()
        Image.new("RGB", (20, 20), (255, 0, 0)).save(buffer, format="PNG")
        (root / f"imgs/{i}.png").write_bytes(buffer.getvalue())
        paths.append(f"imgs/{i}.png")
    (tmp_path / "elsewhere/secret.png").write_bytes(buffer.getvalue())
    (root / "imgs/escape.png").symlink_to(tmp_path / "elsewhere/secret.png")
    paths[1] = "imgs/missing.png"
    paths[2] = ""
    paths[3] = "imgs/escape.png"  # a symlink leaving the data root
    paths[4] = "https://example.org/remote.png"  # never fetched by the server
    (root / "imgs/5.png").write_bytes(buffer.getvalue()[:30])  # truncated: found when drawn
    table = pa.table({"emb": pa.FixedSizeListArray.from_arrays(pa.array(np.arange(16, dtype=np.float32)), 2), "image": paths})
    dataset = projector.Dataset.from_table(table, image="image", media_root=root)
    store = DataStore(dataset, name="media")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        messages = store.media.check()
    assert messages == [
        "'image': 4 media files are missing, empty, unreadable or outside the data root and show as grey placeholders (rows 1, 2, 3, 4)"
    ]
    assert [str(w.message) for w in caught if issubclass(w.category, ProjectorWarning)] == messages  # one warning
    for row in (1, 2, 3, 4, 5):
        assert store.media.thumbnail(row, "image", 32) == placeholder_png(32), row
    assert store.media.thumbnail(0, "image", 32) != placeholder_png(32)
    assert store.media.broken.count("image") == 5  # the truncated file joined when drawn; repeats count once
    assert store.media.notes() == [
        "'image': 5 media files are missing, empty, unreadable or outside the data root and show as grey placeholders (rows 1, 2, 3, 4, 5)"
    ]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a nice value per thread is Linux's")
def test_background_maps_run_at_a_lower_priority_than_the_pages(demo_store, monkeypatch):
    import os
    import threading

    from projector.explore.store import BACKGROUND_NICE

    seen = []
    monkeypatch.setattr(demo_store, "project", lambda *args: seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id())))
    job = demo_store.start_projection("umap")
    assert job.wait(30)
    page = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert seen == [min(19, page + BACKGROUND_NICE)]  # hovers and paints (this thread's priority) come first


# -- likely mislabels and outliers as colour-by columns and filters ---------------------------


def _suspect_store(extra_column: dict | None = None) -> tuple[DataStore, list[int]]:
    """Two tight groups labelled "a" and "b", three rows of each group labelled wrongly, one far row."""
    rng = np.random.default_rng(4)
    n = 80
    vectors = rng.standard_normal((n, 6)).astype(np.float32) * 0.1
    vectors[40:, 0] += 5.0
    vectors[:, 1] += 3.0  # away from the origin, so cosine sees the groups too
    vectors[79] = [-40.0, 40.0, 40.0, 0, 0, 0]  # far from both groups; nearer "a" than "b"
    labels = ["a"] * 40 + ["b"] * 39 + ["a"]
    wrong = [5, 17, 60]
    for row in wrong:
        labels[row] = "b" if labels[row] == "a" else "a"
    columns = {"emb": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), 6), "label": labels, **(extra_column or {})}
    return DataStore(projector.Dataset.from_table(pa.table(columns), vector="emb", label="label"), name="s"), wrong


def test_mislabel_and_outlier_columns_colour_and_filter_once_checked():
    store, wrong = _suspect_store()
    names = ["outlier score: emb", "mislabel share: label"]
    assert store.rows.color_columns()[-2:] == names and store.rows.numeric_columns()[-2:] == names
    assert store.colors("mislabel share: label").kind == "none"  # one colour until the checks are done
    assert store.rows.filter_mask({"mislabel share: label": (0.7, 1.0)}) is None  # hides nothing yet
    assert store.checks is None  # nothing runs before a page has painted
    job = store.start_checks()
    assert job is store.start_checks() and job.wait(60) and job.state == "done", job.describe()
    assert job.result == {"label": 3}
    assert store.suspects.mislabels().rows().tolist() == wrong
    assert store.suspects.mislabels().table(1)[0]["sentence"].startswith("row ")
    share = store.colors("mislabel share: label")
    assert share.kind != "none" and share.column == "mislabel share: label"
    assert np.flatnonzero(store.rows.filter_mask({"mislabel share: label": (0.7, 1.0)})).tolist() == wrong
    outlying = store.rows.filter_mask({"outlier score: emb": (0.99, 1.0), "label": ["a"]})
    assert np.flatnonzero(outlying).tolist() == [79]
    assert store.rows.value_range("outlier score: emb") == (0.0, 1.0)
    assert store.rows.numbers("outlier score: emb")[79] == 1.0
    store.close()


def test_a_filter_on_a_check_not_yet_done_hides_nothing():
    store, _ = _suspect_store()
    assert store.rows.filter_mask({"outlier score: emb": (0.5, 1.0)}) is None
    assert np.isnan(store.rows.numbers("outlier score: emb")).all()
    store.close()


def test_a_user_column_with_the_same_name_keeps_it():
    store, _ = _suspect_store({"outlier score: emb": np.arange(80, dtype=np.float64)})
    assert "outlier score: emb (projector)" in store.suspects.names
    assert store.start_checks().wait(60)
    assert store.rows.numbers("outlier score: emb")[5] == 5.0  # the user's column, untouched
    assert store.rows.numbers("outlier score: emb (projector)")[79] == 1.0
    store.close()


def test_the_checks_start_with_the_background_map_after_the_first_paint():
    store, _ = _suspect_store()
    store.start_auto_map()  # what a page calls once it has painted
    assert store.checks is not None and store.checks.wait(60) and store.checks.state == "done"
    store.close()
