"""Image export: a map as a PNG for papers or an SVG with real text; no browser involved.

:func:`export_image` is the one entry point behind ``Dataset.save_image`` and
``projector export -o map.png|map.svg``; :mod:`projector.image.export` holds the layout and the
two painters.
"""

from __future__ import annotations

from projector.image.export import (
    FORMATS,
    NUMERIC_COLORMAP,
    ColorBar,
    Figure,
    Rect,
    Text,
    compose,
    dataset_colors,
    export_image,
    footer_text,
    image_writer,
    numeric_palette,
    render_image,
    save_png,
    save_svg,
)

__all__ = [
    "Figure",
    "Text",
    "Rect",
    "ColorBar",
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
