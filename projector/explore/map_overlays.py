"""The overlays of one map, computed from what projector already has: clusters of the shared kNN
graph named by their own members (:mod:`projector.clusters`, :mod:`projector.keywords`), labels
placed at their dense centres (:mod:`projector.explore.labels`), and density contours of the
map (:mod:`projector.explore.density`), of all points or of each of a column's top categories.

Every front door asks the same way, so a report, an image and a page show one picture:
``overlays=True`` (labels and contours), ``"labels"``, ``"contours"``, a list of those, a dict
``{"labels": True, "contours": "label"}`` (a column name for ``"contours"`` outlines each of
that column's :data:`TOP_CATEGORIES` most frequent categories, in its legend colour), or an
:class:`~projector.explore.overlays.Overlays` made elsewhere, which is drawn as given.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from projector.errors import ParameterError, SchemaError
from projector.explore.overlays import Contour, Overlays

if TYPE_CHECKING:
    from projector.clusters import Clusters
    from projector.dataset import Dataset
    from projector.projection import Projection

__all__ = ["OVERLAY_KINDS", "TOP_CATEGORIES", "CATEGORY_LEVELS", "map_overlays", "overlay_kinds", "contours_column", "resolve_overlays"]

OVERLAY_KINDS = ("labels", "contours")
TOP_CATEGORIES = 5  # categories outlined by contours_by: more lines than this tangle into one knot
CATEGORY_LEVELS = (0.5, 0.9)  # two lines per category (its core, nearly all of it): fewer to untangle
_SPEC_HELP = (
    "must be True, False, 'labels', 'contours', a list of those, a dict such as "
    "{'labels': True, 'contours': 'label'} (a column name outlines its top categories), or an Overlays; "
    "the default is None (none drawn)"
)


def overlay_kinds(spec: Any) -> tuple[str, ...]:
    """Which overlays ``spec`` asks for: True/False/None, one kind, a sequence of kinds, or a
    dict of kind -> True/False (a column name for ``"contours"``)."""
    return _parse(spec)[0]


def contours_column(spec: Any) -> str | None:
    """The column whose categories ``spec``'s contours outline (``{"contours": "label"}``);
    None for contours of all points, or none."""
    return _parse(spec)[1]


def _parse(spec: Any) -> tuple[tuple[str, ...], str | None]:
    if spec is None or spec is False:
        return (), None
    if spec is True:
        return OVERLAY_KINDS, None
    if isinstance(spec, Mapping):
        by = spec.get("contours")
        for key, value in spec.items():
            if key not in OVERLAY_KINDS:
                raise ParameterError(f"overlays={dict(spec)!r}: {key!r} is not a kind of overlay; overlays= {_SPEC_HELP}")
            if not isinstance(value, bool) and not (key == "contours" and isinstance(value, str) and value):
                raise ParameterError(f"overlays={dict(spec)!r}: {key!r} takes True or False (contours also a column name), got {value!r}")
        kinds = tuple(kind for kind in OVERLAY_KINDS if spec.get(kind) not in (None, False))
        return kinds, by if isinstance(by, str) else None
    kinds = (spec,) if isinstance(spec, str) else tuple(spec) if isinstance(spec, (list, tuple, set, frozenset)) else None
    if kinds is None or any(kind not in OVERLAY_KINDS for kind in kinds):
        raise ParameterError(f"overlays={spec!r} {_SPEC_HELP}")
    return tuple(kind for kind in OVERLAY_KINDS if kind in kinds), None


def map_overlays(
    dataset: "Dataset",
    projection: "Projection",
    kinds: tuple[str, ...] = OVERLAY_KINDS,
    *,
    clusters: "Clusters | None" = None,
    contours_by: str | None = None,
    top: int = TOP_CATEGORIES,
) -> tuple[Overlays, "Clusters | None"]:
    """The ``kinds`` of overlays of ``projection``'s map, and the clusters the labels name
    (computed unless given; None without labels).

    ``contours_by`` names a category column: the contours then outline each of its ``top``
    most frequent categories (the first entries of its colour-by legend, in their colours)
    instead of all points together.
    """
    from projector.explore.density import density_contours

    labels: tuple = ()
    if "labels" in kinds:
        from projector.explore.labels import map_labels

        if clusters is None:
            clusters = dataset.clusters(projection)
        labels = map_labels(projection.coords, clusters, clusters.names, clusters.coarse_names)
    contours: tuple[Contour, ...] = ()
    if "contours" in kinds:
        contours = _category_contours(dataset, projection, contours_by, top) if contours_by else density_contours(projection.coords)
    return Overlays(labels=labels, contours=contours), clusters


def _category_contours(dataset: "Dataset", projection: "Projection", column: str, top: int) -> tuple[Contour, ...]:
    """Lines of ``column``'s ``top`` most frequent categories, grouped and coloured as the
    column's colour-by legend groups and colours them (one ``dictionary_encode``; the rows of
    each category found with one comparison over the legend codes)."""
    from projector.explore.colors import color_spec
    from projector.explore.density import category_contours
    from projector.validation import check_whole

    top = check_whole("top", top, minimum=1, meaning="categories outlined", default=TOP_CATEGORIES)
    data = _category_column(dataset, column)
    spec = color_spec(column, data, dataset.num_rows)
    if spec.kind != "categorical":
        raise SchemaError(
            f"overlays={{'contours': {column!r}}}: the column holds numbers, not categories; outline the categories of a label "
            f"or short text column (label columns: {list(dataset.roles.labels)}), or draw contours of all points"
        )
    kept = len(spec.legend) - (1 if spec.folded else 0) - (1 if data.null_count else 0)  # "other", "(missing)"
    entries = spec.legend[: min(kept, top)]
    groups = [(entry.name, np.flatnonzero(spec.values == code)) for code, entry in enumerate(entries)]
    colors = {entry.name: entry.color for entry in entries}
    found = category_contours(projection.coords, groups, levels=CATEGORY_LEVELS)
    return tuple(dataclasses.replace(contour, color=colors.get(contour.category)) for contour in found)


def _category_column(dataset: "Dataset", column: str):
    if column not in dataset.column_names:
        raise SchemaError(f"overlays={{'contours': {column!r}}}: no column {column!r} to outline the categories of; columns: {dataset.column_names}")
    if column in dataset.roles.vectors:
        raise SchemaError(f"overlays={{'contours': {column!r}}}: an embedding column has no categories; name a label or short text column")
    return dataset.table.column(column)


def resolve_overlays(spec: Any, dataset: "Dataset", projection: "Projection | None") -> Overlays | None:
    """``spec`` (see the module doc) as the :class:`Overlays` to draw over ``projection``, or
    None. Computing them needs a map projector made (None: coordinates given with the data)."""
    if spec is None or isinstance(spec, Overlays):
        return spec
    kinds, by = _parse(spec)
    if kinds and projection is None:
        raise ParameterError(
            "overlays= needs a map projector computed (a Projection or a method name), not coordinate columns; "
            "pass projection='umap', or an Overlays made for these coordinates"
        )
    return map_overlays(dataset, projection, kinds, contours_by=by)[0] if kinds else None
