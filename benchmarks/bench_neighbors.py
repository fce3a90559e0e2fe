"""All-points kNN graph: FAISS exact, exact-within-clusters (knn_graph's approximate path) and
HNSW, as projector.neighbors builds them, against pynndescent (what umap-learn uses), on a
synthetic Gaussian mixture, cosine metric. On a CUDA machine, ``cuda-exact`` is knn_graph on
the GPU (exact at any size); with it in ``--methods`` it is the reference instead of FAISS exact.

Each measurement runs in a fresh Python process; imports happen before the clock starts, and
pynndescent first runs once on 500 points so that numba's compilation is reported apart
(``jit_s``) rather than inside its time. Recall is the share of each point's exact k nearest
neighbours (the point itself left out) that a method found, over all points. Prints a table and
writes JSON.

    python benchmarks/bench_neighbors.py                                  # 10k and 100k x 128 / 768
    python benchmarks/bench_neighbors.py --sizes 10000x128,10000x768      # quicker
    python benchmarks/bench_neighbors.py --sizes 1000000x128 --methods cuda-exact,faiss-clustered   # a GPU

The data: 50 clusters whose centres are drawn from N(0, 4 I) and points scattered around them by
N(0, I), in D dimensions (isotropic clusters: the hard case for approximate search).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

METHODS = ("faiss-exact", "faiss-clustered", "faiss-hnsw", "pynndescent", "cuda-exact")

_CHILD = r"""
import json, sys, time
import numpy as np

method, data_path, out_path, k = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
x = np.load(data_path)
n = len(x)
extra = {}
if method == "cuda-exact":
    import torch
    from projector.neighbors import knn_graph
    torch.zeros(1, device="cuda")  # CUDA's start-up, outside the clock like the imports
    start = time.perf_counter()
    graph = knn_graph(x, k, "cosine", device="cuda")
    seconds = time.perf_counter() - start
    indices = graph.indices
    extra = {"backend": graph.backend, "torch": torch.__version__}
elif method.startswith("faiss"):
    import faiss
    from projector.neighbors import _knn_graph
    start = time.perf_counter()
    graph = _knn_graph(
        x, k, "cosine", exact=method == "faiss-exact", device="cpu", progress=None, seed=0, backend="auto",
        approximate="hnsw" if method == "faiss-hnsw" else "clustered",
    )
    seconds = time.perf_counter() - start
    indices = graph.indices
    extra = {"reported_recall": graph.recall, "backend": graph.backend, "faiss": faiss.__version__}
    if method == "faiss-hnsw":
        from projector import neighbors
        extra.update(M=neighbors.HNSW_M, ef_construction=neighbors.HNSW_EF_CONSTRUCTION)
else:
    import pynndescent

    def run(data):
        # umap-learn's settings (umap_.nearest_neighbors); n_neighbors counts the point itself
        m = len(data)
        index = pynndescent.NNDescent(
            data, n_neighbors=k + 1, metric="cosine", random_state=None, low_memory=True, n_jobs=-1,
            n_trees=min(64, 5 + int(round(m ** 0.5 / 20.0))), n_iters=max(5, int(round(np.log2(m)))),
            max_candidates=60, compressed=False,
        )
        return index.neighbor_graph[0]

    start = time.perf_counter()
    run(np.random.default_rng(1).standard_normal((500, x.shape[1])).astype(np.float32))
    extra = {"jit_s": time.perf_counter() - start, "pynndescent": pynndescent.__version__}
    start = time.perf_counter()
    found = run(x).astype(np.int64)
    seconds = time.perf_counter() - start
    rows = np.arange(n)[:, None]
    hits = found == rows  # leave each point out wherever it sits, else drop the farthest
    position = np.where(hits.any(axis=1), hits.argmax(axis=1), k)
    keep = np.ones(found.shape, dtype=bool)
    keep[np.arange(n), position] = False
    indices = found[keep].reshape(n, k)
np.save(out_path, indices)
print(json.dumps({"seconds": seconds, **extra}))
"""


def mixture(n: int, d: int, *, clusters: int = 50, seed: int = 0) -> np.ndarray:
    """``n`` points in ``d`` dimensions from an isotropic Gaussian mixture, float32."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, d), dtype=np.float32) * 2
    labels = rng.integers(0, clusters, n)
    points = rng.standard_normal((n, d), dtype=np.float32)
    points += centres[labels]
    return points


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean share of each row's true neighbours present in ``found``'s row."""
    k = truth.shape[1]
    hits = 0
    for start in range(0, len(truth), 10_000):
        t, f = truth[start:start + 10_000], found[start:start + 10_000]
        hits += int((f[:, :, None] == t[:, None, :]).any(axis=2).sum())
    return hits / truth.size if k else 1.0


def measure(method: str, data: Path, folder: Path, k: int) -> tuple[dict, np.ndarray]:
    out = folder / f"{method}.npy"
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, method, str(data), str(out), str(k)],
        capture_output=True, text=True, env=env,
    )
    if done.returncode:
        raise RuntimeError(f"{method} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1]), np.load(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000x128,10000x768,100000x128,100000x768",
                        help="comma-separated NxD (default: %(default)s)")
    parser.add_argument("--k", type=int, default=15)
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated, from " + ", ".join(METHODS))
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "bench_neighbors.json"))
    args = parser.parse_args(argv)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        parser.error(f"--methods: unknown {', '.join(unknown)}; choose from {', '.join(METHODS)}")
    reference = "cuda-exact" if "cuda-exact" in methods else "faiss-exact"
    methods = [reference] + [m for m in methods if m != reference]  # recall is measured against it
    sizes = []
    for item in args.sizes.split(","):
        try:
            n, d = (int(v) for v in item.lower().split("x"))
        except ValueError:
            parser.error(f"--sizes: {item!r} is not NxD, e.g. 100000x768")
        sizes.append((n, d))

    rows = []
    print(f"{'N':>8} {'D':>5} {'method':<16} {'seconds':>9} {'recall':>7}  notes", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for n, d in sizes:
            data = folder / "data.npy"
            np.save(data, mixture(n, d))
            truth = None
            for method in methods:
                result, indices = measure(method, data, folder, args.k)
                if method == reference:
                    truth = indices
                device = "cuda" if method == "cuda-exact" else "cpu"
                result.update(n=n, d=d, k=args.k, method=method, device=device, recall=recall(indices, truth))
                rows.append(result)
                notes = ", ".join(
                    f"{key}={value:.3f}" if isinstance(value, float) else f"{key}={value}"
                    for key, value in result.items()
                    if key in ("reported_recall", "backend", "jit_s", "M", "ef_construction") and value is not None
                )
                print(f"{n:>8} {d:>5} {method:<16} {result['seconds']:>9.2f} {result['recall']:>7.4f}  {notes}", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"cpus": os.cpu_count(), "machine": platform.machine(), "python": platform.python_version(),
            "metric": "cosine", "data": "isotropic Gaussian mixture, 50 clusters", "reference": reference,
            "date": time.strftime("%Y-%m-%d")}
    out.write_text(json.dumps({"meta": meta, "results": rows}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
