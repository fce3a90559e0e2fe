"""Checks of projector's CUDA paths: PCA, UMAP, t-SNE and the kNN graph on ``device="cuda"``.

Not part of the test suite: CI has no GPU, and tests/ holds no test that skips itself there.
``benchmarks/gpu_check.sh`` runs this file on a CUDA machine; by hand:

    pytest benchmarks/gpu_tests.py                       # on a CUDA machine
    GPU_CHECK_DEVICE=cpu pytest benchmarks/gpu_tests.py  # the same checks on the CPU

Without a GPU (and without ``GPU_CHECK_DEVICE=cpu``) every test fails, saying so. The checks
are properties (quality bars, agreement with the CPU path), never golden coordinates.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

DEVICE = os.environ.get("GPU_CHECK_DEVICE", "cuda")


@pytest.fixture(scope="module")
def device() -> str:
    from projector.device import resolve_device
    from projector.errors import ProjectorError

    try:
        return resolve_device(DEVICE)
    except ProjectorError as error:
        pytest.fail(f"{error} (GPU_CHECK_DEVICE=cpu runs these checks on the CPU)")


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    import projector

    bunch = load_digits()
    return projector.Dataset.from_arrays(bunch.data.astype(np.float32), metadata={"label": bunch.target})


def _correlated(n: int, d: int, seed: int = 0) -> np.ndarray:
    """Rows with distinct variances along random directions, away from the origin: a clear PCA."""
    rng = np.random.default_rng(seed)
    rotation, _ = np.linalg.qr(rng.standard_normal((d, d)))
    scales = 2.0 ** -np.arange(d, dtype=np.float64) * 10
    return ((rng.standard_normal((n, d)) * scales) @ rotation + 5.0).astype(np.float32)


def _mixture(n: int, d: int, clusters: int = 50, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, d), dtype=np.float32) * 2
    return rng.standard_normal((n, d), dtype=np.float32) + centres[rng.integers(0, clusters, n)]


def test_pca_on_the_device_matches_numpy(device):
    from projector.reduce.pca import pca_numpy, pca_torch

    x = _correlated(150_000, 32)  # more rows than one device block, so blocks are summed
    expected = pca_numpy(x, 5)
    found = pca_torch(x, 5, device=device)
    np.testing.assert_allclose(found.explained_variance_ratio, expected.explained_variance_ratio, rtol=1e-4)
    np.testing.assert_allclose(found.components, expected.components, atol=1e-4)
    np.testing.assert_allclose(found.coords, expected.coords, atol=1e-3 * np.abs(expected.coords).max())


def test_pca_through_project_runs_on_the_device(device, digits):
    projection = digits.project("pca", device=device, cache=False)
    assert projection.provenance["device"] == device
    assert projection.provenance["backend"] == ("torch" if device == "cuda" else "numpy")
    ratio = projection.provenance["explained_variance_ratio"]
    assert ratio[0] >= ratio[1] > 0


def test_umap_on_the_device_keeps_digits_apart(device, digits):
    projection = digits.project("umap", device=device, cache=False)
    assert projection.provenance["device"] == device and projection.provenance["backend"] == "torch"
    assert np.isfinite(projection.coords).all()
    assert projection.quality.trustworthiness > 0.9
    assert projection.quality.label_accuracy_map > 0.9


def test_tsne_torch_on_the_device_keeps_digits_apart(device, digits):
    projection = digits.project("tsne", backend="torch", device=device, cache=False)
    assert projection.provenance["device"] == device and projection.provenance["backend"] == "torch"
    assert np.isfinite(projection.coords).all()
    assert projection.quality.trustworthiness > 0.9
    assert projection.quality.label_accuracy_map > 0.9


def test_knn_graph_on_the_device_finds_the_exact_neighbours(device):
    from projector.neighbors import TARGET_RECALL, knn_graph

    x = _mixture(20_000, 128)  # above EXACT_MAX_ROWS: exact on a GPU, within clusters on a CPU
    graph = knn_graph(x, 15, "cosine", device=device)
    truth = knn_graph(x, 15, "cosine", exact=True, device="cpu")  # FAISS flat search
    assert graph.exact == (device == "cuda")
    if device == "cuda":
        assert graph.backend in ("torch", "faiss-gpu")
    hits = (graph.indices[:, :, None] == truth.indices[:, None, :]).any(axis=2)
    assert hits.mean() >= (0.999 if graph.exact else TARGET_RECALL)
    if graph.exact:
        np.testing.assert_allclose(graph.distances, truth.distances, atol=1e-4)


def test_texts_embed_on_the_device_as_on_the_cpu(device):
    """The packaged MiniLM runs on the device when asked and gives the CPU's vectors."""
    from projector.embedding import load_text_model

    texts = ["refund my money", "the app crashes on start", "how do I reset my password?"] * 4
    on_device = load_text_model(device=device)
    assert str(on_device._model.device).startswith(device)
    vectors = on_device.encode(texts, batch_size=4)
    reference = load_text_model(device="cpu").encode(texts, batch_size=4)
    assert vectors.shape == (12, 384) and np.all((vectors * reference).sum(axis=1) > 0.999)
