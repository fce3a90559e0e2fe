"""Custom axes (the TensorFlow projector's custom projection): a map whose x axis runs from
end A to end B, and y from C to D, in the ORIGINAL space, so a user can ask "how negative or
positive is each review" instead of reading it off a UMAP.

Each end is a text query (embedded by the column's model, see :mod:`projector.search`), a
category ``{"column": "label", "value": "positive"}`` (the centroid of its rows), or a sequence
of row positions (a selection's centroid). With cosine (the default) every row and end is
first scaled to unit length, so the axes compare directions, as cosine similarity does.

A row's x is its projection onto the unit direction ``(B - A) / |B - A|``, measured from A:
A sits at 0 and B at ``|B - A|``; y likewise from C to D. Without ``y``, y is the top principal
component of what x leaves unexplained (each row minus its part along the x direction), so the
map spreads the rows as much as possible across the chosen axis.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from projector.errors import ParameterError
from projector.reduce.params import CustomParams

if TYPE_CHECKING:
    from projector.dataset import Dataset
    from projector.projection import Projection

__all__ = ["CustomParams", "custom_projection", "end_from_text", "end_title", "axis_titles", "check_axis", "REST_TITLE"]

REST_TITLE = "most variance left (PC1 of the rest)"  # the y axis when no y ends are given
_AXES = ("x", "y")


def custom_projection(dataset: "Dataset", column: str, options: Mapping[str, Any]) -> "Projection":
    """The custom-axes map of ``column`` for ``options`` (``x=``, ``y=``, ``metric=``, ``model=``);
    its params record the ends, its provenance the axis titles. See the module's notes."""
    import time

    from projector.projection import Projection

    started = time.perf_counter()
    params = CustomParams.from_options(options)
    if params.x is None:
        raise ParameterError(
            "custom: x= is required: two ends, e.g. x=('negative review', 'positive review') or "
            "x=({'column': 'label', 'value': 'cat'}, {'column': 'label', 'value': 'dog'})"
        )
    space = _space(dataset.vectors(column), params.metric)
    ends = _end_vectors(dataset, column, params, space)
    x_from, x_unit = _axis(params, "x", ends)
    if params.y is not None:
        y_from, y_unit = _axis(params, "y", ends)
    else:
        y_from, y_unit = _rest_direction(space, x_unit)
    coords = np.stack([(space - x_from) @ x_unit, (space - y_from) @ y_unit], axis=1).astype(np.float32)
    titles = axis_titles(params)
    provenance = {
        "axis_titles": list(titles), "device": "cpu", "backend": "numpy",
        "seconds": {"total": time.perf_counter() - started},
        "notes": [f"x: {titles[0]}; y: {titles[1]} (positions along each direction in the original space)"],
    }
    return Projection(coords, "custom", column, params.to_dict(), None, provenance)


def end_from_text(text: str, columns: Sequence[str]) -> str | dict[str, str]:
    """An end as a form gives it: ``column=value`` (``column`` one of ``columns``) is that
    category; anything else is a text query."""
    name, sep, value = text.partition("=")
    if sep and name.strip() in columns and value.strip():
        return {"column": name.strip(), "value": value.strip()}
    return text.strip()


def end_title(end: Any) -> str:
    """How an end is written on an axis: the query, ``column=value``, or its rows."""
    if isinstance(end, str):
        return end
    if isinstance(end, Mapping):
        return f"{end['column']}={end['value']}"
    rows = list(end)
    shown = ", ".join(map(str, rows[:3]))
    return f"row {shown}" if len(rows) == 1 else f"{len(rows)} rows ({shown}{', …' if len(rows) > 3 else ''})"


def axis_titles(params: CustomParams | Mapping[str, Any]) -> tuple[str, str]:
    """The x and y axis titles: ``"A → B"``, and :data:`REST_TITLE` for a y with no ends."""
    get = params.get if isinstance(params, Mapping) else lambda name: getattr(params, name)
    titles = []
    for axis in _AXES:
        ends = get(axis)
        titles.append(REST_TITLE if ends is None else f"{end_title(ends[0])} → {end_title(ends[1])}")
    return titles[0], titles[1]


# -- internals --------------------------------------------------------------------------------


