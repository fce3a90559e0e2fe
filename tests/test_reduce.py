"""Reductions: declared parameters, exact PCA, UMAP and t-SNE quality, edge cases, progress.

Properties, never golden coordinates: maps of the digits must keep neighbourhoods and labels.
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest
from sklearn.datasets import load_digits

import projector
from projector import Dataset, ProjectorError, ProjectorWarning
from projector._derived import GraphKey
from projector.progress import Cancelled
from projector.reduce.params import PARAMS, ParameterError, TSNEParams, UMAPParams


@pytest.fixture(scope="module")
def digits():
    bunch = load_digits()
    return Dataset.from_arrays(bunch.data.astype(np.float32), {"label": [str(t) for t in bunch.target]})


@pytest.fixture(scope="module")
def wide_blobs():
    """600 points in 5 well-separated clusters, 128-d (so PCA pre-reduction applies)."""
    rng = np.random.default_rng(3)
    centers = rng.standard_normal((5, 128)).astype(np.float32) * 4
    labels = np.repeat(np.arange(5), 120)
    data = centers[labels] + rng.standard_normal((600, 128)).astype(np.float32)
    return Dataset.from_arrays(data, {"label": [f"c{i}" for i in labels]})


# -- parameters -------------------------------------------------------------------------------


def test_every_parameter_is_documented_with_a_default():
    for cls in PARAMS.values():
        for f in fields(cls):
            assert f.metadata.get("doc"), f"{cls.__name__}.{f.name} has no doc"


def test_defaults_match_the_issue():
    umap, tsne = UMAPParams(), TSNEParams()
    assert (umap.n_neighbors, umap.min_dist, umap.metric, umap.dims) == (15, 0.1, "cosine", 2)
    assert (tsne.perplexity, tsne.learning_rate, tsne.dims) == (30.0, "auto", 2)


def test_unknown_and_out_of_bounds_parameters_are_errors():
    with pytest.raises(ParameterError, match=r"unknown parameter 'n_neighbours'; did you mean 'n_neighbors'"):
        UMAPParams.from_options({"n_neighbours": 10})
    with pytest.raises(ParameterError, match=r"n_neighbors=1 must be in \[2, 200\]; the default is 15"):
        UMAPParams(n_neighbors=1)
    with pytest.raises(ParameterError, match="dims=4 must be one of 2 or 3"):
        TSNEParams(dims=4)
    with pytest.raises(ParameterError, match="metric='manhattan' must be one of"):
        UMAPParams(metric="manhattan")


def test_cli_strings_are_converted():
    params = UMAPParams.from_options({"n_neighbors": "30", "min_dist": "0.5", "n_epochs": "none"})
    assert params.n_neighbors == 30 and params.min_dist == 0.5 and params.n_epochs is None


# -- PCA --------------------------------------------------------------------------------------


def test_pca_matches_scikit_learn(digits):
    from sklearn.decomposition import PCA

    ours = digits.project("pca", dims=5, cache=False, quality=False)
    theirs = PCA(n_components=5).fit(digits.vectors())
    np.testing.assert_allclose(ours.provenance["explained_variance_ratio"], theirs.explained_variance_ratio_, rtol=1e-4)
    reference = theirs.transform(digits.vectors())
    for j in range(5):  # equal up to the sign of each component
        assert abs(np.corrcoef(ours.coords[:, j], reference[:, j])[0, 1]) > 0.9999
    assert ours.columns == ["pca_1", "pca_2", "pca_3", "pca_4", "pca_5"]


def test_pca_torch_path_agrees_with_numpy(digits):
    from projector.reduce.pca import pca_numpy, pca_torch

    a = pca_numpy(digits.vectors(), 3)
    b = pca_torch(digits.vectors(), 3, device="cpu")
    np.testing.assert_allclose(a.coords, b.coords, atol=1e-3)
    np.testing.assert_allclose(a.explained_variance_ratio, b.explained_variance_ratio, rtol=1e-5)


def test_pca_is_accurate_far_from_the_origin():
    """A large common offset and a first block unlike the rest must not cost float32 accuracy."""
    from projector.reduce.pca import pca_numpy

    rng = np.random.default_rng(0)
    data = (rng.standard_normal((40_000, 12)) * np.linspace(1, 3, 12) + 1000).astype(np.float32)
    data[:20_000, 0] += 5  # sorted: the first block's mean is not the data's
    ours = pca_numpy(data, 3)
    exact = np.linalg.eigvalsh(np.cov(data.astype(np.float64), rowvar=False))[::-1][:3]
    np.testing.assert_allclose(ours.explained_variance, exact, rtol=1e-5)
    np.testing.assert_allclose(ours.mean, data.astype(np.float64).mean(axis=0), atol=1e-3)


def test_tsne_fft_gradient_matches_exact_repulsion_and_opentsne():
    import scipy.sparse as sp
    from openTSNE.tsne import kl_divergence_fft

    from projector.reduce._tsne_fft import kl_gradient, repulsion

    rng = np.random.default_rng(0)
    y = rng.standard_normal((1500, 2)) * 5
    y[:700] += 12
    diff = y[:, None, :] - y[None, :, :]
    q = 1.0 / (1.0 + (diff**2).sum(-1))
    np.fill_diagonal(q, 0.0)
    exact = -((q**2)[:, :, None] * diff).sum(1) / q.sum()
    ours, z = repulsion(y)
    assert np.linalg.norm(ours - exact) / np.linalg.norm(exact) < 0.03
    assert abs(z - q.sum()) / q.sum() < 0.01
    P = sp.random(1500, 1500, density=0.01, format="csr", random_state=0)
    P = (P + P.T).tocsr()
    P.data /= P.data.sum()
    fft = {"n_interpolation_points": 3, "min_num_intervals": 50, "ints_in_interval": 1}
    kl_theirs, theirs = kl_divergence_fft(y.copy(), P, dof=1, fft_params=fft, should_eval_error=True)
    kl_ours, ours = kl_gradient(y.copy(), P, with_error=True, workers=2)
    assert np.linalg.norm(ours - theirs) / np.linalg.norm(theirs) < 0.03
    assert kl_ours == pytest.approx(kl_theirs, rel=1e-3)
    # exaggeration multiplies the attraction alone, as openTSNE's exaggerated P does
    exaggerated = P * 4.0
    _, theirs = kl_divergence_fft(y.copy(), exaggerated, dof=1, fft_params=fft)
    _, ours = kl_gradient(y.copy(), P, exaggeration=4.0, workers=2)
    assert np.linalg.norm(ours - theirs) / np.linalg.norm(theirs) < 0.03


def test_tsne_exact_repulsion_sums_every_pair():
    from projector.reduce._tsne_fft import exact_repulsion

    rng = np.random.default_rng(2)
    y = rng.standard_normal((700, 2)) * 6
    diff = y[:, None, :] - y[None, :, :]
    q = 1.0 / (1.0 + (diff**2).sum(-1))
    np.fill_diagonal(q, 0.0)
    ours, z = exact_repulsion(y)
    assert z == pytest.approx(q.sum(), rel=1e-10)
    np.testing.assert_allclose(ours, -((q**2)[:, :, None] * diff).sum(1) / q.sum(), rtol=1e-8, atol=1e-14)


def test_tsne_fft_reuses_the_kernel_spectrum_only_for_the_same_grid():
    from projector.reduce._tsne_fft import repulsion

    rng = np.random.default_rng(1)
    y = rng.uniform(-40, 40, size=(3000, 2))  # spans more than the 50 minimum boxes: unit-wide boxes
    kernels: dict = {}
    first, _ = repulsion(y, kernels=kernels)
    assert len(kernels) == 1
    (key,) = kernels
    moved, z_moved = repulsion(y + 0.25, kernels=kernels)  # same extent, so the same grid
    assert list(kernels) == [key]
    np.testing.assert_allclose(moved, first, rtol=1e-4, atol=1e-9)
    grown, z_grown = repulsion(y * 1.5, kernels=kernels)  # a larger map needs a larger grid
    assert len(kernels) == 1 and key not in kernels
    fresh, z_fresh = repulsion(y * 1.5)
    np.testing.assert_allclose(grown, fresh, rtol=1e-5, atol=1e-12)
    assert z_grown == pytest.approx(z_fresh, rel=1e-6)


def test_tsne_kernels_compile_without_a_cache_where_numba_can_write_none(monkeypatch):
    import numba.core.caching

    from projector.reduce._tsne_kernels import _compiled

    monkeypatch.setattr(numba.core.caching.CacheImpl, "_locator_classes", [])  # as with nothing writable

    def double(x):
        return 2 * x

    with pytest.raises(RuntimeError, match="no locator"):
        numba.njit(cache=True)(double)
    assert _compiled()(double)(21) == 42


# -- UMAP and t-SNE ---------------------------------------------------------------------------


def test_umap_keeps_digit_neighbourhoods(digits):
    projection = digits.project("umap", cache=False)
    assert projection.coords.shape == (1797, 2) and np.isfinite(projection.coords).all()
    assert projection.columns == ["umap_x", "umap_y"]
    assert projection.quality.trustworthiness > 0.97
    assert projection.quality.label_accuracy_map > 0.9
    assert projection.provenance["backend"] == "torch" and projection.provenance["init"] == "spectral"


def test_umap_is_reproducible_with_a_seed(digits):
    first = digits.project("umap", seed=7, n_epochs=50, cache=False, quality=False)
    again = digits.project("umap", seed=7, n_epochs=50, cache=False, quality=False)
    other = digits.project("umap", seed=8, n_epochs=50, cache=False, quality=False)
    np.testing.assert_array_equal(first.coords, again.coords)
    assert not np.array_equal(first.coords, other.coords)


def test_umap_3d_and_pca_pre_reduction(wide_blobs):
    projection = wide_blobs.project("umap", dims=3, cache=False)
    assert projection.coords.shape == (600, 3) and projection.columns == ["umap_x", "umap_y", "umap_z"]
    assert projection.provenance["pca_dims"] == 100
    assert any("first 100 PCA components" in note for note in projection.notes)
    assert projection.quality.label_accuracy_map > 0.95
    off = wide_blobs.project("umap", pca_dims=None, n_epochs=50, cache=False, quality=False)
    assert off.provenance["pca_dims"] is None


def test_tsne_keeps_digit_neighbourhoods(digits):
    projection = digits.project("tsne", cache=False)
    assert projection.coords.shape == (1797, 2) and np.isfinite(projection.coords).all()
    assert projection.quality.trustworthiness > 0.97
    assert projection.quality.label_accuracy_map > 0.9


def test_tsne_3d_runs_opentsne_barnes_hut_and_can_cancel(wide_blobs):
    seen = []
    projection = wide_blobs.project("tsne", dims=3, n_iter=200, cache=False, progress=lambda e: seen.append(e.stage))
    assert projection.coords.shape == (600, 3) and projection.columns == ["tsne_x", "tsne_y", "tsne_z"]
    assert projection.quality.label_accuracy_map > 0.95
    assert "tsne layout" in seen
    with pytest.raises(Cancelled):
        wide_blobs.project("tsne", dims=3, cache=False, quality=False, progress=lambda e: e.stage == "tsne layout")


def test_tsne_fft_descent_keeps_digit_neighbourhoods_reproducibly_and_can_cancel(digits, monkeypatch):
    """The FFT gradient (used above 5,000 points) on small data, so the tests reach it cheaply."""
    from projector.reduce import _tsne_descent

    monkeypatch.setattr(_tsne_descent, "_EXACT_MAX_POINTS", 0)
    seen = []
    projection = digits.project("tsne", n_iter=300, cache=False, progress=lambda e: seen.append((e.stage, e.done, e.total)))
    assert projection.quality.trustworthiness > 0.97
    assert projection.quality.label_accuracy_map > 0.9
    assert ("tsne layout", 50, 550) in seen and ("tsne layout", 550, 550) in seen
    again = digits.project("tsne", n_iter=300, cache=False, quality=False)
    np.testing.assert_array_equal(again.coords, projection.coords)
    with pytest.raises(Cancelled):
        digits.project("tsne", cache=False, quality=False, progress=lambda e: e.stage == "tsne layout" and e.done >= 100)


def test_one_graph_feeds_umap_and_tsne(digits):
    ds = Dataset.from_arrays(digits.vectors().copy())
    ds.project("tsne", n_iter=10, early_exaggeration_iter=10, cache=False, quality=False)  # builds k=90
    held = ds._derived.graphs()
    assert list(held) == [GraphKey("embedding", "cosine")] and held[GraphKey("embedding", "cosine")].k == 90
    ds.project("umap", n_epochs=10, cache=False, quality=False)  # slices k=14 from it
    assert ds._derived.graphs().keys() == held.keys()


# -- edge cases -------------------------------------------------------------------------------


def test_zero_rows_is_an_error():
    with pytest.raises(projector.EmptyDatasetError):
        Dataset.from_arrays(np.zeros((0, 5), np.float32))


def test_three_rows_raise_one_error_that_is_also_a_value_error():
    with pytest.warns(ProjectorWarning):
        ds = Dataset.from_arrays(np.eye(3, 5, dtype=np.float32))
    for method in ("umap", "pca", "tsne"):
        with pytest.raises(projector.TooFewRowsError, match="'embedding': 3 rows cannot be projected; .* at least 4"):
            ds.project(method, cache=False)
    with pytest.raises(ValueError):  # as scikit-learn raises for too few samples
        ds.project("umap", cache=False)


def test_small_n_clamps_and_records_effective_values():
    ds = Dataset.from_arrays(np.random.default_rng(0).standard_normal((12, 6)).astype(np.float32))
    with pytest.warns(ProjectorWarning, match="n_neighbors=15 clamped to 11"):
        umap = ds.project("umap", cache=False, quality=False)
    assert umap.params["n_neighbors"] == 11 and np.isfinite(umap.coords).all()
    with pytest.warns(ProjectorWarning, match="perplexity=30 clamped"):
        tsne = ds.project("tsne", cache=False, quality=False)
    assert tsne.params["perplexity"] == pytest.approx(11 / 3) and np.isfinite(tsne.coords).all()


def test_duplicates_do_not_break_the_maps():
    rng = np.random.default_rng(1)
    data = np.repeat(rng.standard_normal((40, 8)).astype(np.float32), 5, axis=0)  # every vector 5 times
    ds = Dataset.from_arrays(data)
    for method in ("umap", "tsne"):
        projection = ds.project(method, cache=False, quality=False)
        assert np.isfinite(projection.coords).all()
        assert projection.provenance["duplicates"] == 160
        assert any("160 rows repeat" in note for note in projection.notes)


def test_disconnected_graph_recovers_without_nan():
    rng = np.random.default_rng(2)
    far = np.vstack([rng.standard_normal((30, 6)) + 1000 * i for i in range(4)]).astype(np.float32)
    ds = Dataset.from_arrays(far)
    projection = ds.project("umap", n_neighbors=5, metric="l2", cache=False, quality=False)
    assert np.isfinite(projection.coords).all()
    assert projection.provenance["init"] == "spectral, 4 parts of the graph placed apart"
    parts = [projection.coords[30 * i : 30 * (i + 1)] for i in range(4)]
    for i, part in enumerate(parts):  # each part is a blob of its own, apart from every other
        own = np.linalg.norm(part - part.mean(axis=0), axis=1).max()
        for other in parts[i + 1 :]:
            assert np.linalg.norm(part.mean(axis=0) - other.mean(axis=0)) > own


def _extent_ratio(coords: np.ndarray) -> float:
    """The farthest point's distance from the median, over the 99th percentile of them."""
    distance = np.linalg.norm(coords - np.median(coords, axis=0), axis=1)
    return float(distance.max() / np.percentile(distance, 99))


