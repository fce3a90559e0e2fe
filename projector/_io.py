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
    The file gets the permissions any new file of the user gets (0666 less the umask), or the
    replaced file's: the temp file's private 0600 is not carried into place.
    """
    path = Path(target)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True (--overwrite) to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(temp)
        mode = path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_umask()
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    """The process's umask, read without changing it where the system says it (Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)  # elsewhere: set and restore at once
    os.umask(mask)
    return mask
