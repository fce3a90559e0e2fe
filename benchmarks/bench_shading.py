"""Shading an exported image: datashader (the export until issue 12) against the app's NumPy shading.

The same map is rendered at the same size three ways:

- ``datashader``: the point layer ``projector.image`` drew before (``canvas.points`` with
  ``count`` / ``count_cat`` / ``mean``, ``tf.shade`` with eq_hist and ``min_alpha=150``,
  ``tf.spread`` by the adaptive point size), kept here as the reference it was;
- ``numpy``: the export's point layer now (:func:`projector.image.points.point_layer`, i.e.
  :class:`projector.explore.shading.MapRaster` at opacity 1 with the adaptive point size);
- ``app``: what the app's raster mode draws for that view at its default settings
  (``MapRaster.render`` with opacity 0.8 and the spread of the default point size, 5 px).

Each renderer runs in a FRESH process per map (``fresh s``: from before its imports to the first
image, imports and numba compilation included; ``process s``: the whole child, interpreter start
included) and then ``--repeats`` more times in that process (``warm s``, the median). The images
of the fresh renders are compared with the app's, composited on white: ``drawn IoU`` is the share
of pixels drawn by either where both draw, ``colour diff`` the mean absolute difference per
channel (0-255) over those pixels, ``isolated`` counts the points with no other point within
4 pixels, ``iso area`` the mean number of pixels drawn within 2 pixels of one, and ``iso
contrast`` the mean largest channel difference from white at its pixel. Prints a table, writes
JSON and one side-by-side PNG per map (datashader | numpy | app).

    python benchmarks/bench_shading.py                               # mnist, real-text, 1M synthetic
    python benchmarks/bench_shading.py --maps mnist-digit --repeats 5 --pictures /tmp/shading

Maps: ``mnist-digit`` (10,000 MNIST digits, PCA of the 784 pixels, coloured by digit),
``mnist-ink`` (the same map coloured by the mean pixel value, numeric), ``real-text`` (6,723
MiniLM docstring embeddings, PCA, coloured by module: 20 colours and "other"), ``blobs-1m``
(1,000,000 points in 30 Gaussian clusters, by cluster; time only). The real data is read from
``../shared/fixtures`` as ``bench_reduce.py`` reads it (``PROJECTOR_MNIST_DIR``,
``PROJECTOR_REAL_TEXT``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "bench_shading.json"
RENDERERS = ("datashader", "numpy", "app")
MAPS = ("mnist-digit", "mnist-ink", "real-text", "blobs-1m")
TIME_ONLY = {"blobs-1m"}
APP_OPACITY, APP_POINT_SIZE = 0.8, 5.0  # projector.app.state.ViewState's defaults
ISOLATED_PX = 4


# -- the maps: coordinates and a colouring --------------------------------------------------------


def make_map(name: str) -> tuple[np.ndarray, object, str]:
    """Coordinates (N, 2) float32, the colouring's column (Arrow or numpy) and its name."""
    import pyarrow as pa

    if name == "blobs-1m":
        sys.path.insert(0, str(HERE))
        from bench_render import make_map as blobs

        xy, names, _ = blobs(1_000_000)
        return xy, names, "cluster"
    sys.path.insert(0, str(HERE))
    from bench_reduce import _mnist, _real_text

    data, labels = _mnist() if name.startswith("mnist") else _real_text()
    xy = _pca(data)
    if name == "mnist-ink":
        return xy, data.mean(axis=1).astype(np.float32), "ink"
    return xy, pa.chunked_array([pa.array([str(label) for label in labels])]), "digit" if name.startswith("mnist") else "module"


def _pca(data: np.ndarray) -> np.ndarray:
    """The first two principal components, through projector's own PCA (``Dataset.project``)."""
    import pyarrow as pa

    import projector

    flat = pa.array(np.ascontiguousarray(data, dtype=np.float32).ravel())
    table = pa.table({"embedding": pa.FixedSizeListArray.from_arrays(flat, data.shape[1])})
    with tempfile.TemporaryDirectory() as cache:
        os.environ["PROJECTOR_CACHE_DIR"] = cache  # no trace in the user's cache
        return np.ascontiguousarray(projector.load(table).project("pca").coords[:, :2], dtype=np.float32)


# -- the renderers (each run in a child process) ----------------------------------------------------


def render(renderer: str, xy: np.ndarray, spec, width: int, height: int) -> np.ndarray:
    """``(height, width, 4)`` uint8 RGBA, row 0 at the top."""
    from projector.image.points import adaptive_spread, data_ranges, point_layer

    if renderer == "numpy":
        return point_layer(xy, spec, width, height, None)
    ranges = data_ranges(xy, width, height)
    if renderer == "app":
        from projector.explore.shading import MapRaster, Viewport

        spread = max(int(round(APP_POINT_SIZE / 2)) - 1, 0)  # projector.app.views.map's _raster_spread
        view = Viewport(*ranges[0], *ranges[1], width, height)
        packed = MapRaster(xy[:, 0], xy[:, 1]).render(view, spec, opacity=APP_OPACITY, spread=spread)
        return np.ascontiguousarray(packed[::-1]).view(np.uint8).reshape(height, width, 4)
    return _datashader(xy, spec, width, height, ranges, adaptive_spread(len(xy), width * height))


