"""Media values: recognising image/audio columns, confining paths to the data root, thumbnails.

Paths read from data are untrusted: :func:`check_paths` refuses values that leave the data
root lexically (``../``, absolute paths elsewhere) for a whole column at load time, and
:func:`resolve_media_path` re-checks the real path (symlinks) every time a file is opened.
"""

from __future__ import annotations

import io
import os
import posixpath
import threading
import warnings
from pathlib import Path
from typing import Callable, Iterable

from projector.errors import ProjectorWarning, UnsafeInputError

__all__ = [
    "IMAGE_SUFFIXES",
    "AUDIO_SUFFIXES",
    "is_url",
    "looks_like_image_bytes",
    "check_paths",
    "resolve_media_path",
    "make_thumbnail",
    "placeholder_png",
    "encode_png",
    "BrokenMedia",
]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff")
AUDIO_SUFFIXES = (".wav", ".mp3", ".flac", ".ogg", ".m4a", ".opus")
_URL_SCHEMES = ("http://", "https://", "data:")
_IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"II*\x00", b"MM\x00*")
# Images larger than this many pixels are refused as possible decompression bombs.
MAX_IMAGE_PIXELS = 64_000_000
THUMBNAIL_SIZE = 64


def is_url(value: str) -> bool:
    """True for values the browser fetches itself (http, https, data URIs)."""
    return value.lower().startswith(_URL_SCHEMES)


def looks_like_image_bytes(data: bytes) -> bool:
    """Recognise the common image formats by their magic bytes."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return True
    return data.startswith(_IMAGE_MAGIC)


def check_paths(
    values: Iterable[str | None], root: Path | None, column: str, *, rows: Iterable[int] | None = None
) -> None:
    """Refuse path values that lexically leave ``root``; URLs and nulls pass.

    Cheap enough for millions of rows: no file system access. Symlinks are checked when a
    file is opened (:func:`resolve_media_path`). ``rows`` numbers the values for messages when
    they are some rows of a column, not all of them in order.
    """
    root_text = os.path.normpath(os.path.abspath(root)) if root is not None else None
    for row, value in zip(rows, values) if rows is not None else enumerate(values):
        if value is None or value == "" or is_url(value):
            continue
        if root_text is None:
            if os.path.isabs(value) or _escapes(value):
                raise UnsafeInputError(
                    f"column {column!r}, row {row}: media path {value!r} is outside any data "
                    "root; pass media_root=DIR naming the folder that holds the media files"
                )
            continue
        full = os.path.normpath(os.path.join(root_text, value))
        if full != root_text and not full.startswith(root_text + os.sep):
            raise UnsafeInputError(
                f"column {column!r}, row {row}: media path {value!r} leaves the data root "
                f"{root_text}; move the files under it or pass media_root=DIR that contains them"
            )


def _escapes(value: str) -> bool:
    return posixpath.normpath(value.replace("\\", "/")).startswith("..")


def resolve_media_path(root: Path, value: str) -> Path:
    """The real path of media ``value`` under ``root``, refusing any escape (``..``, symlinks)."""
    real_root = Path(os.path.realpath(root))
    candidate = Path(os.path.realpath(real_root / value))
    if candidate != real_root and real_root not in candidate.parents:
        raise UnsafeInputError(
            f"media path {value!r} resolves to {candidate}, outside the data root {real_root}; "
            "symbolic links and '..' may not leave the root"
        )
    if any(part.startswith(".") for part in candidate.relative_to(real_root).parts):
        raise UnsafeInputError(f"media path {value!r} names a hidden file; refusing to read it")
    return candidate


def make_thumbnail(
    source: bytes | Path, size: int = THUMBNAIL_SIZE, *, what: str = "image", on_error: Callable[[str], None] | None = None,
) -> bytes:
    """A PNG thumbnail of an image file or bytes, at most ``size`` pixels on a side.

    A truncated, corrupt or oversized image (decompression bomb) becomes a grey placeholder,
    so one bad file never stops a load: ``on_error(reason)`` is told (a caller that counts
    them warns once), else a :class:`ProjectorWarning` names ``what``.
    """
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            handle = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else open(source, "rb")
            with handle, Image.open(handle) as image:
                if image.width * image.height > MAX_IMAGE_PIXELS:
                    raise Image.DecompressionBombError(
                        f"{image.width}x{image.height} pixels is more than {MAX_IMAGE_PIXELS}"
                    )
                image.draft("RGB", (size, size))
                image.thumbnail((size, size))
                return encode_png(image.convert("RGBA") if image.mode in ("P", "LA", "RGBA") else image.convert("RGB"))
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:  # Pillow raises SyntaxError for some broken PNG chunks
        if on_error is not None:
            on_error(str(exc))
            return placeholder_png(size)
        warnings.warn(
            f"{what}: cannot make a thumbnail ({exc}); showing a placeholder",
            ProjectorWarning,
            stacklevel=2,
        )
        return placeholder_png(size)


def placeholder_png(size: int = THUMBNAIL_SIZE) -> bytes:
    """A plain grey square, shown where an image cannot be read."""
    from PIL import Image

    return encode_png(Image.new("RGB", (size, size), (200, 200, 200)))


def encode_png(image, *, compress_level: int = 6) -> bytes:
    """A Pillow image as PNG bytes; ``compress_level`` (0-9) trades size for speed, and 1
    suits thousands of small tiles such as a sprite sheet's."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False, compress_level=compress_level)
    return buffer.getvalue()


class BrokenMedia:
    """Media that showed as placeholders (missing, empty, unreadable, remote or outside the
    data root), counted per column with the first rows kept, so one warning can say how many
    and where. Thread-safe: thumbnails are made on worker threads."""

    SHOWN = 5

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[str, set[int]] = {}

    def add(self, column: str, row: int) -> bool:
        """Count ``row`` of ``column`` (once however often it is asked for); True if new."""
        with self._lock:
            rows = self._rows.setdefault(column, set())
            new = row not in rows
            rows.add(row)
            return new

    def count(self, column: str | None = None) -> int:
        with self._lock:
            return sum(len(rows) for name, rows in self._rows.items() if column is None or name == column)

    def message(self, column: str) -> str | None:
        """``'image': 3 media files are missing, ... (rows 7, 12, 40)``, or None if none."""
        with self._lock:
            rows = sorted(self._rows.get(column, ()))
        if not rows:
            return None
        shown = ", ".join(map(str, rows[: self.SHOWN])) + (", ..." if len(rows) > self.SHOWN else "")
        if len(rows) == 1:
            return f"{column!r}: 1 media file is missing, empty, unreadable or outside the data root and shows as a grey placeholder (row {shown})"
        return (
            f"{column!r}: {len(rows):,} media files are missing, empty, unreadable or outside the data root "
            f"and show as grey placeholders (rows {shown})"
        )