@pytest.fixture(scope="module")
def bulk_with_strays():
    """3,000 points in one connected cloud, plus 2 groups of 20 identical rows taken from the
    cloud and 2 tight clusters of 16 points at right angles to it (disconnected parts of the
    cosine kNN graph): about 2% of the rows, each group well under 1%."""
    rng = np.random.default_rng(0)
    bulk = np.zeros((3000, 34))
    bulk[:, :32] = rng.standard_normal((3000, 32))
    bulk[:, :3] *= 4
    copies = [np.repeat(bulk[rng.integers(3000)][None], 20, axis=0) for _ in range(2)]
    clusters = [np.eye(34)[axis] * 3 + rng.standard_normal((16, 34)) * 0.01 for axis in (32, 33)]
    return Dataset.from_arrays(np.vstack([bulk, *copies, *clusters]).astype(np.float32))


@pytest.mark.parametrize("backend", ["torch", "umap-learn"])
def test_umap_keeps_duplicate_groups_and_small_parts_beside_the_map(bulk_with_strays, backend):
    projection = bulk_with_strays.project("umap", backend=backend, cache=False, quality=False)
    coords = projection.coords
    assert _extent_ratio(coords) < 2.0
    for start in (3000, 3020):  # copies of one vector share one spot
        assert (coords[start : start + 20] == coords[start]).all()
    assert projection.provenance["distinct_rows"] == 3000 + 32  # the 40 copies repeat two rows of the cloud
    assert any("40 rows repeat another row's vector exactly; they share one spot" in note for note in projection.notes)
    assert any("disconnected parts of the neighbour graph lay far off the map" in note for note in projection.notes)


