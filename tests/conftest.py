"""Shared fixtures: small real files written in tmp_path, never read from outside the repo."""

from __future__ import annotations

import os

# As projector.device does for users: test modules import torch and faiss before projector does.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

# No test may reach the network or a hub.
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session", autouse=True)
def _session_cache(tmp_path_factory):
    """No test writes to the user's cache: module-scoped fixtures included, every projection
    and graph goes to a cache folder of this session (tests may point it elsewhere)."""
    before = os.environ.get("PROJECTOR_CACHE_DIR")
    os.environ["PROJECTOR_CACHE_DIR"] = str(tmp_path_factory.mktemp("projector-cache"))
    yield
    if before is None:
        os.environ.pop("PROJECTOR_CACHE_DIR", None)
    else:
        os.environ["PROJECTOR_CACHE_DIR"] = before


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    """A cache of this test's own, for tests that count on what is (not) cached."""
    monkeypatch.setenv("PROJECTOR_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture
def small_matrix(rng) -> np.ndarray:
    return rng.standard_normal((20, 8)).astype(np.float32)
