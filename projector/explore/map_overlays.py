"""The overlays of one map, computed from what projector already has: clusters of the shared kNN
graph named by their own members (:mod:`projector.clusters`, :mod:`projector.keywords`), labels
placed at their dense centres (:mod:`projector.explore.labels`), and density contours of the
map (:mod:`projector.explore.density`).

Every front door asks the same way, so a report, an image and a page show one picture:
``overlays=True`` (labels and contours), ``"labels"``, ``"contours"``, a list of those, or an
:class:`~projector.explore.overlays.Overlays` made elsewhere, which is drawn as given.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from projector.errors import ParameterError
from projector.explore.overlays import Overlays

if TYPE_CHECKING:
    from projector.clusters import Clusters
    from projector.dataset import Dataset
    from projector.projection import Projection

__all__ = ["OVERLAY_KINDS", "map_overlays", "overlay_kinds", "resolve_overlays"]

OVERLAY_KINDS = ("labels", "contours")


def overlay_kinds(spec: Any) -> tuple[str, ...]:
    """Which overlays ``spec`` asks for: True/False/None, one kind, or a sequence of kinds."""
    if spec is None or spec is False:
        return ()
    if spec is True:
        return OVERLAY_KINDS
    kinds = (spec,) if isinstance(spec, str) else tuple(spec) if isinstance(spec, (list, tuple, set, frozenset)) else None
    if kinds is None or any(kind not in OVERLAY_KINDS for kind in kinds):
        raise ParameterError(
            f"overlays={spec!r} must be True, False, 'labels', 'contours', a list of those, or an Overlays; "
            "the default is None (none drawn)"
        )
    return tuple(kind for kind in OVERLAY_KINDS if kind in kinds)


def map_overlays(
    dataset: "Dataset", projection: "Projection", kinds: tuple[str, ...] = OVERLAY_KINDS, *, clusters: "Clusters | None" = None
) -> tuple[Overlays, "Clusters | None"]:
    """The ``kinds`` of overlays of ``projection``'s map, and the clusters the labels name
    (computed unless given; None without labels)."""
    from projector.explore.density import density_contours

    labels: tuple = ()
    if "labels" in kinds:
        from projector.explore.labels import map_labels

        if clusters is None:
            clusters = dataset.clusters(projection)
        labels = map_labels(projection.coords, clusters, clusters.names, clusters.coarse_names)
    contours = density_contours(projection.coords) if "contours" in kinds else ()
    return Overlays(labels=labels, contours=contours), clusters


def resolve_overlays(spec: Any, dataset: "Dataset", projection: "Projection | None") -> Overlays | None:
    """``spec`` (see the module doc) as the :class:`Overlays` to draw over ``projection``, or
    None. Computing them needs a map projector made (None: coordinates given with the data)."""
    if spec is None or isinstance(spec, Overlays):
        return spec
    kinds = overlay_kinds(spec)
    if kinds and projection is None:
        raise ParameterError(
            "overlays= needs a map projector computed (a Projection or a method name), not coordinate columns; "
            "pass projection='umap', or an Overlays made for these coordinates"
        )
    return map_overlays(dataset, projection, kinds)[0] if kinds else None
