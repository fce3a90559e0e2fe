"""Likely mislabels and outliers, read off the one kNN graph of the original space."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import projector
from projector.errors import ProjectorError, SchemaError, TooFewRowsError
from projector.suspects import Mislabels, Outliers, mislabels, mislabels_from_knn, outliers, outliers_from_knn

pytestmark = pytest.mark.usefixtures("private_cache")


@pytest.fixture(scope="module")
def digits():
    return projector.demo()


@pytest.fixture(scope="module")
def flipped(digits):
    """The digits' labels with 60 rows deliberately given another digit."""
    labels = np.asarray(digits.table.column("label").to_pylist(), dtype=object)
    rng = np.random.default_rng(0)
    rows = rng.choice(len(labels), 60, replace=False)
    wrong = labels.copy()
    for row in rows:
        wrong[row] = str((int(labels[row]) + 1 + rng.integers(0, 9)) % 10)
    assert (wrong[rows] != labels[rows]).all()
    return wrong, rows


def test_flipped_digits_are_found(digits, flipped):
    wrong, rows = flipped
    found = mislabels(digits, wrong, metric="l2")
    assert isinstance(found, Mislabels) and found.k == 10
    suspects = set(found.rows().tolist())
    recall = len(suspects & set(rows.tolist())) / len(rows)
    assert recall >= 0.9
    assert len(suspects) < 3 * len(rows)  # and not every row is suspected
    # a flipped row's neighbours mostly carry its true label, which they suggest
    truth = np.asarray(digits.table.column("label").to_pylist(), dtype=object)
    caught = [row for row in rows if found.suspect[row]]
    assert np.mean([found.neighbor_label[row] == truth[row] for row in caught]) >= 0.9
    assert found.other_share[caught].min() >= 0.7


def test_the_sentence_reads_right():
    # rows 0-9 are one tight group labelled "a" but for row 3 ("b"); rows 10-19 another, all "c"
    rng = np.random.default_rng(1)
    vectors = np.concatenate([rng.standard_normal((10, 4)) * 0.01, rng.standard_normal((10, 4)) * 0.01 + 5]).astype(np.float32)
    labels = ["a"] * 10 + ["c"] * 10
    labels[3] = "b"
    knn = projector.neighbors.knn_graph(vectors, 9, "l2").indices
    found = mislabels_from_knn(knn, labels)
    assert found.rows().tolist() == [3]
    assert found.sentence(3) == "row 3 labelled b: 9 of 9 neighbours are a"
    assert found.other_share[3] == 1.0 and found.other_share[0] == pytest.approx(1 / 9)
    assert found.table()[0] == {
        "row": 3, "label": "b", "neighbor_label": "a", "other_share": 1.0, "neighbors": 9,
        "sentence": "row 3 labelled b: 9 of 9 neighbours are a",
    }
    assert found.sentence(12) == "row 12 labelled c: its neighbours agree"


def test_split_disagreement_says_how_many_disagree_in_all():
    knn = np.array([[1, 2, 3, 4], [0, 2, 3, 4], [0, 1, 3, 4], [0, 1, 2, 4], [0, 1, 2, 3]])
    found = mislabels_from_knn(knn, [7, 8, 8, 9, 8], min_labelled=4)
    assert found.neighbor_label[0] == 8 and found.neighbor_count[0] == 3
    assert found.sentence(0) == "row 0 labelled 7: 3 of 4 neighbours are 8 (4 carry another label)"


def test_missing_labels_are_not_judged_but_get_a_suggestion():
    knn = np.array([[1, 2], [0, 2], [0, 1], [0, 1]])
    found = mislabels_from_knn(knn, ["x", "x", None, None], min_labelled=1)
    assert np.isnan(found.other_share[2]) and not found.suspect[2]
    assert found.neighbor_label[3] == "x" and found.sentence(3) == "row 3 has no label: 2 of 2 neighbours are x"
    assert found.other_share[0] == 0.0  # the unlabelled neighbour is not a disagreeing one
    assert found.sentence(0) == "row 0 labelled x: its neighbours agree"
    alone = mislabels_from_knn(np.array([[1], [2], [1]]), ["x", None, None])
    assert alone.sentence(1) == "row 1 has no label: none of its neighbours has a label"
    assert alone.sentence(0) == "row 0 labelled x: none of its neighbours has a label"


def test_too_few_labelled_neighbours_is_no_suspect():
    knn = np.array([[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]])
    labels = ["a", "b", None, None]
    found = mislabels_from_knn(knn, labels, min_labelled=2)
    assert found.other_share[0] == 1.0 and found.labelled[0] == 1 and found.count == 0
    assert mislabels_from_knn(knn, labels, min_labelled=1).rows().tolist() == [0, 1]
    assert mislabels_from_knn(knn, labels, min_labelled=50).min_labelled == 3  # lowered to k


def test_a_planted_far_point_is_the_top_outlier(digits):
    rng = np.random.default_rng(2)
    vectors = rng.standard_normal((500, 8)).astype(np.float32)
    vectors[123] += 40.0
    table = pa.table({"emb": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), 8)})
    found = outliers(projector.Dataset.from_table(table, vector="emb"), metric="l2")
    assert isinstance(found, Outliers)
    assert found.rows(1).tolist() == [123] and found.score[123] == 1.0
    assert found.score.min() == 0.0 and ((found.score >= 0) & (found.score <= 1)).all()
    assert found.table(1)[0]["row"] == 123


def test_copies_keep_a_far_point_an_outlier_and_make_a_crowd_an_inlier():
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((300, 4))
    vectors[10] = vectors[11] = 30.0  # two copies of one far point
    vectors[20:40] = vectors[20]  # twenty copies of an ordinary one
    graph = projector.neighbors.knn_graph(vectors.astype(np.float32), 10, "l2")
    found = outliers_from_knn(graph.distances, "l2")
    assert set(found.rows(2).tolist()) == {10, 11}  # its copy at distance 0 does not hide it
    assert (found.distance[20:40] == 0).all() and found.score[20:40].max() < 0.1


@pytest.mark.filterwarnings("ignore:only 2 rows")
def test_errors_name_the_column_and_the_constraint(digits):
    table = pa.table({"emb": pa.FixedSizeListArray.from_arrays(pa.array(np.ones(20, dtype=np.float32)), 2)})
    no_labels = projector.Dataset.from_table(table, vector="emb")
    with pytest.raises(SchemaError, match="no label column"):
        mislabels(no_labels)
    with pytest.raises(SchemaError, match="'digit' is not a column"):
        mislabels(digits, "digit")
    tiny = projector.Dataset.from_table(table.slice(0, 2), vector="emb")
    with pytest.raises(TooFewRowsError, match="2 rows"):
        outliers(tiny)
    with pytest.raises(ProjectorError, match="threshold=1.5"):
        mislabels_from_knn(np.array([[1], [0], [0]]), ["a", "a", "b"], threshold=1.5)
