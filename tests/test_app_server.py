"""`projector serve` over HTTP, without a browser: hover records, thumbnails, media confinement,
the websocket origin allow-list, a failed dataset beside a good one, and the non-loopback warning.

The server runs as a subprocess on a free port (``--port 0``), as a user starts it.
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import os
import socket
import time

import pytest

from browser.served import HOSTILE, NOTE_COLUMN, SYMLINK_ROW, serve_app, write_broken_file, write_hostile_dataset

GOOD_ROW = SYMLINK_ROW + 1


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The hostile dataset (``/hostile``) and a file that fails to load (``/broken``)."""
    folder = tmp_path_factory.mktemp("served")
    path = write_hostile_dataset(folder)
    app = serve_app([str(path), str(write_broken_file(path.parent))], tmp_path_factory.mktemp("served-cache"))
    app.data_root = path.parent
    yield app
    app.stop()


def get(app, path: str) -> http.client.HTTPResponse:
    """GET ``path`` exactly as written (no client-side normalisation of ``..``)."""
    connection = http.client.HTTPConnection("127.0.0.1", app.port, timeout=60)
    connection.request("GET", path)
    response = connection.getresponse()
    response.body = response.read()
    connection.close()
    return response


def handshake_status(port: int, path: str, origin: str) -> int:
    """The HTTP status a websocket upgrade request from ``origin`` gets."""
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(request.encode("ascii"))
        status_line = sock.recv(4096).split(b"\r\n", 1)[0]
    return int(status_line.split()[1])


def test_row_endpoint_returns_the_raw_record_as_json(served):
    response = get(served, "/projector/hostile/row/1")
    assert response.status == 200
    assert response.getheader("Content-Type").startswith("application/json")
    assert response.getheader("X-Content-Type-Options") == "nosniff"
    record = json.loads(response.body)
    assert record["row"] == 1
    assert record["text"] == HOSTILE["script"]  # raw: the page draws it with textContent
    assert HOSTILE["bold"] in record["title"]
    assert dict(record["fields"])[NOTE_COLUMN].endswith(HOSTILE["script"])
    assert record["thumb"] == "projector/hostile/thumb/image/1?size=96"  # relative: works under --prefix


def test_thumbnail_is_a_small_png(served):
    from PIL import Image

    response = get(served, f"/projector/hostile/thumb/image/{GOOD_ROW}?size=16")
    assert response.status == 200
    assert response.getheader("Content-Type") == "image/png"
    assert response.body.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(response.body)) as image:
        assert max(image.size) <= 16


def test_media_file_under_the_data_root_is_served(served):
    response = get(served, f"/projector/hostile/media/image/{GOOD_ROW}")
    assert response.status == 200
    assert response.getheader("Content-Type") == "image/png"
    assert response.getheader("X-Content-Type-Options") == "nosniff"
    assert "sandbox" in response.getheader("Content-Security-Policy") and "default-src 'none'" in response.getheader("Content-Security-Policy")
    assert response.body == (served.data_root / f"images/img_{GOOD_ROW:03d}.png").read_bytes()


@pytest.mark.parametrize(
    "path",
    [
        f"/projector/hostile/media/image/{SYMLINK_ROW}",  # a symlink inside the root pointing outside
        "/projector/hostile/media/image/999999",
        "/projector/hostile/row/999999",
        "/projector/hostile/thumb/image/999999",
        "/projector/hostile/media/text/0",  # not a media column
        "/projector/hostile/thumb/text/0",
        "/projector/hostile/media/image/-1",
        "/projector/hostile/media/../../outside/secret.png",
        "/projector/hostile/media/..%2F..%2Foutside%2Fsecret.png/0",
        "/projector/hostile/media/image/..%2F..%2Foutside%2Fsecret.png",
        "/projector/nosuchdata/row/0",
        "/projector/broken/row/0",
    ],
)
def test_anything_else_is_a_404(served, path):
    response = get(served, path)
    assert response.status == 404, (path, response.status, response.body[:200])
    assert b"secret" not in response.body and b"\x89PNG" not in response.body


def test_a_thumbnail_of_a_file_outside_the_root_is_a_grey_placeholder(served):
    from PIL import Image

    response = get(served, f"/projector/hostile/thumb/image/{SYMLINK_ROW}?size=32")  # the symlink out
    assert response.status == 200 and response.getheader("Content-Type") == "image/png"
    with Image.open(io.BytesIO(response.body)) as image:
        assert set(image.convert("RGB").getdata()) == {(200, 200, 200)}  # grey, not the secret's red


def test_websocket_origins_name_the_real_port(served):
    from projector.app.server import origins

    port = served.port
    assert port != 0
    assert origins("127.0.0.1", port) == [f"127.0.0.1:{port}", f"localhost:{port}"]
    assert handshake_status(port, "/hostile/ws", f"http://127.0.0.1:{port}") == 101
    assert handshake_status(port, "/hostile/ws", f"http://localhost:{port}") == 101
    assert handshake_status(port, "/hostile/ws", "http://evil.example") == 403
    assert handshake_status(port, "/hostile/ws", f"http://127.0.0.1:{port + 1}") == 403


def test_a_failed_dataset_is_listed_and_the_others_keep_serving(served):
    assert "projector: error: " in "".join(served.stderr) and "broken.parquet" in "".join(served.stderr)  # errors go to stderr
    index = get(served, "/")
    assert index.status == 200
    assert b'href="./broken"' in index.body and b'href="./hostile"' in index.body
    assert get(served, "/broken").status == 200
    assert get(served, "/projector/hostile/row/0").status == 200
    assert served.process.poll() is None


