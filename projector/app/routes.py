"""HTTP endpoints beside the Panel pages: hover records, thumbnails and media files.

Media is addressed by (dataset, column, row), never by a path from the URL: the server looks up
the row's value and opens it only through
:meth:`MediaRows.file <projector.explore.media_rows.MediaRows.file>`, which confines it to the
dataset's root (no ``..``, no symlink escape, no dotfiles). Anything else is a 404.
"""

from __future__ import annotations

import json
from typing import Mapping

from tornado.ioloop import IOLoop
from tornado.web import HTTPError, RequestHandler

from projector.explore.links import API_PREFIX, MEDIA_TYPES, Links, media_type, media_url, row_endpoint, thumb_url
from projector.explore.store import DataStore
from projector.errors import ProjectorError

__all__ = ["routes", "API_PREFIX", "row_endpoint", "thumb_url", "media_url", "media_type", "MEDIA_TYPES"]

# every response, also one opened in a tab of its own: no script, no plugin, nothing fetched
_CSP = "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; sandbox"
_MAX_THUMB = 512


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
            body = Links(store).hover_record(int(row), self.get_arguments("column"))
        except (ProjectorError, ValueError):
            raise HTTPError(404) from None
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(body, ensure_ascii=False))


class ThumbHandler(_StoreHandler):
    """``GET /projector/<data>/thumb/<column>/<row>?size=96``: a PNG thumbnail."""

    async def get(self, name: str, column: str, row: str) -> None:
        store = self.store(name)
        try:
            size = max(16, min(_MAX_THUMB, int(self.get_argument("size", "96"))))
            png = await IOLoop.current().run_in_executor(None, store.media.thumbnail, int(row), column, size)
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
            path = store.media.file(column, int(row))
            kind = media_type(path.name)
            if kind is None:
                raise ValueError(f"{path.name}: not an allowed media type")
            data = await IOLoop.current().run_in_executor(None, path.read_bytes)
        except (ProjectorError, ValueError, OSError):
            raise HTTPError(404) from None
        self.set_header("Content-Type", kind)
        self.set_header("Content-Disposition", "inline")
        self.finish(data)


def routes(stores: Mapping[str, DataStore]) -> list[tuple]:
    """Tornado routes for ``extra_patterns``; names and columns are URL-quoted path parts."""
    options = {"stores": stores}
    part = r"([^/]+)"
    return [
        (rf"{API_PREFIX}/{part}/row/(\d+)", RowHandler, options),
        (rf"{API_PREFIX}/{part}/thumb/{part}/(\d+)", ThumbHandler, options),
        (rf"{API_PREFIX}/{part}/media/{part}/(\d+)", MediaHandler, options),
    ]
