"""How far UMAP throws the few points the bulk does not hold: projector against umap-learn.

For each map: the farthest point's distance from the median over the 99th percentile of those
distances (the issue's bound: about 2 or less), and trustworthiness. Data: the real MiniLM
fixture (groups of up to 76 identical vectors), a cloud with groups of copies, a cloud with
tight clusters at right angles to it (disconnected parts of the kNN graph), and a cloud with
tight clusters merely far off (weakly connected: UMAP's own equilibrium holds them out there,
in umap-learn too). umap-learn runs with its defaults (cosine), as a user would run it. One
process; umap-learn's numba compile is paid once, before the timings.

    python benchmarks/bench_extent.py [--seeds 0 1] [--runner projector] [--output benchmarks/results/bench_extent.json]
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np

import projector

HERE = Path(__file__).resolve().parent
REAL_TEXT = HERE.parent.parent / "shared" / "fixtures" / "real-text" / "pydata_docs_minilm.parquet"


def _cloud(rng: np.random.Generator, n: int = 3000, width: int = 34) -> np.ndarray:
    bulk = np.zeros((n, width))
    bulk[:, :32] = rng.standard_normal((n, 32))
    bulk[:, :3] *= 4
    return bulk


def datasets() -> dict[str, projector.Dataset]:
    rng = np.random.default_rng(0)
    bulk = _cloud(rng)
    copies = [np.repeat(bulk[rng.integers(len(bulk))][None], 20, axis=0) for _ in range(2)]
    apart = [np.eye(34)[axis] * 3 + rng.standard_normal((16, 34)) * 0.01 for axis in (32, 33)]
    far = [rng.standard_normal(34) * 10 + rng.standard_normal((8, 34)) * 0.1 for _ in range(2)]
    out = {
        "cloud + 2 x 20 copies": np.vstack([bulk, *copies]),
        "cloud + 2 disconnected clusters": np.vstack([bulk, *apart]),
        "cloud + 2 far, weakly tied clusters": np.vstack([bulk, *far]),
    }
    sets = {name: projector.Dataset.from_arrays(data.astype(np.float32)) for name, data in out.items()}
    if REAL_TEXT.is_file():
        sets = {"real-text (MiniLM, 6,723 x 384)": projector.load(REAL_TEXT), **sets}
    return sets


def extent_ratio(coords: np.ndarray) -> float:
    distance = np.linalg.norm(coords - np.median(coords, axis=0), axis=1)
    return float(distance.max() / np.percentile(distance, 99))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--runner", action="append", choices=("projector", "umap-learn"), help="default: both")
    parser.add_argument("--output", default=str(HERE / "results" / "bench_extent.json"))
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    sets = datasets()
    import umap
    from projector.quality import projection_quality

    umap.UMAP(n_epochs=5).fit_transform(np.random.default_rng(0).standard_normal((300, 8)))  # numba compiles here, untimed
    rows = []
    print(f"{'data':36} {'runner':10} {'seed':>4} {'seconds':>8} {'max/p99':>8} {'trust':>6}  init / notes")
    for name, ds in sets.items():
        vectors = ds.vectors()
        for runner in args.runner or ("projector", "umap-learn"):
            for seed in args.seeds:
                t = time.perf_counter()
                if runner == "projector":
                    p = ds.project("umap", seed=seed, cache=False, quality=False)
                    coords, init, notes = p.coords, p.provenance.get("init") or "", [n for n in p.notes if "disconnected parts" in n]
                else:  # what a user would run instead: umap-learn's defaults
                    coords, init, notes = umap.UMAP(metric="cosine", random_state=seed).fit_transform(vectors), "umap-learn spectral", []
                seconds = time.perf_counter() - t
                trust = projection_quality(vectors, coords, metric="cosine").trustworthiness
                ratio = extent_ratio(coords)
                rows.append({"data": name, "runner": runner, "seed": seed, "seconds": seconds, "extent_ratio": ratio,
                             "trustworthiness": trust, "init": init, "gathered": notes})
                print(f"{name:36} {runner:10} {seed:>4} {seconds:8.1f} {ratio:8.2f} {trust:6.3f}  {init} {'; '.join(n[:60] for n in notes)}")
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(rows, indent=2))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
