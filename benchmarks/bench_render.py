"""Static map images: how long projector.image takes to draw and write a map of N points.

For each size and colouring, times the stages of ``Dataset.save_image``: the colouring
(``color_spec`` on the Arrow column), the layout with the point layer (``compose``: the app's
NumPy raster shading, :class:`projector.explore.shading.MapRaster`),
and writing the PNG and the SVG (Pillow drawing and PNG encoding included), plus the file sizes.
Each stage is the median of ``--repeats`` runs. The first renders in a process (imports, font
loading) are measured apart on 1,000 points (``first_s``) and never counted in a row; nothing
is compiled (the datashader shading the export used before issue 12 cost 4-7 s in a fresh
process: see ``bench_shading.py``). Prints a table and writes JSON.

    python benchmarks/bench_render.py                          # 10k, 100k, 1M points
    python benchmarks/bench_render.py --sizes 1000000 --repeats 5

The data: 2-D points in 30 Gaussian clusters of different widths (a UMAP-like map), labelled by
cluster (30 categories: 20 colours and "other"), a numeric column, at 1200x900 pixels.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

COLOURINGS = ("categorical", "numeric", "none")
RESULTS = Path(__file__).parent / "results" / "bench_render.json"


def make_map(n: int, seed: int = 0):
    """Coordinates (n, 2) float32, a label column (Arrow) and a numeric column (numpy)."""
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    k = 30
    centres = rng.normal(0, 12, (k, 2))
    widths = rng.uniform(0.3, 2.0, k)
    labels = rng.integers(0, k, n)
    xy = (centres[labels] + rng.normal(size=(n, 2)) * widths[labels, None]).astype(np.float32)
    names = pa.chunked_array([pa.DictionaryArray.from_arrays(pa.array(labels, pa.int32()), pa.array([f"cluster {i}" for i in range(k)])).cast(pa.string())])
    return xy, names, (xy[:, 0] * xy[:, 1]).astype(np.float32)


def spec_for(colouring: str, n: int, names, values):
    from projector.explore.colors import color_spec

    if colouring == "categorical":
        return color_spec("cluster", names, n)
    if colouring == "numeric":
        return color_spec("score", values, n)
    return None


def median_time(run, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def measure(n: int, colouring: str, repeats: int, folder: Path, width: int, height: int) -> dict:
    from projector.image import compose, save_png, save_svg

    xy, names, values = make_map(n)
    spec_s, spec = median_time(lambda: spec_for(colouring, n, names, values), repeats)
    compose_s, figure = median_time(
        lambda: compose(xy, colors=spec, title=f"{n:,} points", footer=f"{n:,} points", width=width, height=height), repeats
    )
    png, svg = folder / f"{n}-{colouring}.png", folder / f"{n}-{colouring}.svg"
    png_s, _ = median_time(lambda: save_png(png, figure, overwrite=True), repeats)
    svg_s, _ = median_time(lambda: save_svg(svg, figure, overwrite=True), repeats)
    return {
        "n": n,
        "colouring": colouring,
        "color_spec_s": spec_s,
        "compose_s": compose_s,
        "png_write_s": png_s,
        "svg_write_s": svg_s,
        "png_total_s": spec_s + compose_s + png_s,
        "svg_total_s": spec_s + compose_s + svg_s,
        "png_bytes": png.stat().st_size,
        "svg_bytes": svg.stat().st_size,
        "drawn_pixels": int(np.count_nonzero(figure.points[..., 3])),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated point counts")
    parser.add_argument("--colourings", default=",".join(COLOURINGS), help=f"comma-separated, of {COLOURINGS}")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--width", type=int, default=1200)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    colourings = args.colourings.split(",")
    unknown = sorted(set(colourings) - set(COLOURINGS))
    if unknown:
        parser.error(f"--colourings: unknown {unknown}; choose from {COLOURINGS}")

    import PIL

    from projector.image import compose

    start = time.perf_counter()  # imports and fonts the rows below use
    for colouring in colourings:
        xy, names, values = make_map(1000)
        compose(xy, colors=spec_for(colouring, 1000, names, values))
    first_s = time.perf_counter() - start
    print(f"first renders (imports, fonts), 1,000 points: {first_s:.1f} s")

    results = []
    header = f"{'points':>10} {'colouring':<12} {'colours':>8} {'compose':>8} {'png':>7} {'svg':>7} {'= png':>7} {'png MB':>7} {'svg MB':>7}"
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory() as temp:
        for n in sizes:
            for colouring in colourings:
                row = measure(n, colouring, args.repeats, Path(temp), args.width, args.height)
                results.append(row)
                print(
                    f"{n:>10,} {colouring:<12} {row['color_spec_s']:>7.2f}s {row['compose_s']:>7.2f}s "
                    f"{row['png_write_s']:>6.2f}s {row['svg_write_s']:>6.2f}s {row['png_total_s']:>6.2f}s "
                    f"{row['png_bytes'] / 1e6:>7.2f} {row['svg_bytes'] / 1e6:>7.2f}"
                )
    print("(seconds: median of", args.repeats, "runs; '= png' is colours + compose + png, what save_image adds to the projection)")
    meta = {
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pillow": PIL.__version__,
        "size": [args.width, args.height],
        "repeats": args.repeats,
        "first_s": first_s,
        "data": "30 Gaussian clusters of different widths in 2-D, labelled by cluster",
        "command": " ".join(["python", "benchmarks/bench_render.py", *(argv if argv is not None else sys.argv[1:])]),
        "date": time.strftime("%Y-%m-%d"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