def check_axis(axis: str, ends: Any) -> tuple:
    """``ends`` of ``axis`` as :class:`CustomParams` keeps them, or a ParameterError naming the bad end."""
    if isinstance(ends, (str, Mapping)) or not isinstance(ends, Sequence) or len(ends) != 2:
        raise ParameterError(
            f"custom: {axis}={ends!r:.120} must be two ends (A, B), e.g. {axis}=('negative review', 'positive review')"
        )
    return tuple(_check_end(f"{axis} end {'AB'[i] if axis == 'x' else 'CD'[i]}", end) for i, end in enumerate(ends))


def _check_end(where: str, end: Any) -> Any:
    """The end in a JSON-ready form (a query, a category dict, sorted unique row positions)."""
    if isinstance(end, str):
        if not end.strip():
            raise ParameterError(f"custom: {where} is an empty query; give some words, a category or rows")
        return end
    if isinstance(end, Mapping):
        if set(end) != {"column", "value"} or not isinstance(end["column"], str):
            raise ParameterError(f"custom: {where}={dict(end)!r:.120} must be {{'column': NAME, 'value': VALUE}}")
        return {"column": end["column"], "value": end["value"]}
    rows = np.asarray(end) if isinstance(end, (Sequence, np.ndarray)) else None
    if rows is None or rows.ndim != 1 or rows.size == 0 or rows.dtype.kind not in "iu":
        raise ParameterError(
            f"custom: {where}={end!r:.120} must be a text query (str), {{'column': NAME, 'value': VALUE}} "
            "(a category's centroid) or a non-empty list of row positions (their centroid)"
        )
    return [int(row) for row in np.unique(rows)]


def _space(matrix: np.ndarray, metric: str) -> np.ndarray:
    if metric != "cosine":
        return matrix
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def _end_vectors(dataset: "Dataset", column: str, params: CustomParams, space: np.ndarray) -> dict[str, np.ndarray]:
    """Every end as a point of ``space``: text queries embedded together (one model load)."""
    ends = {f"{axis}{i}": end for axis in _AXES if getattr(params, axis) is not None for i, end in enumerate(getattr(params, axis))}
    points: dict[str, np.ndarray] = {}
    queries = {name: end for name, end in ends.items() if isinstance(end, str)}
    if queries:
        from projector.search import embed_queries

        embedded = _space(embed_queries(dataset, list(queries.values()), column, params.model), params.metric)
        points.update(zip(queries, embedded))
    for name, end in ends.items():
        where = f"{name[0]} end {('AB' if name[0] == 'x' else 'CD')[int(name[1])]}"
        if isinstance(end, dict):
            points[name] = space[_category_rows(dataset, where, end)].mean(axis=0)
        elif not isinstance(end, str):
            bad = [row for row in end if not 0 <= row < len(space)]
            if bad:
                raise ParameterError(f"custom: {where} names row {bad[0]}; rows are positions 0 to {len(space) - 1}")
            points[name] = space[end].mean(axis=0)
    return points


def _category_rows(dataset: "Dataset", where: str, end: dict) -> np.ndarray:
    import pyarrow as pa
    import pyarrow.compute as pc

    name, value = end["column"], end["value"]
    if name not in dataset.column_names or name in dataset.roles.vectors:
        raise ParameterError(f"custom: {where} names column {name!r}, which is not a data column; columns: {dataset.column_names}")
    values = dataset.table.column(name)
    as_text = pc.cast(values, pa.string(), safe=False) if not pa.types.is_string(values.type) else values
    rows = np.flatnonzero(pc.fill_null(pc.equal(as_text, str(value)), False).to_numpy(zero_copy_only=False))
    if rows.size == 0:
        seen = pc.unique(as_text).to_pylist()[:10]
        raise ParameterError(f"custom: {where}: no row has {name}={value!r}; some values of {name!r}: {seen}")
    return rows


def _axis(params: CustomParams, axis: str, points: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The axis' origin (its first end) and unit direction; the same two ends are an error."""
    start, end = points[f"{axis}0"], points[f"{axis}1"]
    direction = end - start
    length = float(np.linalg.norm(direction))
    if length < 1e-6:
        titles = [end_title(e) for e in getattr(params, axis)]
        raise ParameterError(f"custom: {axis} ends {titles[0]!r} and {titles[1]!r} are the same point; pick two ends that differ")
    return start, (direction / length).astype(np.float32)


def _rest_direction(space: np.ndarray, x_unit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The y axis without ends: the top principal component of the rows with x taken out."""
    from projector.reduce.pca import pca_numpy

    rest = space - np.outer(space @ x_unit, x_unit).astype(np.float32)
    result = pca_numpy(np.ascontiguousarray(rest, dtype=np.float32), 1)
    return result.mean, result.components[0]
