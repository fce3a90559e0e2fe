"""Writing a map image: the PNG and SVG writers, and :func:`export_image`, a dataset's map in one call.

:func:`export_image` is the one entry point behind ``Dataset.save_image`` and ``projector export
-o map.png|map.svg``: it picks the writer by the suffix, refuses an existing file unless told,
colours the map as the app does (:func:`dataset_colors`), lays it out with
:func:`projector.image.layout.compose` (points shaded by the app's raster shading) and writes it
atomically.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

from projector.image.figure import Figure
from projector.image.layout import _check_options, compose

if TYPE_CHECKING:
    from projector.dataset import Dataset
    from projector.explore.colors import ColorSpec
    from projector.explore.overlays import Overlays
    from projector.projection import Projection
    from projector.quality import Quality

# the public names are listed once, in projector/image/__init__.py


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
    from projector.errors import ParameterError

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
    overlays: "Overlays | bool | str | Sequence[str] | Mapping[str, bool | str] | None" = None,
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
        overlays: what to draw over the map: True for cluster labels and density contours,
            ``"labels"`` or ``"contours"`` for one, ``{"contours": "label"}`` for the contours of
            a column's top categories in their legend colours (colour by the same column and the
            legend names them), or an :class:`~projector.explore.overlays.Overlays` (see
            :mod:`projector.explore.map_overlays`); None draws none.
        The other arguments are :func:`compose`'s; ``overwrite`` allows replacing a file.

    Both the suffix and an existing file are checked before any projection is computed.
    """
    from projector.errors import RowCountError
    from projector.explore.map_overlays import resolve_overlays
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
    overlays = resolve_overlays(overlays, dataset, projection)
    figure = compose(
        projection.coords, colors=colors, title=title, footer=footer_text(projection, quality_as_drawn(dataset, projection)), width=width,
        height=height, point_size=point_size, background=background, legend=legend, overlays=overlays,
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
    titles = projection.provenance.get("axis_titles")  # custom axes: an image has no axis titles, so say the ends here
    ends = f" (x: {titles[0]}; y: {titles[1]})" if titles else ""
    return f"{method_name(projection.method)} of {projection.column}{ends}"
