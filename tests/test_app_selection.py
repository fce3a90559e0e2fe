"""The selection panel and the selection state, in plain pytest (no browser, no server)."""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

pytest.importorskip("panel")

from bokeh.models import FactorRange, PlainText  # noqa: E402

from projector.app.routes import media_url, thumb_url  # noqa: E402
from projector.app.shell import initial_state  # noqa: E402
from projector.explore.store import DataStore  # noqa: E402
from projector.app.views.selection import PAGE_ROWS, SelectionView, export_filename, media_grid_html  # noqa: E402
from projector.app.views.summary import summary, summary_figure  # noqa: E402
from projector.dataset import Dataset  # noqa: E402

HOSTILE = "<img src=x onerror=alert(1)>"
CLOSING = "a </script><script>alert(2)</script> $$x^2$$"


@pytest.fixture(scope="module")
def demo() -> DataStore:
    import projector

    return DataStore(projector.demo(), name="demo")


@pytest.fixture(scope="module")
def hostile() -> DataStore:
    """Twelve text-only rows whose label and text carry markup."""
    n = 12
    vectors = np.random.default_rng(0).standard_normal((n, 4)).astype(np.float32)
    meta = {"label": [HOSTILE if i % 2 else CLOSING for i in range(n)], "text": [f"{HOSTILE} {CLOSING} {i}" for i in range(n)]}
    return DataStore(Dataset.from_arrays(vectors, meta, label="label", text="text"), name="bad <name>")


def view_of(store: DataStore) -> SelectionView:
    return SelectionView(store, initial_state(store))


def table_rows(html: str) -> list[int]:
    return [int(row) for row in re.findall(r'<tr data-row="(\d+)"', html)]


def grid_rows(html: str) -> list[int]:
    return [int(row) for row in re.findall(r'<img class="projector-media-item" data-row="(\d+)"', html)]


def rows_of_label(store: DataStore, label: str) -> np.ndarray:
    values = np.asarray(store.dataset.table.column("label").cast(pa.string()).to_pylist())
    return np.flatnonzero(values == label)


def test_selecting_rows_fills_the_table_with_exactly_those_rows(demo):
    view = view_of(demo)
    assert table_rows(view.table.object) == []
    view.state.select([9, 2, 5])
    assert table_rows(view.table.object) == [2, 5, 9]
    assert "projector-table" in view.table.object
    assert '<span class="projector-selection-count">3 of 1,797 selected</span>' == view.count.object
    ids = demo.dataset.table.column("id").to_pylist()
    assert f"<td>{ids[5]}</td>" in view.table.object


def test_pages_of_the_selection(demo):
    view = view_of(demo)
    rows = np.arange(100, 160)
    view.state.select(rows)
    assert view.page.end == 3 and view.page.visible
    assert table_rows(view.table.object) == rows[:PAGE_ROWS].tolist()
    view.page.value = 3
    assert table_rows(view.table.object) == rows[2 * PAGE_ROWS :].tolist()
    assert grid_rows(view.grid.object) == rows[2 * PAGE_ROWS :].tolist()
    view.state.select([1, 2])  # a new selection starts at its first page
    assert view.page.value == 1 and view.page.end == 1 and not view.page.visible
    assert table_rows(view.table.object) == [1, 2]


def test_hostile_values_are_escaped_everywhere(hostile):
    view = view_of(hostile)
    view.state.select(range(hostile.num_rows))
    html = view.count.object + view.table.object + view.grid.object
    for raw in (HOSTILE, "</script>", "<script>"):
        assert raw not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in view.table.object
    assert "&lt;/script&gt;" in view.table.object
    assert "&lt;img src=x onerror=alert(1)&gt;" in view.grid.object
    assert export_filename(hostile, "csv") == "bad_name_-selection.csv"


def test_text_only_data_gets_text_cards(hostile):
    html = media_grid_html(hostile, [0, 3])
    assert re.findall(r'class="projector-media-item projector-text-card" data-row="(\d+)"', html) == ["0", "3"]
    assert "<img" not in html and "<audio" not in html


def test_media_grid_has_one_thumbnail_per_row_on_the_page(demo):
    view = view_of(demo)
    rows = np.arange(0, 2 * PAGE_ROWS + 3, 2)
    view.state.select(rows)
    shown = rows[:PAGE_ROWS].tolist()
    assert grid_rows(view.grid.object) == shown
    for row in shown[:3]:
        assert f'src="{thumb_url(demo, row, "image", 96)}"' in view.grid.object


