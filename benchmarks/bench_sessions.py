"""Many browser sessions at once: `projector serve` of N points on loopback, in headless Chromium.

A Parquet of N rows (a 128-d embedding in 20 Gaussian clusters, a 20-category label and a short
text) is written once. For each number of sessions S, two servers are run, one after the other,
each on a fresh, empty ``PROJECTOR_CACHE_DIR``:

1. Load: ``projector serve FILE --port 0 --no-open --method umap``, so the UMAP computes in the
   background while the pages open. S pages (one browser, each page in its own context) are
   opened at once:

   - figure: per page, from asking the browser to open it until the Bokeh figure is laid out
     (an init script polls for it every 20 ms and notes the page's clock, ``timeOrigin +
     performance.now()``); also the time from opening the pages until the first and the last
     figure;
   - hover: with all S pages open, on up to ``HOVER_PAGES`` of them in turn, a mouse move onto
     a painted pixel of the map until ``#projector-tooltip`` shows a row (timed in the page, as
     in ``bench_app.py``); p50 and p95 over every hover. The JSON notes which map the first
     page showed at the end (``map_at_end``): pages switch to the UMAP once it is ready.

2. Server CPU: the same file served with ``--method none``, so nothing computes in the
   background. One page is opened and closed first (one-time work: imports, the first map's
   quality score), then the server is left until it idles. Its CPU time (``/proc/PID/stat``
   utime + stime, all threads) is read, S pages are opened at once, and once every figure is
   laid out and the server idles again (under 5 % of a core for 1 s) it is read once more; the
   idle rate measured before, over the same interval, is subtracted. CPU seconds per new
   session = that difference / S. This includes everything the server does for a page: its
   HTTP request, building it, sending it, the browser's first events and raster frames.

Bounded: ``--timeout`` for the whole run and ``--session-timeout`` for each page, server start,
hover or wait for idle; every server and the browser are ended on the way out, also after an
error, Ctrl-C or SIGTERM. ``--only load`` or ``--only cpu`` runs one of the two kinds.

    python benchmarks/bench_sessions.py                                   # 100k points; 1, 10, 30 sessions
    python benchmarks/bench_sessions.py --rows 20000 --sessions 1,3       # quicker

Prints a table and writes ``benchmarks/results/bench_sessions.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import platform
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_app import CATEGORIES, CHROMIUM, CHROMIUM_ARGS, FRAME_JS, HOVER_WATCH_JS, VIEWPORT, Server  # noqa: E402

DIM = 128
HOVER_PAGES = 5  # pages hovered once all are open
HOVERS = 8  # hovers per page, each on a new point
IDLE_CPU_SHARE = 0.05  # the server idles when it uses less than this share of one core ...
IDLE_WINDOW_S = 1.0  # ... over this long
RESULTS = Path(__file__).resolve().parent / "results" / "bench_sessions.json"

# Records, in the page, when the Bokeh figure is first laid out (ms since navigation start).
FIGURE_WATCH_JS = """(() => {
  const poll = () => {
    const figure = window.Bokeh && Bokeh.index ? [...Bokeh.index.query((v) => v.model && v.model.type === "Figure")][0] : null;
    if (figure && figure.frame && figure.frame.bbox.width > 10) { window.__figure_ms = performance.now(); return; }
    setTimeout(poll, 20);
  };
  poll();
})();"""

CARD_HIDDEN_JS = """() => { const tip = document.getElementById("projector-tooltip"); return !tip || tip.style.display === "none"; }"""


def write_points(n: int, folder: Path, seed: int = 0) -> Path:
    """N rows: a 128-d embedding in 20 Gaussian clusters, their label and a short text."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = folder / f"sessions_{n}x{DIM}.parquet"
    if path.exists():
        return path
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, CATEGORIES, n)
    centers = rng.standard_normal((CATEGORIES, DIM)).astype(np.float32) * 3
    embedding = centers[labels] + rng.standard_normal((n, DIM), dtype=np.float32)
    names = np.array([f"class_{i:02d}" for i in range(CATEGORIES)])
    table = pa.table(
        {
            "embedding": pa.FixedSizeListArray.from_arrays(pa.array(embedding.ravel()), DIM),
            "label": pa.array(names[labels]),
            "text": pa.array([f"sample {i}: a sentence about {names[c]}" for i, c in enumerate(labels.tolist())]),
        }
    )
    temp = path.with_name(path.name + ".partial")
    pq.write_table(table, temp)
    temp.replace(path)
    return path


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads (``/proc/PID/stat``)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def wait_idle(pid: int, timeout: float) -> float:
    """Wait until the server uses under IDLE_CPU_SHARE of a core for IDLE_WINDOW_S; its CPU time then."""
    deadline = time.perf_counter() + timeout
    before = cpu_seconds(pid)
    while True:
        await asyncio.sleep(IDLE_WINDOW_S)
        now = cpu_seconds(pid)
        if now - before < IDLE_CPU_SHARE * IDLE_WINDOW_S or time.perf_counter() > deadline:
            return now
        before = now


