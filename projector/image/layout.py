"""Laying out a map image once: title, the point layer in a frame, legend or colour bar, footer.

Sizes follow from the image size (the body text is a fiftieth of the shorter side, at least 11
pixels); text is measured with the font the PNG painter draws with. The point layer is
:func:`projector.image.points.point_layer`, the app's raster shading.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np

from projector.errors import ParameterError
from projector.image.figure import FRAME_COLOR, MUTED_COLOR, Figure, Item, Rect, Text
from projector.image.legend import legend_items, legend_width
from projector.image.points import plot_ranges, point_layer
from projector.image.text import fit
from projector.validation import check_coords, check_whole

if TYPE_CHECKING:
    from typing import Unpack

    from PIL import Image as PILImage

    from projector.explore.colors import ColorSpec
    from projector.explore.overlays import Overlays

SIZE_RANGE = (200, 8000)  # allowed width and height in pixels
POINT_SIZE_RANGE = (1, 51)


class ComposeOptions(TypedDict, total=False):
    """The options of :func:`compose` (see there), for the functions that pass them on."""

    colors: "ColorSpec | None"
    title: str | None
    footer: str | None
    width: int
    height: int
    point_size: int | None
    background: str
    legend: bool
    overlays: "Overlays | None"


def compose(
    coords: np.ndarray,
    *,
    colors: "ColorSpec | None" = None,
    title: str | None = None,
    footer: str | None = None,
    width: int = 1200,
    height: int = 900,
    point_size: int | None = None,
    background: str = "white",
    legend: bool = True,
    overlays: "Overlays | None" = None,
) -> Figure:
    """Lay out the map of ``coords`` (N, 2 or 3; the first two columns are drawn).

    Args:
        colors: the colouring (see :func:`projector.explore.colors.color_spec`); None: one colour.
        title: drawn above the map; None or "" for none.
        footer: the line under the map; None: the number of points.
        width, height: image size in pixels, each in [200, 8000].
        point_size: diameter of every point in pixels, in [1, 51]; None grows points adaptively,
            more on sparse maps than on dense ones.
        background: CSS colour name or ``#rrggbb`` behind the map.
        legend: draw the legend (categories with counts) or colour bar on the right.
        overlays: cluster labels and density contours drawn over the points
            (:mod:`projector.image.overlays`): the labels that fit without overlapping.
    """
    xy = _check_coords(coords)
    _check_options(width, height, point_size, background)
    if colors is not None and len(colors.values) != len(xy):
        raise ValueError(f"colors has {len(colors.values)} values but coords has {len(xy)} rows; they must describe the same points")
    base = max(11, round(min(width, height) / 50))  # body text size
    pad = round(base * 1.2)
    items: list[Item] = []
    top = pad
    if title:
        title_size = round(base * 1.4)
        items.append(Text(width / 2, pad + title_size, fit(title, title_size, width - 2 * pad), title_size, align="middle"))
        top = pad + round(title_size * 1.9)
    small = max(10, round(base * 0.8))
    footer = footer if footer is not None else f"{len(xy):,} points"
    items.append(Text(pad, height - pad, fit(footer, small, width - 2 * pad), small, MUTED_COLOR))
    bottom = height - pad - round(small * 1.8)

    shown = colors if legend and colors is not None and colors.kind in ("categorical", "numeric") else None
    panel = legend_width(shown, base, width) if shown is not None else 0
    right = width - pad - (panel + pad if panel else 0)
    if right - pad < 50 or bottom - top < 50:
        raise ValueError(f"width={width}, height={height} leave no room for the map beside the title, legend and footer")
    plot = (pad, top, right, bottom)
    points = point_layer(xy, colors, right - pad, bottom - top, point_size)
    items.insert(0, Rect(plot[0] - 1, plot[1] - 1, plot[2] + 1, plot[3] + 1, None, FRAME_COLOR))
    ranges = plot_ranges(xy, right - pad, bottom - top)
    if overlays and ranges is not None:
        from projector.figures.overlay_style import category_palette
        from projector.image.overlays import overlay_items

        items[1:1] = overlay_items(overlays, ranges, plot, base, category_palette(colors))
    if shown is not None:
        items.extend(legend_items(shown, right + pad, top, panel, bottom, base))
    return Figure(width, height, background, plot, points, tuple(items), title or None)


def render_image(coords: np.ndarray, **options: "Unpack[ComposeOptions]") -> "PILImage.Image":
    """The map of ``coords`` as a Pillow RGBA image; the options are :func:`compose`'s."""
    return compose(coords, **options).to_image()


def _check_coords(coords: Any) -> np.ndarray:
    xy = check_coords(coords, min_dims=2, finite=False)  # non-finite rows are left out of the picture
    return np.ascontiguousarray(xy[:, :2], dtype=np.float32)


def _check_options(width: int, height: int, point_size: int | None, background: str) -> None:
    from PIL import ImageColor

    low, high = SIZE_RANGE
    for name, value, default in (("width", width, 1200), ("height", height, 900)):
        check_whole(name, value, minimum=low, maximum=high, meaning="pixels", default=default)
    low, high = POINT_SIZE_RANGE
    check_whole("point_size", point_size, minimum=low, maximum=high, meaning="pixels; None sizes points by density", or_none=True)
    try:
        ImageColor.getrgb(background)
    except (ValueError, AttributeError, TypeError):
        raise ParameterError(f"background={background!r} is not a colour; give a CSS colour name or '#rrggbb'") from None
