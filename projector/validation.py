"""The checks and names that several modules share, written once.

Metrics, map methods and their display names, and the checks of choices, whole numbers and
map coordinates: the kNN graph, the neighbour index, quality, evaluation, comparisons, run
logs, the app, the CLI, the reports and the images all take them from here, so an error reads
the same wherever a user meets it (scikit-learn's wording: the parameter, its value, the
constraint, the way out). Every check raises :class:`~projector.errors.ParameterError`, which
is also a ``ValueError``.

numpy is imported only by :func:`check_coords`, so the CLI can read the names without it.
"""

from __future__ import annotations

import numbers
from collections.abc import Hashable
from typing import TYPE_CHECKING, Any, Sequence

from projector.errors import ParameterError

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "METRICS",
    "METHODS",
    "METHOD_NAMES",
    "method_name",
    "method_options",
    "method_names_text",
    "one_of",
    "check_choice",
    "check_metric",
    "check_method",
    "check_whole",
    "check_k",
    "check_coords",
]

METRICS = ("cosine", "l2", "ip")
"""Distances of the original space: cosine, Euclidean (L2) and inner product."""

METHODS = ("pca", "umap", "tsne")
"""The map methods :func:`projector.project` computes."""

METHOD_NAMES = {"pca": "PCA", "umap": "UMAP", "tsne": "t-SNE", "identity": "as is", "custom": "custom axes"}
"""How each method is written for people (menus, titles, legends, footers)."""

_NO_DEFAULT = object()


def method_name(method: str) -> str:
    """The display name of ``method`` (``"tsne"`` -> ``"t-SNE"``); an unknown one as given."""
    return METHOD_NAMES.get(method, method)


def method_options(methods: Sequence[str] = METHODS) -> dict[str, str]:
    """``{display name: method}`` in the order given, as menus and button groups take them."""
    return {method_name(method): method for method in methods}


def method_names_text(methods: Sequence[str] = METHODS, last: str = "or") -> str:
    """The display names as a sentence lists them: ``PCA, UMAP or t-SNE`` (``last="and"`` for
    ``PCA, UMAP and t-SNE``), for help texts and messages."""
    return _listed([method_name(method) for method in methods], last)


def one_of(choices: Sequence[Any]) -> str:
    """``choices`` as a message lists them: ``'pca', 'umap' or 'tsne'``."""
    return _listed([repr(choice) for choice in choices], "or")


def check_choice(name: str, value: Any, choices: Sequence[Any], *, default: Any = _NO_DEFAULT) -> Any:
    """``value`` when it is one of ``choices``, else a :class:`ParameterError` naming the
    parameter ``name``, the value, the choices and, when given, the default."""
    if not isinstance(value, Hashable) or value not in choices:
        raise ParameterError(f"{name}={value!r} must be one of {one_of(choices)}{_default(default)}")
    return value


def check_metric(metric: Any) -> str:
    """``metric`` when it is one of :data:`METRICS`, else a :class:`ParameterError` naming it."""
    return check_choice("metric", metric, METRICS, default="cosine")


def check_method(method: Any, *, also: Sequence[str] = ("auto",), default: str = "auto") -> str:
    """``method`` when it is one of :data:`METHODS` or ``also`` (the caller's extra words,
    such as ``"auto"`` or ``"none"``), else a :class:`ParameterError` naming it."""
    return check_choice("method", method, (*METHODS, *also), default=default)


def check_whole(
    name: str,
    value: Any,
    *,
    minimum: int = 0,
    maximum: int | None = None,
    meaning: str = "",
    default: Any = _NO_DEFAULT,
    or_none: bool = False,
) -> Any:
    """``value`` as an ``int`` in ``[minimum, maximum]`` (None passes when ``or_none``), else a
    :class:`ParameterError`: ``n=-1 must be a whole number >= 0 (how many rows); the default
    is 10``. Booleans and floats such as ``2.0`` are refused: they are usually a mistake."""
    if value is None and or_none:
        return None
    whole = not isinstance(value, bool) and isinstance(value, numbers.Integral)
    if not whole or value < minimum or (maximum is not None and value > maximum):
        span = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        what = f" ({meaning})" if meaning else ""
        none = ", or None" if or_none else ""
        raise ParameterError(f"{name}={value!r} must be a whole number {span}{what}{none}{_default(default)}")
    return int(value)


def check_k(k: Any, *, default: int = 10) -> int:
    """``k`` (a number of neighbours) as an ``int`` >= 1, else a :class:`ParameterError`."""
    return check_whole("k", k, minimum=1, meaning="the number of neighbours", default=default)


def check_coords(
    coords: Any, name: str = "coords", *, min_rows: int = 1, min_dims: int = 1, finite: bool = True
) -> "np.ndarray":
    """``coords`` as an (N, dims) array of finite numbers, one row of map coordinates per
    point, else a :class:`ParameterError` naming ``name``, its shape and the first bad row.

    ``min_rows`` and ``min_dims`` are what the caller needs (an alignment needs two rows, an
    image two axes); ``finite=False`` lets NaN/inf rows through, for a caller that leaves
    such points out. The array is returned as given, not copied or cast.
    """
    import numpy as np

    array = np.asarray(coords)
    if array.ndim != 2 or array.shape[0] < min_rows or array.shape[1] < min_dims or array.dtype.kind not in "fiu":
        rows = f" with N >= {min_rows}" if min_rows > 1 else ""
        raise ParameterError(
            f"{name} has shape {array.shape} and dtype {array.dtype}; expected numbers shaped (N, 2) or (N, 3){rows}, "
            "one row of map coordinates per point"
        )
    bad = ~np.isfinite(array).all(axis=1) if finite else None
    if bad is not None and bad.any():
        rows_at = np.flatnonzero(bad)
        raise ParameterError(
            f"{name} has {rows_at.size} row(s) with NaN or infinite values, the first at row {rows_at[0]}; "
            "a map must place every point: drop those rows or fill them"
        )
    return array


def _listed(texts: list[str], last: str) -> str:
    return texts[0] if len(texts) == 1 else f"{', '.join(texts[:-1])} {last} {texts[-1]}"


def _default(default: Any) -> str:
    return "" if default is _NO_DEFAULT else f"; the default is {default!r}"