def _datashader(xy, spec, width, height, ranges, grow) -> np.ndarray:
    """The export's point layer before issue 12, as it was."""
    import datashader as ds
    import datashader.transfer_functions as tf
    import pandas as pd

    from projector.explore.colors import GREY, numeric_palette

    canvas = ds.Canvas(plot_width=width, plot_height=height, x_range=ranges[0], y_range=ranges[1])
    frame = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1]}, copy=False)
    values = spec.values
    if spec.kind == "categorical":
        codes = pd.Categorical.from_codes(values.astype(np.int32), categories=[str(i) for i in range(len(spec.palette))])
        image = tf.shade(canvas.points(frame.assign(c=codes), "x", "y", ds.count_cat("c")), color_key=list(spec.palette), min_alpha=150)
    else:
        known = np.isfinite(values)
        layers = []
        if not known.all():
            layers.append(tf.shade(canvas.points(frame[~known], "x", "y", ds.count()), cmap=[GREY, GREY], min_alpha=150))
        agg = canvas.points(frame.assign(c=values.astype(np.float32)), "x", "y", ds.mean("c"))
        layers.append(tf.shade(agg, cmap=numeric_palette(), span=(spec.low, spec.high), how="linear"))
        image = tf.stack(*layers) if len(layers) > 1 else layers[0]
    if grow:
        image = tf.spread(image, px=grow, shape="circle")
    packed = np.ascontiguousarray(np.flipud(np.asarray(image.data, dtype=np.uint32)))
    return packed.view(np.uint8).reshape(height, width, 4).copy()


def child(args) -> None:
    """One renderer on one map in this fresh process: the first image, then warm repeats."""
    start = time.perf_counter()
    folder = Path(args.child_dir)
    xy = np.load(folder / "xy.npy")
    column = np.load(folder / "column.npy", allow_pickle=False)
    from projector.explore.colors import color_spec

    if column.dtype.kind in "US":
        import pyarrow as pa

        column = pa.chunked_array([pa.array(column.tolist())])
    spec = color_spec(args.column, column, len(xy))
    image = render(args.child, xy, spec, args.width, args.height)
    fresh = time.perf_counter() - start
    warm = []
    for _ in range(args.repeats):
        begin = time.perf_counter()
        spec = color_spec(args.column, column, len(xy))  # a new colouring: nothing cached between runs
        render(args.child, xy, spec, args.width, args.height)
        warm.append(time.perf_counter() - begin)
    np.save(folder / f"{args.child}.npy", image)
    print(json.dumps({"fresh_s": fresh, "warm_s": statistics.median(warm) if warm else None}))


# -- comparing pictures -------------------------------------------------------------------------


def on_white(image: np.ndarray) -> np.ndarray:
    alpha = image[..., 3:4].astype(np.float64) / 255
    return image[..., :3] * alpha + 255 * (1 - alpha)


def compare(image: np.ndarray, app: np.ndarray, xy: np.ndarray, width: int, height: int) -> dict:
    from projector.image.points import data_ranges

    drawn, reference = image[..., 3] > 0, app[..., 3] > 0
    either = drawn | reference
    both = drawn & reference
    diff = np.abs(on_white(image) - on_white(app)).mean(axis=2)
    (x0, x1), (y0, y1) = data_ranges(xy, width, height)
    col = np.minimum(((xy[:, 0] - x0) / (x1 - x0) * width).astype(int), width - 1)
    row = height - 1 - np.minimum(((xy[:, 1] - y0) / (y1 - y0) * height).astype(int), height - 1)
    counts = np.zeros((height + 2 * ISOLATED_PX, width + 2 * ISOLATED_PX), dtype=np.int64)
    np.add.at(counts, (row + ISOLATED_PX, col + ISOLATED_PX), 1)
    window = 2 * ISOLATED_PX + 1
    summed = np.lib.stride_tricks.sliding_window_view(counts, (window, window)).sum(axis=(2, 3))  # (height, width)
    isolated = summed[row, col] == 1
    white = 255 - on_white(image).min(axis=2)
    padded = np.pad(drawn, 2)
    area = [int(padded[r:r + 5, c:c + 5].sum()) for r, c in zip(row[isolated], col[isolated])]
    return {
        "drawn_pixels": int(drawn.sum()),
        "drawn_iou": float(both.sum() / max(either.sum(), 1)),
        "colour_diff": float(diff[either].mean()) if either.any() else 0.0,
        "isolated": int(isolated.sum()),
        "isolated_drawn": int(drawn[row[isolated], col[isolated]].sum()),
        "iso_area": float(np.mean(area)) if area else 0.0,
        "iso_contrast": float(white[row[isolated], col[isolated]].mean()) if area else 0.0,
    }


