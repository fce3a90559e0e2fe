"""The notebook map where it runs: a real JupyterLab, a notebook executed in it, a headless page.

JupyterLab from the lock is started on 127.0.0.1 with a random token and a private root, config,
data and runtime folder (it finds its own static files and Panel's labextension the usual way,
through the environment the test runs in). The page runs the notebook's cells through
JupyterLab's own commands (what its Run menu does) and then checks what only this setup shows:
the map paints, hover cards come back from the kernel with image and text (there are no
``/projector/`` routes on a Jupyter server), a box drawn on the map is the selection Python
reads, and a selection set from Python is drawn on the map.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

ROWS = 200
WAIT_MS = 90_000
READY_S = 120.0
SELECTED_FROM_PYTHON = [3, 14, 15, 92]

SETUP_CELL = """\
import os
os.environ["PROJECTOR_CACHE_DIR"] = {cache!r}
import pyarrow.parquet as pq
import projector
from projector.dataset import Dataset
ds = Dataset.from_table(pq.read_table("data.parquet"), vector="embedding", image="image", text="caption",
                        label="group", media_root=".")
view = projector.show(ds)
view"""
ROWS_CELL = 'print("ROWS", view.rows.tolist())'
SELECT_CELL = f'view.select({SELECTED_FROM_PYTHON})\nprint("SET", view.rows.size)'

# the map's figure among every Bokeh view of the page: the one drawing the coloured points
FIGURE_JS = """() => {
  if (!window.Bokeh || !Bokeh.index || !Bokeh.index.query) return null;
  for (const figure of Bokeh.index.query((v) => v.model && v.model.type === "Figure")) {
    const points = [...figure.renderer_views.values()].find((r) => r.model.data_source && r.model.data_source.data.c !== undefined);
    if (points !== undefined) return [figure, points];
  }
  return null;
}"""
PAINTED_JS = f"""() => {{
  const found = ({FIGURE_JS})();
  if (found === null) return false;
  const [figure, points] = found;
  return points.model.data_source.data.x.length === {ROWS} && figure.frame.bbox.width > 0;
}}"""
GEOMETRY_JS = f"""() => {{
  const [figure, points] = ({FIGURE_JS})();
  figure.el.scrollIntoView({{block: "center"}});
  const data = points.model.data_source.data;
  const box = figure.el.getBoundingClientRect();
  const frame = figure.frame.bbox;
  const at = (i) => [box.left + figure.frame.x_scale.compute(data.x[i]), box.top + figure.frame.y_scale.compute(data.y[i])];
  return {{
    frame: {{x: box.left + frame.left, y: box.top + frame.top, width: frame.width, height: frame.height}},
    points: [...Array(data.x.length).keys()].map(at),
  }};
}}"""
SELECTED_JS = f"""() => {{
  const found = ({FIGURE_JS})();
  return found === null ? null : [...found[1].model.data_source.selected.indices].sort((a, b) => a - b);
}}"""
# JupyterLab's own commands (what its Run menu does), on the open notebook; not awaited here
RUN_CELL_JS = """(index) => {
  const app = window.jupyterapp;
  const panel = app.shell.currentWidget;
  panel.content.activeCellIndex = index;
  app.commands.execute("notebook:run-cell");
}"""
KERNEL_IDLE_JS = """() => {
  const app = window.jupyterapp;
  const panel = app && app.shell.currentWidget;
  const kernel = panel && panel.sessionContext && panel.sessionContext.session && panel.sessionContext.session.kernel;
  return Boolean(kernel && kernel.connectionStatus === "connected" && kernel.status === "idle");
}"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_notebook_data(root: Path) -> None:
    """200 rows in four groups: an 8-D embedding, a small PNG per row, a caption with markup."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from PIL import Image

    rng = np.random.default_rng(0)
    group = np.arange(ROWS) % 4
    centers = rng.normal(0, 6, size=(4, 8))
    vectors = (centers[group] + rng.normal(0, 1, size=(ROWS, 8))).astype(np.float32)
    (root / "images").mkdir()
    colors = [(220, 40, 40), (40, 160, 40), (40, 60, 220), (230, 180, 20)]
    paths = []
    for row in range(ROWS):
        path = f"images/{row:03d}.png"
        Image.new("RGB", (24, 24), colors[group[row]]).save(root / path)
        paths.append(path)
    table = pa.table({
        "embedding": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), 8),
        "image": paths,
        "caption": [f"caption {row} <b>bold</b>" for row in range(ROWS)],
        "group": [f"g{g}" for g in group],
    })
    pq.write_table(table, root / "data.parquet")


def write_notebook(path: Path, cache: Path) -> None:
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in (SETUP_CELL.format(cache=str(cache)), ROWS_CELL, SELECT_CELL)]
    nbformat.write(notebook, path)


@pytest.fixture
def lab(tmp_path):
    """JupyterLab on 127.0.0.1 with a random token, serving ``tmp_path/root``: ``(url, token)``.

    Its process group (the server and its kernels) is ended at teardown, whatever happened.
    """
    root = tmp_path / "root"
    root.mkdir()
    write_notebook_data(root)
    write_notebook(root / "map.ipynb", tmp_path / "cache")
    settings = tmp_path / "settings"
    consent = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    consent.parent.mkdir(parents=True)
    consent.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    port, token = _free_port(), secrets.token_hex(16)
    env = {
        **os.environ,  # JUPYTERLAB_DIR / JUPYTER_PATH pass through when the environment sets them
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_DATA_DIR": str(tmp_path / "data"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "IPYTHONDIR": str(tmp_path / "ipython"),
        "PYTHONUNBUFFERED": "1",
    }
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        "--ServerApp.open_browser=False", "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.expose_app_in_browser=True", "--LabApp.extension_manager=readonly",
        "--ServerApp.allow_root=True",  # CI containers run as root
        f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}",
    ]
    log = open(tmp_path / "lab.log", "w")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_S
        while True:
            if server.poll() is not None:
                pytest.fail(f"JupyterLab exited ({server.returncode}):\n{(tmp_path / 'lab.log').read_text()[-4000:]}")
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not answer within {READY_S:.0f} s:\n{(tmp_path / 'lab.log').read_text()[-4000:]}")
            time.sleep(0.5)
        yield url, token
    finally:
        _stop(server)
        log.close()


def _stop(server: subprocess.Popen) -> None:
    """End the server and every kernel it started (they share its process group)."""
    group = server.pid  # start_new_session: the group is the server's own
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(group, sig)
        except ProcessLookupError:
            return
        try:
            server.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        try:  # the server is gone; kernels it had not ended yet go now
            os.killpg(group, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return


def _output(page, cell: int, prefix: str) -> str:
    """The output line of notebook cell ``cell`` that starts with ``prefix``, once it is there."""
    locator = page.locator(".jp-Notebook .jp-Cell").nth(cell).locator(".jp-OutputArea-output", has_text=prefix)
    locator.first.wait_for(state="attached", timeout=WAIT_MS)
    return next(line for line in locator.first.text_content().splitlines() if line.startswith(prefix))


def test_notebook_map_hovers_selects_and_follows_python(lab, open_page):
    url, token = lab
    page, log = open_page(f"{url}/lab/tree/map.ipynb?token={token}", wait_for_map=False, check_outside=False)
    page.wait_for_function(KERNEL_IDLE_JS, timeout=WAIT_MS)
    page.evaluate(RUN_CELL_JS, 0)
    try:
        page.wait_for_function(PAINTED_JS, timeout=WAIT_MS)
    except Exception:
        output = page.locator(".jp-Notebook .jp-Cell").first.locator(".jp-OutputArea").text_content()
        raise AssertionError(f"the map did not paint; the cell's output ends: {output[-3000:]}") from None
    page.wait_for_function(KERNEL_IDLE_JS, timeout=WAIT_MS)

    # hover: the card comes back from the kernel, with the row's picture and its text as text
    geometry = page.evaluate(GEOMETRY_JS)
    xy = np.asarray(geometry["points"])
    gaps = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1)) + np.eye(ROWS) * 1e9
    row = int(np.argmax(gaps.min(axis=1)))  # the most isolated point: nothing else under the pointer
    page.mouse.move(xy[row, 0] - 8, xy[row, 1] - 8)
    page.mouse.move(xy[row, 0], xy[row, 1], steps=4)
    tip = page.locator("#projector-tooltip")
    tip.wait_for(state="visible", timeout=WAIT_MS)
    assert tip.get_attribute("data-row") == str(row)
    assert f"caption {row} <b>bold</b>" in tip.text_content()  # markup stays text
    assert tip.locator("b").count() == 0
    assert tip.locator("img").get_attribute("src").startswith("data:image/png;base64,")
    page.wait_for_function("() => { const img = document.querySelector('#projector-tooltip img'); return img && img.complete && img.naturalWidth > 0; }", timeout=WAIT_MS)

    assert log.outside == [], log.outside  # painting and hover fetched nothing from outside

    # a box drawn on the map is the selection Python reads
    frame = geometry["frame"]
    x0, y0 = frame["x"] + frame["width"] * 0.2, frame["y"] + frame["height"] * 0.2
    x1, y1 = frame["x"] + frame["width"] * 0.8, frame["y"] + frame["height"] * 0.8
    inside = np.flatnonzero((xy[:, 0] > x0) & (xy[:, 0] < x1) & (xy[:, 1] > y0) & (xy[:, 1] < y1))
    assert inside.size > 10
    page.locator("[title='Box Select']").first.click()
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x1, y1, steps=8)
    page.mouse.up()
    count = page.locator(".projector-selection-count")  # inside Panel's shadow roots
    expect(count).not_to_have_text(re.compile(r"^0 of"), timeout=WAIT_MS)
    page.wait_for_function(KERNEL_IDLE_JS, timeout=WAIT_MS)
    page.evaluate(RUN_CELL_JS, 1)
    rows = json.loads(_output(page, 1, "ROWS").removeprefix("ROWS "))
    assert abs(len(rows) - inside.size) <= 3 and len(set(rows) ^ set(inside.tolist())) <= 3, (rows, inside.tolist())
    assert page.evaluate(SELECTED_JS) == rows  # the map shows what Python holds

    # a selection set from Python is drawn on the map and counted on the page
    page.wait_for_function(KERNEL_IDLE_JS, timeout=WAIT_MS)
    page.evaluate(RUN_CELL_JS, 2)
    assert _output(page, 2, "SET") == f"SET {len(SELECTED_FROM_PYTHON)}"
    page.wait_for_function(f"() => JSON.stringify(({SELECTED_JS})()) === {json.dumps(json.dumps(SELECTED_FROM_PYTHON, separators=(',', ':')))}", timeout=WAIT_MS)
    expect(count).to_have_text(f"{len(SELECTED_FROM_PYTHON)} of {ROWS} selected", timeout=WAIT_MS)
    assert log.outside == [], log.outside  # nothing left 127.0.0.1, later updates included
