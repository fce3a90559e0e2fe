"""One report map: a WebGL scatter of the shown points with hover card, neighbour links and
colour bars, its first view, and (for a sampled map) the raster image of every point beneath.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Sequence

import numpy as np

from projector.explore.framing import Frame, frame
from projector.figures.map_base import add_color_bar, add_neighbor_links, add_points, blank_map, hover_tool, label_axes
from projector.figures.options import MapOptions
from projector.figures.points import ShownPoints
from projector.figures.scripts import script

if TYPE_CHECKING:
    from projector.explore.overlays import Overlays

__all__ = ["map_figure", "raster_underlay", "first_frame"]

RASTER_SIZE = (1600, 1200)  # pixels of the image of all points under a sampled map
RANGE_PAD = 0.05  # margin on each side of a map's ranges, as Bokeh's automatic ranges had


def first_frame(coords: np.ndarray) -> Frame:
    """The first view of a map of ``coords`` (the bulk, padded as Bokeh pads)."""
    return frame(coords[:, 0], coords[:, 1], pad=RANGE_PAD)


def map_figure(
    points: ShownPoints, x: str, y: str, title: str, axis_names: Sequence[str], options: MapOptions, width: int, view: Frame,
    overlays: "Overlays | None" = None,
):
    """One scatter of ``points`` at columns ``x``/``y``, with hover card and neighbour links,
    opening on ``view``'s first ranges (the bulk); its reset tool shows every point. Built from
    the same parts as the app's map (:mod:`~projector.figures.map_base`), with a tap tool and a
    black ring on the hovered point; ``overlays`` (labels, contours) are drawn over the points,
    contours of a category in its legend colour.
    Returns ``(figure, renderer, links source, colour bars per option)``."""
    fig = blank_map((width, options.height), tap=True, view=view)
    fig.title.text = title  # a Title draws plain text: no math, no HTML
    label_axes(fig, axis_names[0] if axis_names else "x", axis_names[1] if len(axis_names) > 1 else "y")
    renderer = add_points(fig, points.source, x, y, fill_color={"field": "c0", "transform": points.mappers[0]},
                          size=5 if points.rows.size > 20_000 else 7, alpha=0.85)
    renderer.hover_glyph = renderer.glyph.clone(line_color="#000000", line_width=2)
    bars = [
        [add_color_bar(fig, points.mappers[i], spec.column or "", visible=i == 0)] if spec.kind == "numeric" else []
        for i, spec in enumerate(points.specs)
    ]
    links = add_neighbor_links(fig)
    if overlays:
        from projector.figures.overlay_style import category_palette
        from projector.figures.overlays import add_overlays

        add_overlays(fig, overlays, palette=category_palette(points.specs[0]))
    fig.add_tools(hover_tool(renderer, points.hover_args, script("card.js") + "\n" + script("source_hover.js")))
    return fig, renderer, links, bars


def raster_underlay(fig, coords: np.ndarray, spec, view: Frame) -> None:
    """An image of every point, fixed to the data bounds, under the interactive sample.

    When the first view leaves far points out, the points inside it get an image of their own
    over that view, so the bulk keeps the full resolution, and the far ones one over the full
    extent. It is shaded as the app's raster mode and the PNG/SVG export shade
    (:class:`~projector.explore.shading.MapRaster`), so all three show one picture.
    """
    from PIL import Image

    from projector.explore.shading import MapRaster, Viewport
    from projector.media import encode_png

    x, y = coords[:, 0], coords[:, 1]
    x0, x1, y0, y1 = float(x.min()), float(x.max()), float(y.min()), float(y.max())
    x1, y1 = (x1 if x1 > x0 else x0 + 1.0), (y1 if y1 > y0 else y0 + 1.0)
    images = [((x0, x1, y0, y1), None)]
    if view.trimmed:
        (vx0, vx1), (vy0, vy1) = view.x, view.y
        inside = (x >= vx0) & (x <= vx1) & (y >= vy0) & (y <= vy1)
        images = [((x0, x1, y0, y1), ~inside), ((vx0, vx1, vy0, vy1), inside)]
    raster = MapRaster(x, y)
    for (left, right, bottom, top), visible in images:
        packed = raster.render(Viewport(left, right, bottom, top, RASTER_SIZE[0], RASTER_SIZE[1]), spec, visible=visible, spread=1)
        rgba = np.ascontiguousarray(packed[::-1]).view(np.uint8).reshape(packed.shape[0], packed.shape[1], 4)  # PNG rows run top down
        png = encode_png(Image.fromarray(rgba, mode="RGBA"), compress_level=6)
        uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        fig.image_url(url=[uri], x=left, y=top, w=right - left, h=top - bottom, anchor="top_left", global_alpha=0.6)
