"""One shading: an exported image draws the pixels and colours of the app's raster, nothing else.

The export's point layer, the app's raster mode and the report's raster underlay all shade
through :class:`projector.explore.shading.MapRaster`; these tests read a written PNG back and
compare its map, pixel for pixel, with what ``MapRaster`` draws for the same points, colouring
and view, so the two cannot drift apart again.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from PIL import Image

from projector.explore.colors import GREY, color_spec
from projector.explore.shading import MapRaster, Viewport
from projector.image import compose, save_png, save_svg
from projector.image.points import OPACITY, adaptive_spread, data_ranges

ROOT = Path(__file__).resolve().parents[1]


def _map(rng, n: int = 3000) -> tuple[np.ndarray, pa.ChunkedArray, np.ndarray]:
    """Clusters of different density plus a few far, isolated points; labels and a score with gaps."""
    centres = np.array([[0, 0], [6, 1], [2, 7], [-5, 4]], dtype=np.float64)
    labels = rng.integers(0, len(centres), n)
    xy = centres[labels] + rng.normal(0, [0.4, 0.9, 1.5, 0.3][0], (n, 2)) * (1 + labels[:, None])
    xy[:8] = rng.uniform(-12, 14, (8, 2))  # isolated points: they must stay visible, in colour
    names = pa.chunked_array([pa.array(np.array(["a", "b", "c", "d"])[labels].tolist())])
    score = xy[:, 0].copy()
    score[::17] = np.nan  # missing values: grey
    return xy.astype(np.float32), names, score.astype(np.float32)


def _app_pixels(xy: np.ndarray, spec, width: int, height: int, spread: int) -> np.ndarray:
    """What MapRaster draws for the export's view, composited on white: (height, width, 3)."""
    (x0, x1), (y0, y1) = data_ranges(xy, width, height)
    packed = MapRaster(xy[:, 0], xy[:, 1]).render(Viewport(x0, x1, y0, y1, width, height), spec, opacity=OPACITY, spread=spread)
    rgba = np.ascontiguousarray(packed[::-1]).view(np.uint8).reshape(height, width, 4).astype(np.float64)
    alpha = rgba[..., 3:] / 255
    return rgba[..., :3] * alpha + 255 * (1 - alpha)


@pytest.mark.parametrize("colouring", ["categorical", "numeric", "none"])
@pytest.mark.parametrize("point_size", [None, 1, 7])
def test_exported_png_draws_the_app_raster(rng, tmp_path, colouring, point_size):
    xy, names, score = _map(rng)
    spec = {"categorical": color_spec("label", names, len(xy)), "numeric": color_spec("score", score, len(xy)), "none": None}[colouring]
    figure = compose(xy, colors=spec, width=640, height=480, point_size=point_size)
    path = save_png(tmp_path / "map.png", figure)
    x0, y0, x1, y1 = figure.plot
    written = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64)[y0:y1, x0:x1]
    width, height = x1 - x0, y1 - y0
    spread = adaptive_spread(len(xy), width * height) if point_size is None else (point_size - 1) // 2
    expected = _app_pixels(xy, spec, width, height, spread)

    drawn, app_drawn = (written < 255).any(axis=2), (expected < 254.5).any(axis=2)
    assert drawn.sum() > 500
    np.testing.assert_array_equal(drawn, app_drawn)  # the same pixels hold a point
    assert np.abs(written - expected).max() <= 1  # in the same colours (rounding of the blend)
    if colouring == "numeric":  # rows without a value are the app's grey where nothing covers them
        assert any(tuple(px) == tuple(int(c, 16) for c in (GREY[1:3], GREY[3:5], GREY[5:7])) for px in written[drawn].astype(int))


def test_isolated_points_stay_visible_and_dense_maps_stay_crisp(rng):
    xy, names, _ = _map(rng, 300)
    spec = color_spec("label", names, len(xy))
    sparse = compose(xy, colors=spec, width=640, height=480).points
    grow = adaptive_spread(len(xy), sparse.shape[0] * sparse.shape[1])
    assert grow == 4  # a few hundred points grow to discs of 9 pixels across
    assert (sparse[..., 3] > 0).sum() >= 0.5 * len(xy) * 61  # most discs whole (61 pixels each)
    assert sparse[..., 3][sparse[..., 3] > 0].min() >= 150  # the faintest is datashader's min_alpha

    big = np.random.default_rng(1).normal(size=(200_000, 2)).astype(np.float32)
    dense = compose(big, width=640, height=480).points
    assert adaptive_spread(len(big), dense.shape[0] * dense.shape[1]) == 0  # one pixel per point
    # a Gaussian blob keeps its soft edge: pixels of one point are fainter than the core's
    alphas = dense[..., 3][dense[..., 3] > 0]
    assert alphas.min() < alphas.max() == 255


def test_svg_embeds_the_same_points(rng, tmp_path):
    import base64
    import io

    xy, names, _ = _map(rng, 500)
    figure = compose(xy, colors=color_spec("label", names, len(xy)), width=400, height=300)
    text = save_svg(tmp_path / "map.svg", figure).read_text(encoding="utf-8")
    embedded = re.search(r'xlink:href="data:image/png;base64,([^"]+)"', text).group(1)
    points = np.asarray(Image.open(io.BytesIO(base64.b64decode(embedded))).convert("RGBA"))
    np.testing.assert_array_equal(points, figure.points)


def test_export_imports_neither_datashader_nor_numba(tmp_path):
    script = f"""
import json, sys
import numpy as np
from projector.dataset import Dataset
rng = np.random.default_rng(0)
xy = rng.normal(size=(300, 2)).astype(np.float32)
ds = Dataset.from_arrays(xy, {{"label": rng.choice(["a", "b"], 300).tolist(), "score": xy[:, 0].astype(np.float64)}})
ds.save_image({str(tmp_path / "map.png")!r}, color_by="label")
ds.save_image({str(tmp_path / "map.svg")!r}, color_by="score")
print(json.dumps(sorted(name for name in sys.modules if name.split(".")[0] in ("datashader", "numba", "xarray"))))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "map.png").stat().st_size > 0 and (tmp_path / "map.svg").stat().st_size > 0
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


SHARED = {'"#c8c8c8"': "GREY", '"bmy"': "NUMERIC_COLORMAP", '"#1f77b4"': "SINGLE_COLOR", '"#e4005b"': "NEIGHBOR_COLOR", '"viridis"': "(not drawn)"}


def test_map_colours_are_defined_once():
    """Palettes and map colours live in projector/explore/colors.py; everyone else imports them."""
    repeated = []
    for path in sorted((ROOT / "projector").rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        if name == "projector/explore/colors.py":
            continue
        text = path.read_text(encoding="utf-8").lower()
        repeated += [f"{name}: {literal} (use {constant})" for literal, constant in SHARED.items() if literal in text]
    assert repeated == []