async def open_session(browser, url: str, timeout: float) -> dict:
    """A new context and page on ``url``: when (``time.time()``) it was asked to open the page
    and when the page laid the figure out (the page's own clock: timeOrigin + performance.now())."""
    context = await browser.new_context(viewport=VIEWPORT)
    await context.add_init_script(FIGURE_WATCH_JS)
    page = await context.new_page()
    opened = time.time()
    try:
        await page.goto(url, timeout=timeout * 1000)
        await page.wait_for_function("() => window.__figure_ms !== undefined", timeout=timeout * 1000, polling=100)
        laid_out = await page.evaluate("() => (performance.timeOrigin + window.__figure_ms) / 1000")
        return {"context": context, "page": page, "opened": opened, "laid_out": laid_out, "figure_s": laid_out - opened}
    except Exception as exc:  # one page failing is a note; the others still count
        return {"context": context, "page": page, "opened": opened, "figure_s": None, "note": f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"}


async def open_sessions(browser, url: str, count: int, timeout: float) -> tuple[list[dict], float]:
    start = time.time()
    sessions = await asyncio.gather(*(open_session(browser, url, timeout) for _ in range(count)))
    return sessions, start


async def painted_points(page, count: int, rng: np.random.Generator) -> list[tuple[float, float]]:
    """``count`` screen positions of coloured pixels in the plot frame (points, in either mode)."""
    from PIL import Image

    geometry = await page.evaluate(FRAME_JS, [])
    frame = geometry["frame"]
    left, top = frame["x"] + 4, frame["y"] + 4
    shot = await page.screenshot(clip={"x": left, "y": top, "width": frame["width"] - 8, "height": frame["height"] - 8})
    hsv = np.asarray(Image.open(io.BytesIO(shot)).convert("HSV"), dtype=np.int32)
    ys, xs = np.nonzero((hsv[..., 1] > 80) & (hsv[..., 2] > 40))
    if xs.size == 0:
        return []
    pick = rng.choice(xs.size, min(count, xs.size), replace=False)
    return [(left + float(xs[i]), top + float(ys[i])) for i in pick]


async def hover_times(page, count: int, rng: np.random.Generator, timeout: float) -> tuple[list[float], list[str]]:
    """Seconds from a mouse move onto a painted point until the hover card shows a row."""
    times, notes = [], []
    for x, y in await painted_points(page, count, rng):
        await page.mouse.move(5, 5)  # off the map: the card hides (in raster mode once the server says so)
        try:
            await page.wait_for_function(CARD_HIDDEN_JS, timeout=timeout * 1000, polling=20)
        except Exception:
            notes.append(f"the hover card did not hide within {timeout:.0f} s")
            continue
        await page.wait_for_timeout(300)
        await page.evaluate(HOVER_WATCH_JS)
        await page.mouse.move(x, y)
        try:
            await page.wait_for_function("() => window.__bench.shown !== null", timeout=timeout * 1000, polling=20)
        except Exception:
            notes.append(f"no hover card within {timeout:.0f} s at ({x:.0f}, {y:.0f})")
            continue
        bench = await page.evaluate("() => window.__bench")
        times.append((bench["shown"] - bench["move"]) / 1000)
    return times, notes


def percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


async def close_all(sessions: list[dict]) -> None:
    await asyncio.gather(*(s["context"].close() for s in sessions), return_exceptions=True)


async def load_run(path: Path, count: int, method: str, browser, timeout: float) -> dict:
    """Open ``count`` pages at once while ``method`` computes; figure times and hovers."""
    with tempfile.TemporaryDirectory(prefix="bench-sessions-cache-") as cache:
        server = Server(path, Path(cache), coords=False, timeout=timeout, extra=("--method", method))
        sessions: list[dict] = []
        try:
            sessions, start = await open_sessions(browser, server.url, count, timeout)
            figures = [s["figure_s"] for s in sessions if s["figure_s"] is not None]
            seen = sorted(s["laid_out"] - start for s in sessions if s["figure_s"] is not None)  # from the pages' opening
            notes = [s["note"] for s in sessions if "note" in s]
            rng = np.random.default_rng(count)
            hovers: list[float] = []
            for session in [s for s in sessions if s["figure_s"] is not None][:HOVER_PAGES]:
                times, more = await hover_times(session["page"], HOVERS, rng, timeout)
                hovers += times
                notes += more
            log = [line.strip() for line in server.lines if "serving at" not in line][-10:]
            shown = [s for s in sessions if s["figure_s"] is not None]
            try:  # did the background map arrive while the pages were measured? (pages switch to it)
                map_at_end = await shown[0]["page"].get_by_label("Map", exact=True).input_value(timeout=5000) if shown else None
            except Exception:
                map_at_end = None
            return {
                "sessions": count,
                "figures": len(figures),
                "figure_s_p50": round(statistics.median(figures), 2) if figures else None,
                "figure_s_max": round(max(figures), 2) if figures else None,
                "first_figure_s": round(seen[0], 2) if seen else None,
                "last_figure_s": round(seen[-1], 2) if seen else None,
                "hovers": len(hovers),
                "hover_ms_p50": round(1000 * percentile(hovers, 50), 1) if hovers else None,
                "hover_ms_p95": round(1000 * percentile(hovers, 95), 1) if hovers else None,
                "hover_ms_all": [round(1000 * t, 1) for t in hovers],
                "figure_s_all": [round(s["figure_s"], 2) for s in sessions if s["figure_s"] is not None],
                "server_up_s": round(time.perf_counter() - server.started, 1),
                "map_at_end": map_at_end,
                "server_log": log,
                "notes": notes,
            }
        finally:
            await close_all(sessions)
            server.stop()


async def cpu_run(path: Path, count: int, browser, timeout: float) -> dict:
    """Server CPU seconds per new session, with nothing computing in the background."""
    with tempfile.TemporaryDirectory(prefix="bench-sessions-cache-") as cache:
        server = Server(path, Path(cache), coords=False, timeout=timeout, extra=("--method", "none"))
        pid = server.process.pid
        sessions: list[dict] = []
        try:
            warm, _ = await open_sessions(browser, server.url, 1, timeout)
            await close_all(warm)
            await wait_idle(pid, timeout)
            t0, c0 = time.perf_counter(), cpu_seconds(pid)
            await asyncio.sleep(2.0)
            idle_rate = (cpu_seconds(pid) - c0) / (time.perf_counter() - t0)
            t0, c0 = time.perf_counter(), cpu_seconds(pid)
            sessions, _ = await open_sessions(browser, server.url, count, timeout)
            c1 = await wait_idle(pid, timeout)
            interval = time.perf_counter() - t0
            spent = c1 - c0 - idle_rate * interval
            return {
                "sessions": count,
                "figures": sum(s["figure_s"] is not None for s in sessions),
                "cpu_s_per_session": round(spent / count, 3),
                "cpu_s_total": round(c1 - c0, 2),
                "idle_cpu_share": round(idle_rate, 3),
                "interval_s": round(interval, 1),
                "notes": [s["note"] for s in sessions if "note" in s],
            }
        finally:
            await close_all(sessions)
            server.stop()


async def run(args, sizes: list[int], counts: list[int], folder: Path) -> list[dict]:
    from playwright.async_api import async_playwright

    rows = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for n in sizes:
                path = write_points(n, folder)
                for count in counts:
                    row = {"points": n, "method": args.method, "sessions": count, "notes": []}
                    if args.only != "cpu":
                        print(f"{n:,} points, {count} sessions while {args.method} computes ...", file=sys.stderr, flush=True)
                        row.update(await load_run(path, count, args.method, browser, args.session_timeout))
                    if args.only != "load":
                        print(f"{n:,} points, {count} sessions, server CPU (--method none) ...", file=sys.stderr, flush=True)
                        row["cpu"] = await cpu_run(path, count, browser, args.session_timeout)
                    rows.append(row)
        finally:
            await browser.close()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", "--sizes", dest="sizes", default="100000", help="comma-separated numbers of points (default: 100000)")
    parser.add_argument("--sessions", default="1,10,30", help="comma-separated numbers of pages opened at once (default: 1,10,30)")
    parser.add_argument("--method", default="umap", help="map computed in the background while pages open (default: umap)")
    parser.add_argument("--only", choices=("load", "cpu"), help="load: only the runs while --method computes; cpu: only the server CPU runs (default: both)")
    parser.add_argument("--data-dir", default=os.path.join(tempfile.gettempdir(), "projector-bench-sessions"), help="where the Parquet files are written and kept")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds for the whole run (default 1800)")
    parser.add_argument("--session-timeout", type=float, default=180.0, help="seconds for each page, hover or server start (default 180)")
    parser.add_argument("--output", default=str(RESULTS), help=f"JSON results (default {RESULTS})")
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    counts = [int(s) for s in args.sessions.split(",") if s.strip()]
    if not os.access(CHROMIUM, os.X_OK):
        parser.error(f"{CHROMIUM} is missing: install Debian's chromium package")
    folder = Path(args.data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _interrupt)  # a plain kill also ends the servers and the browser
    try:
        rows = asyncio.run(asyncio.wait_for(run(args, sizes, counts, folder), args.timeout))
    except asyncio.TimeoutError:
        print(f"stopped: the run took longer than --timeout {args.timeout:.0f} s", file=sys.stderr)
        return 1
    print_rows(rows)
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    machine = {"cpus": os.cpu_count(), "python": platform.python_version(), "chromium": CHROMIUM, "load_average": os.getloadavg()}
    output.write_text(json.dumps({"machine": machine, "results": rows}, indent=2) + "\n")
    print(f"wrote {output}", file=sys.stderr)
    return 0


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def print_rows(rows: list[dict]) -> None:
    def cell(value, width: int, digits: int = 2) -> str:
        return f"{value:>{width}.{digits}f}" if value is not None else f"{'-':>{width}}"

    print(f"{'points':>9} {'sessions':>8} {'figures':>7} {'figure p50 s':>12} {'figure max s':>12} {'first s':>8} {'last s':>7} {'hovers':>6} {'hover p50 ms':>12} {'hover p95 ms':>12} {'CPU s/session':>13}")
    for r in rows:
        r = {key: None for key in ("figures", "figure_s_p50", "figure_s_max", "first_figure_s", "last_figure_s", "hovers", "hover_ms_p50", "hover_ms_p95")} | r
        cpu = r.get("cpu", {}).get("cpu_s_per_session")
        print(
            f"{r['points']:>9,} {r['sessions']:>8} {cell(r['figures'], 7, 0)} {cell(r['figure_s_p50'], 12)} {cell(r['figure_s_max'], 12)} {cell(r['first_figure_s'], 8)} "
            f"{cell(r['last_figure_s'], 7)} {cell(r['hovers'], 6, 0)} {cell(r['hover_ms_p50'], 12, 0)} {cell(r['hover_ms_p95'], 12, 0)} {cell(cpu, 13)}"
        )
        for note in r["notes"] + r.get("cpu", {}).get("notes", []):
            print(f"{'':>9} note: {note}")


if __name__ == "__main__":
    raise SystemExit(main())
