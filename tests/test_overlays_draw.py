"""Cluster labels and density contours drawn on every surface: Bokeh maps (app and report),
PNG and SVG. The overlays are made by hand here (projector.explore.overlays' plain data), so
these tests say how overlays are drawn, whatever computes them."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest

import projector
from projector.explore.overlays import Contour, MapLabel, Overlays
from projector.figures.overlay_style import CONTOUR_COLOR, LABEL_COLOR, greedy_fit, label_order, size_steps

pytestmark = pytest.mark.usefixtures("private_cache")  # a fresh cache per test (tests/conftest.py)

HOSTILE = "<img src=x onerror=alert(1)>"
RADIUS = 1.5


def _circle(cx: float, cy: float, r: float, n: int = 120) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n)
    return np.c_[cx + r * np.cos(t), cy + r * np.sin(t)]


def _overlays() -> Overlays:
    """Two coarse labels (a large and a small cluster), one fine label, contours of all points
    (two levels) and of category "b"."""
    return Overlays(
        labels=(
            MapLabel(5.0, 5.0, "small", 40, level=0, cluster=1),
            MapLabel(0.0, 0.0, HOSTILE, 400, level=0, cluster=0),
            MapLabel(5.0, 3.6, "fine", 10, level=1, cluster=2),
        ),
        contours=(
            Contour(0.5, (_circle(0, 0, RADIUS), _circle(5, 5, 1.0))),
            Contour(0.9, (_circle(0, 0, 2.5),)),
            Contour(0.5, (_circle(5, 5, 0.6),), category="b"),
        ),
    )


def _blobs(n: int = 400) -> tuple[np.ndarray, pa.ChunkedArray]:
    rng = np.random.default_rng(0)
    xy = np.r_[rng.normal(0, 0.8, (n // 2, 2)), rng.normal(5, 0.8, (n // 2, 2))]
    return xy, pa.chunked_array([pa.array(["a"] * (n // 2) + ["b"] * (n // 2))])


# -- the rules every surface shares -------------------------------------------------------------


def test_larger_clusters_get_larger_steps_and_coarse_labels_claim_room_first():
    labels = _overlays().labels
    steps = size_steps(labels)
    assert steps[1] > steps[0] > steps[2]  # 400 > 40 > 10 rows
    assert list(label_order(labels)) == [1, 0, 2]  # level 0 by size, then level 1
    boxes = np.array([[0, 0, 10, 10], [5, 5, 15, 15], [20, 0, 30, 10]])
    assert list(greedy_fit(boxes)) == [True, False, True]


# -- Bokeh ----------------------------------------------------------------------------------------


@pytest.fixture
def drawn():
    from projector.figures.map_base import blank_map
    from projector.figures.overlays import add_overlays

    fig = blank_map((600, 400))
    fig.x_range.update(start=-3, end=8, reset_start=-3, reset_end=8)
    fig.y_range.update(start=-3, end=8, reset_start=-3, reset_end=8)
    return fig, add_overlays(fig, _overlays(), palette={"b": "#ff7f0e"})


def test_contours_are_one_multi_line_per_category_in_the_legend_colour(drawn):
    from bokeh.models import MultiLine

    fig, overlays = drawn
    lines = [r for r in fig.renderers if isinstance(r.glyph, MultiLine)]
    assert lines == list(overlays.contours) and len(lines) == 2
    everything, b = lines
    assert everything.glyph.line_color == CONTOUR_COLOR and b.glyph.line_color == "#ff7f0e"
    assert len(everything.data_source.data["xs"]) == 3 and len(b.data_source.data["xs"]) == 1
    alpha = everything.data_source.data["alpha"]
    assert alpha[0] > alpha[2]  # the inner (0.5) contour is darker than the outer (0.9)


def test_labels_are_text_glyphs_with_a_halo_sized_by_cluster_size(drawn):
    from bokeh.models import Text

    fig, overlays = drawn
    halo, text = overlays.labels
    assert [r for r in fig.renderers if isinstance(r.glyph, Text)] == [halo, text]
    assert halo.data_source is text.data_source
    assert text.glyph.text_color == LABEL_COLOR and halo.glyph.text_outline_color == "#ffffff" and halo.glyph.text_outline_width >= 3
    data = text.data_source.data
    assert data["text"] == [HOSTILE, "small", "fine"]  # coarse first, larger first
    assert list(data["px"]) == sorted(data["px"], reverse=True) and data["px"][0] > data["px"][2]
    assert data["size"] == [f"{p}px" for p in data["px"]]
    assert overlays.filter.indices == [0, 1]  # the fine label waits for a zoom
    assert halo.view.filter is overlays.filter and text.view.filter is overlays.filter


def test_label_levels_are_chosen_in_the_page_on_every_zoom(drawn):
    from bokeh.models import CustomJS

    fig, overlays = drawn
    assert isinstance(overlays.callback, CustomJS) and "filter.indices" in overlays.callback.code
    for axis in (fig.x_range, fig.y_range):
        for event in ("start", "end"):
            assert overlays.callback in axis.js_property_callbacks[f"change:{event}"]
    assert overlays.callback.args["filter"] is overlays.filter and overlays.callback.args["step"] > 1


def test_a_zoomed_in_figure_shows_finer_labels_from_the_start():
    from projector.figures.map_base import blank_map
    from projector.figures.overlays import add_overlays

    fig = blank_map((600, 400))
    fig.x_range.update(start=4, end=6, reset_start=-3, reset_end=8)  # 5.5x in
    fig.y_range.update(start=3, end=6, reset_start=-3, reset_end=8)
    assert add_overlays(fig, _overlays()).filter.indices == [0, 1, 2]


def test_hostile_label_text_stays_a_text_field(drawn):
    from bokeh.embed import json_item

    fig, _ = drawn
    document = json.dumps(json_item(fig))
    assert document.count("onerror") == 1
    (source,) = [m for m in _models(json.loads(document)) if m.get("name") == "ColumnDataSource" and "text" in _data_keys(m)]
    assert HOSTILE in json.dumps(source["attributes"]["data"])
    assert all(m.get("name") not in ("Div", "HTML", "Paragraph") for m in _models(json.loads(document)))


def test_overlays_can_be_toggled_and_removed(drawn):
    fig, overlays = drawn
    overlays.set_visible(labels=False)
    assert not any(r.visible for r in overlays.labels) and all(r.visible for r in overlays.contours)
    before = len(fig.renderers)
    overlays.remove(fig)
    assert len(fig.renderers) == before - 4
    assert all(overlays.callback not in callbacks for callbacks in fig.x_range.js_property_callbacks.values())


def _models(node):
    """Every serialized model in a Bokeh JSON document."""
    if isinstance(node, dict):
        if node.get("type") == "object":
            yield node
        for value in node.values():
            yield from _models(value)
    elif isinstance(node, list):
        for value in node:
            yield from _models(value)


def _data_keys(model: dict) -> list[str]:
    data = model.get("attributes", {}).get("data", {})
    return [entry[0] for entry in data.get("entries", [])] if isinstance(data, dict) else []


@pytest.fixture(scope="module")
def store_entry():
    from projector.report.document import map_entry

    xy, labels = _blobs(200)
    table = pa.table({"label": labels, "x": xy[:, 0], "y": xy[:, 1],
                      "emb": pa.FixedSizeListArray.from_arrays(pa.array(np.repeat(xy, 2, axis=1).astype(np.float32).ravel()), 4)})
    return map_entry(projector.Dataset.from_table(table, vector="emb", label="label"), x="x", y="y")


def test_a_report_map_draws_the_overlays_given_in_its_options(store_entry):
    from bokeh.models import MultiLine, Text
    from bokeh.plotting import figure as Figure

    from projector.figures.map_block import map_block
    from projector.figures.options import MapOptions

    store, entry = store_entry
    for overlays, glyphs in ((None, 0), (_overlays(), 4)):
        (fig,) = [m for m in map_block(store, entry, MapOptions(k=3, overlays=overlays)).references() if isinstance(m, Figure)]
        drawn = [r for r in fig.renderers if isinstance(r.glyph, MultiLine | Text)]
        assert len(drawn) == glyphs
    (b,) = [r for r in drawn if isinstance(r.glyph, MultiLine) and r.glyph.line_color != CONTOUR_COLOR]
    assert b.glyph.line_color == dict((e.name, e.color) for e in store.colors("label", 20).legend)["b"]


def test_the_app_map_shows_and_replaces_overlays(store_entry):
    from bokeh.models import Text

    from projector.app.shell import Session

    store, _ = store_entry
    view = Session(store).map
    first = len(view.figure.renderers)
    drawn = view.show_overlays(_overlays())
    assert drawn is view.overlays and len(view.figure.renderers) == first + 4
    fewer = Overlays(labels=(MapLabel(0, 0, "one", 10),))
    view.show_overlays(fewer)
    texts = [r for r in view.figure.renderers if isinstance(r.glyph, Text)]
    assert len(view.figure.renderers) == first + 2 and texts[1].data_source.data["text"] == ["one"]
    assert view.show_overlays(None) is None and len(view.figure.renderers) == first


# -- PNG and SVG ----------------------------------------------------------------------------------


def _figure(overlays: Overlays | None, **options):
    from projector.explore.colors import color_spec
    from projector.image import compose

    xy, labels = _blobs()
    return compose(xy, colors=color_spec("label", labels, len(xy)), width=800, height=600, overlays=overlays, **options)


def _to_pixels(figure, xy):
    """Data -> image pixels, as the point layer maps them."""
    from projector.image.points import plot_ranges

    x0, y0, x1, y1 = figure.plot
    (dx0, dx1), (dy0, dy1) = plot_ranges(_blobs()[0], x1 - x0, y1 - y0)
    xy = np.atleast_2d(xy)
    return np.c_[x0 + (xy[:, 0] - dx0) / (dx1 - dx0) * (x1 - x0), y0 + (dy1 - xy[:, 1]) / (dy1 - dy0) * (y1 - y0)]


def test_png_labels_are_dark_text_in_a_white_halo_where_their_cluster_is():
    from projector.image.figure import Text

    plain = np.asarray(_figure(None).to_image().convert("RGB")).astype(int)
    figure = _figure(_overlays())
    pixels = np.asarray(figure.to_image().convert("RGB")).astype(int)
    labels = [item for item in figure.items if isinstance(item, Text) and item.halo]
    assert [item.text for item in labels] == [HOSTILE, "small", "fine"]
    (cx, cy), = _to_pixels(figure, [0.0, 0.0])
    around = np.s_[int(cy) - 12:int(cy) + 12, int(cx) - 60:int(cx) + 60]
    dark = (pixels[around].max(axis=2) < 80).sum()
    haloed = ((plain[around].min(axis=2) < 230) & (pixels[around].min(axis=2) > 245)).sum()
    assert dark > 40  # the letters
    assert haloed > 100  # points under the label turned white: the halo
    assert (plain[around].max(axis=2) < 80).sum() == 0  # no dark pixels there without the label


def test_png_contours_run_along_their_path():
    figure = _figure(_overlays())
    plain = np.asarray(_figure(None).to_image().convert("RGB")).astype(int)
    pixels = np.asarray(figure.to_image().convert("RGB")).astype(int)
    ring = _to_pixels(figure, _circle(0, 0, 2.5, 24)[:-1])  # the outer contour, out among sparse points
    near = [np.s_[int(round(y)) - 2:int(round(y)) + 3, int(round(x)) - 2:int(round(x)) + 3] for x, y in ring]  # a line is 2 px wide
    assert all(np.abs(pixels[at] - plain[at]).sum(axis=2).max() > 100 for at in near)
    assert all((pixels[at].max(axis=2) < 200).any() for at in near)  # grey, over white or light points


def test_two_labels_at_one_spot_only_the_larger_is_drawn():
    from projector.image.figure import Text

    crowded = Overlays(labels=(MapLabel(0, 0, "minor", 20), MapLabel(0, 0, "major", 300)))
    figure = _figure(crowded)
    assert [item.text for item in figure.items if isinstance(item, Text) and item.halo] == ["major"]


def test_labels_outside_the_plot_are_left_out():
    from projector.image.figure import Text

    far = Overlays(labels=(MapLabel(500, 500, "far", 20),))
    assert not [item for item in _figure(far).items if isinstance(item, Text) and item.halo]


def test_svg_labels_are_escaped_text_with_a_halo_and_contours_are_clipped_polylines():
    svg = _figure(_overlays()).to_svg()
    import xml.etree.ElementTree as ET

    root = ET.fromstring(svg.split("\n", 1)[1])
    ns = "{http://www.w3.org/2000/svg}"
    labels = [t for t in root.iter(f"{ns}text") if t.get("paint-order") == "stroke"]
    assert [t.text for t in labels] == [HOSTILE, "small", "fine"]
    assert all(t.get("stroke") == "#ffffff" for t in labels)
    assert "&lt;img src=x onerror=alert(1)&gt;" in svg and "<img" not in svg
    lines = list(root.iter(f"{ns}polyline"))
    assert len(lines) == 4 and all(line.get("clip-path") == "url(#plot)" for line in lines)


def test_save_image_passes_overlays_through(tmp_path):
    xy, labels = _blobs(100)
    table = pa.table({"label": labels, "x": xy[:, 0], "y": xy[:, 1]})
    emb = pa.FixedSizeListArray.from_arrays(pa.array(xy.astype(np.float32).ravel()), 2)
    dataset = projector.Dataset.from_table(table.append_column("emb", emb), vector="emb", label="label")
    path = dataset.save_image(tmp_path / "map.svg", "pca", overlays=Overlays(labels=(MapLabel(0, 0, "named", 50),)))
    assert ">named</text>" in path.read_text(encoding="utf-8")


def test_a_category_contour_takes_the_drawn_legend_colour_else_its_own_on_every_surface():
    from projector.figures.map_base import blank_map
    from projector.figures.overlay_style import contour_color
    from projector.figures.overlays import add_overlays
    from projector.image.overlays import overlay_items

    own = Contour(0.5, (_circle(0, 0, 1.0),), category=HOSTILE, color="#123456")
    assert contour_color(own, None) == "#123456" and contour_color(own, {HOSTILE: "#abcdef"}) == "#abcdef"
    assert contour_color(Contour(0.5, (), category="z"), {}) == CONTOUR_COLOR  # neither: grey
    assert contour_color(Contour(0.5, (), color="#123456"), {}) == CONTOUR_COLOR  # all points: always grey
    drawn = add_overlays(blank_map((300, 300)), Overlays(contours=(own,)), palette={"other": "#abcdef"})
    assert [r.glyph.line_color for r in drawn.contours] == ["#123456"]
    items = overlay_items(Overlays(contours=(own,)), ((-2, 2), (-2, 2)), (0, 0, 100, 100), 12)
    assert [item.color for item in items] == ["#123456"]