def test_gather_components_moves_only_small_far_parts():
    from projector.reduce._components import gather_components

    rng = np.random.default_rng(0)
    bulk = rng.standard_normal((1990, 2))
    stray = rng.standard_normal((10, 2)) * 0.1 + [100.0, 0.0]
    coords = np.vstack([bulk, stray]).astype(np.float32)
    labels = np.r_[np.zeros(1990, int), np.ones(10, int)]
    moved, count = gather_components(coords, labels, 2)
    assert count == 1
    assert (moved[:1990] == coords[:1990]).all()  # the bulk stays exactly where it was
    shift = moved[1990:] - coords[1990:]
    assert np.allclose(shift, shift[0]) and shift[0, 0] < -90  # moved whole, back along its line
    assert moved[1990:, 0].min() > bulk[:, 0].max()  # just outside the bulk, not on top of it
    assert _extent_ratio(moved) < 2.0
    # parts within reach, and maps made of many small parts, are left as they are
    near = np.vstack([bulk, stray - [95.0, 0.0]]).astype(np.float32)
    assert gather_components(near, labels, 2)[1] == 0
    many = np.repeat(np.arange(200), 10)
    assert gather_components(coords, many, 200)[1] == 0


def test_unique_rows_groups_exact_copies_only():
    from projector.duplicates import unique_rows

    rng = np.random.default_rng(0)
    data = rng.standard_normal((500, 16)).astype(np.float32)
    data[[10, 20, 499]] = data[3]
    data[11] = data[4] + np.float32(1e-6)  # nearly equal is not equal
    unique = unique_rows(data)
    assert unique.duplicates == 3 and unique.first.size == 497
    assert (data[unique.first][unique.inverse] == data).all()
    assert unique.first[unique.inverse[20]] == 3 and unique.inverse[11] != unique.inverse[4]
    assert list(unique.repeated) == [3]
    assert unique_rows(data[:1]).duplicates == 0


