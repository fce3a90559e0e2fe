"""A map too big for WebGL points is a raster drawn on the server, off the page's event loop:
it paints, and panning or zooming brings a new frame for the new view."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from browser.served import serve_app

pytestmark = pytest.mark.browser

ROWS = 30_000  # above the app's WEBGL_MAX_POINTS (20,000)

IMAGE_JS = """() => {
  if (!window.Bokeh || !Bokeh.index) return null;
  const figure = [...Bokeh.index.query((v) => v.model && v.model.type === "Figure")][0];
  if (!figure) return null;
  const raster = [...figure.renderer_views.values()].find((r) => r.model.data_source && r.model.data_source.data.image !== undefined);
  if (!raster) return null;
  const data = raster.model.data_source.data;
  return data.image.length ? {x: data.x[0], dw: data.dw[0], y: data.y[0], dh: data.dh[0]} : null;
}"""


@pytest.fixture(scope="module")
def raster_app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("raster")
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((ROWS, 8)).astype(np.float32)
    table = pa.table({
        "embedding": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), 8),
        "x": vectors[:, 0].astype(np.float64), "y": vectors[:, 1].astype(np.float64),
        "label": [f"group {i % 5}" for i in range(ROWS)],
    })
    pq.write_table(table, folder / "big.parquet")
    app = serve_app([str(folder / "big.parquet"), "--x", "x", "--y", "y"], tmp_path_factory.mktemp("raster-cache"))
    yield app
    app.stop()


def test_the_raster_paints_and_follows_a_zoom(raster_app, open_page):
    page, log = open_page(raster_app.url, wait_for_map=False)
    page.wait_for_function(IMAGE_JS, timeout=90_000)
    first = page.evaluate(IMAGE_JS)
    assert first["dw"] > 0 and first["dh"] > 0
    frame = page.evaluate("""() => {
      const figure = [...Bokeh.index.query((v) => v.model && v.model.type === "Figure")][0];
      const box = figure.el.getBoundingClientRect(), inner = figure.frame.bbox;
      return {x: box.left + inner.left + inner.width / 2, y: box.top + inner.top + inner.height / 2};
    }""")
    page.mouse.move(frame["x"], frame["y"])
    for _ in range(5):
        page.mouse.wheel(0, -200)  # zoom in: the server draws a frame of the smaller view
    page.wait_for_function(f"() => {{ const now = ({IMAGE_JS})(); return now !== null && now.dw < {first['dw']} * 0.9; }}", timeout=60_000)
    zoomed = page.evaluate(IMAGE_JS)
    assert zoomed["dw"] < first["dw"] and zoomed["dh"] < first["dh"]
    assert not log.errors, log.errors
