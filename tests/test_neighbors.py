"""kNN graphs and neighbour queries: exact equals brute force, approximate keeps its recall,
no point is its own neighbour, no -1 ever, progress reports and cancels."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import numpy as np
import pytest

from projector import neighbors
from projector.errors import ProjectorError, ProjectorWarning, VectorError
from projector.neighbors import KnnGraph, NeighborIndex, _knn_graph, _torch_knn, knn_graph
from projector.progress import Cancelled

METRICS = ("cosine", "l2", "ip")


def _mixture(n: int, d: int, clusters: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, d)).astype(np.float32) * 3
    return (centres[rng.integers(0, clusters, n)] + rng.standard_normal((n, d))).astype(np.float32)


def _reference(x: np.ndarray, k: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Brute force in float64 numpy: (indices, distances), each row's own point left out."""
    x = x.astype(np.float64)
    if metric == "cosine":
        unit = x / np.linalg.norm(x, axis=1, keepdims=True)
        dist = 1.0 - unit @ unit.T
    elif metric == "l2":
        dist = np.sqrt(np.maximum(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1), 0))
    else:
        dist = -(x @ x.T)
    np.fill_diagonal(dist, np.inf)
    order = np.argsort(dist, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(dist, order, axis=1)


def _true_recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float((found[:, :, None] == truth[:, None, :]).any(axis=2).mean())


def _assert_well_formed(graph: KnnGraph, n: int, k: int) -> None:
    assert graph.indices.shape == (n, k) and graph.indices.dtype == np.int64
    assert graph.distances.shape == (n, k) and graph.distances.dtype == np.float32
    assert (graph.indices >= 0).all() and (graph.indices < n).all()
    assert not (graph.indices == np.arange(n)[:, None]).any()
    assert all(len(set(row)) == k for row in graph.indices.tolist())
    assert (np.diff(graph.distances, axis=1) >= -1e-5).all()
    assert np.isfinite(graph.distances).all()


@pytest.mark.parametrize("metric", METRICS)
def test_exact_graph_equals_brute_force(metric, rng):
    x = rng.standard_normal((300, 12)).astype(np.float32)
    graph = knn_graph(x, 7, metric)
    ref_idx, ref_dist = _reference(x, 7, metric)
    assert graph.exact and graph.recall is None and graph.metric == metric and graph.k == 7
    np.testing.assert_array_equal(graph.indices, ref_idx)
    np.testing.assert_allclose(graph.distances, ref_dist, rtol=1e-4, atol=1e-4)
    _assert_well_formed(graph, 300, 7)


@pytest.mark.parametrize("metric", METRICS)
def test_torch_brute_force_matches_faiss_on_cpu(metric, rng):
    x = rng.standard_normal((400, 24)).astype(np.float32)
    by_faiss = knn_graph(x, 10, metric, exact=True, device="cpu")
    by_torch = _torch_knn(x, 10, metric, device="cpu")
    assert by_torch.backend == "torch" and by_faiss.backend == "faiss-flat"
    assert [set(r) for r in by_torch.indices.tolist()] == [set(r) for r in by_faiss.indices.tolist()]
    np.testing.assert_allclose(by_torch.distances, by_faiss.distances, rtol=1e-4, atol=1e-4)
    # the torch index also answers queries like the FAISS one
    queries = rng.standard_normal((5, 24)).astype(np.float32)
    d_torch, i_torch = NeighborIndex(x, metric, backend="torch", device="cpu").search(queries, 6)
    d_faiss, i_faiss = NeighborIndex(x, metric, device="cpu").search(queries, 6)
    np.testing.assert_array_equal(i_torch, i_faiss)
    np.testing.assert_allclose(d_torch, d_faiss, rtol=1e-4, atol=1e-4)


def test_approximate_graph_keeps_its_recall_on_clustered_data():
    x = _mixture(6000, 32, clusters=30)
    exact = knn_graph(x, 15, exact=True)
    approx = knn_graph(x, 15, exact=False)
    assert not approx.exact and approx.backend == "faiss-clustered"
    assert approx.recall is not None and approx.recall >= 0.95
    assert _true_recall(approx.indices, exact.indices) >= 0.95
    _assert_well_formed(approx, 6000, 15)
    assert "recall" in repr(approx)


def test_unclustered_data_gets_the_exact_graph(rng):
    x = rng.standard_normal((3000, 64)).astype(np.float32)  # one round blob: nothing to split
    graph = knn_graph(x, 10, exact=False)
    assert graph.exact and graph.recall is None
    np.testing.assert_array_equal(graph.indices, knn_graph(x, 10, exact=True).indices)


def test_size_decides_when_not_told(monkeypatch):
    x = _mixture(2000, 32, clusters=10)
    assert knn_graph(x, 5).exact
    monkeypatch.setattr(neighbors.graph, "EXACT_MAX_ROWS", 1000)
    assert not knn_graph(x, 5).exact


@pytest.mark.parametrize("metric", ["cosine", "l2"])
def test_few_dimensions_get_the_exact_graph_from_a_kd_tree(metric, monkeypatch):
    x = _mixture(1500, 4, clusters=5)
    monkeypatch.setattr(neighbors.graph, "EXACT_MAX_ROWS", 1000)
    graph = knn_graph(x, 7, metric)
    assert graph.backend == "kdtree" and graph.exact
    truth = _knn_graph(x, 7, metric, exact=True, device="cpu", progress=None, seed=0, backend="faiss")
    np.testing.assert_array_equal(np.sort(graph.indices, axis=1), np.sort(truth.indices, axis=1))
    np.testing.assert_allclose(graph.distances, truth.distances, atol=1e-5)
    assert not (graph.indices == np.arange(1500)[:, None]).any()


@pytest.mark.parametrize("metric", METRICS)
def test_hnsw_graph_and_index(metric):
    x = _mixture(3000, 16, clusters=20)
    graph = _knn_graph(x, 10, metric, exact=False, device="cpu", progress=None, seed=0, backend="auto", approximate="hnsw")
    truth = knn_graph(x, 10, metric, exact=True)
    assert graph.backend == "faiss-hnsw" and graph.recall >= 0.95
    assert _true_recall(graph.indices, truth.indices) >= 0.95
    _assert_well_formed(graph, 3000, 10)
    index = NeighborIndex(x, metric, exact=False)
    distances, found = index.search(x[:50] + 0.01, 10)
    expected_d, expected = NeighborIndex(x, metric).search(x[:50] + 0.01, 10)
    assert _true_recall(found, expected) >= 0.95
    assert "HNSW" in repr(index)


@pytest.mark.parametrize("how", ["exact", "clustered", "hnsw"])
def test_duplicates_never_list_the_point_itself(how, rng):
    base = rng.standard_normal((120, 8)).astype(np.float32)
    x = np.repeat(base, 4, axis=0)  # every vector four times
    if how == "hnsw":
        graph = _knn_graph(x, 6, "l2", exact=False, device="cpu", progress=None, seed=0, backend="auto", approximate="hnsw")
    else:
        graph = knn_graph(x, 6, "l2", exact=how == "exact")
    _assert_well_formed(graph, 480, 6)
    # each point's three copies come first, at distance 0 (HNSW can strand a duplicate: most rows)
    groups = np.arange(480) // 4
    right = (groups[graph.indices[:, :3]] == groups[:, None]).all(axis=1)
    assert right.all() if how != "hnsw" else right.mean() >= 0.95
    np.testing.assert_allclose(graph.distances[right, :3], 0, atol=1e-3)


def test_all_identical_points(rng):
    x = np.ones((40, 5), dtype=np.float32)
    for exact in (True, False):
        graph = knn_graph(x, 10, exact=exact)
        _assert_well_formed(graph, 40, 10)
        np.testing.assert_allclose(graph.distances, 0, atol=1e-5)


def test_tiny_data_clamps_k_and_never_returns_minus_one(rng):
    x = rng.standard_normal((4, 3)).astype(np.float32)
    with pytest.warns(ProjectorWarning, match=r"k=10 .* using k=3"):
        graph = knn_graph(x, 10)
    _assert_well_formed(graph, 4, 3)
    for approximate in ("clustered", "hnsw"):
        with pytest.warns(ProjectorWarning, match="using k=3"):
            tiny = _knn_graph(
                x, 8, "cosine", exact=False, device="cpu", progress=None, seed=0, backend="auto", approximate=approximate
            )
        _assert_well_formed(tiny, 4, 3)
    two = knn_graph(x[:2], 1)
    assert two.indices.tolist() == [[1], [0]]


def test_bad_arguments_say_what_to_do(rng):
    x = rng.standard_normal((10, 3)).astype(np.float32)
    with pytest.raises(ProjectorError, match="at least 2 points"):
        knn_graph(x[:1], 3)
    with pytest.raises(ProjectorError, match=r"metric='cos' must be one of"):
        knn_graph(x, 3, "cos")
    with pytest.raises(ProjectorError, match=r"k=0 must be a whole number >= 1"):
        knn_graph(x, 0)
    with pytest.raises(ProjectorError, match=r"exact='yes'"):
        knn_graph(x, 3, exact="yes")
    with pytest.raises(VectorError, match=r"shape \(10,\)"):
        knn_graph(x[:, 0], 3)
    bad = x.copy()
    bad[4, 1] = np.nan
    with pytest.raises(VectorError, match="row 4"):
        knn_graph(bad, 3)
    with pytest.raises(ProjectorError, match="device='gpu'"):
        knn_graph(x, 3, device="gpu")


def test_with_self_prepends_each_point(rng):
    graph = knn_graph(rng.standard_normal((50, 4)).astype(np.float32), 5)
    indices, distances = graph.with_self()
    assert indices.shape == (50, 6) and distances.shape == (50, 6)
    np.testing.assert_array_equal(indices[:, 0], np.arange(50))
    np.testing.assert_array_equal(indices[:, 1:], graph.indices)
    assert (distances[:, 0] == 0).all() and distances.dtype == np.float32


def test_graph_arrays_are_read_only(rng):
    graph = knn_graph(rng.standard_normal((30, 4)).astype(np.float32), 3)
    with pytest.raises(ValueError):
        graph.indices[0, 0] = 1


def test_callers_array_is_never_modified():
    x = _mixture(500, 8, clusters=5)
    x.flags.writeable = False  # like a dataset's Arrow-backed view
    before = x.copy()
    for metric in METRICS:
        knn_graph(x, 5, metric)
        knn_graph(x, 5, metric, exact=False)
        NeighborIndex(x, metric, exact=False).search(x[:3], 4)
    np.testing.assert_array_equal(x, before)


def test_zero_vectors_under_cosine(rng):
    x = rng.standard_normal((30, 4)).astype(np.float32)
    x[[3, 7]] = 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        graph = knn_graph(x, 29)
    zero_warnings = [w for w in caught if "all zeros" in str(w.message)]
    assert len(zero_warnings) == 1 and "2 of the vectors" in str(zero_warnings[0].message)
    assert np.isfinite(graph.distances).all()
    np.testing.assert_allclose(graph.distances[3], 1.0, atol=1e-6)
    where = graph.indices[0] == 3
    np.testing.assert_allclose(graph.distances[0][where], 1.0, atol=1e-6)


def test_progress_reports_batches_and_cancels(monkeypatch):
    monkeypatch.setattr(neighbors.graph, "_SEARCH_ROWS", 100)
    x = _mixture(1000, 8, clusters=4)
    events = []
    knn_graph(x, 5, progress=events.append)
    search = [e for e in events if e.stage == "knn search"]
    assert [e.done for e in search] == list(range(0, 1001, 100))
    assert all(e.total == 1000 for e in search)

    seen = []

    def stop_after_first_batch(event):
        seen.append(event)
        return event.stage == "knn search" and event.done > 0

    with pytest.raises(Cancelled, match="knn search"):
        knn_graph(x, 5, progress=stop_after_first_batch)
    assert seen[-1].done == 100

    approximate = []
    knn_graph(x, 5, exact=False, progress=approximate.append)
    assert {e.stage for e in approximate} == {"knn index", "knn search"}
    assert approximate[-1].done == approximate[-1].total == 1000
    with pytest.raises(Cancelled):
        knn_graph(x, 5, exact=False, progress=lambda e: e.stage == "knn index")


def test_index_search_and_row_queries(rng):
    x = rng.standard_normal((200, 6)).astype(np.float32)
    index = NeighborIndex(x, "l2")
    ref_idx, ref_dist = _reference(x, 4, "l2")
    rows, distances = index.neighbors([5, 9], 4)
    np.testing.assert_array_equal(rows, ref_idx[[5, 9]])
    np.testing.assert_allclose(distances, ref_dist[[5, 9]], rtol=1e-4, atol=1e-4)
    rows, distances = index.neighbors(5, 3, exclude_self=False)
    assert rows[0, 0] == 5 and distances[0, 0] == pytest.approx(0, abs=1e-3)
    d, i = index.search(x[5], 2, exclude=[5])
    np.testing.assert_array_equal(i[0], ref_idx[5, :2])
    with pytest.warns(ProjectorWarning, match="using k=200"):
        d, i = index.search(x[:2], 500)
    assert i.shape == (2, 200) and (i >= 0).all()
    with pytest.raises(VectorError, match="6-dimensional"):
        index.search(np.zeros((2, 5), np.float32), 3)
    with pytest.raises(ProjectorError, match="row 200 is out of range"):
        index.neighbors([1, 200], 3)
    with pytest.raises(ProjectorError, match="query"):
        index.neighbors(["a"], 3)


def test_dataset_neighbors_by_row_and_vector(rng, monkeypatch):
    import projector

    x = rng.standard_normal((60, 8)).astype(np.float32)
    ids = [f"doc-{i}" for i in range(60)]
    ds = projector.Dataset.from_arrays(x, {"id": ids}, id="id")
    truth = knn_graph(x, 5)

    found, distances = ds.neighbors(7, 5)
    assert found.shape == (1, 5) and distances.shape == (1, 5)
    assert found.tolist() == [[ids[j] for j in truth.indices[7]]]
    np.testing.assert_allclose(distances[0], truth.distances[7], rtol=1e-5, atol=1e-6)

    found, _ = ds.neighbors([1, 2, 3], 5)
    assert found.tolist() == [[ids[j] for j in truth.indices[r]] for r in (1, 2, 3)]

    found, distances = ds.neighbors(x[7], 3)  # a vector is not excluded: it finds its own row
    assert found[0, 0] == "doc-7" and distances[0, 0] == pytest.approx(0, abs=1e-5)
    found, _ = ds.neighbors(x[[7, 8]].astype(np.float64), 2)
    assert found[:, 0].tolist() == ["doc-7", "doc-8"]

    with pytest.warns(ProjectorWarning, match="using k=59"):
        found, _ = ds.neighbors(0, 100)
    assert found.shape == (1, 59) and "doc-0" not in found[0].tolist()
    with pytest.warns(ProjectorWarning, match="using k=60"):
        found, _ = ds.neighbors(x[0], 100)
    assert found.shape == (1, 60)


def test_dataset_neighbors_builds_its_index_once(rng, monkeypatch):
    import projector

    builds = []

    class Counting(NeighborIndex):
        def __init__(self, *args, **kwargs):
            builds.append(kwargs.get("metric", args[1] if len(args) > 1 else "cosine"))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(neighbors, "NeighborIndex", Counting)
    ds = projector.Dataset.from_arrays(rng.standard_normal((40, 4)).astype(np.float32))
    numeric_ids = ds.neighbors(0, 3)[0]
    assert numeric_ids.dtype.kind == "i"  # generated row ids come back as numbers
    ds.neighbors([1, 2], 3)
    ds.neighbors(np.ones(4), 2)
    assert builds == ["cosine"]
    ds.neighbors(0, 3, metric="l2")
    ds.neighbors(5, 3, metric="l2")
    assert builds == ["cosine", "l2"]
    assert set(ds._derived.indexes()) == {("embedding", "cosine"), ("embedding", "l2")}
    with pytest.raises(ProjectorError, match="metric='dot'"):
        ds.neighbors(0, 3, metric="dot")
    assert len(ds._derived.indexes()) == 2


def test_knn_graph_loads_neither_torch_nor_anything_at_import():
    code = (
        "import sys, json, numpy as np\n"
        "import projector.neighbors as nb\n"
        "before = 'faiss' in sys.modules\n"
        "nb.knn_graph(np.random.default_rng(0).standard_normal((50, 4)).astype(np.float32), 3)\n"
        "from projector.device import _gpu_driver_present\n"
        "print(json.dumps([before, 'faiss' in sys.modules, 'torch' in sys.modules, _gpu_driver_present()]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, faiss_after, torch_after, gpu_machine = json.loads(out.stdout.strip().splitlines()[-1])
    assert not before and faiss_after
    assert torch_after == gpu_machine  # torch is asked about CUDA only where a driver is present


# -- the dataset's graph and index -------------------------------------------------------------


def test_dataset_graph_is_built_once_and_sliced(rng, monkeypatch):
    import projector

    builds = []
    real = neighbors.knn_graph

    def counting(vectors, k, metric="cosine", **options):
        builds.append((k, metric, options.get("exact")))
        return real(vectors, k, metric, **options)

    monkeypatch.setattr(neighbors, "knn_graph", counting)
    ds = projector.Dataset.from_arrays(rng.standard_normal((60, 6)).astype(np.float32))
    wide = ds.graph(k=10)
    assert isinstance(wide, KnnGraph) and wide.k == 10 and wide.n == 60
    narrow = ds.graph(k=4)
    np.testing.assert_array_equal(narrow.indices, wide.indices[:, :4])
    assert narrow.k == 4 and builds == [(10, "cosine", None)]
    assert ds.graph(k=12).k == 12 and ds.graph(metric="l2", k=3).metric == "l2"
    assert builds == [(10, "cosine", None), (12, "cosine", None), (3, "l2", None)]
    with pytest.warns(ProjectorWarning, match="k=100 asks for more neighbours"):
        assert ds.graph(k=100).k == 59  # clamped to N - 1 once, then reused
    assert ds.graph(k=100).k == 59 and len(builds) == 4
    with pytest.raises(ProjectorError, match="metric='dot'"):
        ds.graph(metric="dot")
    with pytest.raises(ProjectorError, match="'nope' is not an embedding column"):
        ds.graph("nope")


def test_dataset_graph_rebuilds_an_approximate_one_when_exact_is_asked(rng, monkeypatch):
    import projector

    monkeypatch.setattr(neighbors.graph, "EXACT_MAX_ROWS", 500)
    ds = projector.Dataset.from_arrays(_mixture(1200, 16, clusters=8))
    approximate = ds.graph(k=5, exact=False)
    assert not approximate.exact and ds.graph(k=5) is approximate
    exact = ds.graph(k=5, exact=True)
    assert exact.exact and ds.graph(k=3).exact


def test_dataset_graph_and_index_build_once_across_threads(rng, monkeypatch):
    """The app asks from worker threads: concurrent first calls share one build."""
    import threading

    import projector

    builds, release = [], threading.Event()
    real = neighbors.NeighborIndex

    def slow(*args, **kwargs):
        builds.append(1)
        release.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(neighbors, "NeighborIndex", slow)
    ds = projector.Dataset.from_arrays(rng.standard_normal((50, 4)).astype(np.float32))
    got = []
    threads = [threading.Thread(target=lambda: got.append(ds.index(metric="l2"))) for _ in range(4)]
    for thread in threads:
        thread.start()
    release.set()
    for thread in threads:
        thread.join(10)
    assert len(builds) == 1 and len(got) == 4 and all(index is got[0] for index in got)
    graphs = []
    threads = [threading.Thread(target=lambda: graphs.append(ds.graph(k=5))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(ds._derived.graphs()) == 1 and all(g.indices is graphs[0].indices for g in graphs)
