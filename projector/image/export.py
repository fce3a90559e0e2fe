"""Static images of a map: a PNG for papers, an SVG with real text; no browser involved.

:func:`compose` lays a figure out once. The point layer is a datashader raster of every point
(categories blended by count with the colouring's palette, numbers as the mean per pixel on the
app's colour-bar colormap, one colour otherwise); the title, the legend (category swatches with
counts, or a colour bar from low to high) and the footer (point count, method, quality) are vector
items placed with the metrics of Pillow's default font. Two painters draw the same
:class:`Figure`: :meth:`Figure.to_image` with Pillow, :meth:`Figure.to_svg` as SVG elements with
the raster embedded as a base64 PNG and every string XML-escaped.

Colours come from :func:`projector.explore.colors.color_spec`, so an image is coloured exactly as
the app colours the map. :func:`export_image` is the one entry point behind
``Dataset.save_image`` and ``projector export -o map.png|map.svg``.

Points are crisp at any count: unless ``point_size`` is given, a point's radius follows from the
number of points and the plot's size (all points together cover about a tenth of the plot, up to
4 pixels of radius), so a few hundred points stay visible and from about 100k points on every
point is one pixel and a million do not smear into blobs.
"""

from __future__ import annotations

import base64
import functools
import io
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

if TYPE_CHECKING:
    from PIL import Image as PILImage
    from PIL import ImageFont

    from projector.explore.colors import ColorSpec
    from projector.dataset import Dataset
    from projector.projection import Projection
    from projector.quality import Quality

# the public names are listed once, in projector/image/__init__.py

NUMERIC_COLORMAP = "bmy"  # colorcet palette of numeric colourings: the app's colour bar
SINGLE_COLOR = "#1f77b4"  # points when nothing colours them (the app's)
MISSING_GREY = "#c8c8c8"  # numeric colouring: points without a value (the app's raster grey)
TEXT_COLOR = "#222222"
MUTED_COLOR = "#666666"
FRAME_COLOR = "#d0d0d0"
MIN_ALPHA = 150  # opacity (of 255) of the sparsest pixels, so single points stay visible
MAX_ADAPTIVE_PX = 4  # most pixels a point grows by on each side when point_size is None
POINT_COVER = 0.1  # adaptive sizing: all points together cover about this share of the plot
SIZE_RANGE = (200, 8000)  # allowed width and height in pixels
POINT_SIZE_RANGE = (1, 51)
DATA_MARGIN = 0.04  # share of the data range left blank on each side of the points
SVG_FONTS = "Aileron, 'Helvetica Neue', Helvetica, Arial, sans-serif"  # Aileron: Pillow's default


# -- the figure: what is drawn where, independent of the output format ---------------------------


@dataclass(frozen=True)
class Text:
    """One line of text; ``(x, y)`` is on its baseline, at its start, middle or end (``align``)."""

    x: float
    y: float
    text: str
    size: int
    color: str = TEXT_COLOR
    align: str = "start"


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


Item = Text | Rect | ColorBar


