"""An exported HTML report, opened from disk in headless Chromium with the network cut off."""

from __future__ import annotations

import re
import time

import numpy as np
import pyarrow as pa
import pytest

import projector
from projector.report import Report

HOSTILE = "<img src=x onerror=alert(1)>"
SCRIPT = "</script><script>alert(2)</script>"
HOSTILE_NAME = "<img src=x onerror=alert(3)>"

POINTS_JS = """() => {
  const figure = [...Bokeh.index.query((v) => v.model && v.model.type === "Figure")][0];
  const points = [...figure.renderer_views.values()].find((r) => r.model.data_source && r.model.data_source.data.c0 !== undefined);
  const data = points.model.data_source.data;
  const box = figure.el.getBoundingClientRect();
  const frame = figure.frame.bbox;
  const at = (i) => [box.left + figure.frame.x_scale.compute(data.x[i]), box.top + figure.frame.y_scale.compute(data.y[i])];
  return {frame: {x: box.left + frame.left, y: box.top + frame.top, width: frame.width, height: frame.height},
          points: [...Array(data.x.length).keys()].map(at)};
}"""


@pytest.fixture(scope="module")
def report_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    rng = np.random.default_rng(3)
    n = 300
    centers = rng.standard_normal((3, 12)) * 5
    vectors = (centers[np.arange(n) % 3] + rng.standard_normal((n, 12))).astype(np.float32)
    from PIL import Image

    from projector.media import encode_png

    image = encode_png(Image.new("RGB", (8, 8), (200, 30, 30)))
    table = pa.table(
        {
            "emb": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), 12),
            "text": [HOSTILE if i % 3 == 0 else SCRIPT if i % 3 == 1 else f"$5 to $10 #{i}" for i in range(n)],
            "label": [[HOSTILE, "</script>", "plain"][i % 3] for i in range(n)],
            "image": pa.array([image] * n, type=pa.binary()),
            HOSTILE_NAME: [f"cell {i}" for i in range(n)],  # a column NAME that is markup
            "emb2": pa.FixedSizeListArray.from_arrays(pa.array((vectors + rng.standard_normal(vectors.shape).astype(np.float32)).ravel()), 12),
        }
    )
    dataset = projector.Dataset.from_table(table, vector=["emb", "emb2"], label="label", text="text", image="image")
    report = Report(f"Report {SCRIPT}")
    report.markdown(f"Notes: {HOSTILE}")
    report.map(dataset, "pca", k=5)
    report.compare(dataset, "emb", "emb2", k=5)  # its most-changed table lists every column
    return report.save(folder / "report.html")


@pytest.fixture
def report_page(browser, report_file):
    context = browser.new_context(viewport={"width": 1300, "height": 1400})
    outside: list[str] = []
    dialogs: list[str] = []

    def route(route) -> None:
        if route.request.url.startswith(("file://", "data:", "blob:")):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    started = time.perf_counter()
    page.goto(report_file.as_uri())
    page.wait_for_function("() => window.Bokeh && Bokeh.index && [...Bokeh.index.query((v) => v.model && v.model.type === 'Figure')].length > 0")
    page.wait_for_timeout(500)
    yield page, started
    context.close()
    assert not dialogs, f"a dialog fired: {dialogs}"
    assert not outside, f"the report requested: {outside}"


def test_report_paints_a_map_offline(report_page):
    page, _ = report_page
    geometry = page.evaluate(POINTS_JS)
    frame = geometry["frame"]
    shot = page.screenshot(clip={"x": frame["x"], "y": frame["y"], "width": frame["width"], "height": frame["height"]})
    from io import BytesIO

    from PIL import Image

    pixels = np.asarray(Image.open(BytesIO(shot)).convert("RGB")).reshape(-1, 3)
    colours = {tuple(p) for p in pixels[:: max(1, len(pixels) // 20000)]}
    assert len(colours) > 10, "the map area is blank"
    assert page.locator("text=Notes: <img src=x onerror=alert(1)>").count() == 1  # shown as text


def test_hover_shows_the_sample_as_text(report_page):
    page, _ = report_page
    x, y = page.evaluate(POINTS_JS)["points"][0]
    page.mouse.move(x - 3, y - 3)
    page.mouse.move(x, y)
    tip = page.locator("#projector-tooltip")
    tip.wait_for(state="visible")
    text = tip.inner_text()
    assert HOSTILE in text  # drawn as text: the literal markup is visible
    assert tip.locator("img").count() == 1 and tip.locator("img").get_attribute("src").startswith("data:image/png")


def test_box_select_fills_the_table_and_a_click_lists_neighbours(report_page):
    page, _ = report_page
    geometry = page.evaluate(POINTS_JS)
    frame = geometry["frame"]
    page.locator("[title='Box Select']").first.click()
    page.mouse.move(frame["x"] + 5, frame["y"] + 5)
    page.mouse.down()
    page.mouse.move(frame["x"] + frame["width"] * 0.6, frame["y"] + frame["height"] * 0.6, steps=8)
    page.mouse.up()
    page.get_by_text(re.compile(r"[1-9][0-9]* of 300 shown points selected")).wait_for()
    table = page.locator(".projector-table").first
    assert table.locator(".slick-row").count() > 0
    assert any(HOSTILE in text for text in table.locator(".slick-row").all_inner_texts())
    assert HOSTILE_NAME in [t.strip() for t in table.locator(".slick-header-column").all_inner_texts()]  # a title, as text
    x, y = _loneliest(geometry["points"])  # a tap on overlapping points would select several
    page.mouse.click(x, y)
    page.get_by_text("1 of 300 shown points selected").wait_for()
    neighbours = page.locator(".projector-neighbors").first
    neighbours.locator(".slick-row").first.wait_for()
    assert neighbours.locator(".slick-row").count() == 5


def _loneliest(points: list) -> tuple[float, float]:
    """The point farthest from its nearest neighbour on screen."""
    xy = np.asarray(points, dtype=float)
    distance = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1))
    np.fill_diagonal(distance, np.inf)
    return tuple(xy[int(np.argmax(distance.min(axis=1)))])


def test_every_table_header_shows_a_hostile_column_name_as_text(report_page):
    page, _ = report_page
    headers = [t.strip() for t in page.locator(".slick-header-column").all_inner_texts()]
    assert headers.count(HOSTILE_NAME) >= 3  # selection, neighbours, most changed (compare block)
    assert page.locator(".slick-header-column img").count() == 0
