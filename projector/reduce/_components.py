"""Disconnected parts of a neighbour graph: where each one starts and where it ends up.

A kNN graph of real data often falls apart: a cluster of near-identical texts, a far-off
class. UMAP has no edge between the parts, so nothing says how far apart to draw them; only
negative sampling pushes them, and a part that starts inside the bulk is thrown far out,
squeezing the rest of the map into a corner. Two fixes, after umap-learn and beyond it:

- :func:`projector.reduce.initialization.component_init` starts each part apart: the parts'
  centroids are laid out by a spectral embedding of their affinities (a few parts on the unit
  axes), and each part's own spectral layout is scaled into its share of the space around its
  centroid's spot (as umap-learn's ``multi_component_layout``).
- :func:`gather_components` moves a small part that ended up far beyond the bulk back to
  just outside it, along the same direction, without changing its shape. Distances between parts
  of a disconnected graph carry no meaning; a squeezed map does harm.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["component_labels", "gather_components", "FAR"]

FAR = 2.0  # a part is far when a point of it lies beyond FAR x the bulk's 99th-percentile radius
_GAP = 0.05  # room left between the bulk and a gathered part, as a share of that radius


def component_labels(graph: sp.spmatrix) -> tuple[int, np.ndarray]:
    """The number of connected parts of ``graph`` (taken as undirected) and each node's part."""
    from scipy.sparse.csgraph import connected_components

    count, labels = connected_components(graph, directed=False)
    return int(count), labels.astype(np.int64)


def gather_components(coords: np.ndarray, labels: np.ndarray, count: int) -> tuple[np.ndarray, int]:
    """Move small parts lying far beyond the bulk back to just outside it; returns (coords, parts moved).

    Small parts hold under 1% of the points each (and under 10% together; a map made of many
    small parts is left as it is). The bulk is every other point; its radius R is the 99th
    percentile of their distances from their median. A small part with a point beyond
    ``FAR`` x R is moved, whole and along the line from the median to its centre, until it
    sits a small gap outside the points already in place (nearest parts first). Parts within
    reach are left exactly where the layout put them.
    """
    if count < 2:
        return coords, 0
    sizes = np.bincount(labels, minlength=count)
    small = sizes < 0.01 * len(labels)
    if not small.any() or small.all() or sizes[small].sum() > 0.1 * len(labels):
        return coords, 0
    coords = np.array(coords, dtype=np.float32, copy=True)
    placed = ~small[labels]
    centre = np.median(coords[placed], axis=0)
    distance = np.sqrt(((coords - centre) ** 2).sum(axis=1))
    radius = float(np.percentile(distance[placed], 99))
    if radius <= 0:
        return coords, 0
    reach = np.zeros(count)
    np.maximum.at(reach, labels, distance)
    far = np.flatnonzero(small & (reach > FAR * radius))
    placed |= ~np.isin(labels, far)
    for part in far[np.argsort(reach[far])]:
        members = np.flatnonzero(labels == part)
        points = coords[members]
        middle = points.mean(axis=0)
        direction = middle - centre
        length = float(np.sqrt((direction**2).sum()))
        direction = direction / length if length > 0 else np.eye(coords.shape[1])[0]
        own = float(np.sqrt(((points - middle) ** 2).sum(axis=1)).max())
        edge = float(((coords[placed] - centre) @ direction).max())
        target = max(edge, 0.0) + _GAP * radius + own
        if target < length:
            coords[members] = points + (target - length) * direction
        placed[members] = True
    return coords, int(far.size)
