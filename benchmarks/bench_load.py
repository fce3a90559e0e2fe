"""Loading speed and memory: projector.load against pyarrow on the same files.

Each measurement runs in a fresh Python process (imports done before the clock starts), and
reports wall time and the peak resident memory the load added. Prints a table and writes JSON.

    python benchmarks/bench_load.py                     # 1,000,000 x 768 float32 (3 GB of vectors)
    python benchmarks/bench_load.py --rows 100000       # quicker
    python benchmarks/bench_load.py --only hf-images    # a saved HF dataset of 20,000 images

``--only hf-images`` writes a Hugging Face ``save_to_disk`` folder (an ``Image()`` column of
small random PNGs, a 384-d embedding, a ClassLabel) and measures the memory that
``projector.load`` and the start of ``projector serve`` add, against the size of its Arrow
files: the images should stay in the memory map, untouched.
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

# read by both children: kB figures from /proc; VmHWM is the process's own peak (ru_maxrss
# would carry the parent's peak over fork+exec)
_STATUS = r"""
def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(key)
"""

_CHILD = r"""
import gc, json, os, sys, time
import numpy as np, pyarrow as pa, pyarrow.parquet as pq
import projector, projector.dataset, projector.loaders.tabular
try:
    import projector.loaders.numpy_files
except ImportError:
    pass

{status}
kind, path = sys.argv[1], sys.argv[2]
gc.collect()
base = status("VmRSS")
anon_base = status("RssAnon")
start = time.perf_counter()
if kind == "pyarrow.parquet.read_table":
    result = pq.read_table(path)
elif kind == "pyarrow.ipc (memory-mapped)":
    result = pa.ipc.open_file(pa.memory_map(path)).read_all()
elif kind == "numpy.load (mmap)":
    result = np.load(path, mmap_mode="r")
else:
    result = projector.load(path).vectors()
seconds = time.perf_counter() - start
peak = status("VmHWM")
anon = status("RssAnon") - anon_base
print(json.dumps({"seconds": seconds, "peak_added_bytes": max(peak - base, 0), "anon_added_bytes": max(anon, 0)}))
"""


_HF_CHILD = r"""
import gc, json, os, sys, time
os.environ["HF_DATASETS_OFFLINE"] = "1"
import pyarrow as pa
import projector, projector.dataset, projector.loaders.hf_disk
import projector.app, projector.explore.store, projector.app.server, projector.reduce.pca

{status}
kind, path = sys.argv[1], sys.argv[2]
gc.collect()
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # VmHWM restarts from the current RSS: the imports' peak does not count
base, anon_base, file_base = status("VmRSS"), status("RssAnon"), status("RssFile")
start = time.perf_counter()
if kind == "pyarrow.ipc (memory-mapped)":
    files = json.load(open(os.path.join(path, "state.json")))["_data_files"]
    result = pa.concat_tables(
        [pa.ipc.open_stream(pa.memory_map(os.path.join(path, f["filename"]))).read_all() for f in files]
    )
elif kind == "projector.load":
    result = projector.load(path)
else:  # what `projector serve` does before it prints its address (no cache, no background map)
    result = projector.app.open_sources([path], {}, method="none", compute={"cache": False}, report=lambda line: None)
    assert not isinstance(result[0], projector.app.server.Failed), result[0]
