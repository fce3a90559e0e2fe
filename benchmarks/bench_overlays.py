"""What the overlays cost once a map and its kNN graph exist: density contours (all points, and
per category for the top 5 of 20: from N labels, and from a string column through the one
overlays spec, ``{"contours": "label"}``, which groups and colours the rows as the column's
legend does) and the checks read off the graph (likely mislabels and outlier scores, k = 10). The issue's bound: clusters, labels and contours of 100k points
within 5 s, of 1M within 30 s, none of it before the first paint.

Data: 30 Gaussian clusters in 2-D, labels by cluster (mod 20); a random (N, 10) neighbour
table stands in for the graph (the checks' cost depends only on its shape). Median of
``--repeats`` runs, one process.

    python benchmarks/bench_overlays.py [--sizes 10000 100000 1000000] [--repeats 3] [--output benchmarks/results/bench_overlays.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from projector.explore.density import density_contours
from projector.explore.map_overlays import map_overlays
from projector.suspects import mislabels_from_knn, outliers_from_knn

HERE = Path(__file__).resolve().parent


def data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(coords, labels, neighbour rows, neighbour distances) for ``n`` points."""
    rng = np.random.default_rng(seed)
    cluster = rng.integers(0, 30, n)
    centres = rng.uniform(-50, 50, (30, 2))
    coords = centres[cluster] + rng.standard_normal((n, 2)) * rng.uniform(1, 4, 30)[cluster, None]
    knn = rng.integers(0, n, (n, 10))
    distances = np.sort(rng.random((n, 10)).astype(np.float32), axis=1)
    return coords.astype(np.float32), (cluster % 20).astype(np.int64), knn, distances


def by_column(coords: np.ndarray, labels: np.ndarray):
    """The contours of ``{"contours": "label"}``: a dataset whose string column names the categories."""
    import pyarrow as pa

    import projector
    from projector.projection import Projection

    names = pa.array(np.char.add("group ", labels.astype(str)))
    table = pa.table({"emb": pa.FixedSizeListArray.from_arrays(pa.array(coords.ravel()), 2), "label": names})
    dataset = projector.Dataset.from_table(table, vector="emb", label="label")
    projection = Projection(coords, "identity", "emb", {})
    return lambda: map_overlays(dataset, projection, ("contours",), contours_by="label")


def timed(work, repeats: int) -> float:
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", default=str(HERE / "results" / "bench_overlays.json"))
    args = parser.parse_args()
    density_contours(data(1000)[0])  # imports (scipy.ndimage, contourpy) paid here, untimed
    rows = []
    print(f"{'points':>10} {'contours s':>11} {'per category s':>15} {'by column s':>12} {'mislabels s':>12} {'outliers s':>11} {'lines':>6}")
    for n in args.sizes:
        coords, labels, knn, distances = data(n)
        row = {
            "points": n,
            "contours_s": timed(lambda: density_contours(coords), args.repeats),
            "category_contours_s": timed(lambda: density_contours(coords, labels=labels, top=5), args.repeats),
            "column_contours_s": timed(by_column(coords, labels), args.repeats),
            "mislabels_s": timed(lambda: mislabels_from_knn(knn, labels), args.repeats),
            "outliers_s": timed(lambda: outliers_from_knn(distances), args.repeats),
            "paths": sum(len(c.paths) for c in density_contours(coords)),
        }
        rows.append(row)
        print(
            f"{n:>10,} {row['contours_s']:>11.3f} {row['category_contours_s']:>15.3f} {row['column_contours_s']:>12.3f} "
            f"{row['mislabels_s']:>12.3f} {row['outliers_s']:>11.3f} {row['paths']:>6}"
        )
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps({"repeats": args.repeats, "rows": rows}, indent=2))
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
