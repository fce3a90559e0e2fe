"""Which device runs the heavy work: ``"auto"`` picks CUDA when torch sees a GPU."""

from __future__ import annotations

import os
from typing import Literal

from projector.errors import MissingDependencyError, ProjectorError

# faiss and torch each bring an OpenMP runtime whose idle threads spin by default; on a busy
# machine the spinning starves the other library's threads (a UMAP layout ran 17x slower next
# to a second process). Sleeping idle threads cost nothing measurable here. Takes effect only if
# set before either library loads, which every compute path ensures by importing this module
# first; a user's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__all__ = ["Device", "resolve_device", "torch_available", "usable_cpus"]

Device = Literal["auto", "cpu", "cuda"]


def usable_cpus() -> int:
    """The CPUs this process may run on (a container's or ``taskset``'s share, not the
    machine's count, which oversubscribes: 64 threads on a 2-CPU container)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def torch_available() -> bool:
    """True when torch can be imported (checked without importing it)."""
    from importlib.util import find_spec

    return find_spec("torch") is not None


def resolve_device(device: str = "auto") -> str:
    """``"cpu"`` or ``"cuda"``: the device to run on, checking that ``"cuda"`` really exists."""
    if device not in ("auto", "cpu", "cuda"):
        raise ProjectorError(f"device={device!r} must be 'auto', 'cpu' or 'cuda'")
    if device == "cpu":
        return "cpu"
    if device == "auto" and not _gpu_driver_present():
        return "cpu"  # no driver, no GPU: skip importing torch (seconds) just to ask
    if not torch_available():
        if device == "cuda":
            raise MissingDependencyError("device='cuda' needs torch with CUDA: pip install 'projector[torch]'")
        return "cpu"
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if device == "cuda":
        raise ProjectorError("device='cuda' but torch sees no CUDA GPU; use device='cpu' or 'auto'")
    return "cpu"


def _gpu_driver_present() -> bool:
    """Whether an NVIDIA (or ROCm) kernel driver is loaded, checked without importing torch."""
    return any(os.path.exists(path) for path in ("/proc/driver/nvidia", "/dev/nvidia0", "/dev/nvidiactl", "/dev/kfd")) or (
        not os.path.exists("/proc")  # not Linux: ask torch
    )
