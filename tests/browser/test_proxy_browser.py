"""Behind a reverse proxy: ``serve --prefix /proxied --allow-websocket-origin PROXY``.

A small proxy on another port (another origin) forwards ``/proxied/...``, websockets included,
to the app and answers 404 to every other path. The page opened through it must paint, connect
its websocket (allowed only by ``--allow-websocket-origin``) and fetch hover cards and
thumbnails under the prefix: any URL that skips the prefix shows up as a 404 at the proxy.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from dataclasses import dataclass, field
from typing import Iterator

import pytest

from browser.conftest import map_geometry
from browser.served import ServedApp, serve_app
from browser.test_app_browser import DEMO_ROWS, WAIT_MS, hover, isolated

pytestmark = pytest.mark.browser

PREFIX = "/proxied"


@dataclass
class Proxy:
    port: int
    upstream: int
    outside_prefix: list[str] = field(default_factory=list)  # paths asked for that lack the prefix
    forwarded: list[str] = field(default_factory=list)
    loop: asyncio.AbstractEventLoop | None = None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run_proxy(proxy: Proxy, ready: threading.Event) -> None:
    from tornado.httpclient import AsyncHTTPClient, HTTPRequest
    from tornado.web import Application, RequestHandler
    from tornado.websocket import WebSocketHandler, websocket_connect

    upstream = f"127.0.0.1:{proxy.upstream}"

    class Forward(RequestHandler):
        async def get(self) -> None:
            if not (self.request.path == PREFIX or self.request.path.startswith(PREFIX + "/")):
                proxy.outside_prefix.append(self.request.uri)
                self.set_status(404)
                return
            proxy.forwarded.append(self.request.uri)
            headers = {k: v for k, v in self.request.headers.items() if k.lower() not in ("host", "accept-encoding")}
            response = await AsyncHTTPClient().fetch(
                HTTPRequest(f"http://{upstream}{self.request.uri}", headers=headers, follow_redirects=False),
                raise_error=False,
            )
            self.set_status(response.code if response.code != 599 else 502)
            for name, value in response.headers.get_all():
                if name.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding"):
                    self.add_header(name, value)
            if response.body:
                self.write(response.body)

    class Socket(WebSocketHandler):
        def check_origin(self, origin: str) -> bool:
            return True  # the app behind decides, from the Origin passed on

        def select_subprotocol(self, subprotocols):
            return subprotocols[0] if subprotocols else None

        async def open(self) -> None:
            proxy.forwarded.append(self.request.uri)
            protocols = [p.strip() for p in self.request.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()]
            request = HTTPRequest(f"ws://{upstream}{self.request.uri}", headers={"Origin": self.request.headers.get("Origin", "")})
            self.backend = await websocket_connect(request, subprotocols=protocols or None, max_message_size=1 << 30)
            asyncio.ensure_future(self._pump())

        async def _pump(self) -> None:
            while (message := await self.backend.read_message()) is not None:
                await self.write_message(message, binary=isinstance(message, bytes))
            self.close()

        async def on_message(self, message) -> None:
            await self.backend.write_message(message, binary=isinstance(message, bytes))

        def on_close(self) -> None:
            backend = getattr(self, "backend", None)
            if backend is not None:
                backend.close()

    async def main() -> None:
        app = Application([(rf"{PREFIX}/ws", Socket), (r".*", Forward)], websocket_max_message_size=1 << 30)
        app.listen(proxy.port, address="127.0.0.1")
        proxy.loop = asyncio.get_running_loop()
        ready.set()
        await asyncio.Event().wait()

    try:
        asyncio.run(main())
    except RuntimeError:  # the loop stopped at teardown
        pass


@pytest.fixture(scope="module")
def proxied_app(tmp_path_factory) -> Iterator[tuple[ServedApp, Proxy]]:
    proxy_port = _free_port()
    app = serve_app(
        ["--method", "none", "--prefix", PREFIX + "/", "--allow-websocket-origin", f"127.0.0.1:{proxy_port}"],
        tmp_path_factory.mktemp("proxied-cache"),
    )
    proxy = Proxy(proxy_port, app.port)
    ready = threading.Event()
    threading.Thread(target=_run_proxy, args=(proxy, ready), daemon=True).start()
    assert ready.wait(30), "the test proxy did not start"
    try:
        yield app, proxy
    finally:
        if proxy.loop is not None:
            proxy.loop.call_soon_threadsafe(proxy.loop.stop)
        app.stop()


def test_the_app_works_behind_a_proxy_under_a_prefix(proxied_app, open_page):
    app, proxy = proxied_app
    assert app.url.endswith(f":{app.port}{PREFIX}/"), app.url  # the address printed has the prefix
    page, _ = open_page(f"http://127.0.0.1:{proxy.port}{PREFIX}/")  # waits for the map's data (websocket)
    geometry = map_geometry(page, None)
    assert geometry["n"] == DEMO_ROWS
    row = isolated(geometry["points"], list(range(0, DEMO_ROWS, 7)))
    hover(page, *geometry["points"][row])
    tip = page.locator("#projector-tooltip")
    tip.wait_for(state="visible", timeout=WAIT_MS)
    assert f"id {row}" in tip.text_content()
    page.wait_for_function(
        "() => { const img = document.querySelector('#projector-tooltip img'); return img && img.complete && img.naturalWidth > 0; }",
        timeout=WAIT_MS,
    )
    assert any(uri.startswith(f"{PREFIX}/projector/") and "/row/" in uri for uri in proxy.forwarded), proxy.forwarded
    assert any("/thumb/" in uri for uri in proxy.forwarded), proxy.forwarded
    assert any(uri.startswith(f"{PREFIX}/ws") for uri in proxy.forwarded), proxy.forwarded
    assert proxy.outside_prefix == [], "the page asked for URLs without the prefix"


def test_a_page_from_an_origin_not_allowed_gets_no_websocket(proxied_app):
    from tornado.httpclient import HTTPClientError, HTTPRequest
    from tornado.websocket import websocket_connect

    app, proxy = proxied_app

    async def connect(origin: str) -> int:
        request = HTTPRequest(f"ws://127.0.0.1:{app.port}{PREFIX}/ws", headers={"Origin": origin})
        try:
            connection = await websocket_connect(request, subprotocols=["bokeh", "no-token"])
        except HTTPClientError as error:
            return error.code
        connection.close()
        return 101

    def status(origin: str) -> int:  # run on the proxy's loop: Playwright holds this thread's
        return asyncio.run_coroutine_threadsafe(connect(origin), proxy.loop).result(60)

    assert status("http://127.0.0.1:1") == 403  # neither the served port nor the allowed one
    assert status(f"http://127.0.0.1:{proxy.port}") != 403  # allowed (then refused for its token)


def test_a_prefix_that_is_not_a_plain_path_is_refused(tmp_path):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "projector", "serve", "--prefix", "/a/../b", "--no-open"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2
    assert "--prefix '/a/../b'" in result.stderr and "plain URL path" in result.stderr
