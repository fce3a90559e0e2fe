"""Report export: time, file size and time to first paint in headless Chromium.

For each size, a Parquet file with precomputed coordinates (x, y), a 20-category label, a short
text and an 8-d embedding is written once; then ``projector export FILE --x x --y y -o OUT``
runs in a fresh process (imports included, as a user meets it), and the file is opened from
disk in Debian's headless Chromium (software WebGL) with the network cut off, timing until the
map's canvas holds a drawn map.

    python benchmarks/bench_report.py --sizes 10000,100000,1000000

Targets (issue 5, 2-core machine): 100k points export in under 5 s and paint in under 3 s;
the 1M report under 50 MB. Prints a table and writes benchmarks/results/bench_report.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
CHROMIUM = "/usr/bin/chromium"


def write_data(n: int, folder: Path) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = folder / f"points-{n}.parquet"
    if path.exists():
        return path
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 20, n)
    centers = rng.standard_normal((20, 2)) * 8
    xy = centers[labels] + rng.standard_normal((n, 2))
    embedding = np.hstack([xy, rng.standard_normal((n, 6))]).astype(np.float32)
    table = pa.table(
        {
            "embedding": pa.FixedSizeListArray.from_arrays(pa.array(embedding.ravel()), 8),
            "x": xy[:, 0].astype(np.float32),
            "y": xy[:, 1].astype(np.float32),
            "label": pa.array([f"class {i}" for i in labels]).dictionary_encode(),
            "text": [f"sample {i} of class {c}" for i, c in enumerate(labels)],
        }
    )
    pq.write_table(table, path)
    return path


def export(path: Path, out: Path, cache: Path) -> float:
    env = {**os.environ, "PROJECTOR_CACHE_DIR": str(cache)}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "projector", "export", str(path), "--x", "x", "--y", "y", "-o", str(out), "--overwrite"],
        check=True, env=env, capture_output=True, text=True,
    )
    return time.perf_counter() - started


PAINTED_JS = """() => {
  if (!window.Bokeh || !Bokeh.index) return false;
  const figures = [...Bokeh.index.query((v) => v.model && v.model.type === "Figure")];
  if (figures.length === 0) return false;
  const canvas = figures[0].canvas_view;
  if (!canvas || !canvas.webgl) { }
  const renderers = [...figures[0].renderer_views.values()];
  return renderers.some((r) => r.model.data_source && r.model.data_source.data.x && r.model.data_source.data.x.length > 0 && r._has_finished !== false) && figures[0].is_idle;
}"""


def first_paint(out: Path) -> float:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(("file:", "data:", "blob:")) else route.abort())
        started = time.perf_counter()
        page.goto(out.as_uri(), timeout=300_000)
        page.wait_for_function(PAINTED_JS, timeout=300_000, polling=50)
        elapsed = time.perf_counter() - started
        browser.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated point counts")
    parser.add_argument("--data-dir", default=None, help="where the input files are kept between runs")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    folder = Path(args.data_dir or tempfile.gettempdir()) / "projector-bench-report"
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for n in sizes:
            path = write_data(n, folder)
            out = Path(scratch) / f"report-{n}.html"
            seconds = export(path, out, Path(scratch) / "cache")
            size = out.stat().st_size
            paint = first_paint(out)
            rows.append({"points": n, "export_s": round(seconds, 2), "size_mb": round(size / 1e6, 1), "first_paint_s": round(paint, 2)})
            print(f"{n:>9,} points: export {seconds:6.2f} s, {size / 1e6:6.1f} MB, first paint {paint:6.2f} s", flush=True)
    print()
    print("| points | export (s) | file (MB) | first paint (s) |")
    print("|---|---|---|---|")
    for row in rows:
        print(f"| {row['points']:,} | {row['export_s']} | {row['size_mb']} | {row['first_paint_s']} |")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "bench_report.json").write_text(json.dumps({"machine": os.cpu_count(), "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
