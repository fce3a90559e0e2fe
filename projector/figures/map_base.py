"""The parts every map figure is built from, so the app's map and a report's map are one picture.

The app's map view (:class:`~projector.app.views.map.MapView`) and a report's map
(:func:`~projector.figures.map_figure.map_figure`) both start from :func:`blank_map` and draw
their points, neighbour links, colour bar and hover card with the builders here. What really
differs is a parameter: the app stretches and resolves clicks on the server (no tap tool), a
report has a fixed size and selects with the tap tool in the page; the app's opacity comes from
its state and its points go through a ``CDSView`` (filters, isolate).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from projector.explore.colors import GREY, NEIGHBOR_COLOR

if TYPE_CHECKING:
    from bokeh.models import CDSView, ColorBar, ColumnDataSource, GlyphRenderer, HoverTool
    from bokeh.plotting import figure as Figure

    from projector.explore.framing import Frame

__all__ = [
    "blank_map", "show_frame", "label_axes", "add_points", "add_neighbor_links", "no_links", "add_color_bar", "hover_tool",
    "GRID_ALPHA", "DIMMED_ALPHA", "LINK_ALPHA", "LINK_WIDTH", "MIN_STRETCH_HEIGHT",
]

GRID_ALPHA = 0.3
DIMMED_ALPHA = 0.25  # points outside a selection turn grey at this alpha
LINK_ALPHA = 0.7  # the report's; the app drew 0.6 before the two shared this module
LINK_WIDTH = 1.2
COLOR_BAR_WIDTH = 12
MIN_STRETCH_HEIGHT = 420  # a stretching map never gets shorter than this (pixels)


def blank_map(size: tuple[int, int] | None = None, *, tap: bool = False, view: "Frame | None" = None) -> "Figure":
    """An empty WebGL map figure with the shared tools, grid and axis-label style.

    Args:
        size: ``(width, height)`` in pixels; None stretches to the container (at least
            :data:`MIN_STRETCH_HEIGHT` high), as the app's map does.
        tap: add Bokeh's tap tool (a report selects a clicked point in the page; the app
            resolves clicks on the server from the ``Tap`` event and needs no tool).
        view: the ranges to open on (:func:`show_frame`); None leaves ``0..1`` until set.
    """
    from bokeh.models import Range1d
    from bokeh.plotting import figure

    tools = ["pan", "wheel_zoom", "box_select", "lasso_select", *(["tap"] if tap else []), "reset"]
    sizing: dict[str, Any] = {"sizing_mode": "stretch_both", "min_height": MIN_STRETCH_HEIGHT} if size is None else {"width": size[0], "height": size[1]}
    fig = figure(
        **sizing, output_backend="webgl", tools=",".join(tools), active_drag="pan", active_scroll="wheel_zoom",
        toolbar_location="above", x_range=Range1d(0, 1), y_range=Range1d(0, 1),
    )
    fig.grid.grid_line_alpha = GRID_ALPHA
    fig.xaxis.axis_label_text_font_style = "normal"
    fig.yaxis.axis_label_text_font_style = "normal"
    if view is not None:
        show_frame(fig, view)
    return fig


def show_frame(fig: "Figure", view: "Frame") -> None:
    """Open ``fig`` on ``view``'s first ranges (the bulk); its reset tool shows every point."""
    for (start, end), (low, high), axis in ((view.x, view.x_full, fig.x_range), (view.y, view.y_full, fig.y_range)):
        axis.update(start=start, end=end, reset_start=low, reset_end=high)


def label_axes(fig: "Figure", x: str, y: str) -> None:
    """Axis labels as plain text (a column name is never read as math or HTML)."""
    from bokeh.models import PlainText

    fig.xaxis.axis_label = PlainText(x)
    fig.yaxis.axis_label = PlainText(y)


def add_points(
    fig: "Figure", source: "ColumnDataSource", x: str, y: str, *, fill_color: dict, size: "float | str", alpha: float,
    view: "CDSView | None" = None,
) -> "GlyphRenderer":
    """The map's scatter: unselected points turn grey when there is a selection, selected ones
    keep their colour. ``fill_color`` is a field spec with its colour mapper; ``size`` a number
    or a column of ``source``; ``view`` filters the drawn rows (the app's filters)."""
    renderer = fig.scatter(
        x, y, source=source, size=size, fill_color=fill_color, line_color=None, fill_alpha=alpha,
        **({"view": view} if view is not None else {}),
    )
    renderer.nonselection_glyph = renderer.glyph.clone(fill_color=GREY, fill_alpha=DIMMED_ALPHA)
    renderer.selection_glyph = renderer.glyph.clone()
    return renderer


def no_links() -> dict[str, list]:
    """The data of a links source that draws no links."""
    return {"x0": [], "y0": [], "x1": [], "y1": []}


def add_neighbor_links(fig: "Figure") -> "ColumnDataSource":
    """Lines from the focused point to its neighbours; returns their (empty) source, which the
    app fills from the server and a report from the page."""
    from bokeh.models import ColumnDataSource

    links = ColumnDataSource(data=no_links())
    fig.segment("x0", "y0", "x1", "y1", source=links, line_color=NEIGHBOR_COLOR, line_alpha=LINK_ALPHA, line_width=LINK_WIDTH)
    return links


def add_color_bar(fig: "Figure", mapper, title: str, *, visible: bool) -> "ColorBar":
    """A colour bar of ``mapper`` right of the map, titled as plain text."""
    from bokeh.models import ColorBar, PlainText

    bar = ColorBar(color_mapper=mapper, width=COLOR_BAR_WIDTH, title=PlainText(title), visible=visible)
    fig.add_layout(bar, "right")
    return bar


def hover_tool(renderer: "GlyphRenderer", args: dict, code: str) -> "HoverTool":
    """A hover tool over ``renderer`` whose callback (``code`` with ``args``) draws the card;
    Bokeh's own tooltip is off. The caller adds it to the figure."""
    from bokeh.models import CustomJS, HoverTool

    return HoverTool(renderers=[renderer], tooltips=None, callback=CustomJS(args=args, code=code))
