"""Rows from another file added to the map in a real page: chosen in the file box, placed on the
server, drawn as pink diamonds over the map with a legend line, and cleared by the button."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest
from playwright.sync_api import expect

import projector

pytestmark = pytest.mark.browser

WAIT_MS = 90_000
NEW_ROWS = 25
FILE_NAME = "<img src=x onerror=alert(1)> digits.parquet"  # markup in a file name stays text

PLACED_JS = """() => {
  const doc = Bokeh.documents[0];
  const renderer = doc.get_model_by_name("projector-placed");
  if (!renderer) return null;
  const legend = [...doc.all_models].find((m) => m.type === "Legend" && m.items.length && m.items[0].renderers.includes(renderer));
  return {n: renderer.data_source.data.x.length, visible: renderer.visible, legend: legend && legend.visible ? legend.items[0].label.value : null};
}"""


def _pink_pixels(page) -> int:
    """Pixels of the placed rows' colour (#ff1f8e) in a screenshot of the map."""
    import io

    from PIL import Image

    figure = page.locator(".bk-Canvas").first
    image = np.asarray(Image.open(io.BytesIO(figure.screenshot())).convert("RGB")).astype(int)
    return int((np.abs(image - np.array([0xFF, 0x1F, 0x8E])).sum(axis=2) < 40).sum())


def test_rows_from_a_file_are_placed_highlighted_and_cleared(demo_app, open_page, tmp_path):
    digits = projector.demo().table
    path = tmp_path / FILE_NAME
    pq.write_table(digits.select(["pixels", "label"]).slice(100, NEW_ROWS), path)
    page, _ = open_page(demo_app.url)
    assert page.evaluate(PLACED_JS) is None  # no placed layer until rows are placed
    before = _pink_pixels(page)

    page.locator("input[type=file]").set_input_files(str(path))
    page.wait_for_function(f"() => {{ const p = ({PLACED_JS})(); return p !== null && p.n === {NEW_ROWS}; }}", timeout=WAIT_MS)
    placed = page.evaluate(PLACED_JS)
    assert placed["visible"] and placed["legend"] == f"placed: {FILE_NAME} ({NEW_ROWS} rows)"
    expect(page.get_by_text(f"placed: {FILE_NAME} ({NEW_ROWS} rows) into PCA of pixels")).to_be_visible(timeout=WAIT_MS)
    page.wait_for_timeout(1000)  # the repaint
    assert _pink_pixels(page) > before + 50  # the diamonds are drawn, not only sent

    page.get_by_role("button", name="Clear placed rows").click()
    page.wait_for_function(f"() => {{ const p = ({PLACED_JS})(); return p.n === 0 && !p.visible && p.legend === null; }}", timeout=WAIT_MS)
    page.wait_for_timeout(1000)
    assert _pink_pixels(page) <= before + 5

    page.locator("input[type=file]").set_input_files(str(path))  # the same file again, after clearing
    page.wait_for_function(f"() => ({PLACED_JS})().n === {NEW_ROWS}", timeout=WAIT_MS)
