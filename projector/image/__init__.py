"""Image export: a map as a PNG for papers or an SVG with real text; no browser involved.

:func:`export_image` is the one entry point behind ``Dataset.save_image`` and
``projector export -o map.png|map.svg``. The modules, in the order an image is made:
:mod:`~projector.image.points` (the point layer, shaded by the app's raster shading
:class:`projector.explore.shading.MapRaster`), :mod:`~projector.image.legend`,
:mod:`~projector.image.overlays` (cluster labels and density contours),
:mod:`~projector.image.layout` (:func:`compose`), :mod:`~projector.image.figure` (what is drawn
where), :mod:`~projector.image.painters` (Pillow and SVG) and :mod:`~projector.image.export` (the
writers and :func:`export_image`). Colours and the numeric colormap are
:mod:`projector.explore.colors`'.
"""

from __future__ import annotations

from projector.explore.colors import NUMERIC_COLORMAP, numeric_palette
from projector.image.export import FORMATS, dataset_colors, export_image, footer_text, image_writer, save_png, save_svg
from projector.image.figure import ColorBar, Figure, Polyline, Rect, Text
from projector.image.layout import compose, render_image

__all__ = [
    "Figure",
    "Text",
    "Rect",
    "ColorBar",
    "Polyline",
    "compose",
    "render_image",
    "save_png",
    "save_svg",
    "export_image",
    "dataset_colors",
    "image_writer",
    "numeric_palette",
    "footer_text",
    "FORMATS",
    "NUMERIC_COLORMAP",
]
