"""The media cells of a dataset's rows: thumbnails, the files behind media paths, and the
check that counts what will show as a placeholder.

Kept apart from the other row questions because it alone touches the file system: every path
is confined to the data root here (:meth:`MediaRows.file`), in one place.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from projector.errors import ProjectorError, UnsafeInputError
from projector.media import BrokenMedia

if TYPE_CHECKING:
    from projector.dataset import Dataset
    from projector.explore.rows import Rows

__all__ = ["MediaRows", "MEDIA_CHECK_ROWS"]

MEDIA_CHECK_ROWS = 100_000  # media paths checked per column in the background (as ``projector info``)
_THUMBNAILS_KEPT = 4096


class MediaRows:
    """Thumbnails and media files of ``dataset``'s rows, with ``rows`` for cells and row checks."""

    def __init__(self, dataset: "Dataset", rows: "Rows") -> None:
        self.dataset = dataset
        self.rows = rows
        self.broken = BrokenMedia()  # images shown as placeholders, for one counted warning
        self._lock = threading.Lock()
        self._thumbnails: "OrderedDict[tuple[str, int, int], bytes]" = OrderedDict()

    def thumbnail(self, row: int, column: str | None = None, size: int = 96) -> bytes:
        """A PNG of ``row``'s image, at most ``size`` pixels a side. A missing, empty, unreadable,
        remote or out-of-root image is a grey square, counted in :attr:`broken`."""
        from projector.media import make_thumbnail, placeholder_png

        row = self.rows.check_row(row)
        column = column or (self.dataset.roles.images[0] if self.dataset.roles.images else None)
        if column is None or column not in self.dataset.roles.images:
            raise ProjectorError(f"{column!r} is not an image column; image columns: {list(self.dataset.roles.images)}")
        key = (column, row, size)
        cache = self._thumbnails
        with self._lock:
            hit = cache.get(key)
            if hit is not None:
                cache.move_to_end(key)
                return hit
        value = self.dataset.table.column(column)[row].as_py()
        if isinstance(value, dict):
            value = value.get("bytes") or value.get("path")

        def placeholder(reason: str = "") -> bytes:
            self.broken.add(column, row)
            return placeholder_png(size)

        if not value:
            png = placeholder()
        elif isinstance(value, (bytes, bytearray)):
            png = make_thumbnail(bytes(value), size, on_error=placeholder)
        else:
            try:
                source = self.file(column, row)
            except UnsafeInputError:  # missing, remote, or outside the data root: never opened
                png = placeholder()
            else:
                png = make_thumbnail(source, size, on_error=placeholder)
        with self._lock:
            cache[key] = png
            while len(cache) > _THUMBNAILS_KEPT:
                cache.popitem(last=False)
        return png

    def notes(self) -> list[str]:
        """One line per media column with placeholders so far (see :attr:`broken`)."""
        roles = self.dataset.roles
        return [m for m in (self.broken.message(c) for c in (*roles.images, *roles.audio)) if m is not None]

    def check(self, limit: int = MEDIA_CHECK_ROWS) -> list[str]:
        """Find the media that will show as placeholders (missing, empty, remote or outside the
        data root; the first ``limit`` rows of each column), count them in :attr:`broken`
        and warn once per column. Runs in the background after the first paint
        (:meth:`~projector.explore.store.DataStore.start_media_check`); an unreadable file is
        counted when a thumbnail of it is made."""
        import warnings

        from projector.errors import ProjectorWarning

        roles = self.dataset.roles
        messages = []
        for column in (*roles.images, *roles.audio):
            data = self.dataset.table.column(column).slice(0, limit)
            if pa.types.is_struct(data.type):  # Hugging Face {bytes, path}: a row needs one of them
                have_bytes = pc.fill_null(pc.greater(pc.binary_length(pc.struct_field(data, "bytes")), 0), False)
                have_bytes = have_bytes.to_numpy(zero_copy_only=False)
                paths = pc.struct_field(data, "path")
            elif pa.types.is_string(data.type) or pa.types.is_large_string(data.type):
                have_bytes, paths = None, data
            else:  # bytes stored in the table: only empty ones are broken (unreadable: when drawn)
                empty = pc.fill_null(pc.equal(pc.binary_length(data), 0), True)
                for row in np.flatnonzero(empty.to_numpy(zero_copy_only=False)):
                    self.broken.add(column, int(row))
                paths = None
            if paths is not None:
                for row, value in enumerate(paths.to_pylist()):
                    if have_bytes is not None and have_bytes[row]:
                        continue
                    try:
                        self._path(column, row, value)  # empty, remote or outside the root: raises
                    except UnsafeInputError:
                        self.broken.add(column, row)
            message = self.broken.message(column)
            if message is not None:
                messages.append(message)
                warnings.warn(message, ProjectorWarning, stacklevel=2)
        return messages

    def file(self, column: str, row: int) -> Path:
        """The file behind a media path value, confined to the data root (raises otherwise)."""
        if column not in (*self.dataset.roles.images, *self.dataset.roles.audio):
            raise UnsafeInputError(f"{column!r} is not a media column")
        return self._path(column, row, self.rows.value(column, row))

    def _path(self, column: str, row: int, value: Any) -> Path:
        """:meth:`file` for ``value``, the row's cell already read."""
        from projector.media import is_url, resolve_media_path

        if isinstance(value, dict):
            value = value.get("path")
        if not isinstance(value, str) or not value or is_url(value):
            raise UnsafeInputError(f"{column!r} row {row} names no local file")
        root = self.dataset.media_root
        if root is None:
            raise UnsafeInputError(f"{column!r} row {row}: no data root to serve {value!r} from")
        path = resolve_media_path(root, value)
        if not path.is_file():
            raise UnsafeInputError(f"{column!r} row {row}: {value!r} is not a file under the data root")
        return path

    def url_value(self, column: str, row: int) -> str | None:
        """A URL stored in the data (http/https/data:) that the browser may load itself."""
        from projector.media import is_url

        value = self.rows.value(column, row)
        if isinstance(value, dict):
            value = value.get("path")
        return value if isinstance(value, str) and is_url(value) else None
