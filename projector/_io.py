"""Atomic file output: write to a temp file beside the target, then rename into place."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable

__all__ = ["write_atomically"]


def write_atomically(target: str | os.PathLike, write: Callable[[str], None], *, overwrite: bool = False) -> Path:
    """Call ``write(temp_path)`` and move the result to ``target``; never leaves a partial file.

    An existing ``target`` is replaced only with ``overwrite=True`` (FileExistsError otherwise).
    """
    path = Path(target)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True (--overwrite) to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(temp)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path