seconds = time.perf_counter() - start
print(json.dumps({
    "seconds": seconds,
    "peak_added_bytes": max(status("VmHWM") - base, 0),
    "anon_added_bytes": max(status("RssAnon") - anon_base, 0),
    "file_added_bytes": max(status("RssFile") - file_base, 0),
}))
"""


def _measure(kind: str, path: Path) -> dict:
    child = (_HF_CHILD if path.is_dir() else _CHILD).replace("{status}", _STATUS)
    out = subprocess.run([sys.executable, "-c", child, kind, str(path)], capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _write_files(folder: Path, rows: int, dim: int) -> dict[str, Path]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from projector._vectors import matrix_to_column

    rng = np.random.default_rng(0)
    matrix = np.empty((rows, dim), dtype=np.float32)
    for start in range(0, rows, 100_000):
        stop = min(rows, start + 100_000)
        matrix[start:stop] = rng.standard_normal((stop - start, dim), dtype=np.float32)
    labels = pa.array((np.arange(rows) % 10).astype(str))
    fixed = pa.table({"id": np.arange(rows), "embedding": matrix_to_column(matrix), "label": labels})
    paths = {"parquet": folder / "fixed.parquet", "parquet-list": folder / "list.parquet"}
    pq.write_table(fixed, paths["parquet"])
    listed = fixed.set_column(1, "embedding", fixed.column("embedding").cast(pa.list_(pa.float32())))
    pq.write_table(listed.replace_schema_metadata(None), paths["parquet-list"], store_schema=False)
    del listed
    paths["arrow"] = folder / "d.arrow"
    with pa.OSFile(str(paths["arrow"]), "wb") as sink, pa.ipc.new_file(sink, fixed.schema) as writer:
        writer.write_table(fixed)
    paths["npy"] = folder / "d.npy"
    np.save(paths["npy"], matrix)
    return paths


def _write_hf_images(folder: Path, rows: int, dim: int) -> int:
    """A saved HF dataset of ``rows`` random PNGs (5-30 KB each); returns its Arrow files' bytes."""
    import io

    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    import datasets
    from PIL import Image

    rng = np.random.default_rng(0)
    distinct = []
    for _ in range(500):  # noise compresses to nothing: a PNG of side s is about 3 s^2 bytes
        side = int(rng.integers(40, 100))
        buffer = io.BytesIO()
        Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)).save(buffer, format="PNG")
        distinct.append(buffer.getvalue())
    features = datasets.Features(
        {
            "image": datasets.Image(),
            "embedding": datasets.Sequence(datasets.Value("float32"), length=dim),
            "label": datasets.ClassLabel(names=[f"class {i}" for i in range(10)]),
        }
    )
    parts = []
    for start in range(0, rows, 5_000):  # the embedding as lists of floats costs ~40x its size
        stop = min(rows, start + 5_000)
        parts.append(
            datasets.Dataset.from_dict(
                {
                    "image": [{"bytes": distinct[i % len(distinct)], "path": None} for i in range(start, stop)],
                    "embedding": rng.standard_normal((stop - start, dim), dtype=np.float32),
                    "label": [i % 10 for i in range(start, stop)],
                },
                features=features,
            )
        )
    datasets.concatenate_datasets(parts).save_to_disk(str(folder), max_shard_size="100MB")
    return sum(p.stat().st_size for p in folder.glob("*.arrow"))


