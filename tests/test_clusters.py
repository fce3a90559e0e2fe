"""Automatic clusters: agreement with known labels, copies kept together, typed parameters,
and the ``cluster`` / ``cluster_label`` columns in Python and from the CLI."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import adjusted_mutual_info_score

import projector
from projector import demo as digits
from projector.cli import main
from projector.clusters import ClusterParams
from projector.errors import ParameterError


@pytest.fixture(scope="module")
def digit_map():
    ds = digits()
    return ds, ds.project("umap", quality=False)


@pytest.fixture(scope="module")
def digit_clusters(digit_map):
    ds, projection = digit_map
    return ds.clusters(projection)


def test_default_clusters_agree_with_the_digits(digit_map, digit_clusters):
    ds, _ = digit_map
    truth = ds.table.column("label").to_pylist()
    # measured 0.906 (Leiden on the shared 10-NN graph); HDBSCAN on the map measured 0.904
    assert adjusted_mutual_info_score(truth, digit_clusters.labels) > 0.85
    assert 8 <= digit_clusters.count <= 30  # neither collapsed to a few nor shattered
    assert np.mean(digit_clusters.labels >= 0) > 0.95


def test_hdbscan_on_the_map_also_finds_the_digits(digit_map):
    ds, projection = digit_map
    found = ds.clusters(projection, algorithm="hdbscan")
    assert found.method == "hdbscan" and found.params["min_cluster_size"] == 10
    assert adjusted_mutual_info_score(ds.table.column("label").to_pylist(), found.labels) > 0.8


def test_coarse_level_nests_the_fine_one(digit_clusters):
    fine, coarse = digit_clusters.levels["fine"], digit_clusters.levels["coarse"]
    assert np.array_equal(fine, digit_clusters.labels)
    assert 1 <= len(np.unique(coarse[coarse >= 0])) < digit_clusters.count
    for c in range(digit_clusters.count):
        assert len(np.unique(coarse[fine == c])) == 1, f"fine cluster {c} spans coarse clusters"


def test_clusters_are_numbered_by_size_and_named_by_their_majority_digit(digit_map, digit_clusters):
    ds, _ = digit_map
    sizes = digit_clusters.sizes()
    assert list(sizes) == sorted(sizes, reverse=True)
    truth = np.asarray(ds.table.column("label").to_pylist())
    for c, name in enumerate(digit_clusters.names):
        values, counts = np.unique(truth[digit_clusters.labels == c], return_counts=True)
        assert name == f"{values[np.argmax(counts)]} · {counts.max() / counts.sum():.0%}"


def test_exact_copies_share_a_cluster():
    base = digits()
    vectors = base.vectors()
    rng = np.random.default_rng(0)
    copied = rng.choice(len(vectors), 300, replace=False)
    data = np.concatenate([vectors, vectors[copied], vectors[copied[:50]]])
    ds = projector.Dataset.from_arrays(data, name="copies")
    found = ds.clusters(ds.project("pca", quality=False))
    n = len(vectors)
    assert np.array_equal(found.labels[n:n + 300], found.labels[copied])
    assert np.array_equal(found.labels[n + 300:], found.labels[copied[:50]])


def test_same_seed_same_clusters(digit_map, digit_clusters):
    ds, projection = digit_map
    assert np.array_equal(ds.clusters(projection, seed=0).labels, digit_clusters.labels)


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"resolution": 0}, ["resolution=0", "[0.01, 100.0]", "default is 1.0"]),
        ({"algorithm": "kmeans"}, ["algorithm='kmeans'", "leiden", "hdbscan"]),
        ({"n_neighbors": 1}, ["n_neighbors=1", "[2, 200]"]),
        ({"resolutoin": 2}, ["unknown parameter 'resolutoin'", "did you mean 'resolution'"]),
    ],
)
def test_parameters_are_checked_with_clear_errors(options, words):
    with pytest.raises(ParameterError) as caught:
        ClusterParams.from_options(options)
    for word in words:
        assert word in str(caught.value)


def test_projection_carries_clusters_into_its_table(digit_map, digit_clusters):
    ds, projection = digit_map
    clustered = projection.with_clusters(digit_clusters)
    assert clustered.clusters is digit_clusters and projection.clusters is None
    table = clustered.to_table(ds.table)
    assert table.column("cluster").type == pa.int32()
    assert table.column("cluster").to_pylist() == digit_clusters.labels.tolist()
    labels = table.column("cluster_label").to_pylist()
    assert labels[0] == digit_clusters.names[digit_clusters.labels[0]]
    with pytest.raises(ValueError, match="1797 rows"):
        projection.with_clusters(type(digit_clusters)(digit_clusters.labels[:5], "leiden", {}, 0.0))


def test_cli_project_clusters_writes_the_two_columns(tmp_path, capsys):
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=8.0, size=(3, 16)).astype(np.float32)
    which = np.repeat(np.arange(3), 60)
    vectors = centres[which] + rng.normal(size=(180, 16)).astype(np.float32)
    topics = ["matrix inverse determinant", "dataframe column groupby", "image pixel colour"]
    texts = [f"{topics[w]} note {i}" for i, w in enumerate(which)]
    source = tmp_path / "in.parquet"
    pq.write_table(pa.table({"text": texts, "embedding": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), 16)}), source)
    out = tmp_path / "out.parquet"
    assert main(["project", str(source), "-o", str(out), "--method", "pca", "--clusters", "--quiet", "--no-quality"]) == 0
    table = pq.read_table(out)
    assert {"cluster", "cluster_label"} <= set(table.column_names)
    clusters = np.asarray(table.column("cluster").to_pylist())
    assert adjusted_mutual_info_score(which, clusters) > 0.9
    for c, label in zip(clusters, table.column("cluster_label").to_pylist()):
        words = set(label.split(" · "))
        assert words <= set(topics[which[clusters == c][0]].split()), label
