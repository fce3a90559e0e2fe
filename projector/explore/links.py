"""Where a page gets pictures, sound and hover records of rows: our HTTP routes, or inline.

A page served by ``projector serve`` loads them from the routes of :mod:`projector.app.routes`.
A notebook output has no such routes (the Jupyter server does not know them, so every fetch
would fail silently), so there :class:`InlineLinks` makes each picture a ``data:`` URL in Python
and the hover card gets its records over the Bokeh document (:mod:`projector.figures.hover`).
Both build the same record (:meth:`Links.hover_record`) from the same thumbnail code.
"""

from __future__ import annotations

import base64
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, Sequence
from urllib.parse import quote

from projector.errors import ProjectorError

if TYPE_CHECKING:
    from projector.explore.store import DataStore

__all__ = [
    "Links", "InlineLinks", "API_PREFIX", "MEDIA_TYPES", "INLINE_MEDIA_MAX_BYTES",
    "row_endpoint", "thumb_url", "media_url", "media_type",
]

API_PREFIX = "/projector"
TOOLTIP_FIELDS = 6  # columns a hover card lists unless the page chose some
MAX_CHOSEN = 12
# Media served as themselves: pictures, sound and plain text, nothing a browser runs. An .html
# or .svg in the data folder is never served, so it cannot run script on the app's origin.
MEDIA_TYPES = {
    ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
    ".webp": "image/webp", ".bmp": "image/bmp", ".avif": "image/avif",
    ".wav": "audio/wav", ".mp3": "audio/mpeg", ".ogg": "audio/ogg", ".oga": "audio/ogg",
    ".opus": "audio/ogg", ".flac": "audio/flac", ".m4a": "audio/mp4", ".aac": "audio/aac",
    ".txt": "text/plain; charset=utf-8",
}
# a notebook output carries its media inside the page: larger files are left out (use serve)
INLINE_MEDIA_MAX_BYTES = 2_000_000


def media_type(name: str) -> str | None:
    """The Content-Type a media file is served with, by its suffix; None: not served."""
    return MEDIA_TYPES.get(PurePath(name).suffix.lower())


# URLs put into pages are relative (no leading slash): a page at PREFIX/ or PREFIX/NAME resolves
# them under PREFIX, so the app works behind a reverse proxy that serves it below a path.
_PAGE_API = API_PREFIX.lstrip("/")


def row_endpoint(store: "DataStore") -> str:
    """The URL the hover card appends a row number to."""
    return f"{_PAGE_API}/{quote(store.name, safe='')}/row/"


def thumb_url(store: "DataStore", row: int, column: str | None = None, size: int = 96) -> str:
    column = column or (store.dataset.roles.images[0] if store.dataset.roles.images else "")
    return f"{_PAGE_API}/{quote(store.name, safe='')}/thumb/{quote(column, safe='')}/{int(row)}?size={int(size)}"


def media_url(store: "DataStore", column: str, row: int) -> str:
    """A media file of a row as the browser should fetch it: the data's own URL, or ours."""
    own = store.media.url_value(column, row)
    if own is not None and own.lower().startswith("data:"):
        return own
    return f"{_PAGE_API}/{quote(store.name, safe='')}/media/{quote(column, safe='')}/{int(row)}"


class Links:
    """URLs of a served page: everything comes from the app's routes."""

    inline = False

    def __init__(self, store: "DataStore") -> None:
        self.store = store

    def thumb(self, row: int, column: str, size: int = 96) -> str:
        """The ``src`` of a PNG thumbnail of ``row``'s image in ``column``."""
        return thumb_url(self.store, row, column, size)

    def media(self, column: str, row: int) -> str | None:
        """The ``src`` of ``row``'s image or sound file; None: it cannot be shown here."""
        return media_url(self.store, column, row)

    def hover_record(self, row: int, columns: Sequence[str] = ()) -> dict[str, Any]:
        """What the hover card shows of ``row`` (raw text: the page draws it with textContent),
        listing ``columns`` if given, else the first few; raises ProjectorError for a bad row."""
        record = self.store.rows.record(int(row))
        title = f"row {record['row']}" if record["label"] is None else f"{record['label_column']}: {record['label']}"
        if columns:
            values = dict(record["fields"])
            fields = [(name, values[name]) for name in columns[:MAX_CHOSEN] if name in values]
        else:
            shown = (record["label_column"], record["text_column"])
            fields = [(name, value) for name, value in record["fields"] if name not in shown][:TOOLTIP_FIELDS]
        return {
            "row": record["row"],
            "id": record["id"],
            "title": f"{title} · id {record['id']}",
            "text": record["text"],
            "thumb": self.thumb(record["row"], record["images"][0]) if record["images"] else None,
            "fields": fields,
        }


class InlineLinks(Links):
    """A page without our routes (a notebook): pictures and sound as ``data:`` URLs made here.

    An image that cannot be read (missing, outside the data root, corrupt) is the same grey
    placeholder the reports show; a sound file that cannot be read, or is larger than
    :data:`INLINE_MEDIA_MAX_BYTES`, is left out (None).
    """

    inline = True

    def thumb(self, row: int, column: str, size: int = 96) -> str:
        from projector.media import placeholder_png

        try:
            png = self.store.media.thumbnail(row, column, size)
        except ProjectorError:
            png = placeholder_png(size)
        return _data_url("image/png", png)

    def media(self, column: str, row: int) -> str | None:
        own = self.store.media.url_value(column, row)
        if own is not None:
            return own if own.lower().startswith("data:") else None  # offline: nothing fetched from the web
        try:
            path = self.store.media.file(column, row)
            kind = media_type(path.name)
            if kind is None or path.stat().st_size > INLINE_MEDIA_MAX_BYTES:
                return None
            return _data_url(kind, path.read_bytes())
        except (ProjectorError, OSError):
            return None


def _data_url(kind: str, data: bytes) -> str:
    return f"data:{kind.split(';')[0]};base64,{base64.b64encode(data).decode('ascii')}"