def side_by_side(images: dict, path: Path, title: str) -> None:
    from PIL import Image, ImageDraw

    height, width = next(iter(images.values())).shape[:2]
    gap, top = 10, 24
    sheet = Image.new("RGB", (len(images) * (width + gap) + gap, height + top + gap), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (name, image) in enumerate(images.items()):
        x = gap + i * (width + gap)
        tile = Image.new("RGBA", (width, height), "white")
        tile.alpha_composite(Image.fromarray(image, "RGBA"))
        sheet.paste(tile.convert("RGB"), (x, top))
        draw.rectangle((x - 1, top - 1, x + width, top + height), outline="#d0d0d0")
        draw.text((x, 6), f"{title}: {name}", fill="#222222")
    sheet.save(path)


# -- the run ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--maps", default=",".join(MAPS), help=f"comma-separated, of {MAPS}")
    parser.add_argument("--repeats", type=int, default=3, help="warm renders after the first, per process")
    parser.add_argument("--width", type=int, default=1000, help="point layer width in pixels")
    parser.add_argument("--height", type=int, default=750)
    parser.add_argument("--pictures", type=Path, default=HERE / "results" / "shading", help="folder of the side-by-side PNGs")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--child", choices=RENDERERS, help=argparse.SUPPRESS)
    parser.add_argument("--child-dir", help=argparse.SUPPRESS)
    parser.add_argument("--column", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args)
    maps = args.maps.split(",")
    unknown = sorted(set(maps) - set(MAPS))
    if unknown:
        parser.error(f"--maps: unknown {unknown}; choose from {MAPS}")
    args.pictures.mkdir(parents=True, exist_ok=True)
    import importlib.util

    renderers = [r for r in RENDERERS if r != "datashader" or importlib.util.find_spec("datashader")]
    if len(renderers) < len(RENDERERS):
        print("datashader is not installed (projector no longer needs it): its rows are left out")
    header = (f"{'map':<12} {'points':>9} {'renderer':<10} {'fresh s':>8} {'process s':>9} {'warm s':>7} "
              f"{'drawn IoU':>9} {'colour diff':>11} {'isolated':>8} {'iso area':>8} {'iso contrast':>12}")
    print(header)
    print("-" * len(header))
    results = []
    for name in maps:
        xy, column, column_name = make_map(name)
        with tempfile.TemporaryDirectory() as temp:
            folder = Path(temp)
            np.save(folder / "xy.npy", xy)
            np.save(folder / "column.npy", np.asarray(column.to_pylist() if hasattr(column, "to_pylist") else column))
            images, rows = {}, []
            for renderer in renderers:
                command = [sys.executable, __file__, "--child", renderer, "--child-dir", temp, "--column", column_name,
                           "--repeats", str(args.repeats), "--width", str(args.width), "--height", str(args.height)]
                begin = time.perf_counter()
                done = subprocess.run(command, capture_output=True, text=True, check=False)
                process_s = time.perf_counter() - begin
                if done.returncode:
                    raise SystemExit(f"{renderer} on {name} failed:\n{done.stderr}")
                times = json.loads(done.stdout.strip().splitlines()[-1])
                images[renderer] = np.load(folder / f"{renderer}.npy")
                rows.append({"map": name, "points": len(xy), "renderer": renderer, "process_s": process_s, **times})
        for row in rows:
            if name not in TIME_ONLY:
                row.update(compare(images[row["renderer"]], images["app"], xy, args.width, args.height))
            results.append(row)
            cells = (f"{row['drawn_iou']:>9.3f} {row['colour_diff']:>11.1f} {row['isolated']:>8,} {row['iso_area']:>8.1f} "
                     f"{row['iso_contrast']:>12.0f}") if "drawn_iou" in row else f"{'(time only)':>9}"
            print(f"{name:<12} {len(xy):>9,} {row['renderer']:<10} {row['fresh_s']:>8.2f} {row['process_s']:>9.2f} "
                  f"{row['warm_s']:>7.3f} {cells}")
        if name not in TIME_ONLY:
            side_by_side(images, args.pictures / f"{name}.png", name)
    print(f"(fresh s: first image in a new process, imports and compilation included; warm s: median of {args.repeats};"
          " picture columns against the app's raster)")
    meta = {
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "datashader": _version("datashader"),
        "size": [args.width, args.height],
        "repeats": args.repeats,
        "command": " ".join(["python", "benchmarks/bench_shading.py", *(argv if argv is not None else sys.argv[1:])]),
        "date": time.strftime("%Y-%m-%d"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")
    print(f"wrote {args.out} and the pictures in {args.pictures}")


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


if __name__ == "__main__":
    main()