@dataclass(frozen=True)
class Figure:
    """A laid-out map image: the point raster in the ``plot`` box and vector items around it.

    Attributes:
        width, height: the image size in pixels.
        background: colour behind everything (a CSS colour name or ``#rrggbb``).
        plot: ``(x0, y0, x1, y1)``, the box the points fill, in pixels from the top left.
        points: ``(y1 - y0, x1 - x0, 4)`` uint8 RGBA, transparent where there is no point.
        items: frame, title, legend and footer, drawn after the points in this order.
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
        from PIL import Image, ImageDraw

        image = Image.new("RGBA", (self.width, self.height), self.background)
        image.alpha_composite(Image.fromarray(self.points, "RGBA"), (self.plot[0], self.plot[1]))
        draw = ImageDraw.Draw(image)
        for item in self.items:
            if isinstance(item, Text):
                anchor = {"start": "ls", "middle": "ms", "end": "rs"}[item.align]
                draw.text((item.x, item.y), item.text, font=_font(item.size), fill=item.color, anchor=anchor)
            elif isinstance(item, Rect):
                draw.rectangle(_box(item), fill=item.fill, outline=item.stroke)
            else:
                image.paste(_ramp(item), (round(item.x0), round(item.y0)))
        return image

    def to_svg(self) -> str:
        """The figure as an SVG document: points as an embedded PNG, text as ``<text>`` elements."""
        x0, y0, x1, y1 = self.plot
        parts = [
            '<?xml version="1.0" encoding="UTF-8"?>',
            f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
            f'width="{self.width}" height="{self.height}" viewBox="0 0 {self.width} {self.height}" '
            f'font-family={_attr(SVG_FONTS)}>',
        ]
        if self.title:
            parts.append(f"<title>{_xml(self.title)}</title>")
        parts.append(f'<rect x="0" y="0" width="{self.width}" height="{self.height}" fill={_attr(self.background)}/>')
        parts.append(
            f'<image x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}" preserveAspectRatio="none" '
            f'style="image-rendering:pixelated" xlink:href="data:image/png;base64,{_png_base64(self.points)}"/>'
        )
        gradients = 0
        for item in self.items:
            if isinstance(item, Text):
                anchor = "" if item.align == "start" else f' text-anchor="{item.align}"'
                parts.append(
                    f'<text x="{item.x:g}" y="{item.y:g}" font-size="{item.size}" fill={_attr(item.color)}{anchor}>'
                    f"{_xml(item.text)}</text>"
                )
            elif isinstance(item, Rect):
                fill = _attr(item.fill) if item.fill else '"none"'
                stroke = f" stroke={_attr(item.stroke)}" if item.stroke else ""
                parts.append(
                    f'<rect x="{item.x0:g}" y="{item.y0:g}" width="{item.x1 - item.x0:g}" '
                    f'height="{item.y1 - item.y0:g}" fill={fill}{stroke}/>'
                )
            else:
                gradients += 1
                name = f"colorbar{gradients}"
                stops = "".join(
                    f'<stop offset="{i / max(len(item.colors) - 1, 1):.4f}" stop-color={_attr(color)}/>'
                    for i, color in enumerate(item.colors)
                )
                parts.append(f'<defs><linearGradient id="{name}" x1="0" x2="1" y1="0" y2="0">{stops}</linearGradient></defs>')
                parts.append(
                    f'<rect x="{item.x0:g}" y="{item.y0:g}" width="{item.x1 - item.x0:g}" '
                    f'height="{item.y1 - item.y0:g}" fill="url(#{name})"/>'
                )
        parts.append("</svg>")
        return "\n".join(parts) + "\n"


# -- layout -------------------------------------------------------------------------------------


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
        items.append(Text(width / 2, pad + title_size, _fit(title, title_size, width - 2 * pad), title_size, align="middle"))
        top = pad + round(title_size * 1.9)
    small = max(10, round(base * 0.8))
    footer = footer if footer is not None else f"{len(xy):,} points"
    items.append(Text(pad, height - pad, _fit(footer, small, width - 2 * pad), small, MUTED_COLOR))
    bottom = height - pad - round(small * 1.8)

    show_legend = legend and colors is not None and colors.kind in ("categorical", "numeric")
    panel = _legend_width(colors, base, width) if show_legend else 0
    right = width - pad - (panel + pad if panel else 0)
    if right - pad < 50 or bottom - top < 50:
        raise ValueError(f"width={width}, height={height} leave no room for the map beside the title, legend and footer")
    plot = (pad, top, right, bottom)
    points = _points(xy, colors, right - pad, bottom - top, point_size)
    items.insert(0, Rect(plot[0] - 1, plot[1] - 1, plot[2] + 1, plot[3] + 1, None, FRAME_COLOR))
    if show_legend:
        assert colors is not None
        items.extend(_legend(colors, right + pad, top, panel, bottom, base))
    return Figure(width, height, background, plot, points, tuple(items), title or None)


def render_image(
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
) -> "PILImage.Image":
    """The map of ``coords`` as a Pillow RGBA image; the arguments are :func:`compose`'s."""
    return compose(
        coords, colors=colors, title=title, footer=footer, width=width, height=height,
        point_size=point_size, background=background, legend=legend,
    ).to_image()


