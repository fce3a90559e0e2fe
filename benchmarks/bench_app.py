"""The app at scale: `projector serve` of N points, in headless Chromium.

For each size, a Parquet of N rows (x, y in 20 Gaussian clusters, a 20-category label, an 8-d
embedding: x/10, y/10 and noise) is written once to a temporary folder, then served with its
precomputed coordinates:

- ready: from starting ``projector serve FILE --x x --y y --port 0 --no-open`` until it prints
  its URL;
- figure: from opening the page until the Bokeh figure is laid out (page and scripts loaded);
- painted: from opening the page until the plot frame holds painted points (the canvas region is
  screenshotted until it shows coloured pixels in several hues); ``start to painted`` is both;
- hover: from a mouse move onto a point until ``#projector-tooltip`` shows a row (median of
  several points, each a new row so every one is fetched from the server);
- box select: from releasing a box-select drag until ``.projector-selection-count`` changes;
- peak RSS: the server's VmHWM (/proc/PID/status) after all of the above;
- drawn: the page header's ``.projector-drawn`` text, which says how points are drawn.

Round trips are timed inside the page (``performance.now()`` at the DOM event and at the DOM
change). Chromium is Debian's ``/usr/bin/chromium`` with software WebGL, as in CI.

First map: the same recipe with a 128-d embedding (x/10, y/10 and 126 dimensions of noise) is
served twice, one run after the other: with ``--x x --y y``, then without, so the app computes
its first map (PCA) itself. Each run gets a fresh, empty ``PROJECTOR_CACHE_DIR``, so no map from
an earlier run is reused (a server that reports one anyway gets a note). The row gives both runs'
ready and start-to-painted times and the ratio of the two start-to-painted times (without /
with); the target is at most ``FIRST_MAP_TARGET``. Peak RSS is read once the map is painted, so
work the server still does in the background afterwards is not in it. A run that does not start
or paint in time is a note and leaves the ratio empty.

    python benchmarks/bench_app.py                        # 10k, 100k and 1M points
    python benchmarks/bench_app.py --sizes 10000,100000   # quicker
    python benchmarks/bench_app.py --sizes 100000,1000000 --only first-map

Prints a table per kind of row and writes ``benchmarks/results/bench_app.json``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
VIEWPORT = {"width": 1400, "height": 1000}
CATEGORIES = 20
HOVERS = 5
FIRST_MAP_DIM = 128
FIRST_MAP_TARGET = 1.5  # without --x/--y, start to painted within this many times the run with them
ROWS = ("coords", "first-map")
ROUND_TRIP_TIMEOUT = 30.0  # seconds before a hover or box select counts as never answered
RESULTS = Path(__file__).resolve().parent / "results" / "bench_app.json"

# The figure's plot frame and its data-to-screen scales, whatever draws the points.
FRAME_JS = """(points) => {
  if (!window.Bokeh || !Bokeh.index) return null;
  const figure = [...Bokeh.index.query((v) => v.model && v.model.type === "Figure")][0];
  if (!figure || !figure.frame) return null;
  const box = figure.el.getBoundingClientRect();
  const frame = figure.frame.bbox;
  return {
    frame: {x: box.left + frame.left, y: box.top + frame.top, width: frame.width, height: frame.height},
    points: points.map(([x, y]) => [box.left + figure.frame.x_scale.compute(x), box.top + figure.frame.y_scale.compute(y)]),
  };
}"""

# Times (performance.now) of the next mouse move and of the tooltip next showing a row.
HOVER_WATCH_JS = """() => {
  window.__bench = {move: null, shown: null};
  document.addEventListener("mousemove", () => { if (window.__bench.move === null) window.__bench.move = performance.now(); }, {capture: true, once: true});
  const seen = () => {
    const tip = document.getElementById("projector-tooltip");
    if (tip && tip.style.display !== "none" && tip.dataset.row !== undefined && window.__bench.shown === null) {
      window.__bench.shown = performance.now();
      window.__bench.row = tip.dataset.row;
    }
  };
  new MutationObserver(seen).observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
}"""

# Times of the next mouse release and of the selection count's text next changing.
SELECT_WATCH_JS = """() => {
  const find = (root) => {
    const hit = root.querySelector(".projector-selection-count");
    if (hit) return hit;
    for (const el of root.querySelectorAll("*")) if (el.shadowRoot) { const inner = find(el.shadowRoot); if (inner) return inner; }
    return null;
  };
  const count = find(document);
  const root = count.getRootNode();
  const before = count.textContent;
  window.__bench = {up: null, changed: null, text: before};
  document.addEventListener("mouseup", () => { window.__bench.up = performance.now(); }, {capture: true, once: true});
  const check = () => {
    const now = find(document);
    if (now && now.textContent !== before && window.__bench.changed === null) {
      window.__bench.changed = performance.now();
      window.__bench.text = now.textContent;
    }
  };
  new MutationObserver(check).observe(root, {subtree: true, childList: true, characterData: true});
}"""


def write_points(n: int, folder: Path, dim: int = 8, seed: int = 0) -> Path:
    """N rows in 20 Gaussian clusters: x, y, label (20 categories), a ``dim``-d embedding
    (x/10, y/10, then noise)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = folder / f"points_{n}x{dim}.parquet"
    if path.exists():
        return path
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, CATEGORIES, n)
    centers = rng.uniform(-50, 50, (CATEGORIES, 2))
    xy = centers[labels] + rng.standard_normal((n, 2)) * rng.uniform(2, 6, CATEGORIES)[labels, None]
    embedding = np.empty((n, dim), dtype=np.float32)  # filled in place: 1M x 128 makes no float64 copy of the whole
    embedding[:, :2] = xy / 10
    embedding[:, 2:] = rng.standard_normal((n, dim - 2))
    names = np.array([f"class_{i:02d}" for i in range(CATEGORIES)])
    table = pa.table(
        {
            "x": pa.array(xy[:, 0].astype(np.float32)),
            "y": pa.array(xy[:, 1].astype(np.float32)),
            "label": pa.array(names[labels]),
            "embedding": pa.FixedSizeListArray.from_arrays(pa.array(embedding.ravel()), dim).cast(pa.list_(pa.float32())),
        }
    )
    temp = path.with_name(path.name + ".partial")  # an interrupted write leaves no file that looks finished
    pq.write_table(table, temp)
    temp.replace(path)
    return path


