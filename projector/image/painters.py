"""The two painters of a :class:`~projector.image.figure.Figure`: Pillow pixels and SVG text.

Both draw the same items in the same order; the SVG embeds the point raster as a base64 PNG,
keeps every string as real text and XML-escapes it (characters XML cannot hold are replaced).
"""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING

import numpy as np

from projector.image.figure import ColorBar, Figure, Polyline, Rect, Text
from projector.image.text import font

if TYPE_CHECKING:
    from PIL import Image as PILImage

SVG_FONTS = "Aileron, 'Helvetica Neue', Helvetica, Arial, sans-serif"  # Aileron: Pillow's default
_XML_INVALID = dict.fromkeys([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0xFFFE, 0xFFFF], "\ufffd")


def paint_image(figure: Figure) -> "PILImage.Image":
    """``figure`` drawn with Pillow, as an RGBA image."""
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (figure.width, figure.height), figure.background)
    image.alpha_composite(Image.fromarray(figure.points, "RGBA"), (figure.plot[0], figure.plot[1]))
    draw = ImageDraw.Draw(image)
    lines: list[Polyline] = []
    for item in (*figure.items, None):
        if isinstance(item, Polyline):
            lines.append(item)
            continue
        if lines:  # a run of lines: drawn on one clipped layer, so their alpha blends with the points
            image.alpha_composite(_lines_layer(lines, figure.plot), (figure.plot[0], figure.plot[1]))
            lines = []
        if item is None:
            break
        if isinstance(item, Text):
            anchor = {"start": "ls", "middle": "ms", "end": "rs"}[item.align]
            halo = {"stroke_width": item.halo_width, "stroke_fill": item.halo} if item.halo else {}
            draw.text((item.x, item.y), item.text, font=font(item.size), fill=item.color, anchor=anchor, **halo)
        elif isinstance(item, Rect):
            draw.rectangle((item.x0, item.y0, item.x1 - 1, item.y1 - 1), fill=item.fill, outline=item.stroke)
        else:
            image.paste(_ramp(item), (round(item.x0), round(item.y0)))
    return image


def paint_svg(figure: Figure) -> str:
    """``figure`` as an SVG document: points as an embedded PNG, text as ``<text>`` elements."""
    x0, y0, x1, y1 = figure.plot
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'width="{figure.width}" height="{figure.height}" viewBox="0 0 {figure.width} {figure.height}" '
        f'font-family={_attr(SVG_FONTS)}>',
    ]
    if figure.title:
        parts.append(f"<title>{_xml(figure.title)}</title>")
    parts.append(f'<rect x="0" y="0" width="{figure.width}" height="{figure.height}" fill={_attr(figure.background)}/>')
    parts.append(
        f'<image x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}" preserveAspectRatio="none" '
        f'style="image-rendering:pixelated" xlink:href="data:image/png;base64,{_png_base64(figure.points)}"/>'
    )
    if any(isinstance(item, Polyline) for item in figure.items):
        parts.append(f'<defs><clipPath id="plot"><rect x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}"/></clipPath></defs>')
    gradients = 0
    for item in figure.items:
        if isinstance(item, Text):
            anchor = "" if item.align == "start" else f' text-anchor="{item.align}"'
            halo = (
                f' stroke={_attr(item.halo)} stroke-width="{2 * item.halo_width}" stroke-linejoin="round" paint-order="stroke"'
                if item.halo else ""
            )
            parts.append(
                f'<text x="{item.x:g}" y="{item.y:g}" font-size="{item.size}" fill={_attr(item.color)}{anchor}{halo}>'
                f"{_xml(item.text)}</text>"
            )
            continue
        if isinstance(item, Polyline):
            points = " ".join(f"{x:.1f},{y:.1f}" for x, y in item.points)
            parts.append(
                f'<polyline points="{points}" fill="none" stroke={_attr(item.color)} stroke-width="{item.width:g}" '
                f'stroke-opacity="{item.alpha:.3f}" stroke-linejoin="round" clip-path="url(#plot)"/>'
            )
            continue
        if isinstance(item, Rect):
            fill = _attr(item.fill) if item.fill else '"none"'
            stroke = f" stroke={_attr(item.stroke)}" if item.stroke else ""
        else:
            gradients += 1
            name = f"colorbar{gradients}"
            stops = "".join(
                f'<stop offset="{i / max(len(item.colors) - 1, 1):.4f}" stop-color={_attr(color)}/>'
                for i, color in enumerate(item.colors)
            )
            parts.append(f'<defs><linearGradient id="{name}" x1="0" x2="1" y1="0" y2="0">{stops}</linearGradient></defs>')
            fill, stroke = f'"url(#{name})"', ""
        parts.append(
            f'<rect x="{item.x0:g}" y="{item.y0:g}" width="{item.x1 - item.x0:g}" '
            f'height="{item.y1 - item.y0:g}" fill={fill}{stroke}/>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _lines_layer(lines: list[Polyline], plot: tuple[int, int, int, int]) -> "PILImage.Image":
    """``lines`` drawn on a transparent layer the size of the plot box (which clips them)."""
    from PIL import Image, ImageColor, ImageDraw

    x0, y0, x1, y1 = plot
    layer = Image.new("RGBA", (x1 - x0, y1 - y0), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    for line in lines:
        rgb = ImageColor.getrgb(line.color)[:3]
        points = [(x - x0, y - y0) for x, y in line.points]
        draw.line(points, fill=(*rgb, round(255 * line.alpha)), width=max(1, round(line.width)), joint="curve")
    return layer


def _ramp(bar: ColorBar) -> "PILImage.Image":
    from PIL import Image, ImageColor

    width, height = round(bar.x1 - bar.x0), round(bar.y1 - bar.y0)
    rgb = np.array([ImageColor.getrgb(color)[:3] for color in bar.colors], dtype=np.float64)
    at = np.linspace(0, len(rgb) - 1, max(width, 1))
    row = np.stack([np.interp(at, np.arange(len(rgb)), rgb[:, c]) for c in range(3)], axis=1)
    pixels = np.repeat(np.round(row)[None].astype(np.uint8), max(height, 1), axis=0)
    return Image.fromarray(pixels, "RGB").convert("RGBA")


def _png_base64(pixels: np.ndarray) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGBA").save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _xml(text: str) -> str:
    """``text`` as XML character data: markup escaped, characters XML cannot hold replaced."""
    from xml.sax.saxutils import escape

    return escape(str(text).translate(_XML_INVALID))


def _attr(text: str) -> str:
    """``text`` as a quoted XML attribute value."""
    from xml.sax.saxutils import quoteattr

    return quoteattr(str(text).translate(_XML_INVALID))