def save_png(path: str | os.PathLike, figure: Figure, *, overwrite: bool = False) -> Path:
    """Write ``figure`` (from :func:`compose`) as a PNG, atomically; an existing file only with ``overwrite``."""
    from PIL.PngImagePlugin import PngInfo

    from projector._io import write_atomically
    from projector._version import __version__

    info = PngInfo()
    info.add_text("Software", f"projector {__version__}")
    if figure.title:
        info.add_text("Title", figure.title)  # iTXt when not Latin-1
    image = figure.to_image()
    return write_atomically(path, lambda temp: image.save(temp, format="PNG", pnginfo=info, optimize=False), overwrite=overwrite)


def save_svg(path: str | os.PathLike, figure: Figure, *, overwrite: bool = False) -> Path:
    """Write ``figure`` (from :func:`compose`) as an SVG, atomically; an existing file only with ``overwrite``."""
    from projector._io import write_atomically

    text = figure.to_svg()
    return write_atomically(path, lambda temp: Path(temp).write_text(text, encoding="utf-8"), overwrite=overwrite)


FORMATS: dict[str, Callable[..., Path]] = {".png": save_png, ".svg": save_svg}


def image_writer(path: str | os.PathLike) -> Callable[..., Path]:
    """The writer for ``path``'s suffix (:func:`save_png` or :func:`save_svg`); anything else is an error."""
    from projector.reduce.params import ParameterError

    suffix = Path(path).suffix.lower()
    writer = FORMATS.get(suffix)
    if writer is None:
        shown = repr(suffix) if suffix else "no suffix"
        raise ParameterError(
            f"path={str(path)!r}: an image is written as .png or .svg, chosen by the suffix, got {shown}; "
            "name the file map.png or map.svg (or use .html for a report)"
        )
    return writer


# -- a dataset's map ----------------------------------------------------------------------------


def export_image(
    dataset: "Dataset",
    path: str | os.PathLike,
    *,
    projection: "Projection | str | None" = None,
    color_by: str | None = None,
    title: str | None = None,
    width: int = 1200,
    height: int = 900,
    point_size: int | None = None,
    background: str = "white",
    legend: bool = True,
    max_categories: int = 20,
    overwrite: bool = False,
) -> Path:
    """Write the map of ``dataset`` as a PNG or SVG (by ``path``'s suffix); returns the path.

    Args:
        projection: the map to draw; a method name (``"pca"``, ``"umap"``, ``"tsne"``,
            ``"auto"``) computes it with ``dataset.project``; None is ``"auto"`` (data with
            D <= 3 as is, else UMAP).
        color_by: the column points are coloured by; None: the first label column (one colour
            without labels); "" for one colour.
        title: None: what the map shows ("UMAP of embedding, coloured by label"); "" for none.
        max_categories: categories with their own colour; the rarest beyond are one "other".
        The other arguments are :func:`compose`'s; ``overwrite`` allows replacing a file.

    Both the suffix and an existing file are checked before any projection is computed.
    """
    from projector.errors import RowCountError
    from projector.reduce.scoring import quality_as_drawn

    writer = image_writer(path)
    if Path(path).exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True (--overwrite) to replace it")
    _check_options(width, height, point_size, background)
    colors = dataset_colors(dataset, color_by, max_categories)
    if projection is None or isinstance(projection, str):
        method = projection or "auto"
        projection = dataset.project(method)
    if len(projection.coords) != len(dataset):
        raise RowCountError(
            f"the projection has {len(projection.coords)} rows but the dataset has {len(dataset)}; "
            "pass a projection computed from this dataset"
        )
    if title is None:
        title = _default_title(projection, colors)
    figure = compose(
        projection.coords, colors=colors, title=title, footer=footer_text(projection, quality_as_drawn(dataset, projection)), width=width,
        height=height, point_size=point_size, background=background, legend=legend,
    )
    return writer(path, figure, overwrite=overwrite)