class Server:
    """`projector serve` in a subprocess; ``ready_s`` is the time until it printed its URL.

    With ``coords`` it is told the x, y columns; without, it computes its first map. ``extra``
    are more ``serve`` options (e.g. ``--method umap``)."""

    def __init__(self, path: Path, cache: Path, coords: bool = True, timeout: float = 900, extra: tuple[str, ...] = ()) -> None:
        command = [sys.executable, "-m", "projector", "serve", str(path), *(["--x", "x", "--y", "y"] if coords else []), "--port", "0", "--no-open", *extra]
        env = {**os.environ, "PROJECTOR_CACHE_DIR": str(cache), "PYTHONUNBUFFERED": "1"}
        self.lines: list[str] = []
        self.url = ""
        ready = threading.Event()
        start = time.perf_counter()
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)

        def drain() -> None:
            for line in self.process.stdout:
                self.lines.append(line)
                match = re.search(r"serving at (\S+)", line)
                if match:
                    self.url = match.group(1)
                    ready.set()
            ready.set()

        threading.Thread(target=drain, daemon=True).start()
        try:
            ready.wait(timeout)
        except BaseException:  # Ctrl-C while the server starts: it must not outlive the benchmark
            self.stop()
            raise
        self.started = start
        self.ready_s = time.perf_counter() - start
        if not self.url:
            self.stop()
            raise RuntimeError(f"projector serve did not start:\n{''.join(self.lines)}")

    def peak_rss(self) -> int:
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        raise RuntimeError("no VmHWM")

    def stop(self) -> None:
        """End the server (SIGTERM, then SIGKILL after 30 s) and wait until it has exited."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def coloured(page, frame: dict) -> tuple[int, int]:
    """(saturated pixels, distinct hues) inside the plot frame: grid and axes are grey."""
    from PIL import Image

    shot = page.screenshot(clip={"x": frame["x"] + 2, "y": frame["y"] + 2, "width": frame["width"] - 4, "height": frame["height"] - 4})
    hsv = np.asarray(Image.open(io.BytesIO(shot)).convert("HSV"), dtype=np.int32).reshape(-1, 3)
    hits = hsv[(hsv[:, 1] > 80) & (hsv[:, 2] > 40)]
    return int(len(hits)), int(np.unique(hits[:, 0] // 16).size) if len(hits) else 0


def wait_painted(page, timeout: float) -> tuple[dict, float]:
    """Poll until the plot frame shows points in several colours.

    Returns the frame geometry and when (perf_counter) the figure was first laid out, which
    separates loading the page from drawing the points."""
    deadline = time.perf_counter() + timeout
    geometry, laid_out = None, None
    while time.perf_counter() < deadline:
        geometry = page.evaluate(FRAME_JS, [])
        if geometry is not None and geometry["frame"]["width"] > 10:
            laid_out = laid_out or time.perf_counter()
            pixels, hues = coloured(page, geometry["frame"])
            if pixels >= 500 and hues >= 5:
                return geometry, laid_out
        page.wait_for_timeout(50)
    raise TimeoutError(f"the map was not painted within {timeout:.0f} s")


def open_painted(page, server: Server, timeout: float) -> tuple[dict, dict]:
    """Open the served page and wait for painted points: the frame geometry, and the server's
    ready time with the page's open-to-figure, open-to-painted and start-to-painted times."""
    opened = time.perf_counter()
    page.goto(server.url, timeout=timeout * 1000)
    geometry, laid_out = wait_painted(page, timeout)
    painted = time.perf_counter()
    return geometry, {
        "ready_s": round(server.ready_s, 3),
        "open_to_figure_s": round(laid_out - opened, 3),
        "open_to_painted_s": round(painted - opened, 3),
        "start_to_painted_s": round(painted - server.started, 3),
    }


