"""Text in an exported image: Pillow's default font, lines shortened to fit, numbers formatted.

The layout measures with the same font the PNG painter draws with (the SVG names it first in
its font list), so a line that fits in one fits in the other.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import ImageFont


@functools.lru_cache(maxsize=32)
def font(size: int) -> "ImageFont.FreeTypeFont | ImageFont.ImageFont":
    """Pillow's default font (Aileron) at ``size`` pixels."""
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


def fit(text: str, size: int, room: float) -> str:
    """``text`` on one line, shortened with an ellipsis to ``room`` pixels at ``size``."""
    text = " ".join(str(text).split())  # newlines and tabs would break the line
    face = font(size)
    if face.getlength(text) <= room:
        return text
    low, high = 0, len(text)
    while low < high:  # the longest prefix that fits with the ellipsis
        middle = (low + high + 1) // 2
        if face.getlength(text[:middle] + "…") <= room:
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + "…"


def number(value: float) -> str:
    """A colour bar's end: thousands separated from 10,000 on, else four significant digits."""
    return f"{value:,.0f}" if abs(value) >= 1e4 and abs(value) < 1e15 else f"{value:.4g}"