def dataset_colors(dataset: "Dataset", color_by: str | None, max_categories: int = 20) -> "ColorSpec":
    """The colouring of ``dataset`` by ``color_by`` (None: its first label column; "": none)."""
    from projector.explore.colors import color_spec

    column = dataset.roles.labels[0] if color_by is None and dataset.roles.labels else color_by
    if not column:
        return color_spec(None, None, len(dataset))
    if column not in dataset.column_names:
        import difflib

        from projector.errors import SchemaError

        close = difflib.get_close_matches(column, dataset.column_names, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise SchemaError(f"color_by={column!r}: no such column; {hint}columns: {dataset.column_names}")
    if column in dataset.roles.vectors:
        from projector.errors import SchemaError

        raise SchemaError(f"color_by={column!r} is an embedding column; colour by a label, number or short text column")
    return color_spec(column, dataset.table.column(column), len(dataset), max_categories)


def footer_text(projection: "Projection", quality: "Quality | None" = None) -> str:
    """The footer line of a map: points, method and column, and ``quality``, which must be the
    quality of the two axes drawn (see :func:`projector.reduce.scoring.quality_as_drawn`)."""
    coords = projection.coords
    parts = [f"{len(coords):,} points", _what(projection)]
    if coords.ndim == 2 and coords.shape[1] > 2:
        parts.append(f"first 2 of {coords.shape[1]} dimensions shown")
    if quality is not None:
        if quality.trustworthiness is not None and math.isfinite(quality.trustworthiness):
            parts.append(f"trustworthiness {quality.trustworthiness:.3f}")
        if quality.knn_preservation is not None and math.isfinite(quality.knn_preservation):
            parts.append(f"{quality.k}-NN preservation {quality.knn_preservation:.3f}")
    return " · ".join(parts)


def _default_title(projection: "Projection", colors: "ColorSpec") -> str:
    what = _what(projection)
    return f"{what}, coloured by {colors.column}" if colors.column else what


def _what(projection: "Projection") -> str:
    from projector.validation import method_name

    if projection.method == "identity":
        return f"{projection.column} as given"
    return f"{method_name(projection.method)} of {projection.column}"


# -- the point layer ----------------------------------------------------------------------------


def _points(xy: np.ndarray, colors: "ColorSpec | None", width: int, height: int, point_size: int | None) -> np.ndarray:
    """Every point shaded by datashader into ``(height, width, 4)`` uint8 RGBA, row 0 at the top."""
    import datashader as ds
    import datashader.transfer_functions as tf
    import pandas as pd

    finite = np.isfinite(xy).all(axis=1)
    values = colors.values if colors is not None else None
    if not finite.all():
        xy = xy[finite]
        values = values[finite] if values is not None else None
    if len(xy) == 0:
        return np.zeros((height, width, 4), dtype=np.uint8)
    x_range, y_range = _ranges(xy, width, height)
    canvas = ds.Canvas(plot_width=width, plot_height=height, x_range=x_range, y_range=y_range)
    frame = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1]}, copy=False)
    kind = colors.kind if colors is not None else "none"
    if kind == "categorical":
        assert colors is not None and values is not None
        palette = list(colors.palette)
        codes = pd.Categorical.from_codes(values.astype(np.int32), categories=[str(i) for i in range(len(palette))])
        agg = canvas.points(frame.assign(c=codes), "x", "y", ds.count_cat("c"))
        image = tf.shade(agg, color_key=palette, min_alpha=MIN_ALPHA)
    elif kind == "numeric":
        assert colors is not None and values is not None
        image = _numeric_layer(canvas, frame, values, colors)
    else:
        color = colors.palette[0] if colors is not None else SINGLE_COLOR
        agg = canvas.points(frame, "x", "y", ds.count())
        image = tf.shade(agg, cmap=[color, color], min_alpha=MIN_ALPHA)
    grow = _adaptive_spread(len(xy), width * height) if point_size is None else (point_size - 1) // 2
    if grow:
        image = tf.spread(image, px=grow, shape="circle")
    packed = np.ascontiguousarray(np.flipud(np.asarray(image.data, dtype=np.uint32)))
    return packed.view(np.uint8).reshape(height, width, 4).copy()