def hover_times(page, rows_xy: np.ndarray, timeout: float) -> tuple[list[float], list[str]]:
    """Seconds from a mouse move onto each point until the hover card shows a row, and notes
    on hovers that never showed one."""
    times, notes = [], []
    targets = page.evaluate(FRAME_JS, rows_xy.tolist())
    frame = targets["frame"]
    for x, y in targets["points"]:
        if not (frame["x"] < x < frame["x"] + frame["width"] and frame["y"] < y < frame["y"] + frame["height"]):
            continue
        page.mouse.move(5, 5)  # off the map: the card hides
        page.wait_for_timeout(300)
        page.evaluate(HOVER_WATCH_JS)
        page.mouse.move(x, y)
        try:
            page.wait_for_function("() => window.__bench.shown !== null", timeout=timeout * 1000)
        except PlaywrightTimeout:
            notes.append(f"no hover card within {timeout:.0f} s at ({x:.0f}, {y:.0f})")
            continue
        bench = page.evaluate("() => window.__bench")
        times.append((bench["shown"] - bench["move"]) / 1000)
    return times, notes


def box_select_time(page, frame: dict, timeout: float) -> tuple[float | None, str]:
    """Seconds from releasing a box over the middle of the map until the count changes, and
    the count's text (or why there is no time)."""
    page.mouse.move(5, 5)
    page.locator("[title='Box Select']").first.click()
    x0, y0 = frame["x"] + frame["width"] * 0.4, frame["y"] + frame["height"] * 0.4
    x1, y1 = frame["x"] + frame["width"] * 0.6, frame["y"] + frame["height"] * 0.6
    page.evaluate(SELECT_WATCH_JS)
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x1, y1, steps=6)
    page.mouse.up()
    try:
        page.wait_for_function("() => window.__bench.changed !== null", timeout=timeout * 1000)
    except PlaywrightTimeout:
        return None, f"the selection count did not change within {timeout:.0f} s"
    bench = page.evaluate("() => window.__bench")
    return (bench["changed"] - bench["up"]) / 1000, bench["text"].strip()


