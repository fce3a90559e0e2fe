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

from projector.app.pending import Preparing
from projector.explore.store import DataStore
from projector.errors import ProjectorError, ProjectorWarning

__all__ = ["serve", "build_server", "Failed", "LOOPBACK", "slug"]

LOOPBACK = ("127.0.0.1", "localhost", "::1")
# A page is built when its HTML is requested and dropped when its websocket has not connected
# this long after. Bokeh's 15 s is shorter than many tabs opened at once take to load their
# scripts on a busy machine; a dropped page is built again when its websocket connects, so each
# late tab cost the server two pages.
UNCONNECTED_PAGE_S = 120
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


WILDCARDS = ("0.0.0.0", "::", "")


def addresses(host: str) -> list[str]:
    """The host names a browser can use to reach a server bound to ``host``: for a wildcard
    (0.0.0.0, ::), loopback and this machine's own names and addresses (looked up locally)."""
    if host not in WILDCARDS:
        return [host]
    found = ["127.0.0.1", "localhost"]
    try:
        name, aliases, ips = socket.gethostbyname_ex(socket.gethostname())
        found += [name, *aliases, *ips]
    except OSError:
        pass
    return list(dict.fromkeys(a for a in found if a and not a.startswith("127.") or a == "127.0.0.1"))


def urls(host: str, port: int, prefix: str = "") -> list[str]:
    """The addresses to print: ``http://HOST:PORT/`` for each name in :func:`addresses`."""
    return [f"http://{f'[{name}]' if ':' in name else name}:{port}{prefix}/" for name in addresses(host)]


def origins(host: str, port: int, extra: Sequence[str] = ()) -> list[str]:
    """Websocket origins allowed: the served host and port (localhost too for loopback, every
    address of the machine for a wildcard), plus ``extra`` (``--allow-websocket-origin``,
    for a reverse proxy or a remote browser)."""
    hosts = set(addresses(host))
    if host in LOOPBACK:
        hosts.update({"127.0.0.1", "localhost"})
    return sorted({*(f"{name}:{port}" for name in hosts), *extra})


def url_prefix(prefix: str) -> str:
    """``prefix`` as the server mounts it: ``""`` or ``/a/b`` (one leading slash, none trailing).

    Raises ProjectorError for anything but plain path segments (no ``..``, query or scheme)."""
    parts = [part for part in prefix.strip().split("/") if part]
    bad = [part for part in parts if part in (".", "..") or any(c in part for c in "?#%\\ ") or ":" in part]
    if bad:
        raise ProjectorError(f"--prefix {prefix!r}: use a plain URL path such as /projector (not {bad[0]!r})")
    return "/" + "/".join(parts) if parts else ""


def build_server(
    sources: "Sequence[DataStore | Failed] | Preparing", *, host: str = "127.0.0.1", port: int = 5006,
    allow_websocket_origin: Sequence[str] = (), prefix: str = "",
):
    """A Bokeh/Panel server for ``sources`` (not started): the datasets, or a
    :class:`~projector.app.pending.Preparing` whose pages show the embedding's progress until
    they are ready. Returns ``(server, urls)``: the addresses a browser can open, loopback first. ``prefix`` mounts every page and endpoint
    below a path, for a reverse proxy that forwards e.g. ``/projector/...`` unchanged."""
    prefix = url_prefix(prefix)
    import panel as pn

    from projector.app.routes import routes
    from projector.app.shell import build_page, error_page

    if port == 0:
        port = free_port(host)
    if host not in LOOPBACK:
        warnings.warn(
            f"serving on {host}: anyone who can reach this machine on port {port} can see the data; "
            "use --host 127.0.0.1 to keep it local",
            ProjectorWarning,
            stacklevel=2,
        )
    apps: dict[str, Callable] = {}
    checked = _CheckFirstPage()
    if isinstance(sources, Preparing):  # the data is still being embedded: pages show progress until it is ready
        stores = sources.stores  # filled when ready; the media endpoints look names up per request
        others = sources.names if len(sources.names) > 1 else ()
        for name in sources.names:
            apps[name] = _page(sources.page, name, others, before=checked)
    else:
        stores = {source.name: source for source in sources if isinstance(source, DataStore)}
        for source in sources:
            if isinstance(source, DataStore):
                apps[source.name] = _page(build_page, source, tuple(s.name for s in sources) if len(sources) > 1 else (), before=checked)
            else:
                apps[source.name] = _page(error_page, source.name, source.message, before=checked)
    panel_apps = next(iter(apps.values())) if len(apps) == 1 else apps
    titles = {name: f"projector · {name}" for name in apps}
    server = pn.serve(
        panel_apps,
        port=port,
        address=host,
        websocket_origin=origins(host, port, allow_websocket_origin),
        show=False,
        start=False,
        verbose=False,
        title=next(iter(titles.values())) if len(apps) == 1 else titles,
        extra_patterns=routes(stores),
        index=str(INDEX_TEMPLATE),  # Panel's own index loads fonts and a logo from the internet
        prefix=prefix,
        unused_session_lifetime_milliseconds=int(UNCONNECTED_PAGE_S * 1000),
    )
    return server, urls(host, port, prefix)


def _page(factory: Callable, *args, before: Callable[[], None] = lambda: None) -> Callable:
    def page():
        before()
        return factory(*args)

    return page


class _CheckFirstPage:
    """Bokeh checks every model of every new page for mistakes, about a tenth of what a page
    costs the server. The pages of one server are built by the same code: once the first has
    been checked (a document is checked before the next page starts), the rest are not.
    ``BOKEH_VALIDATE_DOC`` still decides when it is set."""

    def __init__(self) -> None:
        self.pages = 0

    def __call__(self) -> None:
        import os

        from bokeh.settings import settings

        self.pages += 1
        if self.pages == 2 and "BOKEH_VALIDATE_DOC" not in os.environ:
            settings.perform_document_validation.set_value(False)


STOP_GRACE_S = 1.5  # how long Ctrl-C waits for cancelled jobs before the process leaves anyway


def serve(
    sources: "Sequence[DataStore | Failed] | Preparing", *, host: str = "127.0.0.1", port: int = 5006, open_browser: bool = False,
    on_ready: Callable[[str], None] | None = None, allow_websocket_origin: Sequence[str] = (), prefix: str = "",
) -> bool:
    """Serve until interrupted; ``on_ready(url)`` runs once per address once the server listens.

    Ctrl-C cancels every job, queued or running (an embedding still running included). Returns True when they all ended within
    :data:`STOP_GRACE_S`; False when one is still inside a step that cannot be interrupted
    (the CLI then exits without waiting for it).
    """
    server, found = build_server(sources, host=host, port=port, allow_websocket_origin=allow_websocket_origin, prefix=prefix)
    server.start()
    if on_ready is not None:
        for url in found:
            on_ready(url)
    if open_browser:
        import webbrowser

        server.io_loop.add_callback(webbrowser.open, found[0])
    try:
        server.io_loop.start()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        stopped = _close(sources)
    return stopped


def _close(sources: "Sequence[DataStore | Failed] | Preparing") -> bool:
    """Cancel every job; True when they all ended within :data:`STOP_GRACE_S`."""
    if isinstance(sources, Preparing):
        return sources.close(STOP_GRACE_S)
    stores = [source for source in sources if isinstance(source, DataStore)]
    for store in stores:
        store.close()
    return all(store.wait_idle(STOP_GRACE_S) for store in stores)
