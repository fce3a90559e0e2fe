"""Serving the app: one Panel page per dataset plus the media endpoints, on 127.0.0.1 by default.

``projector serve`` gathers options and calls :func:`serve`. Websocket connections are only
accepted from the served host and port (the real port, also when ``port=0`` asks for a free
one); binding any other address than loopback warns that the data becomes reachable from the
network.
"""

from __future__ import annotations

import re
import socket
import warnings
from pathlib import Path
from dataclasses import dataclass
from typing import Callable, Sequence

from projector.app.store import DataStore
from projector.errors import ProjectorWarning

__all__ = ["serve", "build_server", "Failed", "LOOPBACK", "slug"]

LOOPBACK = ("127.0.0.1", "localhost", "::1")
INDEX_TEMPLATE = Path(__file__).parent / "assets" / "index.html"


@dataclass(frozen=True)
class Failed:
    """A dataset that did not load: its page shows ``message`` instead of a map."""

    name: str
    message: str


def slug(text: str, taken: set[str]) -> str:
    """A URL-safe, unique short name for a dataset (from its file name)."""
    base = re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-").lower() or "data"
    name, i = base, 2
    while name in taken:
        name, i = f"{base}-{i}", i + 1
    taken.add(name)
    return name


def free_port(host: str) -> int:
    """A port that is free now on ``host`` (so the websocket allow-list can name it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def origins(host: str, port: int) -> list[str]:
    """Websocket origins allowed: the served host and port (and localhost for loopback)."""
    hosts = {host}
    if host in LOOPBACK:
        hosts.update({"127.0.0.1", "localhost"})
    return sorted(f"{name}:{port}" for name in hosts)


def build_server(sources: Sequence[DataStore | Failed], *, host: str = "127.0.0.1", port: int = 5006):
    """A Bokeh/Panel server for ``sources`` (not started). Returns ``(server, url)``."""
    import panel as pn

    from projector.app.routes import routes
    from projector.app.shell import build_page, error_page

    if host not in LOOPBACK:
        warnings.warn(
            f"serving on {host}: anyone who can reach this machine on port {port} can see the data; "
            "use --host 127.0.0.1 to keep it local",
            ProjectorWarning,
            stacklevel=2,
        )
    if port == 0:
        port = free_port(host)
    stores = {source.name: source for source in sources if isinstance(source, DataStore)}
    apps: dict[str, Callable] = {}
    for source in sources:
        if isinstance(source, DataStore):
            apps[source.name] = _page(build_page, source, tuple(s.name for s in sources) if len(sources) > 1 else ())
        else:
            apps[source.name] = _page(error_page, source.name, source.message)
    panel_apps = next(iter(apps.values())) if len(apps) == 1 else apps
    titles = {name: f"projector · {name}" for name in apps}
    server = pn.serve(
        panel_apps,
        port=port,
        address=host,
        websocket_origin=origins(host, port),
        show=False,
        start=False,
        verbose=False,
        title=next(iter(titles.values())) if len(apps) == 1 else titles,
        extra_patterns=routes(stores),
        index=str(INDEX_TEMPLATE),  # Panel's own index loads fonts and a logo from the internet
    )
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/"
    return server, url


def _page(factory: Callable, *args) -> Callable:
    return lambda: factory(*args)


def serve(sources: Sequence[DataStore | Failed], *, host: str = "127.0.0.1", port: int = 5006, open_browser: bool = False, on_ready: Callable[[str], None] | None = None) -> None:
    """Serve until interrupted; ``on_ready(url)`` runs once the server is listening."""
    server, url = build_server(sources, host=host, port=port)
    server.start()
    if on_ready is not None:
        on_ready(url)
    if open_browser:
        import webbrowser

        server.io_loop.add_callback(webbrowser.open, url)
    try:
        server.io_loop.start()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        for source in sources:
            if isinstance(source, DataStore):
                source.close()
