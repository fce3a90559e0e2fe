"""Which clustering to run by default: candidates scored against known labels, and timed at scale.

For MNIST (10,000 digits) and the real-text fixture (6,723 MiniLM docstring embeddings, labels
= ``module``), a UMAP map is computed once per dataset (projector's cache is reused), then each
candidate clusters it: scikit-learn HDBSCAN on the 2-D map at fixed and size-relative
``min_cluster_size`` rules, fast_hdbscan on the map, and Leiden on the shared kNN graph in the
original space (UMAP's fuzzy weights). Each row reports the adjusted mutual information with the
labels (AMI, noise rows counted as one extra cluster, so dropping rows is not free), the number
of clusters, the share of rows in a cluster, and seconds.

Then the speed targets: a Gaussian mixture of 100k (and 1M unless ``--no-1m``) points, the 2-D
"map" given directly and a kNN graph (k=15) computed once, clustered by the candidates that
could be defaults, timed with labels and keywords. Run with 2 threads to match the target::

    OMP_NUM_THREADS=2 NUMBA_NUM_THREADS=2 python benchmarks/bench_clusters.py
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_reduce import _mnist, _real_text  # noqa: E402


def _ami(labels: np.ndarray, found: np.ndarray) -> float:
    from sklearn.metrics import adjusted_mutual_info_score

    return float(adjusted_mutual_info_score(labels, found))


def _sk_hdbscan(coords: np.ndarray, size: int) -> np.ndarray:
    from sklearn.cluster import HDBSCAN

    return HDBSCAN(min_cluster_size=size).fit_predict(coords)


def _fast_hdbscan(coords: np.ndarray, size: int) -> np.ndarray:
    import fast_hdbscan

    return fast_hdbscan.HDBSCAN(min_cluster_size=size).fit_predict(coords)


def _leiden(graph, kind: str, resolution: float = 1.0, min_size: int = 0) -> np.ndarray:
    import igraph
    import leidenalg

    from projector.reduce._fuzzy import fuzzy_graph

    fuzzy = fuzzy_graph(graph.indices, graph.distances, graph.k + 1)
    upper = fuzzy.row < fuzzy.col
    g = igraph.Graph(n=graph.n, edges=np.column_stack([fuzzy.row[upper], fuzzy.col[upper]]).tolist(), directed=False)
    partition_type = {"modularity": leidenalg.ModularityVertexPartition, "rb": leidenalg.RBConfigurationVertexPartition}[kind]
    extra = {"resolution_parameter": resolution} if kind == "rb" else {}
    part = leidenalg.find_partition(g, partition_type, weights=fuzzy.data[upper].tolist(), seed=0, **extra)
    labels = np.asarray(part.membership, dtype=np.int32)
    if min_size:
        counts = np.bincount(labels)
        labels = np.where(counts[labels] >= min_size, labels, -1)
    return labels


def _relative(n: int) -> int:
    return max(10, n // 200)


def _candidates(n: int) -> dict[str, Callable]:
    rel = _relative(n)
    return {
        "hdbscan mcs=10 (map)": lambda coords, graph: _sk_hdbscan(coords, 10),
        "hdbscan mcs=40 (map)": lambda coords, graph: _sk_hdbscan(coords, 40),
        f"hdbscan mcs=max(10,N/200)={rel} (map)": lambda coords, graph: _sk_hdbscan(coords, rel),
        f"hdbscan mcs=max(10,N/1000)={max(10, n // 1000)} (map)": lambda coords, graph: _sk_hdbscan(coords, max(10, n // 1000)),
        f"fast_hdbscan mcs={rel} (map)": lambda coords, graph: _fast_hdbscan(coords, rel),
        "leiden modularity (kNN graph)": lambda coords, graph: _leiden(graph, "modularity"),
        "leiden rb res=1 (kNN graph)": lambda coords, graph: _leiden(graph, "rb"),
        "leiden rb res=1, min size 10 (kNN graph)": lambda coords, graph: _leiden(graph, "rb", min_size=10),
        "projector default": lambda coords, graph: _projector(coords, graph),
    }


def _projector(coords: np.ndarray, graph) -> np.ndarray:
    from projector.clusters import ClusterParams, cluster_arrays

    return cluster_arrays(coords, graph, ClusterParams()).labels


def _score(name: str, fn: Callable, coords: np.ndarray, graph, labels: np.ndarray | None) -> dict:
    start = time.perf_counter()
    found = np.asarray(fn(coords, graph))
    seconds = time.perf_counter() - start
    row = {
        "candidate": name,
        "n": int(len(found)),
        "clusters": int(len(np.unique(found[found >= 0]))),
        "in_clusters": float(np.mean(found >= 0)),
        "seconds": round(seconds, 3),
    }
    if labels is not None:
        row["ami"] = round(_ami(labels, found), 3)
    return row


def _real(name: str, data: np.ndarray, labels: np.ndarray) -> list[dict]:
    import projector

    ds = projector.Dataset.from_arrays(data, name=name)
    graph = ds.graph(metric="cosine" if name == "real-text" else "l2", k=15)
    coords = ds.project("umap", metric=graph.metric, progress=None).coords[:, :2]
    rows = []
    for candidate, fn in _candidates(len(data)).items():
        row = {"dataset": name, **_score(candidate, fn, coords, graph, labels)}
        rows.append(row)
        _print(row)
    return rows


def _synthetic(n: int, leiden: bool) -> list[dict]:
    from projector.neighbors import knn_graph

    rng = np.random.default_rng(0)
    centres = rng.normal(scale=10.0, size=(50, 2)).astype(np.float32)
    which = rng.integers(0, 50, size=n)
    coords = (centres[which] + rng.normal(size=(n, 2))).astype(np.float32)
    start = time.perf_counter()
    graph = knn_graph(coords, 15, "l2")
    print(f"synthetic {n:,}: kNN graph {time.perf_counter() - start:.1f} s (not counted)")
    rel = _relative(n)
    candidates: dict[str, Callable] = {"projector default": _projector}
    if n <= 100_000:  # at 1M fast_hdbscan was killed for memory (23 GB machine) and sklearn's takes minutes
        candidates[f"fast_hdbscan mcs={rel} (map)"] = lambda c, g: _fast_hdbscan(c, rel)
        candidates[f"hdbscan mcs={rel} (map)"] = lambda c, g: _sk_hdbscan(c, rel)
    if leiden:
        candidates["leiden rb res=1 (kNN graph)"] = lambda c, g: _leiden(g, "rb")
    rows = []
    for candidate, fn in candidates.items():
        row = {"dataset": f"synthetic {n // 1000}k", **_score(candidate, fn, coords, graph, which)}
        rows.append(row)
        _print(row)
    rows.append(_labels_timing(n, coords, graph))
    _print(rows[-1])
    return rows


def _labels_timing(n: int, coords: np.ndarray, graph) -> dict:
    """Clusters + keyword labels + placed map labels, end to end, as ``projector`` runs them."""
    from projector.clusters import ClusterParams, cluster_arrays
    from projector.explore.labels import map_labels
    from projector.keywords import keyword_labels

    rng = np.random.default_rng(1)
    words = np.array(["alpha", "beta", "gamma", "delta", "matrix", "array", "frame", "plot", "fit", "model"])
    texts = [" ".join(row) for row in words[rng.integers(0, len(words), size=(n, 6))].tolist()]
    start = time.perf_counter()
    found = cluster_arrays(coords, graph, ClusterParams())
    names = keyword_labels(found.labels, texts)
    map_labels(coords, found, names)
    seconds = time.perf_counter() - start
    return {"dataset": f"synthetic {n // 1000}k", "candidate": "default + keywords + placement", "n": n,
            "clusters": int(found.labels.max() + 1), "in_clusters": float(np.mean(found.labels >= 0)), "seconds": round(seconds, 3)}


def _print(row: dict) -> None:
    ami = f"{row['ami']:.3f}" if "ami" in row else "  -  "
    print(f"{row['dataset']:<14} {row['candidate']:<44} AMI {ami}  clusters {row['clusters']:>4}  in clusters {row['in_clusters']:.0%}  {row['seconds']:.2f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-1m", action="store_true", help="skip the 1M synthetic run")
    parser.add_argument("--no-real", action="store_true", help="skip MNIST and real-text")
    parser.add_argument("--json", type=Path, default=Path(__file__).parent / "results" / "bench_clusters.json")
    args = parser.parse_args()
    rows: list[dict] = []
    if not args.no_real:
        data, labels = _mnist()
        rows += _real("mnist", data, labels)
        data, labels = _real_text()
        rows += _real("real-text", data, labels)
    rows += _synthetic(100_000, leiden=True)
    if not args.no_1m:
        rows += _synthetic(1_000_000, leiden=False)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"cpu_count": os.cpu_count(), "rows": rows}, indent=2))
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