def _numeric_layer(canvas, frame, values: np.ndarray, colors: "ColorSpec"):
    """The mean value per pixel on the colormap, over a grey layer of the points with no value."""
    import datashader as ds
    import datashader.transfer_functions as tf

    known = np.isfinite(values)
    layers = []
    if not known.all():
        agg = canvas.points(frame[~known], "x", "y", ds.count())
        layers.append(tf.shade(agg, cmap=[MISSING_GREY, MISSING_GREY], min_alpha=MIN_ALPHA))
    if known.any():
        agg = canvas.points(frame.assign(c=values.astype(np.float32, copy=False)), "x", "y", ds.mean("c"))
        layers.append(tf.shade(agg, cmap=numeric_palette(), span=(colors.low, colors.high), how="linear"))
    return tf.stack(*layers) if len(layers) > 1 else layers[0]


def numeric_palette() -> list[str]:
    """The colormap of numeric colourings, low to high (the app's colour bar)."""
    import colorcet

    return list(colorcet.palette[NUMERIC_COLORMAP])


def _adaptive_spread(points: int, pixels: int) -> int:
    """Pixels each point grows by on every side when no size is given.

    The radius at which all ``points`` together cover :data:`POINT_COVER` of the plot, rounded
    and capped: on a 1200x900 image, 4 pixels for a few hundred points, 2 for 5k, 1 for 20k-60k,
    none (one crisp pixel per point) from about 100k.
    """
    radius = math.sqrt(POINT_COVER * pixels / (math.pi * max(points, 1)))
    return int(min(MAX_ADAPTIVE_PX, round(radius)))