def measure(n: int, folder: Path, browser, timeout: float) -> dict:
    import pyarrow.parquet as pq

    path = write_points(n, folder)
    table = pq.read_table(path, columns=["x", "y"])
    xy = np.stack([table.column("x").to_numpy(), table.column("y").to_numpy()], axis=1)
    rng = np.random.default_rng(1)
    hover_rows = xy[rng.choice(n, HOVERS, replace=False)]
    with tempfile.TemporaryDirectory(prefix="bench-app-cache-") as cache:
        server = Server(path, Path(cache))
        try:
            context = browser.new_context(viewport=VIEWPORT)
            page = context.new_page()
            geometry, times = open_painted(page, server, timeout)
            drawn = page.locator(".projector-drawn").first.text_content().strip()
            hovers, notes = hover_times(page, hover_rows, ROUND_TRIP_TIMEOUT)
            select_s, count_text = box_select_time(page, geometry["frame"], ROUND_TRIP_TIMEOUT)
            if select_s is None:
                notes.append(count_text)
            context.close()
            return {
                "points": n,
                **times,
                "hover_ms_median": round(1000 * statistics.median(hovers), 1) if hovers else None,
                "hover_ms_all": [round(1000 * t, 1) for t in hovers],
                "box_select_ms": round(1000 * select_s, 1) if select_s is not None else None,
                "selection": count_text,
                "peak_rss_bytes": server.peak_rss(),
                "drawn": drawn,
                "notes": notes,
            }
        finally:
            server.stop()


def serve_to_painted(path: Path, coords: bool, browser, timeout: float) -> dict:
    """One run of the first-map pair: serve ``path`` (with or without ``--x/--y``) on a fresh,
    empty cache, time it to painted points, stop the server."""
    with tempfile.TemporaryDirectory(prefix="bench-app-cache-") as cache:
        server = Server(path, Path(cache), coords=coords)
        try:
            context = browser.new_context(viewport=VIEWPORT)
            try:
                page = context.new_page()
                _, times = open_painted(page, server, timeout)
                drawn = page.locator(".projector-drawn").first.text_content().strip()
            finally:
                context.close()
            notes = [f"map from the cache: {line.strip()}" for line in server.lines if "maps from earlier runs" in line]
            log = [line.strip() for line in server.lines if "serving at" not in line][-20:]  # e.g. "computing PCA ... for the first map"
            return {**times, "peak_rss_bytes": server.peak_rss(), "drawn": drawn, "server_log": log, "notes": notes}
        finally:
            server.stop()


