"""projector.metrics: label accuracy, per-class recall and map faithfulness, on data whose answer is known."""

from __future__ import annotations

import json

import numpy as np
import pytest

import projector
from projector._derived import GraphKey
from projector.errors import ProjectorError, SchemaError
from projector.evaluation import Metrics
from projector.projection import Projection


@pytest.fixture(scope="module")
def blobs():
    """Three far-apart classes in 16-D, separated in the first two dimensions too."""
    rng = np.random.default_rng(3)
    centres = np.zeros((3, 16))
    centres[:, :2] = [[0, 50], [50, 0], [-50, -50]]
    codes = np.repeat(np.arange(3), 40)
    vectors = (centres[codes] + rng.standard_normal((120, 16))).astype(np.float32)
    return vectors, np.array(["cat", "dog", "eel"])[codes]


def test_separated_classes_score_perfectly(blobs):
    vectors, labels = blobs
    result = projector.metrics(vectors, labels, k=5, metric="l2")
    assert isinstance(result, Metrics)
    assert (result.n, result.k, result.metric) == (120, 5, "l2")
    assert result.label_accuracy == 1.0
    assert result.per_class_recall == {"cat": 1.0, "dog": 1.0, "eel": 1.0}
    assert result.class_sizes == {"cat": 40, "dog": 40, "eel": 40}
    assert result.trustworthiness is None and result.knn_preservation is None


def test_hand_counted_case():
    # pairs on a line, each point's nearest neighbour its partner; the last pair has mixed labels
    points = np.array([[0.0], [1.0], [10.0], [11.0], [20.0], [21.5]], dtype=np.float32)
    result = projector.metrics(points, [1, 1, 2, 2, 1, 2], k=1, metric="l2")
    assert result.label_accuracy == pytest.approx(4 / 6)
    assert result.per_class_recall == pytest.approx({1: 2 / 3, 2: 2 / 3})


def test_mixed_classes_have_low_recall(blobs):
    vectors, labels = blobs
    labels = labels.copy()
    dog = np.flatnonzero(labels == "dog")
    labels[dog[::2]] = "fox"  # dogs and foxes share one cluster
    result = projector.metrics(vectors, labels, k=10, metric="l2")
    assert result.per_class_recall["cat"] == 1.0 and result.per_class_recall["eel"] == 1.0
    assert result.per_class_recall["dog"] < 0.7 and result.per_class_recall["fox"] < 0.7
    assert result.label_accuracy < 1.0


def test_missing_labels_are_left_out(blobs):
    vectors, labels = blobs
    partial = labels.astype(object)
    partial[:20] = None
    result = projector.metrics(vectors, partial, k=5)
    assert result.class_sizes == {"cat": 20, "dog": 40, "eel": 40}
    assert result.label_accuracy == 1.0
    assert result.per_class_recall["dog"] == 1.0
    assert 0.0 < result.per_class_recall["cat"] <= 1.0  # unlabelled neighbours never match


def test_projection_faithfulness(blobs):
    vectors, labels = blobs
    faithful = vectors[:, :2].copy()
    good = projector.metrics(vectors, labels, k=10, metric="l2", projection=faithful)
    projection = Projection(coords=faithful, method="pca", column="embedding", params={})
    assert projector.metrics(vectors, k=10, metric="l2", projection=projection).trustworthiness == good.trustworthiness
    scrambled = faithful[np.random.default_rng(0).permutation(len(faithful))]
    bad = projector.metrics(vectors, k=10, metric="l2", projection=scrambled)
    assert good.trustworthiness > 0.9 and good.sample_size == 120
    assert bad.trustworthiness < good.trustworthiness - 0.2
    assert bad.knn_preservation < good.knn_preservation
    assert 0.0 <= bad.knn_preservation <= good.knn_preservation <= 1.0


