"""Where a map opens: the bulk of its points, with every point one reset away."""

from __future__ import annotations

import numpy as np
import pytest

from projector.explore.framing import MIN_POINTS, PAD, frame


def padded(values: np.ndarray, pad: float = PAD) -> tuple[float, float]:
    low, high = float(values.min()), float(values.max())
    margin = (high - low) * pad or 1.0
    return low - margin, high + margin


def with_far_group(rng, n: int = 1000, share: float = 0.01, distance: float = 100.0):
    """A Gaussian blob of ``n`` points, ``share`` of them moved ``distance`` units along x."""
    x = rng.standard_normal(n).astype(np.float32)
    y = rng.standard_normal(n).astype(np.float32)
    far = np.arange(n) >= n - int(n * share)
    x[far] += distance
    return x, y, far


@pytest.mark.parametrize("shape", ["gaussian", "uniform", "clusters"])
def test_ordinary_maps_open_on_their_full_extent(rng, shape):
    n = 200_000
    if shape == "gaussian":  # even its tails at 200,000 points are not "far"
        x, y = rng.standard_normal(n), rng.standard_normal(n)
    elif shape == "uniform":
        x, y = rng.uniform(-3, 5, n), rng.uniform(0, 1, n)
    else:  # a t-SNE-like map: ten tight clusters spread over the plane
        centres = rng.uniform(-40, 40, (10, 2))
        xy = centres[rng.integers(0, 10, n)] + rng.standard_normal((n, 2))
        x, y = xy[:, 0], xy[:, 1]
    view = frame(x.astype(np.float32), y.astype(np.float32))
    assert not view.trimmed and view.outside == 0
    assert view.x == view.x_full == padded(x.astype(np.float32))
    assert view.y == view.y_full == padded(y.astype(np.float32))


def test_a_far_group_of_one_percent_is_left_to_reset(rng):
    x, y, far = with_far_group(rng)
    view = frame(x, y)
    assert view.trimmed and view.outside == far.sum()
    bulk = x[~far]
    assert view.x[0] <= bulk.min() and bulk.max() <= view.x[1]  # the bulk is framed...
    assert view.x[1] < 10  # ...and not squeezed: the far group at 100 is outside
    assert view.x_full == padded(x)  # reset shows every point
    assert view.x_full[1] > x[far].max()
    assert view.y == view.y_full  # nothing is far along y


def test_far_groups_on_both_sides_and_both_axes(rng):
    x, y, far = with_far_group(rng, share=0.05, distance=-500.0)
    y[:20] = 300.0  # duplicates, far along y
    view = frame(x, y)
    assert view.x[0] > -10 and view.x_full[0] < -500
    assert view.y[1] < 10 and view.y_full[1] > 300
    assert view.outside == far.sum() + 20


@pytest.mark.parametrize(("share", "distance"), [(0.01, 4.0), (0.2, 100.0)])
def test_near_or_large_groups_stay_in_the_first_view(rng, share, distance):
    x, y, _ = with_far_group(rng, share=share, distance=distance)  # a tail, or a cluster of the map
    assert not frame(x, y).trimmed


def test_constant_axes_get_a_unit_margin():
    x = np.full(50, 3.0, np.float32)
    y = np.linspace(0, 1, 50, dtype=np.float32)
    view = frame(x, y)
    assert view.x == view.x_full == (2.0, 4.0)
    assert view.y == view.y_full == padded(y)


def test_most_points_on_one_value_show_everything():
    x = np.zeros(100, np.float32)
    x[:3] = 1000.0  # nothing to measure "far" by: the other 97 share one value
    view = frame(x, np.arange(100, dtype=np.float32))
    assert not view.trimmed and view.x == padded(x)


@pytest.mark.parametrize("n", [1, 2, 4, MIN_POINTS - 1])
def test_tiny_maps_show_every_point(n):
    x = np.arange(n, dtype=np.float32)
    x[-1] = 1e6  # one point far away
    view = frame(x, x.copy())
    assert not view.trimmed
    assert view.x == padded(x)


def test_non_finite_values_are_ignored_and_empty_axes_get_a_unit_range(rng):
    x, y, far = with_far_group(rng)
    x[5], y[6] = np.nan, np.inf
    view = frame(x, y)
    assert view.trimmed and np.isfinite([*view.x, *view.y, *view.x_full, *view.y_full]).all()
    empty = frame(np.zeros(0, np.float32), np.full(3, np.nan))
    assert empty.x == empty.x_full == (0.0, 1.0) and empty.y == (0.0, 1.0)


def test_padding_is_a_parameter(rng):
    x, y, _ = with_far_group(rng)
    assert frame(x, y, pad=0.05).x_full == padded(x, 0.05)
