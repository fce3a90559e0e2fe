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


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture
def small_matrix(rng) -> np.ndarray:
    return rng.standard_normal((20, 8)).astype(np.float32)
