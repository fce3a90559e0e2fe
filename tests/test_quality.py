"""Map quality: properties of faithful, scrambled and half-scrambled maps, never golden numbers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from projector.errors import ProjectorError
from projector.progress import Reporter
from projector.quality import Quality, knn_label_accuracy, knn_preservation, map_knn, projection_quality


@pytest.fixture(scope="module")
def plane():
    return np.random.default_rng(0).standard_normal((1500, 2)).astype(np.float32)


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(1)
    centres = rng.standard_normal((4, 30)) * 20
    labels = np.repeat(np.array(["a", "b", "c", "d"]), 150)
    vectors = (centres[np.repeat(np.arange(4), 150)] + rng.standard_normal((600, 30))).astype(np.float32)
    return vectors, labels


def _brute_knn(points: np.ndarray, k: int) -> np.ndarray:
    dist = ((points[:, None, :] - points[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(dist, np.inf)
    return np.argsort(dist, axis=1, kind="stable")[:, :k]


def test_identity_map_is_perfect(plane):
    quality = projection_quality(plane, plane, metric="l2")
    assert isinstance(quality, Quality)
    assert quality.trustworthiness == pytest.approx(1.0)
    assert quality.knn_preservation == pytest.approx(1.0)
    assert quality.per_point_preservation.shape == (len(plane),)
    assert quality.per_point_preservation.dtype == np.float32
    assert (quality.per_point_preservation == 1.0).all()
    assert quality.label_accuracy_original is None and quality.label_accuracy_map is None
    assert (quality.k, quality.sample_size, quality.metric) == (10, 1500, "l2")


def test_scrambled_map_is_poor(plane):
    coords = plane[np.random.default_rng(2).permutation(len(plane))]
    quality = projection_quality(plane, coords, metric="l2")
    assert quality.knn_preservation < 0.2
    assert 0.4 < quality.trustworthiness < 0.6
    values = quality.per_point_preservation
    assert values.shape == (len(plane),) and values.min() >= 0.0 and values.max() <= 1.0


def test_half_scrambled_map_flags_the_scrambled_half(plane):
    n = len(plane)
    points = plane.copy()
    points[n // 2 :] += 100.0  # two far-apart halves: no point has neighbours in the other half
    coords = points.copy()
    coords[: n // 2] = points[np.random.default_rng(3).permutation(n // 2)]
    per_point = projection_quality(points, coords, metric="l2").per_point_preservation
    assert (per_point[n // 2 :] == 1.0).all()
    assert per_point[: n // 2].mean() < 0.2


def test_pca_of_separated_blobs_keeps_labels(blobs):
    vectors, labels = blobs
    centred = vectors - vectors.mean(0)
    coords = centred @ np.linalg.svd(centred, full_matrices=False)[2][:2].T
    quality = projection_quality(vectors, coords, labels=labels, metric="cosine")
    assert quality.label_accuracy_original > 0.98
    assert quality.label_accuracy_map > 0.98
    assert quality.trustworthiness > 0.7
    summary = quality.to_dict()
    assert "per_point_preservation" not in summary
    assert json.loads(json.dumps(summary)) == summary


@pytest.mark.parametrize("metric", ["cosine", "l2", "ip"])
def test_metrics_run_and_agree_on_an_identity_map(plane, metric):
    # On the plane itself, L2 neighbours are the map's own; other metrics only need sane values.
    quality = projection_quality(plane, plane, metric=metric, k=5)
    assert 0.0 <= quality.knn_preservation <= 1.0 and 0.0 <= quality.trustworthiness <= 1.0
    if metric == "l2":
        assert quality.knn_preservation == pytest.approx(1.0)


def test_given_original_knn_is_used_and_not_searched(plane, monkeypatch):
    import projector.quality as quality_module

    def no_search(*args, **kwargs):
        raise AssertionError("original-space neighbours were searched although they were given")

    monkeypatch.setattr(quality_module, "_original_knn", no_search)
    true_knn = _brute_knn(plane, 15)
    assert projection_quality(plane, plane, original_knn=true_knn).knn_preservation == pytest.approx(1.0)
    shifted = (true_knn + 1) % len(plane)  # deliberately wrong neighbours
    shifted[shifted == np.arange(len(plane))[:, None]] = 0
    assert projection_quality(plane, plane, original_knn=shifted).knn_preservation < 0.1


def test_original_knn_is_checked(plane):
    n = len(plane)
    with pytest.raises(ProjectorError, match="itself"):
        projection_quality(plane, plane, original_knn=np.arange(n)[:, None].repeat(10, 1))
    with pytest.raises(ProjectorError, match="k=10 needs at least 10"):
        projection_quality(plane, plane, original_knn=_brute_knn(plane, 5))
    with pytest.raises(ProjectorError, match="outside"):
        projection_quality(plane, plane, original_knn=np.full((n, 10), n))


def test_labels_with_missing_values(blobs):
    vectors, labels = blobs
    with_gaps = labels.astype(object)
    with_gaps[::3] = None
    with_gaps[1::7] = float("nan")
    quality = projection_quality(vectors, vectors[:, :2], labels=with_gaps)
    assert 0.0 <= quality.label_accuracy_map <= 1.0
    assert quality.label_accuracy_original > 0.98
    nothing = projection_quality(vectors, vectors[:, :2], labels=[None] * len(vectors))
    assert nothing.label_accuracy_original is None and nothing.label_accuracy_map is None


def test_knn_label_accuracy_votes_and_breaks_ties_by_nearest():
    knn = np.array([[1, 2, 3], [0, 2, 3], [3, 0, 1], [2, 1, 0]])
    assert knn_label_accuracy(knn, [0, 0, 0, 1]) == pytest.approx(3 / 4)  # row 3 sees 0, 0, 0
    # row 0: neighbours vote 1, 2, missing -> tie between 1 and 2, nearest (1) wins
    assert knn_label_accuracy(np.array([[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]]), ["x", "x", "y", None]) == pytest.approx(2 / 3)
    assert np.isnan(knn_label_accuracy(knn, [None] * 4))
    assert knn_label_accuracy(knn, np.array([1.0, 1.0, 1.0, np.nan])) == pytest.approx(1.0)


def test_knn_preservation_counts_shared_neighbours():
    original = np.array([[1, 2], [0, 2], [0, -1]])
    in_map = np.array([[2, 1], [2, 3], [1, 3]])
    assert knn_preservation(original, in_map).tolist() == [1.0, 0.5, 0.0]


def test_map_knn_matches_brute_force_and_excludes_self(plane):
    found = map_knn(plane, 7)
    assert found.shape == (len(plane), 7) and found.dtype == np.int64
    assert not (found == np.arange(len(plane))[:, None]).any()
    np.testing.assert_array_equal(np.sort(found, 1), np.sort(_brute_knn(plane, 7), 1))


def test_duplicate_points_never_list_themselves():
    coords = np.zeros((20, 2))
    found = map_knn(coords, 5)
    assert not (found == np.arange(20)[:, None]).any()
    assert (np.sort(found, 1)[:, :-1] != np.sort(found, 1)[:, 1:]).all()


def test_tiny_inputs_clamp_k():
    points = np.random.default_rng(4).standard_normal((5, 2))
    quality = projection_quality(points, points, k=10, metric="l2")
    assert quality.k == 4 and quality.sample_size == 5
    assert quality.knn_preservation == pytest.approx(1.0)


def test_sample_caps_trustworthiness_rows(plane):
    quality = projection_quality(plane, plane, sample_size=300, metric="l2", seed=7)
    assert quality.sample_size == 300 and quality.trustworthiness == pytest.approx(1.0)


def test_errors_say_why(plane):
    with pytest.raises(ProjectorError, match="at least 3 points"):
        projection_quality(plane[:2], plane[:2])
    bad = plane.copy()
    bad[17, 1] = np.nan
    with pytest.raises(ProjectorError, match="row 17"):
        projection_quality(plane, bad)
    with pytest.raises(ProjectorError, match="metric='euclid'"):
        projection_quality(plane, plane, metric="euclid")
    with pytest.raises(ProjectorError, match=r"\(1500, D\)"):
        projection_quality(plane[:10], plane)
    with pytest.raises(ProjectorError, match="one label per point"):
        projection_quality(plane, plane, labels=["a"] * 3)


def test_progress_reaches_the_end_and_can_cancel(plane):
    from projector.progress import Cancelled

    events = []
    projection_quality(plane, plane, labels=np.zeros(len(plane)), report=Reporter(events.append))
    assert events[-1].fraction == 1.0 and {e.stage for e in events} == {"quality"}
    with pytest.raises(Cancelled):
        projection_quality(plane, plane, report=Reporter(lambda event: event.done >= 2))
