"""HTTP endpoints beside the Panel pages: hover records, thumbnails and media files.

Media is addressed by (dataset, column, row), never by a path from the URL: the server looks up
the row's value and opens it only through :meth:`DataStore.media_file`, which confines it to
the dataset's root (no ``..``, no symlink escape, no dotfiles). Anything else is a 404.
"""

from __future__ import annotations

import json
from pathlib import PurePath
from typing import Mapping

from tornado.ioloop import IOLoop
from tornado.web import HTTPError, RequestHandler

from projector.app.store import DataStore
from projector.errors import ProjectorError

__all__ = ["routes", "API_PREFIX", "row_endpoint", "thumb_url", "media_url", "media_type", "MEDIA_TYPES"]

# Media served as themselves: pictures, sound and plain text, nothing a browser runs. An .html
# or .svg in the data folder is never served, so it cannot run script on the app's origin.
MEDIA_TYPES = {
    ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
    ".webp": "image/webp", ".bmp": "image/bmp", ".avif": "image/avif",
    ".wav": "audio/wav", ".mp3": "audio/mpeg", ".ogg": "audio/ogg", ".oga": "audio/ogg",
    ".opus": "audio/ogg", ".flac": "audio/flac", ".m4a": "audio/mp4", ".aac": "audio/aac",
    ".txt": "text/plain; charset=utf-8",
}
# every response, also one opened in a tab of its own: no script, no plugin, nothing fetched
_CSP = "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; sandbox"

API_PREFIX = "/projector"
_TOOLTIP_FIELDS = 6  # columns a hover card lists unless the page chose some
_MAX_CHOSEN = 12
_MAX_THUMB = 512


# URLs put into pages are relative (no leading slash): a page at PREFIX/ or PREFIX/NAME resolves
# them under PREFIX, so the app works behind a reverse proxy that serves it below a path.
_PAGE_API = API_PREFIX.lstrip("/")


def row_endpoint(store: DataStore) -> str:
    """The URL the hover card appends a row number to (relative to the page)."""
    return f"{_PAGE_API}/{_quote(store.name)}/row/"


def thumb_url(store: DataStore, row: int, column: str | None = None, size: int = 96) -> str:
    column = column or (store.dataset.roles.images[0] if store.dataset.roles.images else "")
    return f"{_PAGE_API}/{_quote(store.name)}/thumb/{_quote(column)}/{int(row)}?size={int(size)}"


def media_url(store: DataStore, column: str, row: int) -> str:
    """A media file of a row as the browser should fetch it: the data's own URL, or ours."""
    own = store.media_url_value(column, row)
    if own is not None and own.lower().startswith("data:"):
        return own
    return f"{_PAGE_API}/{_quote(store.name)}/media/{_quote(column)}/{int(row)}"


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


class _StoreHandler(RequestHandler):
    def initialize(self, stores: Mapping[str, DataStore]) -> None:
        self.stores = stores

    def store(self, name: str) -> DataStore:
        store = self.stores.get(name)
        if store is None:
            raise HTTPError(404)
        return store

    def set_default_headers(self) -> None:
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Content-Security-Policy", _CSP)
        # revalidated each time against the ETag of the body (tornado's): a regenerated file
        # served under the same name never shows the old cards or pictures
        self.set_header("Cache-Control", "private, no-cache")


class RowHandler(_StoreHandler):
    """``GET /projector/<data>/row/<row>[?column=a&column=b]``: what the hover card shows, as
    JSON (raw text; the page draws it with textContent), listing the chosen columns if any."""

    def get(self, name: str, row: str) -> None:
        store = self.store(name)
        try:
            record = store.record(int(row))
        except (ProjectorError, ValueError):
            raise HTTPError(404) from None
        title = record["label"] if record["label"] is not None else f"row {record['row']}"
        if record["label"] is not None:
            title = f"{record['label_column']}: {record['label']}"
        chosen = self.get_arguments("column")
        if chosen:
            values = dict(record["fields"])
            fields = [(n, values[n]) for n in chosen[:_MAX_CHOSEN] if n in values]
        else:
            fields = [(n, v) for n, v in record["fields"] if n not in (record["label_column"], record["text_column"])][:_TOOLTIP_FIELDS]
        body = {
            "row": record["row"],
            "id": record["id"],
            "title": f"{title} · id {record['id']}",
            "text": record["text"],
            "thumb": thumb_url(store, record["row"], record["images"][0]) if record["images"] else None,
            "fields": fields,
        }
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(body, ensure_ascii=False))


class ThumbHandler(_StoreHandler):
    """``GET /projector/<data>/thumb/<column>/<row>?size=96``: a PNG thumbnail."""

    async def get(self, name: str, column: str, row: str) -> None:
        store = self.store(name)
        try:
            size = max(16, min(_MAX_THUMB, int(self.get_argument("size", "96"))))
            png = await IOLoop.current().run_in_executor(None, store.thumbnail, int(row), column, size)
        except (ProjectorError, ValueError):
            raise HTTPError(404) from None
        self.set_header("Content-Type", "image/png")
        self.finish(png)


class MediaHandler(_StoreHandler):
    """``GET /projector/<data>/media/<column>/<row>``: the row's image or audio file, only from
    inside the data root."""

    async def get(self, name: str, column: str, row: str) -> None:
        store = self.store(name)
        try:
            path = store.media_file(column, int(row))
            kind = media_type(path.name)
            if kind is None:
                raise ValueError(f"{path.name}: not an allowed media type")
            data = await IOLoop.current().run_in_executor(None, path.read_bytes)
        except (ProjectorError, ValueError, OSError):
            raise HTTPError(404) from None
        self.set_header("Content-Type", kind)
        self.set_header("Content-Disposition", "inline")
        self.finish(data)


def media_type(name: str) -> str | None:
    """The Content-Type a media file is served with, by its suffix; None: not served."""
    return MEDIA_TYPES.get(PurePath(name).suffix.lower())


def routes(stores: Mapping[str, DataStore]) -> list[tuple]:
    """Tornado routes for ``extra_patterns``; names and columns are URL-quoted path parts."""
    options = {"stores": stores}
    part = r"([^/]+)"
    return [
        (rf"{API_PREFIX}/{part}/row/(\d+)", RowHandler, options),
        (rf"{API_PREFIX}/{part}/thumb/{part}/(\d+)", ThumbHandler, options),
        (rf"{API_PREFIX}/{part}/media/{part}/(\d+)", MediaHandler, options),
    ]
