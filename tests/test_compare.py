"""projector.compare and align: a constructed case where the changed rows are known exactly."""

from __future__ import annotations

import json

import numpy as np
import pytest

import projector
from projector.comparison import Comparison, align
from projector.errors import ParameterError, ProjectorError, SchemaError
from projector.projection import Projection

K = 5


@pytest.fixture(scope="module")
def permuted():
    """Tight clusters of K + 1 rows: each row's K nearest neighbours are exactly its cluster.

    Space B holds the same vectors (in 24 dimensions instead of 16, by an isometry), except that
    in the second half of the clusters slot j of cluster c takes the vector of slot j of cluster
    c + j + 1: every moved row lands among rows of K other clusters, so it keeps no neighbour,
    and the rows of the first half keep all of theirs.
    """
    rng = np.random.default_rng(7)
    clusters, size = 14, K + 1
    centres = rng.standard_normal((clusters, 16)) * 10
    a = (np.repeat(centres, size, axis=0) + 0.01 * rng.standard_normal((clusters * size, 16))).astype(np.float32)
    source = np.arange(len(a))
    moving = range(clusters // 2, clusters)
    half = len(moving)
    for c in moving:
        for j in range(size):
            target = clusters // 2 + (c - clusters // 2 + j + 1) % half
            source[c * size + j] = target * size + j
    assert sorted(source) == list(range(len(a)))  # a permutation
    isometry = np.linalg.qr(rng.standard_normal((24, 16)))[0].T  # (16, 24), orthonormal rows
    b = (a[source] @ isometry).astype(np.float32)
    moved = np.flatnonzero(source != np.arange(len(a)))
    ds = projector.Dataset.from_arrays({"emb_a": a, "emb_b": b}, metadata={"name": [f"s{i}" for i in range(len(a))]})
    return ds, moved


def test_finds_exactly_the_permuted_rows(permuted):
    ds, moved = permuted
    n = len(ds)
    assert len(moved) == n // 2
    result = projector.compare(ds, "emb_a", "emb_b", k=K)
    assert isinstance(result, Comparison)
    assert result.jaccard.shape == (n,) and result.jaccard.dtype == np.float32
    np.testing.assert_array_equal(np.flatnonzero(result.jaccard < 1), moved)
    assert set(result.most_changed(n // 2).tolist()) == set(moved.tolist())
    assert (result.jaccard[moved] == 0).all()
    assert result.mean_jaccard == pytest.approx(0.5) and result.median_jaccard == pytest.approx(0.5)
    assert result.share_changed == 0.5 and result.share_unchanged == 0.5 and result.share_disjoint == 0.5


def test_to_table_adds_one_column(permuted):
    ds, _ = permuted
    result = projector.compare(ds, "emb_a", "emb_b", k=K, metric="l2")
    table = result.to_table()
    assert result.column == "emb_a_vs_emb_b_knn_jaccard"
    assert table.column_names == [*ds.table.column_names, result.column]
    np.testing.assert_array_equal(table.column(result.column).to_numpy(), result.jaccard)
    assert result.column not in ds.table.column_names  # frame in, frame out
    again = result.to_table(table)
    assert again.column_names == table.column_names
    with pytest.raises(ProjectorError, match="table has 3 rows"):
        result.to_table(ds.table.slice(0, 3))


def test_partial_overlap_and_summary(permuted):
    ds, _ = permuted
    a = ds.vectors("emb_a")
    noisy = a + np.random.default_rng(0).standard_normal(a.shape).astype(np.float32) * 3
    mixed = projector.Dataset.from_arrays({"a": a, "b": noisy})
    result = projector.compare(mixed, "a", "b", k=K)
    assert 0 < result.mean_jaccard < 1
    shared = np.rint(result.jaccard * 2 * K / (1 + result.jaccard))  # back to shared neighbours
    np.testing.assert_allclose(result.jaccard, shared / (2 * K - shared), atol=1e-6)
    lowest = result.most_changed(5)
    assert (np.diff(result.jaccard[lowest]) >= 0).all() and result.jaccard[lowest[0]] == result.jaccard.min()
    summary = json.loads(json.dumps(result.to_dict()))
    assert summary["rows"] == len(mixed) and summary["k"] == K and summary["a"] == "a"
    assert summary["share_changed"] == result.share_changed
    same = projector.compare(mixed, "a", "a", k=K)
    assert (same.jaccard == 1).all()


def test_errors(permuted):
    ds, _ = permuted
    with pytest.raises(SchemaError, match="b='nope' is not an embedding column"):
        projector.compare(ds, "emb_a", "nope")
    with pytest.raises(ProjectorError, match="pass a projector.Dataset"):
        projector.compare(np.zeros((5, 2)), "a", "b")
    with pytest.raises(ProjectorError, match="n=-1"):
        projector.compare(ds, "emb_a", "emb_b", k=K).most_changed(-1)


def _rotation(angle: float) -> np.ndarray:
    return np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])


def test_align_recovers_rotation_scale_and_shift():
    rng = np.random.default_rng(2)
    reference = rng.standard_normal((200, 2)).astype(np.float32) * 5
    moved = (2.5 * reference @ _rotation(1.1).T + [40.0, -7.0]).astype(np.float32)
    aligned = align(reference, moved)
    assert aligned.dtype == np.float32 and aligned.shape == reference.shape
    np.testing.assert_allclose(aligned, reference, atol=1e-3)
    mirrored = reference * [-1.0, 1.0] * 0.3 + 2.0  # a reflection is allowed
    np.testing.assert_allclose(align(reference, mirrored), reference, atol=1e-3)
    projection = Projection(coords=moved, method="umap", column="emb_b", params={})
    np.testing.assert_allclose(align(reference, projection), reference, atol=1e-3)


def test_align_keeps_unchanged_rows_in_place():
    rng = np.random.default_rng(4)
    reference = rng.standard_normal((300, 2)) * 10
    moved = 0.5 * reference @ _rotation(-2.0).T + 3
    changed = rng.choice(300, size=15, replace=False)
    moved[changed] = rng.standard_normal((15, 2))  # a few rows move to new places
    aligned = align(reference, moved)
    still = np.setdiff1d(np.arange(300), changed)
    error = np.linalg.norm(aligned[still] - reference[still], axis=1)
    assert aligned.dtype == np.float64 and np.median(error) < 1.5


def test_align_errors():
    with pytest.raises(ProjectorError, match="same shape"):
        align(np.zeros((5, 2)), np.zeros((4, 2)))
    with pytest.raises(ProjectorError, match="every row at one point"):
        align(np.random.default_rng(0).standard_normal((5, 2)), np.ones((5, 2)))
    with pytest.raises(ParameterError, match=r"coords has 1 row\(s\) with NaN or infinite values, the first at row 1"):
        align(np.zeros((3, 2)), np.array([[0, 0], [np.nan, 1], [1, 1]]))