def test_constant_vectors_are_an_error():
    ds = Dataset.from_arrays(np.ones((10, 4), np.float32))
    with pytest.raises(ProjectorError, match="every vector is the same"):
        ds.project("umap", cache=False)


def test_low_dimensional_data_is_used_as_is_unless_forced():
    data = np.random.default_rng(0).standard_normal((50, 3)).astype(np.float32)
    ds = Dataset.from_arrays(data)
    shown = ds.project(cache=False)
    assert shown.method == "identity" and np.array_equal(shown.coords, data)
    assert ds.project("pca", cache=False, quality=False).method == "pca"
    flat = Dataset.from_arrays(data[:, :1]).project(cache=False)
    assert flat.coords.shape == (50, 2) and (flat.coords[:, 1] == 0).all()


# -- progress ---------------------------------------------------------------------------------


def test_progress_reaches_callbacks_and_can_cancel(digits):
    seen = []
    digits.project("umap", n_epochs=20, cache=False, quality=False, progress=lambda e: seen.append((e.stage, e.done, e.total)))
    assert ("umap layout", 20, 20) in seen
    with pytest.raises(Cancelled):
        digits.project("umap", n_epochs=20, cache=False, quality=False, progress=lambda e: e.stage == "umap layout" and e.done >= 4)
    with pytest.raises(Cancelled):
        digits.project("tsne", cache=False, quality=False, progress=lambda e: e.stage == "tsne layout")