def test_dataset_column_and_label_role(blobs):
    vectors, labels = blobs
    other = np.random.default_rng(1).standard_normal((120, 4)).astype(np.float32)
    ds = projector.Dataset.from_arrays({"good": vectors, "noise": other}, metadata={"species": labels}, label="species")
    found = projector.metrics(ds, column="good", k=5)
    assert found.label_accuracy == 1.0 and set(found.per_class_recall) == {"cat", "dog", "eel"}
    assert ds._derived.graphs().keys() == {GraphKey("good", "cosine")}  # kept for later calls and ds.project
    assert projector.metrics(ds, "species", column="noise", k=5).label_accuracy < 0.8
    assert projector.metrics(ds, labels=None, column="good").label_accuracy == 1.0
    with pytest.raises(SchemaError, match="labels='kind' is not a column"):
        projector.metrics(ds, "kind")
    with pytest.raises(SchemaError, match="'nope' is not an embedding column"):
        projector.metrics(ds, column="nope")


def test_to_dict_is_json(blobs):
    vectors, labels = blobs
    result = projector.metrics(vectors.tolist(), labels.tolist(), k=3, projection=vectors[:, :2])
    document = json.loads(json.dumps(result.to_dict()))
    assert document["per_class_recall"] == {"cat": 1.0, "dog": 1.0, "eel": 1.0}
    assert document["k"] == 3 and 0.5 < document["trustworthiness"] <= 1.0
    assert "label accuracy 1.000" in repr(result)


def test_errors_name_the_argument(blobs):
    vectors, labels = blobs
    with pytest.raises(ProjectorError, match="k=0"):
        projector.metrics(vectors, k=0)
    with pytest.raises(ProjectorError, match="labels has shape"):
        projector.metrics(vectors, labels[:5])
    with pytest.raises(ProjectorError, match="column='x' applies to a Dataset only"):
        projector.metrics(vectors, column="x")
    with pytest.raises(ProjectorError, match="embeddings has shape"):
        projector.metrics(vectors[0])
    with pytest.raises(ProjectorError, match="expected \\(120, D\\)|vectors has shape"):
        projector.metrics(vectors, projection=vectors[:10, :2])


def test_mislabels_and_outliers_join_the_report(blobs):
    vectors, labels = blobs
    labels = labels.copy()
    labels[[3, 50]] = ["eel", "cat"]  # a cat called an eel, a dog called a cat
    vectors = vectors.copy()
    vectors[100, :2] -= 300.0  # one eel far from everything, beyond the other eels
    result = projector.metrics(vectors, labels, k=10, metric="l2")
    assert result.mislabels.rows().tolist() == [3, 50]
    assert result.outliers.rows(1).tolist() == [100]
    assert "2 likely mislabels" in repr(result)
    document = json.loads(json.dumps(result.to_dict(top=5)))
    old_keys = {"n", "k", "metric", "label_accuracy", "per_class_recall", "class_sizes", "trustworthiness", "knn_preservation", "sample_size"}
    assert old_keys < document.keys()  # what eval scripts already read is still there
    found = document["mislabels"]
    assert (found["suspects"], found["threshold"], found["min_labelled"]) == (2, 0.7, 5)
    assert [(s["row"], s["label"], s["neighbor_label"], s["other_share"]) for s in found["top"]] == [(3, "eel", "cat", 1.0), (50, "cat", "dog", 1.0)]
    assert found["top"][0]["sentence"] == "row 3 labelled eel: 10 of 10 neighbours are cat"
    assert document["outliers"]["k"] == 10 and len(document["outliers"]["top"]) == 5
    assert document["outliers"]["top"][0] == {"row": 100, "score": 1.0, "distance": pytest.approx(result.outliers.distance[100])}
    unlabelled = projector.metrics(vectors, k=5, metric="l2").to_dict()
    assert unlabelled["mislabels"] is None and unlabelled["outliers"]["top"][0]["row"] == 100


def test_dataset_tables_name_each_rows_id(blobs):
    vectors, labels = blobs
    labels = labels.copy()
    labels[3] = "eel"
    ds = projector.Dataset.from_arrays({"emb": vectors}, metadata={"species": labels, "name": [f"n{i}" for i in range(120)]}, label="species", id="name")
    document = projector.metrics(ds, k=10, metric="l2").to_dict(top=1)
    assert document["mislabels"]["top"][0]["id"] == "n3" and document["mislabels"]["top"][0]["row"] == 3
    assert "id" in document["outliers"]["top"][0]
    assert "id" not in projector.metrics(vectors, labels, k=10, metric="l2").to_dict()["mislabels"]["top"][0]
