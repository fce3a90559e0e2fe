"""The map's raster mode in plain pytest: pixels, greying, nearest rows and the switch of mode."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import projector
from projector.explore.colors import CATEGORY10, GREY, color_spec
from projector.app.shell import Session
from projector.explore.store import DataStore
from projector.explore.shading import MapRaster, NearestRows, Viewport, spread_points

CORNERS = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]], dtype=np.float32)
VIEW = Viewport(-1.0, 11.0, -1.0, 11.0, 120, 120)  # 10 pixels per unit

pytestmark = pytest.mark.usefixtures("private_cache")  # a fresh cache per test (tests/conftest.py)


def alpha(image: np.ndarray) -> np.ndarray:
    return image >> 24


def rgb(image: np.ndarray, row: int, col: int) -> tuple[int, int, int]:
    value = int(image[row, col])
    return value & 255, (value >> 8) & 255, (value >> 16) & 255


def hex_rgb(color: str) -> tuple[int, int, int]:
    return tuple(int(color[i:i + 2], 16) for i in (1, 3, 5))


def pixel(x: float, y: float) -> tuple[int, int]:
    """(row, col) of data position (x, y) in VIEW."""
    return int((y - VIEW.y0) * 10), int((x - VIEW.x0) * 10)


@pytest.fixture(scope="module")
def corners():
    """Four points, one per corner, in four categories."""
    x, y = CORNERS[:, 0], CORNERS[:, 1]
    labels = pa.chunked_array([pa.array(["a", "b", "c", "d"])])
    return MapRaster(x, y), color_spec("label", labels, 4)


def test_points_colour_their_pixels_and_nothing_else(corners):
    raster, colors = corners
    image = raster.render(VIEW, colors, spread=0)
    assert image.shape == (VIEW.height, VIEW.width) and image.dtype == np.uint32
    assert (alpha(image) > 0).sum() == 4
    for (x, y), legend in zip(CORNERS, colors.legend):
        row, col = pixel(x, y)
        assert alpha(image)[row, col] > 0
        assert rgb(image, row, col) == hex_rgb(legend.color)


def test_spread_grows_isolated_points_into_empty_pixels_only(corners):
    raster, colors = corners
    image = raster.render(VIEW, colors, spread=2)
    row, col = pixel(0.0, 0.0)
    assert (alpha(image[row - 2:row + 3, col - 2:col + 3]) > 0).sum() == 21  # a disc of diameter 5: 5x5 less the corners
    assert (alpha(image) > 0).sum() == 4 * 21
    dense = np.full((3, 3), 0xFF0000FF, dtype=np.uint32)
    assert np.array_equal(spread_points(dense, 1), dense)


def test_points_outside_the_view_are_not_drawn(corners):
    raster, colors = corners
    image = raster.render(Viewport(-1.0, 5.0, -1.0, 5.0, 60, 60), colors, spread=0)
    assert (alpha(image) > 0).sum() == 1


def test_a_selection_greys_the_other_points(corners):
    raster, colors = corners
    image = raster.render(VIEW, colors, selection=np.array([3]), spread=0)
    chosen = pixel(10.0, 10.0)
    assert rgb(image, *chosen) == hex_rgb(colors.legend[3].color)
    for x, y in CORNERS[:3]:
        row, col = pixel(x, y)
        assert rgb(image, row, col) == hex_rgb(GREY)
        assert 0 < alpha(image)[row, col] < alpha(image)[chosen]


def test_hidden_rows_are_not_drawn(corners):
    raster, colors = corners
    image = raster.render(VIEW, colors, visible=np.array([True, False, False, True]), spread=0)
    assert (alpha(image) > 0).sum() == 2
    assert alpha(image)[pixel(10.0, 0.0)] == 0


def test_categories_sharing_a_pixel_blend_by_count():
    x = np.array([5.0, 5.0, 5.0, 5.0], dtype=np.float32)
    labels = pa.chunked_array([pa.array(["a", "a", "a", "b"])])
    colors = color_spec("label", labels, 4)
    image = MapRaster(x, x).render(VIEW, colors, spread=0)
    a, b = np.array(hex_rgb(CATEGORY10[0])), np.array(hex_rgb(CATEGORY10[1]))
    assert np.allclose(rgb(image, *pixel(5.0, 5.0)), (3 * a + b) / 4, atol=1)


def test_numbers_use_the_colour_bar_and_missing_values_stay_grey():
    from projector.explore.colors import numeric_palette

    values = np.array([0.0, 1.0, np.nan, 0.5], dtype=np.float32)
    colors = color_spec("score", values, 4)
    image = MapRaster(CORNERS[:, 0], CORNERS[:, 1]).render(VIEW, colors, spread=0)
    palette = numeric_palette()
    assert rgb(image, *pixel(0.0, 0.0)) == hex_rgb(palette[0])
    assert rgb(image, *pixel(10.0, 0.0)) == hex_rgb(palette[-1])
    assert rgb(image, *pixel(0.0, 10.0)) == hex_rgb(GREY)


def test_binning_keeps_every_point_in_view():
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 1, 5000).astype(np.float32), rng.uniform(0, 1, 5000).astype(np.float32)
    x[:2], y[:2] = 1.0, 1.0  # on the upper edges: drawn in the last pixel, as datashader does
    raster = MapRaster(x, y)
    pixels = raster._bin(Viewport(0.0, 1.0, 0.0, 1.0, 37, 23))
    assert pixels.max() < 37 * 23
    assert np.bincount(pixels).sum() == 5000


def test_nearest_rows_match_a_full_scan():
    from projector.explore.geometry import nearest_row

    rng = np.random.default_rng(1)
    x = (rng.standard_normal(20000) * 4).astype(np.float32)
    y = rng.standard_normal(20000).astype(np.float32)
    visible = rng.random(20000) > 0.5
    index = NearestRows(x, y).build()
    for _ in range(200):
        px, py = rng.uniform(-10, 10), rng.uniform(-3, 3)
        sx, sy = rng.uniform(2, 500), rng.uniform(2, 500)
        mask = visible if rng.random() > 0.5 else None
        got = index.query(px, py, sx, sy, 10.0, visible=mask)
        want = nearest_row(x, y, px, py, sx, sy, 10.0, visible=mask)
        if got is None or want is None:
            assert got == want
        else:
            distance = lambda r: ((x[r] - px) * sx) ** 2 + ((y[r] - py) * sy) ** 2  # noqa: E731
            assert distance(got) == pytest.approx(distance(want), rel=1e-5)


def test_nearest_rows_of_a_single_point_and_of_nothing():
    one = NearestRows(np.array([2.0], np.float32), np.array([3.0], np.float32))
    assert one.query(2.0, 3.0, 1.0, 1.0) == 0
    assert one.query(50.0, 3.0, 1.0, 1.0) is None
    assert NearestRows(np.zeros(0, np.float32), np.zeros(0, np.float32)).query(0.0, 0.0, 1.0, 1.0) is None


def test_viewport_names_the_bad_value():
    with pytest.raises(ValueError, match="width=0"):
        Viewport(0.0, 1.0, 0.0, 1.0, 0, 10)
    with pytest.raises(ValueError, match="increasing"):
        Viewport(1.0, 0.0, 0.0, 1.0, 10, 10)


# -- the session: mode switch, header, hover, selection ---------------------------------------


@pytest.fixture(scope="module")
def store():
    rng = np.random.default_rng(0)
    n = 400
    xy = CORNERS[np.arange(n) % 4] + rng.standard_normal((n, 2)).astype(np.float32) * 0.2
    table = pa.table(
        {
            "x": xy[:, 0],
            "y": xy[:, 1],
            "label": [f"group {i % 4}" for i in range(n)],
            "emb": pa.FixedSizeListArray.from_arrays(pa.array(rng.standard_normal(n * 4).astype(np.float32)), 4),
        }
    )
    return DataStore(projector.Dataset.from_table(table, vector="emb", label="label"), name="corners", x="x", y="y")


def test_the_mode_switches_past_the_threshold(store):
    webgl = Session(store, webgl_max_points=store.num_rows).map
    assert webgl.mode == "webgl"
    assert webgl.points in webgl.figure.renderers and webgl.hover in webgl.figure.tools
    assert webgl.raster.renderer not in webgl.figure.renderers  # nothing of the other mode is sent
    session = Session(store, webgl_max_points=store.num_rows - 1)
    assert session.map.mode == "raster"
    assert session.map.raster.renderer in session.map.figure.renderers
    assert session.map.points not in session.map.figure.renderers and session.map.hover not in session.map.figure.tools
    assert session.map.source.data["x"].size == 0  # no points travel to the browser
    assert session.map.hover.renderers == []
    assert "400 points, all drawn as a raster image" in session.header.object
    with pytest.raises(ValueError, match="webgl_max_points=-1"):
        Session(store, webgl_max_points=-1)


@pytest.fixture
def raster_session(store):
    return Session(store, webgl_max_points=10)


def test_pages_on_one_map_share_its_layout_and_plain_frames(store):
    """A new page reuses the binning, hover index and first frame another page built; a page
    with its own selection draws its own frame and leaves the shared one as it was."""
    first, second = Session(store, webgl_max_points=10), Session(store, webgl_max_points=10)
    assert second.map._x is first.map._x
    assert second.map.raster.raster is first.map.raster.raster
    assert second.map.raster.nearest is first.map.raster.nearest
    shared = first.map.raster.source.data["image"][0]
    assert second.map.raster.source.data["image"][0] is shared
    assert not shared.flags.writeable
    plain = shared.copy()
    second.map.select_geometry({"type": "rect", "x0": 9.0, "x1": 11.0, "y0": 9.0, "y1": 11.0})
    greyed = second.map.raster.source.data["image"][0]
    assert greyed is not shared and not np.array_equal(greyed, plain)
    np.testing.assert_array_equal(first.map.raster.source.data["image"][0], plain)
    second.state.clear_selection()
    assert second.map.raster.source.data["image"][0] is shared  # back to the plain view: the kept frame


def test_a_kept_frame_is_only_reused_for_the_same_colouring(corners):
    raster, colors = corners
    one = MapRaster(raster.x, raster.y)
    plain = one.render(VIEW, colors, spread=0)
    assert one.render(VIEW, colors, spread=0) is plain
    assert one.render(VIEW, None, spread=0) is not plain
    assert one.render(VIEW, colors, spread=1) is not plain
    assert one.render(VIEW, colors, spread=0, selection=np.array([0])) is not plain


def test_the_raster_draws_every_row(raster_session):
    data = raster_session.map.raster.source.data
    image = data["image"][0]
    assert image.dtype == np.uint32 and (alpha(image) > 0).any()
    x0, y0, dw, dh = data["x"][0], data["y"][0], data["dw"][0], data["dh"][0]
    assert x0 < 0 < 10 < x0 + dw and y0 < 0 < 10 < y0 + dh


def test_hover_points_at_the_nearest_real_row(raster_session, store):
    layer = raster_session.map.raster
    x, y = raster_session.map._x, raster_session.map._y
    row = layer.hover(float(x[7]) + 1e-4, float(y[7]))
    assert row == 7
    assert layer.pointer.data["row"].tolist() == [7]
    layer.hover(-500.0, -500.0)  # far from every row
    assert layer.pointer.data["row"].size == 0


def test_selection_and_filters_re_render_the_raster(raster_session):
    layer = raster_session.map.raster
    before = layer.renders
    raster_session.map.select_geometry({"type": "rect", "x0": 9.0, "x1": 11.0, "y0": 9.0, "y1": 11.0})
    assert raster_session.state.selection.size == 100
    assert layer.renders == before + 1  # one image per new selection, not one per watcher
    assert layer.style["selection"].size == 100
    image = layer.source.data["image"][0]
    assert hex_rgb(GREY) in {rgb(image, r, c) for r, c in zip(*np.nonzero(alpha(image)))}
    raster_session.state.isolate = True
    assert int(raster_session.map.visible.sum()) == 100
    assert layer.style["visible"] is raster_session.map.visible
    assert "100 of 400 points drawn as a raster image" in raster_session.header.object


def test_a_click_in_raster_mode_focuses_the_nearest_row(raster_session):
    x, y = raster_session.map._x, raster_session.map._y
    raster_session.map.click(float(x[3]), float(y[3]))
    assert raster_session.state.focused == 3
