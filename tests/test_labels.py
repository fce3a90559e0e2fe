"""Cluster labels on the map: at each cluster's dense centre, and never overlapping in a view."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from projector.clusters import ClusterParams, Clusters, cluster_arrays
from projector.explore.labels import font_px, labels_for_view, map_labels, text_box_px
from projector.explore.overlays import MapLabel


def _ring_and_blob(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    angle = rng.uniform(0, 2 * np.pi, 600)
    ring = np.column_stack([np.cos(angle), np.sin(angle)]) * 10 + rng.normal(scale=0.3, size=(600, 2))
    blob = rng.normal(scale=0.5, size=(200, 2)) + [30, 0]
    return np.concatenate([ring, blob]), np.repeat([0, 1], [600, 200]).astype(np.int32)


def test_labels_sit_on_their_members_not_at_the_mean():
    coords, labels = _ring_and_blob(np.random.default_rng(0))
    found = Clusters(labels, "given", {}, 0.0)
    placed = map_labels(coords, found, ["ring", "blob"])
    assert [(lab.text, lab.size, lab.cluster, lab.level) for lab in placed] == [("ring", 600, 0, 0), ("blob", 200, 1, 0)]
    ring = placed[0]
    assert np.hypot(ring.x, ring.y) > 8  # on the ring: its mean (the origin) is empty
    assert any(np.allclose([ring.x, ring.y], point) for point in coords[:600])
    assert np.hypot(placed[1].x - 30, placed[1].y) < 1.0


def test_coarse_labels_come_first_and_finer_ones_carry_level_one():
    rng = np.random.default_rng(1)
    coords = np.concatenate([rng.normal(size=(100, 2)) + c for c in ([0, 0], [5, 0], [40, 0])])
    fine = np.repeat([0, 1, 2], 100).astype(np.int32)
    coarse = np.repeat([0, 0, 1], 100).astype(np.int32)
    found = Clusters(fine, "leiden", {}, 0.0, {"coarse": coarse, "fine": fine})
    placed = map_labels(coords, found, ["left a", "left b", "right"], ["left", "right"])
    assert [(lab.text, lab.level) for lab in placed] == [("left", 0), ("right", 0), ("left a", 1), ("left b", 1), ("right", 1)]
    zoomed_out = labels_for_view(placed, (-5, 45), (-5, 5), 200, 100)
    assert [lab.text for lab in zoomed_out] == ["left", "right"]  # the fine "right" repeats a placed text
    zoomed_in = labels_for_view(placed, (-3, 8), (-3, 3), 800, 400)
    assert {"left a", "left b"} <= {lab.text for lab in zoomed_in}


def _boxes(kept, x_range, y_range, width, height):
    sx, sy = width / (x_range[1] - x_range[0]), height / (y_range[1] - y_range[0])
    for lab in kept:
        w, h = text_box_px(lab)
        px, py = (lab.x - x_range[0]) * sx, (lab.y - y_range[0]) * sy
        yield (px - w / 2, py - h / 2, px + w / 2, py + h / 2)


@pytest.mark.parametrize(("width", "height"), [(300, 200), (900, 600), (2000, 1500)])
def test_labels_for_a_view_never_overlap(width, height):
    rng = np.random.default_rng(2)
    coords = rng.normal(scale=5, size=(4000, 2))
    from projector.neighbors import knn_graph

    graph = knn_graph(coords.astype(np.float32), 15, "l2")
    found = cluster_arrays(coords, graph, ClusterParams(resolution=3.0))
    names = [f"topic {c} words" for c in range(found.count)]
    coarse = [f"group {c}" for c in range(int(found.levels["coarse"].max()) + 1)]
    placed = map_labels(coords, found, names, coarse)
    x_range, y_range = (-10.0, 10.0), (-8.0, 8.0)
    kept = labels_for_view(placed, x_range, y_range, width, height)
    assert kept, "something fits"
    assert all(-10 <= lab.x <= 10 and -8 <= lab.y <= 8 for lab in kept)
    for a, b in itertools.combinations(list(_boxes(kept, x_range, y_range, width, height)), 2):
        assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), (a, b)
    if width == 2000:
        assert len(kept) > len(labels_for_view(placed, x_range, y_range, 300, 200))


def test_bigger_clusters_get_bigger_type_within_bounds():
    assert font_px(1) == font_px(30) == 11.0
    assert font_px(300) < font_px(30_000) <= 22.0
    wide, _ = text_box_px(MapLabel(0, 0, "a longer label", 100))
    narrow, _ = text_box_px(MapLabel(0, 0, "short", 100))
    assert wide > narrow


def test_a_pile_of_duplicates_does_not_pull_a_label_off_the_bulk_of_its_cluster():
    """Real text data repeats rows exactly: 150 copies drawn on one spot must not outvote 900
    rows spread over the cluster's main island (the raw fullest cell would pick the pile)."""
    rng = np.random.default_rng(1)
    bulk = rng.normal(scale=1.5, size=(900, 2))
    pile = np.tile([[20.0, 20.0]], (150, 1))
    coords = np.concatenate([bulk, pile])
    found = Clusters(labels=np.zeros(len(coords), dtype=np.int32), method="given", params={}, seconds=0.0)
    (label,) = map_labels(coords, found, ["topic"])
    assert np.hypot(label.x, label.y) < 4  # inside the bulk, not at (20, 20)