# -- without torch ----------------------------------------------------------------------------


def test_umap_learn_backend_when_torch_is_absent(digits, monkeypatch):
    import projector.device

    monkeypatch.setattr(projector.device, "torch_available", lambda: False)
    projection = digits.project("umap", n_epochs=100, cache=False)
    assert projection.provenance["backend"] == "umap-learn" and projection.provenance["device"] == "cpu"
    assert projection.quality.trustworthiness > 0.95


# -- cache ------------------------------------------------------------------------------------


def test_projection_and_graph_come_back_from_the_cache(tmp_path, monkeypatch):
    import projector.neighbors
    from projector.cache import Cache

    data = np.random.default_rng(5).standard_normal((300, 12)).astype(np.float32)
    store = Cache(tmp_path)
    first = Dataset.from_arrays(data).project("umap", n_epochs=30, cache=store)
    kinds = store.info().by_kind
    assert any(kind.startswith("projection-umap") for kind in kinds) and "knn" in kinds

    def no_search(*args, **kwargs):
        raise AssertionError("the kNN graph should have come from the cache")

    monkeypatch.setattr(projector.neighbors, "knn_graph", no_search)
    again = Dataset.from_arrays(data.copy()).project("umap", n_epochs=30, cache=store)
    assert again.provenance.get("cached") and np.array_equal(again.coords, first.coords)
    assert again.quality.trustworthiness == first.quality.trustworthiness
    other = Dataset.from_arrays(data.copy()).project("umap", n_epochs=31, cache=store)  # new projection, cached graph
    assert not other.provenance.get("cached") and np.isfinite(other.coords).all()


