"""The cache folder: a :class:`Cache` that gets and puts entries safely between processes,
counts them (:meth:`Cache.info`) and clears them.

**Safety.** Writes go to a temp file in the same folder, are fsynced and ``os.replace``-d into
place, so a reader sees a whole entry or none, and two processes writing one key both succeed
and leave one entry. On a read, a missing footer (truncation), foreign or garbled metadata, a
size that does not match dtype and shape, or a content hash that does not match the bytes
(bit rot) makes the entry a miss; the file is deleted when possible. A folder that cannot be
written (read-only, full, not a folder) warns once and turns the cache into a no-op. Entry
files are created private to the user (mode 0600, from ``tempfile.mkstemp``).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping

from projector.cache._format import DAMAGED, CacheEntry, prepare, read, write
from projector.cache._keys import KEY, CacheKeyError, check_kind
from projector.errors import ProjectorWarning

if TYPE_CHECKING:
    import numpy as np

__all__ = ["Cache", "CacheInfo", "KindUsage", "default_root", "format_bytes", "CACHE_DIR_ENV"]

CACHE_DIR_ENV = "PROJECTOR_CACHE_DIR"
SUFFIX = ".arrow"
STALE_TEMP_SECONDS = 3600  # `clear` removes temp files older than this (left by a killed writer)
_ENTRY_NAME = re.compile(KEY.pattern + re.escape(SUFFIX))
_TEMP_NAME = re.compile(r"\." + KEY.pattern + r"\.[A-Za-z0-9_]+\.tmp")


@dataclass(frozen=True)
class KindUsage:
    """How many entries of one kind the cache holds, and their size on disk."""

    entries: int = 0
    bytes: int = 0


@dataclass(frozen=True)
class CacheInfo:
    """What the cache folder holds (see :meth:`Cache.info`)."""

    root: Path
    entries: int
    bytes: int
    by_kind: dict[str, KindUsage] = field(default_factory=dict)
    enabled: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "root": str(self.root),
            "enabled": self.enabled,
            "entries": self.entries,
            "bytes": self.bytes,
            "by_kind": {k: {"entries": v.entries, "bytes": v.bytes} for k, v in sorted(self.by_kind.items())},
        }

    def to_json(self) -> str:
        """The document ``projector cache info --json`` prints; keys are stable."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def to_text(self) -> str:
        """The summary ``projector cache info`` prints."""
        lines = [f"cache    {self.root}", f"entries  {self.entries:,} ({format_bytes(self.bytes)})"]
        if not self.enabled:
            lines.append("disabled")
        if self.by_kind:
            width = max(len(kind) for kind in self.by_kind)
            for kind, usage in sorted(self.by_kind.items()):
                lines.append(f"  {kind:<{width}}  {usage.entries:>6,}  {format_bytes(usage.bytes)}")
        return "\n".join(lines)