def test_serving_beyond_loopback_warns(tmp_path):
    path = write_hostile_dataset(tmp_path / "data", rows=40)
    app = serve_app([str(path), "--host", "0.0.0.0"], tmp_path / "cache")
    try:
        for _ in range(120):  # stderr is read on its own thread; give it time to catch up
            warning = "".join(app.stderr)
            if "warning" in warning:
                break
            time.sleep(0.25)
        assert "projector: warning: serving on 0.0.0.0" in warning
        assert "--host 127.0.0.1" in warning and "on port 0 " not in warning
        assert app.url.startswith("http://127.0.0.1:")  # an address a browser can open, not 0.0.0.0
        assert "serving at http://0.0.0.0" not in "".join(app.stdout)
    finally:
        app.stop()


def test_loopback_serves_without_a_warning(served):
    deadline = time.monotonic() + 60  # the media check runs in the background after the URL
    while "placeholder" not in "".join(served.stderr) and time.monotonic() < deadline:
        time.sleep(0.2)
    warnings = [line for line in "".join(served.stderr).splitlines() if "warning" in line.lower()]
    # only the one counted warning about the symlink that leaves the data root (row 5)
    assert warnings == [
        "projector: warning: 'image': 1 media file is missing, empty, unreadable or outside the data root "
        f"and shows as a grey placeholder (row {SYMLINK_ROW})"
    ], warnings


def test_only_pictures_sound_and_text_are_served_as_media():
    from projector.app.routes import media_type

    assert media_type("a/b/cat.PNG") == "image/png" and media_type("x.mp3") == "audio/mpeg"
    assert media_type("notes.txt").startswith("text/plain")
    for name in ("evil.html", "evil.htm", "evil.svg", "evil.js", "evil.xhtml", "evil", "evil.png.html"):
        assert media_type(name) is None, name


def test_cards_and_thumbnails_are_revalidated_by_their_content(served):
    first = get(served, "/projector/hostile/row/1")
    assert "no-cache" in first.getheader("Cache-Control") and "max-age=3600" not in first.getheader("Cache-Control")
    etag = first.getheader("ETag")
    assert etag
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=60)
    connection.request("GET", "/projector/hostile/row/1", headers={"If-None-Match": etag})
    again = connection.getresponse()
    again.read()
    connection.close()
    assert again.status == 304  # unchanged content: nothing sent again
    assert get(served, "/projector/hostile/row/2").getheader("ETag") != etag


def test_a_wildcard_host_prints_addresses_a_browser_can_open_and_allows_their_origins():
    from projector.app.server import origins, urls

    found = urls("0.0.0.0", 5006)
    assert found[0] == "http://127.0.0.1:5006/" and "http://0.0.0.0:5006/" not in found
    allowed = origins("0.0.0.0", 5006, ["proxy.example:443"])
    assert "127.0.0.1:5006" in allowed and "localhost:5006" in allowed and "proxy.example:443" in allowed
    assert "0.0.0.0:5006" not in allowed
    assert urls("::1", 80) == ["http://[::1]:80/"]


def test_allow_websocket_origin_admits_a_proxy(tmp_path):
    from projector.app.server import origins

    app = serve_app(["--method", "none", "--allow-websocket-origin", "proxy.example:8443"], tmp_path / "cache")
    try:
        port = app.port
        assert handshake_status(port, "/ws", "https://proxy.example:8443") == 101
        assert handshake_status(port, "/ws", "https://other.example:8443") == 403
        assert handshake_status(port, "/ws", f"http://127.0.0.1:{port}") == 101
        assert "proxy.example:8443" in origins("127.0.0.1", port, ["proxy.example:8443"])
    finally:
        app.stop()


def test_only_the_first_page_of_a_server_is_validated(monkeypatch):
    """Bokeh's model checks run for a server's first page; later pages, built by the same
    code, skip them (BOKEH_VALIDATE_DOC, when set, still decides)."""
    from bokeh.settings import settings

    from projector.app.server import _CheckFirstPage

    monkeypatch.delenv("BOKEH_VALIDATE_DOC", raising=False)
    check = _CheckFirstPage()
    try:
        check()
        assert settings.perform_document_validation() is True
        check()
        assert settings.perform_document_validation() is False
    finally:
        settings.perform_document_validation.unset_value()
    monkeypatch.setenv("BOKEH_VALIDATE_DOC", "true")
    check = _CheckFirstPage()
    check(), check()
    assert settings.perform_document_validation() is True


def test_a_page_whose_websocket_is_late_is_kept_not_built_twice():
    """Bokeh drops a page whose websocket has not connected within 15 s and builds it again
    when it does; tabs opened together on a busy machine connect later than that."""
    import numpy as np
    import pyarrow as pa

    import projector
    from projector.app.server import UNCONNECTED_PAGE_S, build_server
    from projector.explore.store import DataStore

    vectors = np.random.default_rng(0).standard_normal((20, 4)).astype(np.float32)
    store = DataStore(projector.Dataset.from_table(pa.table({"emb": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), 4)})), name="tiny")
    server, _ = build_server([store], port=0)
    try:
        assert UNCONNECTED_PAGE_S >= 60
        assert server._tornado._unused_session_lifetime_milliseconds == UNCONNECTED_PAGE_S * 1000
    finally:
        server.stop()
        store.close()
