"""PyTorch ``.pt``/``.pth`` and ``.safetensors`` files of embeddings, read without running code.

``torch.load(weights_only=True)`` rebuilds tensors and plain containers only and refuses any
other pickled object before it can run; safetensors files hold no code at all. A file may hold
one ``(N, D)`` tensor (column ``embedding``) or a dict of named tensors and lists, read by the
rules of :mod:`projector.loaders.numpy_files` (2-D floating-point tensors sharing N rows are
embeddings, 1-D tensors and lists of N values are metadata). bfloat16 and float16 become
float32.
"""

from __future__ import annotations

import pickle
import re
import struct
import warnings
from pathlib import Path
from typing import Any, Mapping

from projector.errors import MissingDependencyError, ProjectorError, UnsafeInputError, VectorError
from projector.loaders._common import Loaded, check_file, format_mismatch
from projector.loaders.numpy_files import attach_metadata_option, plan_arrays, planned_table, shape_error, starts_with

__all__ = ["read_torch", "read_safetensors"]

_TORCH_ERRORS = (RuntimeError, EOFError, OSError, ValueError, LookupError, TypeError, AttributeError, struct.error)
_SAFETENSORS_KINDS = {"BOOL": "b", "BF16": "f", "F16": "f", "F32": "f", "F64": "f"}


def read_torch(path: Path, *, metadata: Any = None) -> Loaded:
    """A tensor or a dict of tensors saved with ``torch.save``; zip-format files are memory-mapped.

    Args:
        metadata: a row-aligned metadata file (TSV, CSV, Parquet, Feather, JSONL) or an
            in-memory table, one row per embedding row.
    """
    check_file(path)
    torch = _import_torch(path, "reading PyTorch files")
    zipped = starts_with(path, b"PK")
    if not zipped and not starts_with(path, b"\x80"):
        raise format_mismatch(path, "PyTorch .pt", ValueError("it is neither a zip archive nor a pickle"))
    try:
        with warnings.catch_warnings():
            # files written with pickle protocol > 2 load fine; torch only mentions it
            warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
            obj = torch.load(path, weights_only=True, map_location="cpu", mmap=zipped)
    except pickle.UnpicklingError as exc:
        raise UnsafeInputError(
            f"{path}: refused: it holds pickled Python objects other than tensors and plain "
            f"containers ({_refusal_detail(exc)}). Nothing in it was executed. Save plain tensors "
            "instead, e.g. torch.save({'embedding': tensor, 'label': list_of_str}, path), or use "
            "safetensors"
        ) from None
    except _TORCH_ERRORS as exc:
        expected = "zip archive (PyTorch .pt)" if zipped else "Python pickle (legacy PyTorch .pt)"
        raise format_mismatch(path, expected, exc) from None

    if isinstance(obj, torch.Tensor):
        if obj.ndim != 2:
            raise shape_error(path, tuple(obj.shape))
        items: dict[str, Any] = {"embedding": obj}
    elif isinstance(obj, Mapping):
        items = {str(key): value for key, value in obj.items()}
    else:
        raise VectorError(
            f"{path}: holds a {type(obj).__name__}; projector reads a 2-D tensor or a dict of named "
            "tensors and lists. Save it as torch.save({'embedding': tensor}, path)"
        )
    entries = {key: _torch_entry(torch, value) for key, value in items.items()}
    plan = plan_arrays(entries, str(path))
    table, notes = planned_table(plan, items.__getitem__)
    table = attach_metadata_option(table, metadata, path)
    return Loaded(table, str(path), hints={"vector": plan.vectors}, media_root=path.parent, notes=[*plan.notes, *notes])


def read_safetensors(path: Path, *, metadata: Any = None) -> Loaded:
    """Named tensors from a ``.safetensors`` file; needs no torch except for bfloat16 tensors.

    Tensor headers are read first, so tensors that are left out are never loaded.

    Args:
        metadata: a row-aligned metadata file or in-memory table, as for :func:`read_torch`.
    """
    from safetensors import SafetensorError, safe_open

    check_file(path)
    try:
        with safe_open(str(path), framework="numpy") as handle:
            entries = {}
            for key in handle.keys():
                info = handle.get_slice(key)
                dtype = info.get_dtype()
                entries[key] = (tuple(info.get_shape()), _SAFETENSORS_KINDS.get(dtype) or _int_kind(dtype))

            def read(key: str) -> Any:
                if handle.get_slice(key).get_dtype() == "BF16":
                    return _bfloat16(path, key)
                return handle.get_tensor(key)

            plan = plan_arrays(entries, str(path))
            table, notes = planned_table(plan, read)
    except ProjectorError:  # what the tensors hold (a VectorError is also a ValueError), not a broken file
        raise
    except (SafetensorError, OSError, ValueError) as exc:
        raise format_mismatch(path, "safetensors", exc) from None
    table = attach_metadata_option(table, metadata, path)
    return Loaded(table, str(path), hints={"vector": plan.vectors}, media_root=path.parent, notes=[*plan.notes, *notes])


def _import_torch(path: Path, why: str) -> Any:
    try:
        import torch
    except ImportError:
        raise MissingDependencyError(
            f"{path}: {why} needs PyTorch, which is not installed; pip install 'projector[torch]'"
        ) from None
    return torch


def _torch_entry(torch: Any, value: Any) -> tuple[tuple[int, ...], str]:
    """``(shape, kind)`` of a loaded value, in the terms of :func:`plan_arrays`."""
    if isinstance(value, torch.Tensor):
        dtype = value.dtype
        if dtype.is_floating_point:
            kind = "f"
        elif dtype.is_complex:
            kind = "c"
        elif dtype == torch.bool:
            kind = "b"
        else:
            kind = "i" if dtype.is_signed else "u"
        return tuple(value.shape), kind
    if isinstance(value, (list, tuple)):
        return (len(value),), "list"
    return (), type(value).__name__


def _int_kind(dtype: str) -> str:
    if re.fullmatch(r"I\d+", dtype):
        return "i"
    if re.fullmatch(r"U\d+", dtype):
        return "u"
    return dtype


def _bfloat16(path: Path, key: str) -> Any:
    """A bfloat16 tensor as float32 numpy; numpy has no bfloat16, torch converts it."""
    torch = _import_torch(path, f"tensor {key!r} is bfloat16, which numpy cannot hold; converting it")
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        return handle.get_tensor(key).to(torch.float32).numpy()


def _refusal_detail(exc: Exception) -> str:
    match = re.search(r"WeightsUnpickler error: ([^\n]*?)(?: was not an allowed global.*)?$", str(exc), re.M)
    return match.group(1).strip() if match else str(exc).strip().splitlines()[0]

