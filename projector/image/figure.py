"""What an exported image draws where, independent of the output format.

A :class:`Figure` is the point raster in its ``plot`` box and the vector items around it (frame,
title, legend, footer). :mod:`projector.image.layout` makes one; the painters in
:mod:`projector.image.painters` draw it with Pillow or as SVG.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from PIL import Image as PILImage

TEXT_COLOR = "#222222"
MUTED_COLOR = "#666666"  # footer, counts and the colour bar's ends
FRAME_COLOR = "#d0d0d0"  # the line around the map and the colour bar


@dataclass(frozen=True)
class Text:
    """One line of text; ``(x, y)`` is on its baseline, at its start, middle or end (``align``).

    ``halo`` is the colour of an outline drawn under the letters (a map label's, so it reads
    over points), ``halo`` pixels wide on each side; None draws none.
    """

    x: float
    y: float
    text: str
    size: int
    color: str = TEXT_COLOR
    align: str = "start"
    halo: str | None = None
    halo_width: int = 0


@dataclass(frozen=True)
class Rect:
    """A rectangle from ``(x0, y0)`` (top left) to ``(x1, y1)``; None leaves fill or outline out."""

    x0: float
    y0: float
    x1: float
    y1: float
    fill: str | None
    stroke: str | None = None


@dataclass(frozen=True)
class ColorBar:
    """A horizontal colour ramp through ``colors``, left (low) to right (high)."""

    x0: float
    y0: float
    x1: float
    y1: float
    colors: tuple[str, ...]


@dataclass(frozen=True)
class Polyline:
    """A line through ``points`` (pixels from the top left), clipped to the figure's plot box."""

    points: tuple[tuple[float, float], ...]
    color: str
    width: float = 1.0
    alpha: float = 1.0


Item = Text | Rect | ColorBar | Polyline


@dataclass(frozen=True)
class Figure:
    """A laid-out map image: the point raster in the ``plot`` box and vector items around it.

    Attributes:
        width, height: the image size in pixels.
        background: colour behind everything (a CSS colour name or ``#rrggbb``).
        plot: ``(x0, y0, x1, y1)``, the box the points fill, in pixels from the top left.
        points: ``(y1 - y0, x1 - x0, 4)`` uint8 RGBA, transparent where there is no point.
        items: frame, overlays (contours, labels), title, legend and footer, drawn after the
            points in this order.
        title: the title (also the PNG's and SVG's title metadata), or None.
    """

    width: int
    height: int
    background: str
    plot: tuple[int, int, int, int]
    points: np.ndarray
    items: tuple[Item, ...]
    title: str | None = None

    def to_image(self) -> "PILImage.Image":
        """The figure drawn with Pillow, as an RGBA image."""
        from projector.image.painters import paint_image

        return paint_image(self)

    def to_svg(self) -> str:
        """The figure as an SVG document: points as an embedded PNG, text as ``<text>`` elements."""
        from projector.image.painters import paint_svg

        return paint_svg(self)