def _ranges(xy: np.ndarray, width: int, height: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """Data ranges that show every point with a margin, one data unit the same length on both axes.

    Far points included, unlike the app's and the report's first view: a picture has no reset tool."""
    low = xy.min(axis=0).astype(np.float64)
    high = xy.max(axis=0).astype(np.float64)
    span = np.maximum(high - low, 1e-9 * np.maximum(np.abs(low), 1.0))
    span = np.where(high > low, span, np.maximum(np.abs(low), 1.0))  # one point, or one line: a unit box
    per_pixel = max(span[0] / width, span[1] / height) * (1 + 2 * DATA_MARGIN)
    centre = (low + high) / 2
    half = np.array([width, height]) * per_pixel / 2
    return (centre[0] - half[0], centre[0] + half[0]), (centre[1] - half[1], centre[1] + half[1])


# -- the legend ---------------------------------------------------------------------------------


def _legend_width(colors: "ColorSpec | None", base: int, width: int) -> int:
    """Width of the legend panel: what its longest line needs, at most 30% of the image."""
    assert colors is not None
    size = _label_size(base)
    needed = _font(base).getlength(str(colors.column))
    if colors.kind == "categorical":
        for entry in colors.legend:
            line = size * 1.4 + _font(size).getlength(entry.name) + size + _font(size).getlength(f"{entry.count:,}")
            needed = max(needed, line)
    else:
        needed = max(needed, 9 * base)
    return int(min(max(needed, 6 * base), 0.3 * width)) + 1


def _legend(colors: "ColorSpec", x0: int, top: int, panel: int, bottom: int, base: int) -> list[Item]:
    size = _label_size(base)
    items: list[Item] = [Text(x0, top + base, _fit(str(colors.column), base, panel), base)]
    y = top + round(base * 1.5)
    line = round(size * 1.6)
    if colors.kind == "numeric":
        bar = round(base * 0.9)
        items.append(ColorBar(x0, y, x0 + panel, y + bar, tuple(numeric_palette())))
        items.append(Rect(x0, y, x0 + panel, y + bar, None, FRAME_COLOR))
        y += bar + size + round(size * 0.3)
        items.append(Text(x0, y, _number(colors.low), size, MUTED_COLOR))
        items.append(Text(x0 + panel, y, _number(colors.high), size, MUTED_COLOR, align="end"))
        missing = int(np.count_nonzero(~np.isfinite(colors.values)))
        if missing:
            from projector.explore.colors import MISSING

            items.extend(_entry(MISSING, MISSING_GREY, missing, x0, y + line, panel, size))
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
        items.append(Text(x0, y + line, _fit(more, size, panel), size, MUTED_COLOR))
    return items


def _entry(name: str, color: str, count: int, x0: int, baseline: int, panel: int, size: int) -> list[Item]:
    """A swatch, the name and the count (right-aligned) on one legend line."""
    swatch = round(size * 0.9)
    count_text = f"{count:,}"
    room = panel - size * 1.4 - size * 0.6 - _font(size).getlength(count_text)
    return [
        Rect(x0, baseline - swatch + round(size * 0.1), x0 + swatch, baseline + round(size * 0.1), color),
        Text(x0 + round(size * 1.4), baseline, _fit(name, size, room), size),
        Text(x0 + panel, baseline, count_text, size, MUTED_COLOR, align="end"),
    ]


def _label_size(base: int) -> int:
    return max(10, round(base * 0.85))


# -- helpers ------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=32)
def _font(size: int) -> "ImageFont.FreeTypeFont | ImageFont.ImageFont":
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


def _fit(text: str, size: int, room: float) -> str:
    """``text`` on one line, shortened with an ellipsis to ``room`` pixels at ``size``."""
    text = " ".join(str(text).split())  # newlines and tabs would break the line
    font = _font(size)
    if font.getlength(text) <= room:
        return text
    low, high = 0, len(text)
    while low < high:  # the longest prefix that fits with the ellipsis
        middle = (low + high + 1) // 2
        if font.getlength(text[:middle] + "…") <= room:
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + "…"


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1e4 and abs(value) < 1e15 else f"{value:.4g}"


def _box(rect: Rect) -> tuple[float, float, float, float]:
    return (rect.x0, rect.y0, rect.x1 - 1, rect.y1 - 1)


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


_XML_INVALID = dict.fromkeys([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0xFFFE, 0xFFFF], "\ufffd")


def _xml(text: str) -> str:
    """``text`` as XML character data: markup escaped, characters XML cannot hold replaced."""
    from xml.sax.saxutils import escape

    return escape(str(text).translate(_XML_INVALID))


def _attr(text: str) -> str:
    """``text`` as a quoted XML attribute value."""
    from xml.sax.saxutils import quoteattr

    return quoteattr(str(text).translate(_XML_INVALID))


def _check_coords(coords: Any) -> np.ndarray:
    xy = np.asarray(coords)
    if xy.ndim != 2 or xy.shape[1] < 2:
        raise ValueError(f"coords must be shaped (N, 2) or (N, 3); got {xy.shape}")
    return np.ascontiguousarray(xy[:, :2], dtype=np.float32)


def _check_options(width: int, height: int, point_size: int | None, background: str) -> None:
    from PIL import ImageColor

    from projector.reduce.params import ParameterError

    low, high = SIZE_RANGE
    for name, value in (("width", width), ("height", height)):
        if not isinstance(value, (int, np.integer)) or not low <= value <= high:
            raise ParameterError(f"{name}={value!r} must be a whole number of pixels in [{low}, {high}]; the default is {1200 if name == 'width' else 900}")
    if point_size is not None:
        low, high = POINT_SIZE_RANGE
        if not isinstance(point_size, (int, np.integer)) or not low <= point_size <= high:
            raise ParameterError(f"point_size={point_size!r} must be a whole number of pixels in [{low}, {high}], or None to size points by density")
    try:
        ImageColor.getrgb(background)
    except (ValueError, AttributeError, TypeError):
        raise ParameterError(f"background={background!r} is not a colour; give a CSS colour name or '#rrggbb'") from None
