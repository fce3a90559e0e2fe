"""Where the map should switch from a WebGL scatter to a server-side raster (WEBGL_MAX_POINTS).

For each size N, in Debian's headless Chromium (software WebGL, as in CI and VMs):

- ``webgl_paint_s``: a self-contained Bokeh page (inline resources) with one WebGL scatter of N
  points, from ``page.goto`` until the plot has painted;
- ``webgl_frame_ms``: the median time of one repaint after moving the x range by 1 % (what a
  pan costs per frame), measured by two animation frames after the change;

and on the server, in this process:

- ``raster_ms``: :meth:`projector.explore.shading.MapRaster.render` of N points coloured by
  20 categories into an 800 x 500 image (median of 5; what every pan or zoom costs in raster
  mode, plus sending 1.6 MB to the browser).

    python benchmarks/bench_scatter_threshold.py                      # 10k ... 400k
    python benchmarks/bench_scatter_threshold.py --sizes 10000,50000

Results vary with the machine's load; compare figures from one run only.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CHROMIUM = "/usr/bin/chromium"
PAINTED = """() => {
  if (!window.Bokeh || !Bokeh.index) return false;
  const plot = Bokeh.index.query_one(v => v.model.type === "Figure");
  if (!plot || !plot.has_finished()) return false;
  for (const r of plot.renderer_views.values())
    if (r.model.type === "GlyphRenderer" && r.model.data_source.get_length() > 0) return true;
  return false;
}"""
FRAMES = """async () => {
  const pv = Bokeh.index.query_one(v => v.model.type === "Figure");
  const xr = pv.model.x_range, times = [];
  for (let i = 0; i < 12; i++) {
    const t = performance.now(), step = (xr.end - xr.start) * 0.01;
    xr.setv({start: xr.start + step, end: xr.end + step});
    await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
    times.push(performance.now() - t);
  }
  return times.slice(2);
}"""


def points(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    centers = rng.uniform(-20, 20, (20, 2))
    label = rng.integers(0, 20, n)
    xy = centers[label] + rng.standard_normal((n, 2))
    return xy[:, 0].astype(np.float32), xy[:, 1].astype(np.float32), label


def webgl(n: int, folder: Path, browser) -> dict:
    from bokeh.plotting import figure, output_file, save
    from bokeh.resources import INLINE

    x, y, _ = points(n)
    plot = figure(output_backend="webgl", width=800, height=500)
    plot.scatter(x, y, size=5)
    page_file = folder / f"scatter_{n}.html"
    output_file(page_file)
    save(plot, resources=INLINE)
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    start = time.perf_counter()
    page.goto(page_file.as_uri())
    page.wait_for_function(PAINTED, polling=50, timeout=300_000)
    paint = time.perf_counter() - start
    frames = page.evaluate(FRAMES)
    page.close()
    return {"webgl_paint_s": round(paint, 2), "webgl_frame_ms": round(statistics.median(frames))}


def raster(n: int) -> dict:
    import pyarrow as pa

    from projector.explore.colors import color_spec
    from projector.explore.shading import MapRaster, Viewport

    x, y, label = points(n)
    colors = color_spec("label", pa.chunked_array([pa.array(label.astype(str))]), n)
    view = Viewport(-25.0, 25.0, -25.0, 25.0, 800, 500)
    image = MapRaster(x, y)
    times = []
    for _ in range(5):
        start = time.perf_counter()
        image.render(view, colors, spread=2)
        times.append(time.perf_counter() - start)
    return {"raster_ms": round(1000 * statistics.median(times))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,25000,50000,100000,200000,400000", help="comma-separated N")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "bench_scatter_threshold.json"))
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    sizes = [int(size) for size in args.sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        for n in sizes:
            row = {"n": n, **webgl(n, Path(folder), browser), **raster(n)}
            rows.append(row)
            print(json.dumps(row), flush=True)
        browser.close()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"argv": sys.argv[1:], "rows": rows}, indent=1) + "\n", encoding="utf-8")
    print(f"{'N':>8} {'WebGL paint s':>14} {'WebGL frame ms':>15} {'raster ms':>10}")
    for row in rows:
        print(f"{row['n']:>8,} {row['webgl_paint_s']:>14} {row['webgl_frame_ms']:>15} {row['raster_ms']:>10}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
