"""Colour-by: turn a column into codes the browser maps to colours, plus the legend to show.

Categories travel as small integer codes (a binary array), never as strings per point. Up to ten
categories get Category10; more get colorcet's glasbey, a palette of many distinct colours.
Past ``max_categories`` the rarest are folded into one grey "other" entry, and the legend says
how many categories and points that holds.

Every colour the map draws is named here once, for the app, the reports and the image export:
the palettes, the numeric colormap of the colour bar, the grey of greyed and missing points, the
one colour of an uncoloured map and the neighbour highlight.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "ColorSpec", "LegendEntry", "color_spec", "numeric_palette", "MISSING", "OTHER",
    "CATEGORY10", "SINGLE_COLOR", "NUMERIC_COLORMAP", "GREY", "NEIGHBOR_COLOR", "OTHER_COLOR", "MISSING_COLOR",
]

MISSING = "(missing)"
OTHER = "other"
CATEGORY10 = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)
SINGLE_COLOR = CATEGORY10[0]  # every point when nothing colours them
NUMERIC_COLORMAP = "bmy"  # colorcet palette of numeric colourings, low to high: map and colour bar
GREY = "#c8c8c8"  # points outside the selection, and points with no value in a numeric colouring
NEIGHBOR_COLOR = "#e4005b"  # links and rings of the focused row's nearest neighbours
OTHER_COLOR = "#9e9e9e"  # the legend's "other" entry: the rarest categories folded into one
MISSING_COLOR = "#d0d0d0"  # the legend's "(missing)" entry of a categorical colouring


@dataclass(frozen=True)
class LegendEntry:
    """One legend line: a category (raw text, escaped where it is drawn), its colour and count."""

    name: str
    color: str
    count: int


@dataclass(frozen=True)
class ColorSpec:
    """How to colour every point by ``column``.

    For ``kind == "categorical"``: ``values`` are float32 codes 0..len(palette)-1, and
    ``palette[i]`` is the colour of ``legend[i]``. For ``"numeric"``: ``values`` are the
    numbers (NaN where missing) mapped linearly from ``low`` to ``high`` on the colormap named
    by ``palette[0]`` (:data:`NUMERIC_COLORMAP`). For ``"none"``: one colour for all.
    """

    column: str | None
    kind: str
    values: np.ndarray
    palette: tuple[str, ...]
    legend: tuple[LegendEntry, ...] = ()
    low: float = 0.0
    high: float = 1.0
    folded: int = 0  # categories folded into "other"


def color_spec(column: str | None, data: "pa.ChunkedArray | np.ndarray | None", n: int, max_categories: int = 20) -> ColorSpec:
    """The colouring of ``n`` points by ``data`` (an Arrow column, or numbers as numpy)."""
    if column is None or data is None:
        return ColorSpec(None, "none", np.zeros(n, dtype=np.float32), (SINGLE_COLOR,))
    if isinstance(data, np.ndarray):
        return _numeric(column, data.astype(np.float32, copy=False))
    kind = data.type
    if pa.types.is_dictionary(kind):
        data = data.cast(kind.value_type)
        kind = data.type
    if pa.types.is_floating(kind) or (pa.types.is_integer(kind) and _many_values(data)):
        values = np.asarray(data.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float32)
        return _numeric(column, values)
    return _categorical(column, data, n, max_categories)


def _many_values(data: pa.ChunkedArray) -> bool:
    return pc.count_distinct(data).as_py() > 256


def _numeric(column: str, values: np.ndarray) -> ColorSpec:
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if high == low:
        high = low + 1.0
    return ColorSpec(column, "numeric", values, (NUMERIC_COLORMAP,), low=low, high=high)


def _categorical(column: str, data: pa.ChunkedArray, n: int, max_categories: int) -> ColorSpec:
    text = data.cast(pa.string()) if not pa.types.is_string(data.type) else data
    encoded = pc.dictionary_encode(text).combine_chunks()
    names = encoded.dictionary.to_pylist()
    codes = np.asarray(encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
    counts = np.bincount(codes[codes >= 0], minlength=len(names))
    missing = int((codes < 0).sum())
    order = sorted(range(len(names)), key=lambda i: (-counts[i], str(names[i])))
    kept = order[:max_categories]
    folded = order[max_categories:]
    colors = _palette(len(kept))
    remap = np.full(len(names) + 1, len(kept), dtype=np.float32)  # folded and missing: appended entries
    legend = [LegendEntry(str(names[i]), colors[j], int(counts[i])) for j, i in enumerate(kept)]
    for j, i in enumerate(kept):
        remap[i] = j
    palette = list(colors)
    if folded:
        other = int(counts[folded].sum())
        legend.append(LegendEntry(f"{OTHER} ({len(folded)} categories)", OTHER_COLOR, other))
        palette.append(OTHER_COLOR)
        remap[folded] = len(kept)
    if missing:
        remap[len(names)] = len(palette)
        legend.append(LegendEntry(MISSING, MISSING_COLOR, missing))
        palette.append(MISSING_COLOR)
    values = remap[np.where(codes >= 0, codes, len(names))]
    return ColorSpec(column, "categorical", values, tuple(palette), tuple(legend), 0.0, float(max(len(palette) - 1, 1)), len(folded))


def numeric_palette() -> list[str]:
    """The colours of :data:`NUMERIC_COLORMAP`, low to high (the map's and the colour bar's)."""
    import colorcet

    return list(colorcet.palette[NUMERIC_COLORMAP])


def _palette(count: int) -> list[str]:
    if count <= len(CATEGORY10):
        return list(CATEGORY10[:count])
    import colorcet

    glasbey = list(colorcet.glasbey)
    return [glasbey[i % len(glasbey)] for i in range(count)]