def test_audio_rows_get_players(tmp_path):
    for i in range(5):
        (tmp_path / f"{i}.wav").write_bytes(b"RIFF")
    vectors = np.eye(5, 3, dtype=np.float32)
    dataset = Dataset.from_arrays(vectors, {"sound": [f"{i}.wav" for i in range(5)]}, audio="sound", media_root=tmp_path)
    store = DataStore(dataset, name="sounds")
    html = media_grid_html(store, [1, 4])
    players = re.findall(r'<audio controls preload="none" src="([^"]+)"></audio>', html)
    assert players == [media_url(store, "sound", 1), media_url(store, "sound", 4)]


def test_summary_of_a_label_compares_the_selection_with_everything(demo):
    rows = rows_of_label(demo, "3")
    data = summary(demo, rows, "label")
    assert not data.numeric
    assert data.labels[0] == "3" and data.selected[0] == 1.0
    assert data.selected.sum() == pytest.approx(1.0)
    assert data.overall[0] == pytest.approx(rows.size / demo.num_rows)
    assert data.overall.sum() == pytest.approx(1.0)
    plot = summary_figure(data)
    assert isinstance(plot.x_range, FactorRange) and plot.x_range.factors[0] == "3"
    assert isinstance(plot.xaxis[0].axis_label, PlainText) and plot.xaxis[0].axis_label.text == "label"


def test_summary_of_a_number_is_two_densities_over_the_same_bins(demo):
    rows = rows_of_label(demo, "1")
    data = summary(demo, rows, "ink")
    assert data.numeric and data.edges.size == data.selected.size + 1 == data.overall.size + 1
    widths = np.diff(data.edges)
    assert (data.selected * widths).sum() == pytest.approx(1.0)
    assert (data.overall * widths).sum() == pytest.approx(1.0)
    assert summary(demo, [], "ink").selected.sum() == 0.0


def test_summary_chart_follows_the_selection_and_the_column(demo):
    view = view_of(demo)
    assert not view.chart.visible and view.summary_column.options == ["label", "ink"]
    view.state.select(rows_of_label(demo, "7"))
    assert view.chart.visible and view.chart.object.x_range.factors[0] == "7"
    view.summary_column.value = "ink"
    assert not isinstance(view.chart.object.x_range, FactorRange)


def test_hostile_categories_stay_plain_text_in_the_chart(hostile):
    data = summary(hostile, [1, 3], "label")
    assert data.labels[0].startswith("<img") and data.selected[0] == 1.0
    plot = summary_figure(data)
    assert all(isinstance(axis.axis_label, PlainText) for axis in (*plot.xaxis, *plot.yaxis))
    assert not plot.xaxis[0].major_label_overrides  # factors are drawn as canvas text, never parsed as math


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_export_round_trips(demo, fmt):
    view = view_of(demo)
    rows = [3, 40, 41, 1000]
    view.state.select(rows)
    view.export_format.value = fmt
    assert view.download.filename == f"demo-selection.{fmt}"
    data = view.download.callback().getvalue()
    if fmt == "csv":
        back = pacsv.read_csv(io.BytesIO(data)).to_pylist()
    elif fmt == "parquet":
        back = pq.read_table(io.BytesIO(data)).to_pylist()
    else:
        back = [json.loads(line) for line in data.decode("utf-8").splitlines()]
    expected = demo.rows.table(rows, ["id", "label"]).to_pylist()
    assert [{"id": r["id"], "label": str(r["label"])} for r in back] == expected
    assert back[0]["ink"] == pytest.approx(demo.rows.numbers("ink")[3], rel=1e-6)


def test_export_of_an_empty_selection_is_a_header(demo):
    view = view_of(demo)
    data = view.download.callback().getvalue().decode("utf-8")
    assert data.strip().splitlines() == ['"id","label","ink"']


def test_selected_table_gives_the_rows_to_python(demo):
    view = view_of(demo)
    view.state.select([7, 3])
    table = view.selected_table()
    assert table.column_names == demo.rows.display_columns()
    assert table.column("id").to_pylist() == demo.dataset.table.column("id").take([3, 7]).to_pylist()


def test_isolate_and_clear(demo):
    view = view_of(demo)
    state = view.state
    state.select(np.array([4, 4, 1]))
    assert state.selection.tolist() == [1, 4] and state.url_selection == "1,4"
    view.isolate.value = True
    assert state.isolate
    view.clear.clicks += 1
    assert state.selection.size == 0 and state.url_selection == "" and not state.isolate
    assert not view.isolate.value
    assert table_rows(view.table.object) == [] and view.grid.object == "" and not view.chart.visible
    assert "0 of 1,797 selected" in view.count.object


def test_a_link_selection_reaches_the_view(demo):
    view = view_of(demo)
    view.state.url_selection = "12,10"
    assert table_rows(view.table.object) == [10, 12]
