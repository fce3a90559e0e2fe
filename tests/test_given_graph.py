"""project(..., knn=graph): a graph the user brings is the one UMAP and t-SNE lay out; it is
checked against the dataset's rows, fitted to UMAP's distinct rows, and recorded as given."""

from __future__ import annotations

import numpy as np
import pytest

from projector import Dataset
from projector.errors import ParameterError
from projector.quality import knn_label_accuracy, map_knn

FAST = {"cache": False, "quality": False}


def _group_graph(groups: np.ndarray, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Each row's neighbours: ``k`` random other rows of its own group, at growing distances."""
    rng = np.random.default_rng(seed)
    indices = np.empty((len(groups), k), dtype=np.int64)
    for row, group in enumerate(groups):
        members = np.flatnonzero((groups == group) & (np.arange(len(groups)) != row))
        indices[row] = rng.choice(members, size=k, replace=False)
    distances = np.tile(np.linspace(0.1, 0.5, k, dtype=np.float32), (len(groups), 1))
    return indices, distances


@pytest.fixture(scope="module")
def noise():
    """Structureless vectors with three arbitrary groups: only a given graph can show them."""
    vectors = np.random.default_rng(3).standard_normal((300, 8)).astype(np.float32)
    groups = np.repeat(np.arange(3), 100)
    return Dataset.from_arrays(vectors), groups


@pytest.mark.parametrize("method, options", [("umap", {"n_epochs": 60}), ("tsne", {"n_iter": 250, "perplexity": 5})])
def test_the_given_graph_is_the_one_laid_out(noise, method, options):
    ds, groups = noise
    given = ds.project(method, knn=_group_graph(groups, 15), **options, **FAST)
    plain = ds.project(method, **options, **FAST)
    assert knn_label_accuracy(map_knn(given.coords, 10), groups) > 0.9
    assert knn_label_accuracy(map_knn(plain.coords, 10), groups) < 0.6
    assert given.provenance["knn"]["given"] is True and given.provenance["knn"]["backend"] == "given"
    assert "given" not in plain.provenance["knn"]


def test_a_dataset_graph_gives_the_map_projector_would_build(noise):
    ds, _ = noise
    own = ds.project("umap", n_epochs=30, **FAST)
    given = ds.project("umap", n_epochs=30, knn=ds.graph(k=30), **FAST)
    np.testing.assert_allclose(given.coords, own.coords, atol=1e-4)
    assert given.provenance["knn"]["k"] == 14 and given.provenance["knn"]["exact"]


def test_a_given_graph_is_checked_with_the_way_out(noise):
    ds, groups = noise
    indices, distances = _group_graph(groups, 15)
    with pytest.raises(ParameterError, match="knn= has 299 rows but the dataset has 300"):
        ds.project("umap", knn=(indices[1:], distances[1:]), **FAST)
    with pytest.raises(ParameterError, match=r"knn= has 5 neighbours per row; UMAP with n_neighbors=15 needs at least 14.*ds.graph\(k=14\)"):
        ds.project("umap", knn=(indices[:, :5], distances[:, :5]), **FAST)
    with pytest.raises(ParameterError, match="t-SNE with perplexity=30 needs at least 90"):
        ds.project("tsne", knn=(indices, distances), **FAST)
    selfish = indices.copy()
    selfish[7, 0] = 7
    with pytest.raises(ParameterError, match="knn= row 7 lists itself"):
        ds.project("umap", knn=(selfish, distances), **FAST)
    outside = indices.copy()
    outside[0, 0] = 300
    with pytest.raises(ParameterError, match="knn= lists row 300; neighbours are row positions 0 to 299"):
        ds.project("umap", knn=(outside, distances), **FAST)
    with pytest.raises(ParameterError, match="expected integer indices and numeric distances of the same shape"):
        ds.project("umap", knn=(indices, distances[:, :3]), **FAST)
    with pytest.raises(ParameterError, match="knn= got ndarray; pass a KnnGraph"):
        ds.project("umap", knn=indices, **FAST)
    with pytest.raises(ParameterError, match="knn= is a 'l2' graph but metric='cosine'; pass metric='l2'"):
        ds.project("umap", knn=ds.graph(metric="l2", k=20), **FAST)
    with pytest.raises(ParameterError, match="knn= feeds UMAP and t-SNE; PCA reads the vectors only"):
        ds.project("pca", knn=(indices, distances), **FAST)


def test_duplicates_are_laid_out_once_from_a_graph_over_every_row():
    """UMAP lays out each distinct vector once: the given graph is read at each vector's first
    row, its copies dropped; a graph holding little beyond copies is refused."""
    rng = np.random.default_rng(4)
    base = rng.standard_normal((200, 6)).astype(np.float32)
    vectors = np.concatenate([base, base[:20]])  # rows 200-219 repeat rows 0-19
    ds = Dataset.from_arrays(vectors)
    graph = ds.graph(k=20)
    assert (graph.indices[:20, 0] == np.arange(200, 220)).all()  # each copy is its twin's nearest
    projection = ds.project("umap", knn=graph, n_epochs=30, **FAST)
    np.testing.assert_array_equal(projection.coords[200:], projection.coords[:20])
    assert projection.provenance["distinct_rows"] == 200 and projection.provenance["knn"]["k"] == 14
    with pytest.raises(ParameterError, match=r"knn= keeps 11 of its 15 neighbours per row once copies .* needs at least 14: pass a wider graph \(ds.graph\(k=18\)\)"):
        ds.project("umap", knn=ds.graph(k=15), **FAST)
    assert ds.project("umap", knn=ds.graph(k=18), n_epochs=30, **FAST).provenance["knn"]["k"] == 14


def test_a_given_graph_gets_its_own_cache_entry(tmp_path, noise):
    from projector.cache import Cache

    ds, groups = noise
    store = Cache(tmp_path)
    plain = ds.project("umap", n_epochs=30, cache=store, quality=False)
    given = ds.project("umap", n_epochs=30, knn=_group_graph(groups, 15), cache=store, quality=False)
    assert not given.provenance.get("cached") and not np.allclose(given.coords, plain.coords)
    again = ds.project("umap", n_epochs=30, knn=_group_graph(groups, 15), cache=store, quality=False)
    assert again.provenance.get("cached") and again.provenance["knn"]["given"]
    np.testing.assert_array_equal(again.coords, given.coords)


def test_a_neighbour_index_stands_in_for_the_graph():
    """knn=NeighborIndex: every row is looked up in it, wide enough once copies are dropped; an
    index of other vectors or another metric is refused with the way out."""
    from projector.neighbors import NeighborIndex

    rng = np.random.default_rng(5)
    base = rng.standard_normal((200, 6)).astype(np.float32)
    ds = Dataset.from_arrays(np.concatenate([base, base[:20]]))  # rows 200-219 repeat rows 0-19
    own = ds.project("umap", n_epochs=30, **FAST)
    given = ds.project("umap", n_epochs=30, knn=ds.index(), **FAST)
    np.testing.assert_allclose(given.coords, own.coords, atol=1e-4)
    assert given.provenance["knn"]["given"] is True and given.provenance["knn"]["k"] == 14
    assert ds.project("tsne", n_iter=250, perplexity=5, knn=ds.index(), **FAST).provenance["knn"]["k"] == 15
    with pytest.raises(ParameterError, match=r"knn= is a 'l2' index but metric='cosine'.*ds.index\(metric='cosine'\)"):
        ds.project("umap", knn=ds.index(metric="l2"), **FAST)
    with pytest.raises(ParameterError, match="knn= indexes 200 vectors of 6 dimensions but the column has 220 of 6"):
        ds.project("umap", knn=NeighborIndex(base, "cosine"), **FAST)
