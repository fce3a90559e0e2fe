"""Density contours: lines that enclose the requested shares of a map's points, at a cost set by the grid."""

from __future__ import annotations

import numpy as np
import pytest

from projector.errors import ProjectorError
from projector.explore.density import DEFAULT_LEVELS, _bin, density_contours
from projector.explore.overlays import Contour


def _inside(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Ray casting: a point is inside when a ray to +x crosses the polygon's edges an odd number of times."""
    x, y = points[:, 0:1], points[:, 1:2]
    x0, y0 = polygon[:, 0], polygon[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    straddles = (y0 > y) != (y1 > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        crossing_x = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
    return ((straddles & (x < crossing_x)).sum(axis=1) % 2) == 1


def _share_inside(points: np.ndarray, contour: Contour) -> float:
    inside = np.zeros(len(points), dtype=bool)
    for path in contour.paths:
        inside ^= _inside(points, path)  # a hole inside a region counts as outside
    return float(inside.mean())


@pytest.fixture(scope="module")
def blob() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.standard_normal((20_000, 2)) * [3.0, 1.0] + [10.0, -5.0]


def test_lines_enclose_the_requested_shares_of_a_gaussian_blob(blob):
    contours = density_contours(blob)
    assert [c.level for c in contours] == list(DEFAULT_LEVELS)
    for contour in contours:
        assert contour.category is None
        assert len(contour.paths) == 1  # one blob, one closed line per level
        path = contour.paths[0]
        assert path.shape[1] == 2 and np.allclose(path[0], path[-1])  # closed
        assert _share_inside(blob, contour) == pytest.approx(contour.level, abs=0.03)
    # paths are in map coordinates: the core line circles the blob's centre
    centre = contours[0].paths[0].mean(axis=0)
    assert centre == pytest.approx([10.0, -5.0], abs=0.3)
    # and the lines nest: the 95% line reaches further than the 50% one
    assert np.ptp(contours[2].paths[0][:, 0]) > np.ptp(contours[0].paths[0][:, 0]) * 1.5


def test_two_blobs_get_a_line_each_at_the_core_level():
    rng = np.random.default_rng(1)
    points = np.concatenate([rng.standard_normal((5000, 2)), rng.standard_normal((5000, 2)) + [20.0, 0.0]])
    core = density_contours(points, levels=(0.5,))[0]
    assert len(core.paths) == 2
    assert sorted(round(float(p[:, 0].mean())) for p in core.paths) == [0, 20]
    assert _share_inside(points, core) == pytest.approx(0.5, abs=0.03)


def test_the_grid_not_the_point_count_sets_the_work():
    rng = np.random.default_rng(2)
    for n in (1_000, 200_000):
        points = rng.standard_normal((n, 2))
        counts = _bin(points, points.min(axis=0), np.ptp(points, axis=0) / 64, 64)
        assert counts.shape == (64, 64) and counts.sum() == n  # every point binned, on a fixed grid
    small = density_contours(rng.standard_normal((1_000, 2)), grid=32)
    large = density_contours(rng.standard_normal((200_000, 2)), grid=32)
    # a line has at most a few vertices per grid cell it crosses, however many points there are
    assert max(len(p) for c in (*small, *large) for p in c.paths) < 4 * 32 * 4


def test_each_top_category_gets_its_own_lines():
    rng = np.random.default_rng(3)
    centres = {"cat": [0.0, 0.0], "dog": [15.0, 0.0], "eel": [0.0, 15.0], "fox": [30.0, 30.0]}
    sizes = {"cat": 3000, "dog": 2000, "eel": 1000, "fox": 50}
    labels = np.concatenate([[name] * size for name, size in sizes.items()]).astype(object)
    points = np.concatenate([rng.standard_normal((size, 2)) + centres[name] for name, size in sizes.items()])
    labels[:10] = None  # missing labels are left out
    contours = density_contours(points, labels=labels, top=3, levels=(0.5, 0.9))
    assert [(c.category, c.level) for c in contours] == [("cat", 0.5), ("cat", 0.9), ("dog", 0.5), ("dog", 0.9), ("eel", 0.5), ("eel", 0.9)]
    for contour in contours:
        members = points[labels == contour.category]
        assert np.concatenate(contour.paths).mean(axis=0) == pytest.approx(centres[contour.category], abs=0.5)
        assert _share_inside(members, contour) == pytest.approx(contour.level, abs=0.05)


def test_too_few_points_give_no_lines_and_bad_arguments_are_named():
    assert density_contours(np.zeros((2, 2))) == ()
    dot = density_contours(np.zeros((100, 2)))  # all on one spot: no area to outline, no error
    assert [c.paths for c in dot] == [(), (), ()]
    line = np.c_[np.arange(100.0), np.zeros(100)]  # on a line: thin closed rings around it
    assert all(len(c.paths) == 1 and np.ptp(c.paths[0][:, 0]) > 40 for c in density_contours(line))
    with pytest.raises(ProjectorError, match="levels"):
        density_contours(np.zeros((10, 2)), levels=(0.5, 1.0))
    with pytest.raises(ProjectorError, match="grid=8"):
        density_contours(np.zeros((10, 2)), grid=8)
    with pytest.raises(ProjectorError, match="coords"):
        density_contours(np.zeros(10))
    with pytest.raises(ProjectorError, match="top=0"):
        density_contours(np.zeros((10, 2)), labels=["a"] * 10, top=0)
    with pytest.raises(ProjectorError, match="labels has shape"):
        density_contours(np.zeros((10, 2)), labels=["a"] * 9)
