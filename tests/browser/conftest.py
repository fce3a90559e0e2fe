"""Fixtures for the browser tests: `projector serve` subprocesses and Debian's headless Chromium.

One server per dataset per module and one browser per session keep the module fast; every test
gets fresh pages (one browser session each). Pages may only talk to the local server: every
other request is aborted and fails the test, and so does any JavaScript dialog.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import urlsplit

import pytest

from browser.served import ServedApp, serve_app, write_broken_file, write_far_group_dataset, write_hostile_dataset

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
VIEWPORT = {"width": 1400, "height": 1000}
LOCAL_HOSTS = ("127.0.0.1",)


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless (never a downloaded build: `make test` installs the package)."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: the browser tests drive Debian's chromium; install it (as root: apt-get install chromium, or `make chromium`)", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory) -> Iterator[ServedApp]:
    """`projector serve --method none` of the built-in demo (digits, 1,797 rows): it stays on
    its PCA map, as no UMAP follows in the background."""
    app = serve_app(["--method", "none"], tmp_path_factory.mktemp("demo-cache"))
    yield app
    app.stop()


@pytest.fixture(scope="module")
def auto_app(tmp_path_factory) -> Iterator[ServedApp]:
    """`projector serve` of the built-in demo as `make demo` runs it: PCA first, then UMAP."""
    app = serve_app([], tmp_path_factory.mktemp("auto-cache"))
    yield app
    app.stop()


@pytest.fixture(scope="module")
def hostile_app(tmp_path_factory) -> Iterator[ServedApp]:
    """A hostile dataset (markup in values, labels and a column name; a symlink escape) served
    together with a file that fails to load: pages ``/hostile`` and ``/broken``."""
    folder = tmp_path_factory.mktemp("hostile")
    path = write_hostile_dataset(folder)
    broken = write_broken_file(path.parent)
    app = serve_app([str(path), str(broken), "--method", "none"], tmp_path_factory.mktemp("hostile-cache"))
    yield app
    app.stop()


@pytest.fixture(scope="module")
def far_app(tmp_path_factory) -> Iterator[ServedApp]:
    """`projector serve --x x --y y` of a blob with 1% of its rows far away (no projection runs)."""
    path = write_far_group_dataset(tmp_path_factory.mktemp("far"))
    app = serve_app([str(path), "--x", "x", "--y", "y"], tmp_path_factory.mktemp("far-cache"))
    yield app
    app.stop()


@dataclass
class PageLog:
    """What one page did that a test must not allow: dialogs, outside requests, script errors."""

    dialogs: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    check_outside: bool = True


def _local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("blob", "data") or parts.hostname in LOCAL_HOSTS


@pytest.fixture
def open_page(browser) -> Iterator[Callable]:
    """``open_page(url, check_outside=True) -> (page, log)``: a page in a fresh context whose
    network stops at the local server. At teardown any dialog, any page error and (unless
    ``check_outside`` is False) any request that left 127.0.0.1 fails the test."""
    opened: list[tuple] = []

    def factory(url: str, *, check_outside: bool = True, wait_for_map: bool = True):
        context = browser.new_context(viewport=VIEWPORT)
        log = PageLog(check_outside=check_outside)

        def route(route) -> None:
            if _local(route.request.url):
                route.continue_()
            else:
                log.outside.append(route.request.url)
                route.abort()

        context.route("**/*", route)
        page = context.new_page()
        page.set_default_timeout(60_000)

        def on_dialog(dialog) -> None:
            log.dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on("pageerror", lambda error: log.errors.append(str(error)))
        page.on("websocket", lambda socket: None if _local(socket.url.replace("ws://", "http://", 1)) else log.outside.append(socket.url))
        opened.append((context, log))
        page.goto(url)
        if wait_for_map:
            wait_for_map_data(page)
        return page, log

    yield factory
    problems = []
    for context, log in opened:
        context.close()
        if log.dialogs:
            problems.append(f"a dialog fired: {log.dialogs}")
        if log.errors:
            problems.append(f"page errors: {log.errors}")
        if log.check_outside and log.outside:
            problems.append(f"the page requested something outside 127.0.0.1: {log.outside}")
    assert not problems, "; ".join(problems)


# -- the map, seen from the page --------------------------------------------------------------

# Screen position of rows and of the plot frame, from the Bokeh figure's own scales.
MAP_JS = """(rows) => {
  const figure = [...Bokeh.index.query((v) => v.model && v.model.type === "Figure")][0];
  const points = [...figure.renderer_views.values()].find((r) => r.model.data_source && r.model.data_source.data.c !== undefined);
  const data = points.model.data_source.data;
  const box = figure.el.getBoundingClientRect();
  const frame = figure.frame.bbox;
  const at = (i) => [box.left + figure.frame.x_scale.compute(data.x[i]), box.top + figure.frame.y_scale.compute(data.y[i])];
  return {
    n: data.x.length,
    frame: {x: box.left + frame.left, y: box.top + frame.top, width: frame.width, height: frame.height},
    points: (rows === null ? [...Array(data.x.length).keys()] : rows).map(at),
  };
}"""


def wait_for_map_data(page, timeout: float = 90_000) -> None:
    """Until the figure's point source holds coordinates (painting may still be under way)."""
    page.wait_for_function(
        """() => {
          if (!window.Bokeh || !Bokeh.index) return false;
          const figure = [...Bokeh.index.query((v) => v.model && v.model.type === "Figure")][0];
          if (!figure) return false;
          const points = [...figure.renderer_views.values()].find((r) => r.model.data_source && r.model.data_source.data.c !== undefined);
          return points !== undefined && points.model.data_source.data.x.length > 0;
        }""",
        timeout=timeout,
    )


def map_geometry(page, rows: list[int] | None = None) -> dict:
    """``{"n", "frame": {x, y, width, height}, "points": [[x, y], ...]}`` in page pixels."""
    return page.evaluate(MAP_JS, rows)
