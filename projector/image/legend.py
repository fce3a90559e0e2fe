"""The legend beside an exported map: category swatches with counts, or a colour bar low to high.

It lists what the app's legend lists (:attr:`ColorSpec.legend`, "other" and "(missing)" included)
in the colours the points are drawn with, and says how many entries did not fit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from projector.explore.colors import GREY, MISSING, numeric_palette
from projector.image.figure import FRAME_COLOR, MUTED_COLOR, ColorBar, Item, Rect, Text
from projector.image.text import fit, font, number

if TYPE_CHECKING:
    from projector.explore.colors import ColorSpec


def legend_width(colors: "ColorSpec", base: int, width: int) -> int:
    """Width of the legend panel: what its longest line needs, at most 30% of the image."""
    size = _label_size(base)
    needed = font(base).getlength(str(colors.column))
    if colors.kind == "categorical":
        for entry in colors.legend:
            line = size * 1.4 + font(size).getlength(entry.name) + size + font(size).getlength(f"{entry.count:,}")
            needed = max(needed, line)
    else:
        needed = max(needed, 9 * base)
    return int(min(max(needed, 6 * base), 0.3 * width)) + 1


def legend_items(colors: "ColorSpec", x0: int, top: int, panel: int, bottom: int, base: int) -> list[Item]:
    """The legend of ``colors`` in the box from ``(x0, top)``, ``panel`` wide, down to ``bottom``."""
    size = _label_size(base)
    items: list[Item] = [Text(x0, top + base, fit(str(colors.column), base, panel), base)]
    y = top + round(base * 1.5)
    line = round(size * 1.6)
    if colors.kind == "numeric":
        bar = round(base * 0.9)
        items.append(ColorBar(x0, y, x0 + panel, y + bar, tuple(numeric_palette())))
        items.append(Rect(x0, y, x0 + panel, y + bar, None, FRAME_COLOR))
        y += bar + size + round(size * 0.3)
        items.append(Text(x0, y, number(colors.low), size, MUTED_COLOR))
        items.append(Text(x0 + panel, y, number(colors.high), size, MUTED_COLOR, align="end"))
        missing = int(np.count_nonzero(~np.isfinite(colors.values)))
        if missing:
            items.extend(_entry(MISSING, GREY, missing, x0, y + line, panel, size))
        return items
    entries = list(colors.legend)
    fits = max((bottom - y) // line, 1)
    shown = entries if len(entries) <= fits else entries[: fits - 1]
    for entry in shown:
        y += line
        items.extend(_entry(entry.name, entry.color, entry.count, x0, y, panel, size))
    if len(shown) < len(entries):
        rest = entries[len(shown):]
        more = f"… {len(rest)} more ({sum(e.count for e in rest):,} points)"
        items.append(Text(x0, y + line, fit(more, size, panel), size, MUTED_COLOR))
    return items


def _entry(name: str, color: str, count: int, x0: int, baseline: int, panel: int, size: int) -> list[Item]:
    """A swatch, the name and the count (right-aligned) on one legend line."""
    swatch = round(size * 0.9)
    count_text = f"{count:,}"
    room = panel - size * 1.4 - size * 0.6 - font(size).getlength(count_text)
    return [
        Rect(x0, baseline - swatch + round(size * 0.1), x0 + swatch, baseline + round(size * 0.1), color),
        Text(x0 + round(size * 1.4), baseline, fit(name, size, room), size),
        Text(x0 + panel, baseline, count_text, size, MUTED_COLOR, align="end"),
    ]


def _label_size(base: int) -> int:
    return max(10, round(base * 0.85))
