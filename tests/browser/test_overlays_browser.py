"""Cluster labels and contours over a report map, opened from disk in headless Chromium offline:
the labels are painted on the canvas as text (markup stays text), and zooming in shows the
finer level in the page, with no server."""

from __future__ import annotations

from io import BytesIO

import numpy as np
import pyarrow as pa

import projector
from projector.explore.overlays import Contour, MapLabel, Overlays
from projector.report import Report

HOSTILE = "<img src=x onerror=alert(1)>"

LABELS_JS = """() => {
  const figure = [...Bokeh.index.query((v) => v.model && v.model.type === "Figure")][0];
  const labels = figure.model.renderers.find((r) => r.name === "projector-labels");
  const box = figure.el.getBoundingClientRect();
  const data = labels.data_source.data;
  const at = (i) => [box.left + figure.frame.x_scale.compute(data.x[i]), box.top + figure.frame.y_scale.compute(data.y[i])];
  return {text: [...data.text], shown: [...labels.view.filter.indices], at: [...Array(data.x.length).keys()].map(at),
          contours: figure.model.renderers.filter((r) => r.name === "projector-contours").length};
}"""
ZOOM_JS = """() => {
  const figure = [...Bokeh.index.query((v) => v.model && v.model.type === "Figure")][0];
  figure.model.x_range.setv({start: 4.2, end: 5.8});
  figure.model.y_range.setv({start: 4.2, end: 5.8});
}"""


def _report(folder):
    from projector.figures.map_block import map_block
    from projector.figures.options import MapOptions
    from projector.report.document import map_entry

    rng = np.random.default_rng(1)
    xy = np.r_[rng.normal(0, 0.7, (150, 2)), rng.normal(5, 0.7, (150, 2))]
    table = pa.table({
        "emb": pa.FixedSizeListArray.from_arrays(pa.array(np.repeat(xy, 2, axis=1).astype(np.float32).ravel()), 4),
        "label": ["a"] * 150 + ["b"] * 150, "x": xy[:, 0], "y": xy[:, 1],
    })
    store, entry = map_entry(projector.Dataset.from_table(table, vector="emb", label="label"), x="x", y="y")
    circle = np.c_[np.cos(np.linspace(0, 2 * np.pi, 60)), np.sin(np.linspace(0, 2 * np.pi, 60))]
    overlays = Overlays(
        labels=(MapLabel(0, 0, HOSTILE, 150), MapLabel(5, 5, "bees", 150), MapLabel(5.3, 4.6, "small bees", 20, level=1)),
        contours=(Contour(0.5, (circle, circle + 5)), Contour(0.5, (circle * 0.5 + 5,), category="b")),
    )
    return Report("Overlays").add(map_block(store, entry, MapOptions(k=3, overlays=overlays))).save(folder / "overlays.html")


def test_report_labels_are_painted_as_text_and_finer_ones_follow_a_zoom(browser, tmp_path):
    from PIL import Image

    path = _report(tmp_path)
    context = browser.new_context(viewport={"width": 1300, "height": 1100})
    outside, dialogs = [], []
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(("file://", "data:", "blob:"))
                  else (outside.append(route.request.url), route.abort()))
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    try:
        page.goto(path.as_uri())
        page.wait_for_function("() => window.Bokeh && Bokeh.index && [...Bokeh.index.query((v) => v.model && v.model.type === 'Figure')].length > 0")
        page.wait_for_timeout(500)
        found = page.evaluate(LABELS_JS)
        assert found["text"] == [HOSTILE, "bees", "small bees"] and found["shown"] == [0, 1] and found["contours"] == 2
        assert page.locator("img[src='x']").count() == 0  # the label is canvas text, never an element
        x, y = found["at"][0]
        shot = np.asarray(Image.open(BytesIO(page.screenshot(clip={"x": x - 70, "y": y - 10, "width": 140, "height": 20}))).convert("RGB"))
        assert (shot.max(axis=2) < 80).sum() > 40  # dark letters where the label is (points are lighter)
        assert (shot.min(axis=2) > 245).sum() > 100  # and the white halo around them

        page.evaluate(ZOOM_JS)
        page.wait_for_function(f"() => ({LABELS_JS})().shown.includes(2)")
        page.wait_for_timeout(300)
        x, y = page.evaluate(LABELS_JS)["at"][2]
        shot = np.asarray(Image.open(BytesIO(page.screenshot(clip={"x": x - 50, "y": y - 10, "width": 100, "height": 20}))).convert("RGB"))
        assert (shot.max(axis=2) < 80).sum() > 30  # the finer label is painted once zoomed in
    finally:
        context.close()
    assert not dialogs and not outside
