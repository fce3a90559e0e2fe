"""Place new rows into an existing map, in the map's own frame: ``Projection.transform``.

- **PCA** is exact: new rows are projected onto the fitted mean and components.
- **t-SNE** follows openTSNE's ``prepare_partial`` / ``PartialTSNEEmbedding.optimize``: each new
  row starts at the affinity-weighted mean of its nearest fitted rows in the map, then only the
  new rows move, attracted by their neighbours and repelled by the fixed map
  (:mod:`projector.reduce._placement_tsne`).
- **UMAP** follows umap-learn's ``UMAP.transform``: the same start, then only the new rows move
  under UMAP's objective against the fixed map (:mod:`projector.reduce._placement_umap`).
  umap-learn's own transform needs the fitted ``UMAP`` object, which projector never keeps (its
  UMAP may run in torch).
- Then, for both, each placed row **settles** beside its neighbours
  (:mod:`projector.reduce._placement_settle`): it weighs its spot against spots beside its
  nearest rows in the original space (fitted and other new rows), and keeps the one whose map
  neighbourhood agrees best with theirs, at scales from 5 to 40 neighbours; the optimisation
  alone leaves rows between a spread of neighbours (benchmarks/README.md, placement).

:mod:`projector.reduce.placed_table` writes placed rows as a table (``project --into``).

The neighbours of new rows in the original space come from the fitted dataset's exact
:meth:`~projector.dataset.Dataset.index`, the index every other neighbour query uses. A new row
that repeats a fitted row's vector exactly lands on that row's spot, as fitted copies share one
spot in the map.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from projector.errors import ProjectorError, SchemaError, VectorError
from projector.progress import ProgressCallback, Reporter

if TYPE_CHECKING:
    from projector.dataset import Dataset
    from projector.projection import Projection

__all__ = ["place", "Placement", "new_vectors", "PLACEABLE"]

PLACEABLE = ("identity", "pca", "umap", "tsne")


@dataclass(frozen=True)
class Placement:
    """What :func:`place` gives: the new rows' coordinates, what placing them did (JSON-ready),
    and, for UMAP and t-SNE, each new row's nearest fitted rows in the original space, nearest
    first (the search placing made, kept so that a caller voting on the rows' clusters does
    not search again)."""

    coords: np.ndarray  # (M, dims) float32
    info: dict[str, Any]
    neighbours: np.ndarray | None = None  # (M, k) fitted row numbers; None for PCA and given coordinates


def place(
    projection: "Projection",
    new: Any,
    dataset: "Dataset | None",
    *,
    progress: ProgressCallback | list[ProgressCallback] | Reporter | None = None,
) -> Placement:
    """Coordinates (M, dims) of ``new`` rows in ``projection``'s map, and what placing them did.

    ``dataset`` holds the rows the map was fitted on (row-aligned with ``projection.coords``);
    PCA needs it only when the projection does not carry its components (one from the cache
    or from a file), UMAP and t-SNE always.
    """
    report = progress if isinstance(progress, Reporter) else Reporter(progress)
    started = time.perf_counter()
    method = projection.method
    if method not in PLACEABLE:
        raise ProjectorError(f"transform: method {method!r} cannot place new rows; {', '.join(PLACEABLE)} can")
    matrix = new_vectors(new, projection.column, _fitted_dim(projection, dataset))
    info: dict[str, Any] = {"rows": len(matrix), "method": method}
    neighbours = None
    if method == "identity":
        coords = np.zeros((len(matrix), projection.coords.shape[1]), dtype=np.float32)
        coords[:, : matrix.shape[1]] = matrix
    elif method == "pca":
        mean, components = _pca_model(projection, dataset, report)
        coords = (matrix @ components.T - mean @ components.T).astype(np.float32)
    else:
        fitted = _fitted(projection, dataset)
        coords, neighbours = _neighbour_place(projection, fitted, matrix, report, info)
    info["seconds"] = round(time.perf_counter() - started, 3)
    return Placement(coords, info, neighbours)


def new_vectors(new: Any, column: str, dim: int | None) -> np.ndarray:
    """``new`` as an (M, D) float32 matrix: an array, or a Dataset / Arrow table holding ``column``."""
    from projector.dataset import Dataset

    if isinstance(new, Dataset):
        if column not in new.roles.vectors:
            raise SchemaError(
                f"transform: the new rows have no embedding column {column!r} (the map's column); "
                f"their embedding columns: {list(new.roles.vectors)}. Rename the column, or pass "
                f"new.vectors(NAME) as an array"
            )
        matrix = new.vectors(column)
    elif isinstance(new, pa.Table):
        if column not in new.column_names:
            raise SchemaError(
                f"transform: the new table has no column {column!r} (the map's embedding column); "
                f"its columns: {new.column_names}. Rename the column, or pass the vectors as an array"
            )
        from projector import _vectors

        matrix = _vectors.as_matrix(_vectors.to_vector_column(new.column(column), column))
    else:
        matrix = np.asarray(new)
        if matrix.ndim == 1 and matrix.size:
            matrix = matrix[None, :]
        if matrix.ndim != 2 or matrix.dtype.kind not in "iuf":
            raise VectorError(
                f"transform: new rows of shape {matrix.shape} and dtype {matrix.dtype}; pass an (M, D) float "
                "array, a Dataset or an Arrow table with the map's embedding column"
            )
    if len(matrix) == 0:
        raise VectorError("transform: no new rows; pass at least one")
    if dim is not None and matrix.shape[1] != dim:
        raise VectorError(
            f"transform: the new rows have D={matrix.shape[1]} but the map of {column!r} was fitted on "
            f"D={dim} vectors; embed them with the same model as the map's rows"
        )
    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    bad = ~np.isfinite(matrix).all(axis=1)
    if bad.any():
        raise VectorError(f"transform: new row {int(np.flatnonzero(bad)[0])} has NaN or infinite values; drop or fix it first")
    return matrix


def _fitted_dim(projection: "Projection", dataset: "Dataset | None") -> int | None:
    if dataset is not None and projection.column in dataset.roles.vectors:
        return int(dataset.vectors(projection.column).shape[1])
    components = projection.model.get("components")
    return int(components.shape[1]) if components is not None else None


def _fitted(projection: "Projection", dataset: "Dataset | None") -> "Dataset":
    """The dataset the map was fitted on, or an error saying how to give it."""
    what = f"placing rows in a {projection.method} map"
    if dataset is None:
        raise ProjectorError(
            f"transform: {what} needs the rows the map was fitted on, and this projection does not hold them "
            "(it was loaded from a file or unpickled); pass dataset=THE_FITTED_DATASET"
        )
    if projection.column not in dataset.roles.vectors:
        raise SchemaError(
            f"transform: the fitted dataset has no embedding column {projection.column!r}; its embedding "
            f"columns: {list(dataset.roles.vectors)}. Pass the dataset the map was computed from"
        )
    if len(dataset) != len(projection.coords):
        raise ProjectorError(
            f"transform: the fitted dataset has {len(dataset):,} rows but the map has {len(projection.coords):,}; "
            "pass the dataset the map was computed from"
        )
    return dataset


def _pca_model(projection: "Projection", dataset: "Dataset | None", report: Reporter) -> tuple[np.ndarray, np.ndarray]:
    """The fitted mean and components: kept by the projection, else refitted (exact PCA is deterministic)."""
    model = projection.model
    if "components" in model:
        return model["mean"], model["components"]
    from projector.reduce.pca import pca_numpy

    fitted = _fitted(projection, dataset)
    result = pca_numpy(fitted.vectors(projection.column), projection.coords.shape[1], report=report)
    return result.mean, result.components


def _neighbour_place(
    projection: "Projection", dataset: "Dataset", matrix: np.ndarray, report: Reporter, info: dict[str, Any],
) -> tuple[np.ndarray, np.ndarray]:
    """UMAP or t-SNE: the new rows' nearest fitted rows, their start in the map, the
    optimisation; returns the coordinates and those nearest fitted rows."""
    params = projection.params
    metric = params.get("metric", "cosine")
    coords = np.ascontiguousarray(projection.coords, dtype=np.float32)
    n = len(coords)
    from projector.reduce._placement_settle import SETTLE_SCALES, settle

    if projection.method == "umap":
        k = min(n, int(params.get("n_neighbors", 15)))
    else:
        from projector.reduce._placement_tsne import TSNE_PLACE_PERPLEXITY

        perplexity = min(TSNE_PLACE_PERPLEXITY, float(params.get("perplexity", 30.0)))
        k = min(n, max(2, int(3 * perplexity)))
    rows, distances = _neighbours(dataset, projection.column, metric, matrix, min(n, max(k, max(SETTLE_SCALES))), report)
    if projection.method == "umap":
        from projector.reduce._placement_umap import umap_place

        placed = umap_place(coords, rows[:, :k], distances[:, :k], params, report=report)
    else:
        from projector.reduce._placement_tsne import tsne_place

        placed = tsne_place(coords, rows[:, :k], distances[:, :k], perplexity, seed=int(params.get("seed", 0)), report=report)
    placed = settle(coords, placed, _with_new_rows(rows, distances, matrix, metric, n))
    info.update(k=k, metric=metric)
    copies = _exact_copies(dataset.vectors(projection.column), matrix, rows[:, 0])
    placed[copies] = coords[rows[copies, 0]]
    info["exact_copies"] = int(copies.sum())
    return placed, rows


def _neighbours(dataset: "Dataset", column: str, metric: str, matrix: np.ndarray, k: int, report: Reporter) -> tuple[np.ndarray, np.ndarray]:
    """Each new row's ``k`` nearest fitted rows in the original space, by the dataset's own index."""
    report("placement neighbours", 0, 1)
    distances, rows = dataset.index(column, metric).search(matrix, k)
    report("placement neighbours", 1, 1)
    return rows, np.maximum(distances, 0.0)


def _with_new_rows(rows: np.ndarray, distances: np.ndarray, matrix: np.ndarray, metric: str, n: int) -> np.ndarray:
    """Each new row's ``k`` nearest among fitted AND other new rows (M, k), new rows numbered from ``n``.

    Held-out rows' true neighbours include other new rows (a refit puts them together); an
    exact search among the M new rows, small beside the fitted index, finds them.
    """
    m, k = rows.shape
    if m < 2:
        return rows
    from projector.neighbors import NeighborIndex

    among_new, new_rows = NeighborIndex(matrix, metric, device="cpu").search(matrix, min(k, m - 1), exclude=np.arange(m))
    both = np.concatenate([rows, new_rows + n], axis=1)
    order = np.argsort(np.concatenate([distances, np.maximum(among_new, 0.0)], axis=1), axis=1, kind="stable")[:, :k]
    return np.take_along_axis(both, order, axis=1)


def _exact_copies(fitted: np.ndarray, matrix: np.ndarray, nearest: np.ndarray) -> np.ndarray:
    """Which new rows repeat their nearest fitted row's vector exactly."""
    return (fitted[nearest] == matrix).all(axis=1)
