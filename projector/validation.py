"""The checks and names that several modules share, written once.

Metrics, map methods and their display names, and the checks of ``k`` and ``metric``: the kNN
graph, the neighbour index, quality, evaluation, the app, the reports and the images all take
them from here, so an error reads the same wherever a user meets it (scikit-learn's wording:
the parameter, its value, the constraint, the way out).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from projector.errors import ParameterError

__all__ = ["METRICS", "METHODS", "METHOD_NAMES", "method_name", "check_metric", "check_k"]

METRICS = ("cosine", "l2", "ip")
"""Distances of the original space: cosine, Euclidean (L2) and inner product."""

METHODS = ("pca", "umap", "tsne")
"""The map methods :func:`projector.project` computes."""

METHOD_NAMES = {"pca": "PCA", "umap": "UMAP", "tsne": "t-SNE", "identity": "as is"}
"""How each method is written for people (menus, titles, legends, footers)."""


def method_name(method: str) -> str:
    """The display name of ``method`` (``"tsne"`` -> ``"t-SNE"``); an unknown one as given."""
    return METHOD_NAMES.get(method, method)


def check_metric(metric: Any) -> str:
    """``metric`` when it is one of :data:`METRICS`, else a :class:`ParameterError` naming it."""
    if metric not in METRICS:
        raise ParameterError(f"metric={metric!r} must be one of 'cosine', 'l2' or 'ip'; the default is 'cosine'")
    return metric


def check_k(k: Any, *, default: int | str = 10) -> int:
    """``k`` (a number of neighbours) as an ``int`` >= 1, else a :class:`ParameterError`."""
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ParameterError(f"k={k!r} must be a whole number >= 1 (the number of neighbours); the default is {default}")
    return int(k)
