"""The app's map and a report's map are built by one figure builder (projector.figures.map_base):
same tools, grid, axis labels, selection glyphs and neighbour links; only the real differences
(stretching vs a fixed size, the report's tap tool) tell them apart."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import projector
from projector.explore.colors import GREY, NEIGHBOR_COLOR
from projector.figures import map_base

pytestmark = pytest.mark.usefixtures("private_cache")  # a fresh cache per test (tests/conftest.py)


@pytest.fixture(scope="module")
def figures():
    """The app's map figure and a report's map figure of one small dataset."""
    from bokeh.plotting import figure as Figure

    from projector.app.shell import Session
    from projector.figures.map_block import map_block
    from projector.figures.options import MapOptions
    from projector.report.document import map_entry

    rng = np.random.default_rng(3)
    n = 80
    vectors = rng.standard_normal((n, 8)).astype(np.float32)
    table = pa.table({
        "emb": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), 8),
        "label": [["a", "b", "c"][i % 3] for i in range(n)],
        "x": rng.standard_normal(n), "y": rng.standard_normal(n),
    })
    store, entry = map_entry(projector.Dataset.from_table(table, vector="emb", label="label"), x="x", y="y")
    app = Session(store).map.figure
    (report,) = [model for model in map_block(store, entry, MapOptions(k=5)).references() if isinstance(model, Figure)]
    return app, report


def _tools(fig) -> list[str]:
    return [type(tool).__name__ for tool in fig.toolbar.tools]


def _points(fig):
    """The scatter of the map's points: the renderer the hover card is drawn for."""
    from bokeh.models import HoverTool

    (renderer,) = fig.select_one(HoverTool).renderers
    return renderer


def _links(fig):
    from bokeh.models import Segment

    (renderer,) = [r for r in fig.renderers if isinstance(r.glyph, Segment)]
    return renderer.glyph


def test_both_maps_have_the_same_tools_but_only_the_report_a_tap_tool(figures):
    app, report = figures
    assert _tools(report) == ["PanTool", "WheelZoomTool", "BoxSelectTool", "LassoSelectTool", "TapTool", "ResetTool", "HoverTool"]
    # the app resolves clicks on the server from the Tap event: no tap tool, the rest the same
    assert _tools(app) == [name for name in _tools(report) if name != "TapTool"]
    for fig in (app, report):
        assert type(fig.toolbar.active_drag).__name__ == "PanTool"
        assert type(fig.toolbar.active_scroll).__name__ == "WheelZoomTool"
        assert fig.toolbar_location == "above" and fig.output_backend == "webgl"


def test_both_maps_dim_unselected_points_grey_and_keep_selected_ones(figures):
    for fig in figures:
        points = _points(fig)
        assert points.nonselection_glyph.fill_color == GREY
        assert points.nonselection_glyph.fill_alpha == map_base.DIMMED_ALPHA == 0.25
        assert points.selection_glyph.fill_color == points.glyph.fill_color  # selected: the point's own colour
        assert points.glyph.line_color is None


def test_both_maps_draw_grid_axes_and_neighbour_links_alike(figures):
    from bokeh.models import PlainText

    for fig in figures:
        assert all(grid.grid_line_alpha == map_base.GRID_ALPHA for grid in fig.grid)
        for axis in (*fig.xaxis, *fig.yaxis):
            assert axis.axis_label_text_font_style == "normal" and isinstance(axis.axis_label, PlainText)
        links = _links(fig)
        assert (links.line_color, links.line_alpha, links.line_width) == (NEIGHBOR_COLOR, map_base.LINK_ALPHA, map_base.LINK_WIDTH)


def test_the_app_map_stretches_and_the_report_map_has_its_size(figures):
    app, report = figures
    assert app.sizing_mode == "stretch_both" and app.min_height == map_base.MIN_STRETCH_HEIGHT
    assert report.sizing_mode is None and report.width > 0 and report.height > 0


def test_both_maps_open_on_the_bulk_and_reset_to_every_point(figures):
    """The first ranges and the reset ranges come from the same frame of the same points."""
    app, report = figures
    for fig in figures:
        for axis in (fig.x_range, fig.y_range):
            assert axis.reset_start <= axis.start < axis.end <= axis.reset_end
    # the report pads a little more (as Bokeh's automatic ranges did); both hold every point
    assert report.x_range.reset_start <= app.x_range.reset_start and report.x_range.reset_end >= app.x_range.reset_end
