"""Where a layout starts: PCA, random, or the spectral layout of the neighbour graph, and the
rescaling to the range UMAP's optimiser expects. Every reducer's start comes from here (as
openTSNE's ``initialization`` module): :func:`umap_start` and :func:`tsne_start` pick by
``params.init``.

A graph in several parts gets each part's own spectral layout, the parts placed apart by their
centroids (after umap-learn's ``multi_component_layout``; see :mod:`projector.reduce._components`
for what happens to them after the layout).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["pca", "random", "rescale", "spectral", "component_init", "umap_start", "tsne_start"]

UMAP_EXTENT = 10.0  # UMAP starts in [-10, 10], as umap-learn does


def umap_start(params, space: np.ndarray, fuzzy: sp.coo_matrix) -> tuple[np.ndarray, str]:
    """UMAP's start for ``params.init`` (spectral, pca or random) and a word on what it was."""
    fallback = pca(space, params.dims)
    if params.init == "spectral":
        return spectral(fuzzy, params.dims, params.seed, space, fallback)
    if params.init == "pca":
        return rescale(fallback), "pca"
    return random(len(space), params.dims, params.seed, "uniform"), "random"


def tsne_start(params, space: np.ndarray) -> np.ndarray:
    """t-SNE's start for ``params.init``: PCA (openTSNE rescales it), else standard normal."""
    if params.init == "pca":
        return pca(space, params.dims)
    return random(len(space), params.dims, params.seed, "normal")


def pca(space: np.ndarray, dims: int) -> np.ndarray:
    """The first ``dims`` principal components of ``space``."""
    from projector.reduce.pca import pca_numpy

    return pca_numpy(space, dims).coords


def random(n: int, dims: int, seed: int, how: str) -> np.ndarray:
    """``"uniform"`` in [-10, 10] (UMAP's random start) or standard ``"normal"`` (t-SNE's)."""
    rng = np.random.default_rng(seed)
    if how == "uniform":
        return rng.uniform(-UMAP_EXTENT, UMAP_EXTENT, size=(n, dims)).astype(np.float32)
    return rng.normal(size=(n, dims)).astype(np.float32)


def rescale(coords: np.ndarray) -> np.ndarray:
    """``coords`` scaled so the largest magnitude is :data:`UMAP_EXTENT` (all-zero stays zero)."""
    scale = np.abs(coords).max()
    return (coords * (UMAP_EXTENT / scale) if scale > 0 else coords).astype(np.float32)


def spectral(graph: sp.coo_matrix, dims: int, seed: int, data: np.ndarray, fallback: np.ndarray) -> tuple[np.ndarray, str]:
    """Spectral layout of the graph (as umap-learn), else ``fallback``; says which it used.

    A graph in several parts gets each part's own spectral layout, the parts placed apart by
    their centroids in ``data`` (see :mod:`projector.reduce._components`). Returns
    coordinates scaled to [-10, 10] like umap-learn's initialisation.
    """
    from projector.reduce._components import component_labels

    n = graph.shape[0]
    count, labels = component_labels(graph)
    coords = None
    how = "spectral"
    if count > 1:
        coords = component_init(graph, labels, count, data, dims, seed)
        how = f"spectral, {count} parts of the graph placed apart"
    elif n > dims + 2:
        coords = _spectral(graph, dims, seed)
    if coords is None:
        how = "pca (spectral did not converge)"
        coords = fallback[:, :dims].astype(np.float64)
    scale = np.abs(coords).max()
    coords = coords * (UMAP_EXTENT / scale) if scale > 0 else coords
    coords = coords + np.random.default_rng(seed).normal(scale=1e-4, size=coords.shape)
    return coords.astype(np.float32), how


def component_init(graph: sp.spmatrix, labels: np.ndarray, count: int, data: np.ndarray, dims: int, seed: int) -> np.ndarray:
    """Initial coordinates for a graph of ``count`` parts, each part apart from the others.

    Each part gets its own spectral layout (random when that fails); ``data`` (N, D) gives the parts' centroids. Returns (N, dims) float64 in about [-1, 1].
    """
    rng = np.random.default_rng(seed)
    meta = _meta_layout(data, labels, count, dims, seed)
    gaps = np.sqrt(((meta[:, None, :] - meta[None, :, :]) ** 2).sum(axis=2))
    np.fill_diagonal(gaps, np.inf)
    room = np.where(np.isfinite(gaps.min(axis=1)), gaps.min(axis=1) / 2.0, 1.0)
    csr = graph.tocsr()
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(count + 1))
    out = np.empty((len(labels), dims), dtype=np.float64)
    for part in range(count):
        members = order[bounds[part] : bounds[part + 1]]
        layout = None
        if len(members) > max(dims + 1, 2 * dims - 1):
            layout = _spectral(csr[members][:, members].tocoo(), dims, seed)
        if layout is None:
            layout = rng.uniform(-1.0, 1.0, size=(len(members), dims))
        else:
            scale = np.abs(layout).max()
            layout = layout / scale if scale > 0 else layout
        out[members] = layout * room[part] + meta[part]
    return out


def _meta_layout(data: np.ndarray, labels: np.ndarray, count: int, dims: int, seed: int) -> np.ndarray:
    """One spot per part: a spectral embedding of the centroids' affinities, or the unit axes."""
    if count <= 2 * dims:
        half = int(np.ceil(count / 2.0))
        base = np.hstack([np.eye(half), np.zeros((half, max(0, dims - half)))])[:, :dims]
        return np.vstack([base, -base])[:count]
    from sklearn.manifold import SpectralEmbedding

    sums = np.zeros((count, data.shape[1]))
    np.add.at(sums, labels, np.asarray(data, dtype=np.float64))
    centroids = sums / np.bincount(labels, minlength=count)[:, None]
    squared = ((centroids[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
    scale = np.median(squared[squared > 0]) if (squared > 0).any() else 1.0
    affinity = np.exp(-squared / scale)  # scaled, so distances in any unit give a connected affinity
    meta = SpectralEmbedding(n_components=dims, affinity="precomputed", random_state=seed).fit_transform(affinity)
    return meta / np.abs(meta).max()


def _spectral(graph: sp.coo_matrix, dims: int, seed: int) -> np.ndarray | None:
    from scipy.sparse.linalg import ArpackNoConvergence, eigsh, lobpcg

    n = graph.shape[0]
    csr = graph.tocsr()
    degree = np.asarray(csr.sum(axis=1)).ravel()
    inv_sqrt = 1.0 / np.sqrt(np.maximum(degree, 1e-12))
    d_half = sp.diags(inv_sqrt)
    laplacian = sp.identity(n, format="csr") - d_half @ csr @ d_half
    k = dims + 1
    rng = np.random.default_rng(seed)
    try:
        if n <= 1_000:  # small parts: a dense solve is exact and never fails to converge
            values, vectors = np.linalg.eigh(laplacian.toarray())
        elif n < 2_000_000:
            values, vectors = eigsh(
                laplacian, k, which="SM", ncv=max(2 * k + 1, int(np.sqrt(n))), tol=1e-4,
                v0=np.ones(n), maxiter=n * 5,
            )
        else:
            guess = rng.normal(size=(n, k))
            values, vectors = lobpcg(laplacian, guess, largest=False, tol=1e-8, maxiter=200)
    except (ArpackNoConvergence, ValueError, np.linalg.LinAlgError):
        return None
    order = np.argsort(values)[1:k]
    out = vectors[:, order]
    return out if np.isfinite(out).all() else None