def measure_first_map(n: int, folder: Path, browser, timeout: float) -> dict:
    """The same N x 128 file served with ``--x/--y`` and then without: start to painted, and
    the ratio of the two."""
    path = write_points(n, folder, dim=FIRST_MAP_DIM)
    row: dict = {"points": n, "dim": FIRST_MAP_DIM}
    for key, coords in (("with_coords", True), ("without_coords", False)):
        try:
            row[key] = serve_to_painted(path, coords, browser, timeout)
        except (RuntimeError, TimeoutError, PlaywrightTimeout) as exc:  # the other run still counts
            lines = str(exc).strip().splitlines() or [type(exc).__name__]
            why = lines[0] if len(lines) == 1 else f"{lines[0]} ... {lines[-1].strip()}"
            row[key] = {"ready_s": None, "start_to_painted_s": None, "notes": [f"{'with' if coords else 'without'} --x/--y: {why}"]}
    with_s, without_s = row["with_coords"]["start_to_painted_s"], row["without_coords"]["start_to_painted_s"]
    row["ratio"] = round(without_s / with_s, 2) if with_s and without_s is not None else None
    row["target_ratio"] = FIRST_MAP_TARGET
    row["notes"] = row["with_coords"].pop("notes") + row["without_coords"].pop("notes")
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated numbers of points (default: 10000,100000,1000000)")
    parser.add_argument("--data-dir", default=os.path.join(tempfile.gettempdir(), "projector-bench-app"), help="where the Parquet files are written and kept")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for each step (default 300)")
    parser.add_argument("--output", default=str(RESULTS), help=f"JSON results (default {RESULTS})")
    parser.add_argument(
        "--only", choices=ROWS, help="coords: served with --x/--y, with hover and box select; first-map: the 128-d file with and without --x/--y (default: both)"
    )
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    kinds = [args.only] if args.only else list(ROWS)
    if not os.access(CHROMIUM, os.X_OK):
        parser.error(f"{CHROMIUM} is missing: install Debian's chromium package")
    folder = Path(args.data_dir)
    folder.mkdir(parents=True, exist_ok=True)

    rows, first_maps = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for n in sizes:
                if "coords" in kinds:
                    print(f"{n:,} points ...", file=sys.stderr, flush=True)
                    rows.append(measure(n, folder, browser, args.timeout))
                if "first-map" in kinds:
                    print(f"{n:,} x {FIRST_MAP_DIM} points, first map with and without --x/--y ...", file=sys.stderr, flush=True)
                    first_maps.append(measure_first_map(n, folder, browser, args.timeout))
        finally:
            browser.close()

    if rows:
        print_rows(rows)
    if first_maps:
        print_first_maps(first_maps)
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    machine = {"cpus": os.cpu_count(), "python": platform.python_version(), "chromium": CHROMIUM, "load_average": os.getloadavg()}
    output.write_text(json.dumps({"machine": machine, "results": rows, "first_map": first_maps}, indent=2) + "\n")
    print(f"wrote {output}", file=sys.stderr)
    return 0


def print_rows(rows: list[dict]) -> None:
    header = f"{'points':>10} {'ready s':>8} {'open→figure s':>14} {'open→painted s':>15} {'start→painted s':>16} {'hover ms':>9} {'box ms':>7} {'peak RSS MB':>12}  drawn"
    print(header)
    for r in rows:
        hover = f"{r['hover_ms_median']:.0f}" if r["hover_ms_median"] is not None else "-"
        box = f"{r['box_select_ms']:.0f}" if r["box_select_ms"] is not None else "-"
        print(
            f"{r['points']:>10,} {r['ready_s']:>8.2f} {r['open_to_figure_s']:>14.2f} {r['open_to_painted_s']:>15.2f} {r['start_to_painted_s']:>16.2f} "
            f"{hover:>9} {box:>7} {r['peak_rss_bytes'] / 2**20:>12.0f}  {r['drawn']}"
        )
        for note in r["notes"]:
            print(f"{'':>10} note: {note}")


def print_first_maps(rows: list[dict]) -> None:
    def seconds(value: float | None, width: int) -> str:
        return f"{value:>{width}.2f}" if value is not None else f"{'-':>{width}}"

    print(f"first map, {FIRST_MAP_DIM}-d: start→painted without --x/--y over with them (target ≤ {FIRST_MAP_TARGET}x)")
    print(f"{'points':>10} {'x/y ready s':>12} {'x/y start→painted s':>20} {'no x/y ready s':>15} {'no x/y start→painted s':>23} {'ratio':>6} {'no x/y peak RSS MB':>19}")
    for r in rows:
        with_coords, without = r["with_coords"], r["without_coords"]
        ratio = f"{r['ratio']:>6.2f}" if r["ratio"] is not None else f"{'-':>6}"
        rss = f"{without['peak_rss_bytes'] / 2**20:>19.0f}" if "peak_rss_bytes" in without else f"{'-':>19}"
        print(
            f"{r['points']:>10,} {seconds(with_coords['ready_s'], 12)} {seconds(with_coords['start_to_painted_s'], 20)} "
            f"{seconds(without['ready_s'], 15)} {seconds(without['start_to_painted_s'], 23)} {ratio} {rss}"
        )
        for note in r["notes"]:
            print(f"{'':>10} note: {note}")


if __name__ == "__main__":
    raise SystemExit(main())