def _hf_images(args: argparse.Namespace) -> None:
    plan = ["pyarrow.ipc (memory-mapped)", "projector.load", "projector serve start"]
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        folder = Path(tmp) / "hf"
        started = time.perf_counter()
        arrow = _write_hf_images(folder, args.images, 384)
        shards = len(list(folder.glob("*.arrow")))
        print(f"wrote {args.images:,} images + 384-d embeddings: {arrow / 1e6:.0f} MB in {shards} Arrow files, {time.perf_counter() - started:.0f} s\n")
        results = []
        for kind in plan:
            runs = [_measure(kind, folder) for _ in range(args.repeat)]
            row = {"reader": kind, "seconds": min(r["seconds"] for r in runs)}
            for key in ("peak_added_bytes", "anon_added_bytes", "file_added_bytes"):
                row[key] = max(r[key] for r in runs)
            row["peak_over_arrow"] = row["peak_added_bytes"] / arrow
            results.append(row)
    header = f"{'reader':<30}{'seconds':>9}{'peak MB':>10}{'peak/arrow':>12}{'anon MB':>10}{'file MB':>10}"
    print(header)
    print("-" * len(header))
    for row in results:
        print(
            f"{row['reader']:<30}{row['seconds']:>9.2f}{row['peak_added_bytes'] / 1e6:>10.0f}"
            f"{row['peak_over_arrow']:>12.2f}{row['anon_added_bytes'] / 1e6:>10.0f}{row['file_added_bytes'] / 1e6:>10.0f}"
        )
    print(
        "\npeak: the most resident memory added (VmHWM over the RSS after imports), mapped file pages "
        "included; anon / file: anonymous memory and mapped file pages still resident at the end"
    )
    path = args.json
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"images": args.images, "arrow_bytes": arrow, "shards": shards, "cpu_count": os.cpu_count(),
                "python": sys.version.split()[0], "results": results}
    path.write_text(json.dumps(document, indent=2))
    print(f"\nwrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best time is kept")
    parser.add_argument("--dir", type=Path, default=None, help="where to write the test files (default: a temp dir)")
    parser.add_argument("--only", default=None, help="measure only formats starting with this (parquet, arrow, npy), or hf-images (a saved HF image dataset)")
    parser.add_argument("--json", type=Path, default=None, help="default: results/bench_load.json (bench_load_hf_images.json)")
    parser.add_argument("--images", type=int, default=20_000, help="rows of the hf-images dataset")
    args = parser.parse_args()
    results_dir = Path(__file__).parent / "results"
    if args.only == "hf-images":
        args.json = args.json or results_dir / "bench_load_hf_images.json"
        _hf_images(args)
        return
    args.json = args.json or results_dir / "bench_load.json"

    raw = args.rows * args.dim * 4
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        started = time.perf_counter()
        paths = _write_files(Path(tmp), args.rows, args.dim)
        print(f"wrote {args.rows:,} x {args.dim} float32 ({raw / 1e9:.2f} GB of vectors) in {time.perf_counter() - started:.0f} s\n")
        plan = [
            ("parquet fixed_size_list", paths["parquet"], "pyarrow.parquet.read_table"),
            ("parquet fixed_size_list", paths["parquet"], "projector.load"),
            ("parquet list<float>", paths["parquet-list"], "pyarrow.parquet.read_table"),
            ("parquet list<float>", paths["parquet-list"], "projector.load"),
            ("arrow ipc", paths["arrow"], "pyarrow.ipc (memory-mapped)"),
            ("arrow ipc", paths["arrow"], "projector.load"),
            ("npy", paths["npy"], "numpy.load (mmap)"),
            ("npy", paths["npy"], "projector.load"),
        ]
        if args.only:
            plan = [p for p in plan if p[0].startswith(args.only)]
        results = []
        for fmt, path, kind in plan:
            runs = [_measure(kind, path) for _ in range(args.repeat)]
            best = min(runs, key=lambda r: r["seconds"])
            peak = max(r["peak_added_bytes"] for r in runs)
            anon = max(r["anon_added_bytes"] for r in runs)
            results.append(
                {
                    "format": fmt,
                    "reader": kind,
                    "seconds": best["seconds"],
                    "peak_added_bytes": peak,
                    "peak_over_raw": peak / raw,
                    "heap_added_bytes": anon,
                }
            )

    for row in results:
        baseline = next(r for r in results if r["format"] == row["format"] and r["reader"] != "projector.load")
        row["time_vs_baseline"] = row["seconds"] / baseline["seconds"] if baseline["seconds"] > 0 else None
    header = f"{'format':<26}{'reader':<30}{'seconds':>9}{'vs base':>9}{'peak MB':>10}{'peak/raw':>10}{'heap MB':>10}"
    print(header)
    print("-" * len(header))
    for row in results:
        ratio = f"{row['time_vs_baseline']:.2f}x" if row["reader"] == "projector.load" else ""
        print(
            f"{row['format']:<26}{row['reader']:<30}{row['seconds']:>9.3f}{ratio:>9}"
            f"{row['peak_added_bytes'] / 1e6:>10.0f}{row['peak_over_raw']:>10.2f}{row['heap_added_bytes'] / 1e6:>10.0f}"
        )
    print(
        "\npeak: the most resident memory the load added, memory-mapped file pages included; "
        "heap: anonymous memory still held after it (what a copy would cost)"
    )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "rows": args.rows,
        "dim": args.dim,
        "raw_bytes": raw,
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "results": results,
    }
    args.json.write_text(json.dumps(document, indent=2))
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
