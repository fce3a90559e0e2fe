"""Clusters on the served page, in headless Chromium: scikit-learn's digits (one digit relabelled
with markup) served as `projector serve` serves any file. Once UMAP has taken over, the cluster
labels are painted on the map (and the label switch takes them off the screenshot), the cluster
list selects a cluster's rows with one click, and a cluster named with markup stays text in
the list, the legend and on the canvas."""

from __future__ import annotations

import io
import re
from typing import Iterator

import numpy as np
import pytest
from playwright.sync_api import expect

from browser.conftest import map_geometry
from browser.served import ServedApp, serve_app

pytestmark = pytest.mark.browser

HOSTILE = "<img src=x onerror=alert(1)>"
WAIT_MS = 120_000

# the map figure's label renderers, and where each label is on the page
LABELS_JS = """() => {
  const figures = [...Bokeh.index.query((v) => v.model && v.model.type === "Figure")];
  for (const figure of figures) {
    const labels = figure.model.renderers.find((r) => r.name === "projector-labels");
    if (!labels) continue;
    const box = figure.el.getBoundingClientRect();
    const data = labels.data_source.data;
    const at = (i) => [box.left + figure.frame.x_scale.compute(data.x[i]), box.top + figure.frame.y_scale.compute(data.y[i])];
    const shown = [...labels.view.filter.indices];
    return {visible: labels.visible, text: [...data.text], shown: shown, at: shown.map(at)};
  }
  return null;
}"""


@pytest.fixture(scope="module")
def digits_app(tmp_path_factory) -> Iterator[ServedApp]:
    """The digits as a Parquet file whose label "3" is markup, served with a quick UMAP after PCA."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    import projector

    table = projector.demo().table
    labels = [HOSTILE if value == "3" else value for value in table.column("label").to_pylist()]
    table = table.set_column(table.schema.get_field_index("label"), "label", pa.array(labels))
    path = tmp_path_factory.mktemp("digits") / "digits.parquet"
    pq.write_table(table, path)
    app = serve_app([str(path), "--param", "n_epochs=100"], tmp_path_factory.mktemp("digits-cache"))
    yield app
    app.stop()


def _map_shot(page, path) -> np.ndarray:
    from PIL import Image

    frame = map_geometry(page, [])["frame"]
    page.screenshot(path=str(path), clip={"x": frame["x"] + 2, "y": frame["y"] + 2, "width": frame["width"] - 4, "height": frame["height"] - 4})
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.int16)


def _wait_for_labels(page) -> dict:
    page.wait_for_function(f"() => {{ const found = ({LABELS_JS})(); return found && found.text.length > 0 && found.shown.length > 0; }}", timeout=WAIT_MS)
    page.wait_for_timeout(1000)  # the canvas repaints after the models arrive
    return page.evaluate(LABELS_JS)


def test_labels_are_painted_toggled_listed_and_a_click_selects_a_cluster(digits_app, open_page, tmp_path):
    page, log = open_page(digits_app.url)
    expect(page.locator(".projector-message")).to_contain_text("is ready: showing it now", timeout=300_000)
    found = _wait_for_labels(page)
    assert found["visible"] and any(text.startswith(HOSTILE) for text in found["text"])  # named by its majority label
    assert page.locator("img[src='x']").count() == 0  # canvas text, never an element

    with_labels = _map_shot(page, tmp_path / "labels-on.png")
    assert with_labels.std() > 10 and (with_labels.max(axis=2) < 80).sum() > 200  # painted, with dark label letters
    page.locator(".bk-label", has_text=re.compile(r"^Cluster labels")).locator("xpath=preceding-sibling::input[@type='checkbox']").uncheck()
    page.wait_for_function(f"() => ({LABELS_JS})().visible === false", timeout=WAIT_MS)
    page.wait_for_timeout(1000)
    without = _map_shot(page, tmp_path / "labels-off.png")
    assert with_labels.shape == without.shape
    x0, y0 = map_geometry(page, [])["frame"]["x"], map_geometry(page, [])["frame"]["y"]
    changed = np.abs(with_labels - without).max(axis=2) > 60
    near_labels = sum(int(changed[max(int(y - y0) - 12, 0): int(y - y0) + 12, max(int(x - x0) - 40, 0): int(x - x0) + 40].sum()) for x, y in found["at"])
    assert near_labels > 100 and (without.max(axis=2) < 80).sum() < (with_labels.max(axis=2) < 80).sum()

    page.locator(".bk-tab", has_text="Clusters").first.click()
    rows = page.locator(".projector-clusters .slick-row")
    expect(rows.first).to_be_visible(timeout=WAIT_MS)
    assert page.locator(".projector-clusters .slick-cell", has_text=HOSTILE).count() >= 1  # the list shows the markup as text
    assert page.locator("img[src='x']").count() == 0
    second = rows.nth(1)
    size = int(second.locator(".slick-cell").nth(1).text_content().replace(",", ""))
    second.locator(".slick-cell").first.click()
    expect(page.locator(".projector-selection-count")).to_have_text(f"{size:,} of 1,797 selected", timeout=WAIT_MS)
    page.screenshot(path=str(tmp_path / "clusters-tab.png"), full_page=True)  # for a person reading a failure

    page.get_by_label("Colour by", exact=True).select_option(label="cluster")
    legend = page.locator(".projector-legend-name", has_text=HOSTILE)
    expect(legend.first).to_be_visible(timeout=WAIT_MS)
    assert page.locator("img[src='x']").count() == 0 and not log.dialogs

    # finer clusters, computed in the background: the list, the labels and the colouring follow
    status = page.locator(".projector-text", has_text=re.compile(r"^\d+ clusters \(leiden\)"))
    before = int(status.text_content().split()[0])
    resolution = page.get_by_label("resolution", exact=True)
    resolution.fill("4")
    resolution.press("Enter")
    page.wait_for_timeout(500)
    page.get_by_role("button", name="Recluster").click()
    expect(page.get_by_label("Colour by", exact=True)).to_have_value("cluster (resolution=4.0)", timeout=WAIT_MS)
    expect(status).not_to_have_text(re.compile(rf"^{before} clusters"), timeout=WAIT_MS)
    assert int(status.text_content().split()[0]) > before
    expect(page.locator(".projector-legend-title")).to_have_text("cluster (resolution=4.0)", timeout=WAIT_MS)