class Cache:
    """A folder of cached results, safe to share between processes.

    Args:
        root: the folder; default ``$PROJECTOR_CACHE_DIR``, else the platform's user cache
            folder for ``projector`` (``~/.cache/projector`` on Linux). Created on first write.
        enabled: False makes :meth:`get` always miss and :meth:`put` do nothing, without
            touching the disk. :meth:`info` and :meth:`clear` still work on the folder.

    A folder that cannot be written turns the cache off for the rest of this object's life,
    with one :class:`~projector.errors.ProjectorWarning`; nothing here raises on disk trouble.
    """

    def __init__(self, root: str | os.PathLike[str] | None = None, *, enabled: bool = True) -> None:
        self.root = Path(root).expanduser() if root is not None else default_root()
        self.enabled = enabled
        self._disabled_because: str | None = None

    @classmethod
    def from_options(cls, no_cache: bool = False, cache_dir: str | os.PathLike[str] | None = None) -> "Cache":
        """The cache a command uses: ``--no-cache`` turns it off; ``cache_dir`` (or
        ``$PROJECTOR_CACHE_DIR``) moves it."""
        return cls(cache_dir, enabled=not no_cache)

    @property
    def active(self) -> bool:
        """True while reads and writes happen: enabled and not turned off by a disk failure."""
        return self.enabled and self._disabled_because is None

    def __repr__(self) -> str:
        state = "enabled" if self.active else f"disabled ({self._disabled_because or 'enabled=False'})"
        return f"<Cache {str(self.root)!r} {state}>"

    def path_for(self, key: str) -> Path:
        """The file that holds ``key``."""
        if not isinstance(key, str) or not KEY.fullmatch(key):
            raise CacheKeyError(f"key={key!r} is not a cache key; make one with projector.cache.cache_key()")
        return self.root / f"{key}{SUFFIX}"

    # -- reading ------------------------------------------------------------------------------

    def get(self, key: str, *, verify: bool = True) -> CacheEntry | None:
        """The entry for ``key``, or None on a miss.

        A damaged, truncated or foreign file is a miss, and is deleted when possible. With
        ``verify`` (the default) the arrays' content hashes are checked against the bytes,
        which reads the whole entry once (70 ms for a 1M x 15 kNN graph, 180 MB); without it a hit
        costs about 2 ms whatever its size, as nothing is read until the arrays are used.
        """
        path = self.path_for(key)
        if not self.active:
            return None
        try:
            handle = open(path, "rb")
        except OSError:  # missing, or the root is not a folder: a miss either way
            return None
        import pyarrow as pa

        identity = entry = None
        with handle:
            try:
                identity = _identity(os.fstat(handle.fileno()))
                entry = read(handle, key, path, verify)
            except (*DAMAGED, pa.ArrowException):
                entry = None
        if entry is None:
            self._discard(path, identity)
        return entry

    def __contains__(self, key: str) -> bool:
        return self.get(key, verify=False) is not None

    # -- writing ------------------------------------------------------------------------------

    def put(self, key: str, arrays: Mapping[str, "np.ndarray"], meta: Mapping[str, Any] | None = None) -> None:
        """Store ``arrays`` (numeric numpy arrays) and JSON-ready ``meta`` under ``key``.

        Atomic: the entry appears whole or not at all. Raises TypeError for arrays or metadata
        the format cannot hold; disk failures only warn (once) and turn the cache off.
        """
        path = self.path_for(key)
        if not self.active:
            return
        import pyarrow as pa

        columns, header = prepare(key, arrays, meta)
        temp: str | None = None
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(prefix=f".{key}.", suffix=".tmp", dir=self.root)
            with open(fd, "wb") as sink:
                write(sink, columns, header)
                sink.flush()
                os.fsync(sink.fileno())
            os.replace(temp, path)
            temp = None
        except (OSError, pa.ArrowException) as exc:
            if not path.is_file():  # another process may have stored the key meanwhile: fine
                self._disable(exc)
        finally:
            if temp is not None:
                _unlink(Path(temp))

    # -- the folder ---------------------------------------------------------------------------

    def info(self) -> CacheInfo:
        """Count the entries in the folder and their bytes, in total and per kind."""
        by_kind: dict[str, list[int]] = {}
        for entry, kind in self._entries():
            try:
                size = entry.stat().st_size
            except OSError:
                continue
            usage = by_kind.setdefault(kind, [0, 0])
            usage[0] += 1
            usage[1] += size
        kinds = {kind: KindUsage(n, size) for kind, (n, size) in by_kind.items()}
        return CacheInfo(
            self.root,
            sum(k.entries for k in kinds.values()),
            sum(k.bytes for k in kinds.values()),
            kinds,
            self.active,
        )

    def clear(self, kind: str | None = None) -> int:
        """Delete entries (all, or those of ``kind`` and its ``kind-*`` variants); returns how many.

        Only files named like entries (``<kind>-<64 hex>.arrow``) are touched, and temp files
        of writers that died more than an hour ago; nothing else in the folder is.
        """
        if kind is not None:
            check_kind(kind)
        removed = 0
        for entry, entry_kind in self._entries():
            if kind is None or entry_kind == kind or entry_kind.startswith(f"{kind}-"):
                removed += _unlink(Path(entry.path))
        cutoff = time.time() - STALE_TEMP_SECONDS
        for entry in self._scan(_TEMP_NAME):
            try:
                if entry.stat().st_mtime < cutoff:
                    _unlink(Path(entry.path))
            except OSError:
                continue
        return removed

    # -- internals ----------------------------------------------------------------------------

    def _scan(self, pattern: re.Pattern[str]) -> Iterator[os.DirEntry[str]]:
        try:
            with os.scandir(self.root) as entries:
                found = [e for e in entries if pattern.fullmatch(e.name) and e.is_file(follow_symlinks=False)]
        except OSError:
            return iter(())
        return iter(found)

    def _entries(self) -> Iterator[tuple[os.DirEntry[str], str]]:
        for entry in self._scan(_ENTRY_NAME):
            yield entry, _ENTRY_NAME.fullmatch(entry.name)["kind"]  # type: ignore[index]

    def _disable(self, exc: BaseException) -> None:
        if self._disabled_because is not None:
            return
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        self._disabled_because = reason
        warnings.warn(
            f"cache disabled: cannot write to {self.root} ({reason}); results will not be cached. "
            f"Point {CACHE_DIR_ENV} at a writable folder, or pass --no-cache.",
            ProjectorWarning,
            stacklevel=3,
        )

    def _discard(self, path: Path, identity: tuple[int, int] | None) -> None:
        """Delete a damaged entry, unless another writer has replaced it since we opened it."""
        try:
            if identity is not None and _identity(path.stat()) != identity:
                return
        except OSError:
            return
        _unlink(path)


def default_root() -> Path:
    """``$PROJECTOR_CACHE_DIR`` if set and not empty, else the platform's user cache folder."""
    override = os.environ.get(CACHE_DIR_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("projector", appauthor=False))


def format_bytes(n: int) -> str:
    """``1536 -> '1.5 KB'``: sizes in powers of 1000, as disk tools print them."""
    if n < 1000:
        return f"{n} bytes"
    size = n / 1000
    for unit in ("KB", "MB", "GB"):
        if round(size, 1) < 1000:
            return f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"


def _identity(stat: os.stat_result) -> tuple[int, int]:
    return (stat.st_dev, stat.st_ino)


def _unlink(path: Path) -> int:
    try:
        path.unlink()
    except OSError:
        return 0
    return 1