def test_torch_tsne_path_runs_on_the_cpu_and_keeps_clusters(wide_blobs):
    projection = wide_blobs.project("tsne", backend="torch", n_iter=250, device="cpu", cache=False)
    assert projection.provenance["backend"] == "torch" and np.isfinite(projection.coords).all()
    assert projection.quality.label_accuracy_map > 0.95
    assert projection.quality.trustworthiness > 0.9


def test_pca_on_a_machine_without_gpu_does_not_import_torch():
    import subprocess
    import sys

    code = (
        "import sys, numpy as np, projector\n"
        "ds = projector.Dataset.from_arrays(np.random.default_rng(0).standard_normal((50, 6)).astype('float32'))\n"
        "p = ds.project('pca', cache=False)\n"
        "print(p.provenance['device'], 'torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["cpu", "False"]


# -- quality of the map as drawn ----------------------------------------------------------------


def test_quality_describes_the_axes_drawn_not_every_component(digits):
    from projector.reduce.scoring import map_quality

    wide = digits.project("pca", dims=10, cache=False)
    flat = digits.project("pca", dims=2, cache=False)
    assert wide.quality.axes == (0, 1)  # a map of a 10-component PCA draws PC1 / PC2
    assert wide.quality.trustworthiness == pytest.approx(flat.quality.trustworthiness, abs=1e-6)
    every = map_quality(digits, wide, axes=range(10), cache=False)
    assert every.trustworthiness > wide.quality.trustworthiness + 0.05
    other = map_quality(digits, wide, axes=(2, 4), cache=False)
    assert other.axes == (2, 4) and other.trustworthiness != wide.quality.trustworthiness
    assert flat.quality.axes == ()  # every coordinate of a 2-D map
    with pytest.raises(ValueError, match=r"axes=\[0, 10\] must name coordinates of the map, 0 to 9"):
        map_quality(digits, wide, axes=(0, 10), cache=False)


def test_a_cached_map_scores_the_labels_it_is_shown_with(private_cache, digits):
    labels = digits.table.column("label").to_pylist()
    shuffled = list(np.random.default_rng(0).permutation(labels))
    other = Dataset.from_arrays(digits.vectors(), {"label": shuffled})
    first = digits.project("pca")
    second = other.project("pca")  # the same coordinates, from the cache
    assert second.provenance.get("cached") is True
    assert first.quality.label_accuracy_map > 0.5
    assert second.quality.label_accuracy_map < 0.3  # scored with its own (shuffled) labels
    assert second.quality.label_accuracy_map == other.project("pca", cache=False).quality.label_accuracy_map


def test_torch_tsne_leaves_torch_global_generator_alone():
    torch = pytest.importorskip("torch")  # the torch extra is in the dev lock: runs in CI
    import scipy.sparse as sp

    from projector.reduce.tsne_torch import tsne_torch_layout

    rng = np.random.default_rng(0)
    n = 60
    affinities = sp.random(n, n, density=0.1, random_state=0, format="csr")
    affinities = affinities + affinities.T
    affinities = sp.csr_matrix(affinities / affinities.sum())
    torch.manual_seed(1234)
    before = torch.random.get_rng_state().clone()
    coords = tsne_torch_layout(
        affinities, rng.standard_normal((n, 2)), learning_rate="auto", n_iter=20, early_exaggeration=12.0,
        early_exaggeration_iter=10, seed=7,
    )
    assert np.isfinite(coords).all()
    assert torch.equal(torch.random.get_rng_state(), before)  # a user's torch seed is theirs


def test_opentsne_threads_follow_the_cpus_this_process_may_use(monkeypatch):
    import os

    from projector.reduce.tsne import tsne_affinities

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((80, 5))
    distances = np.sqrt(((vectors[:, None] - vectors[None]) ** 2).sum(-1))
    order = np.argsort(distances, axis=1)[:, 1:11]
    affinities = tsne_affinities(order, np.take_along_axis(distances, order, axis=1), perplexity=3.0, seed=0)
    assert affinities.n_jobs == 1  # not os.cpu_count(): a container's share, not the machine's
