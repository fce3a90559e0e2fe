"""Issue 14's "done when": `projector serve texts.csv --text text` on a CSV of texts with no
vectors opens a page at once that shows the embedding's progress, then, without a reload by
the user, the painted map whose search box selects rows. No network: the packaged MiniLM."""

from __future__ import annotations

import csv
import re

import pytest
from playwright.sync_api import Error, expect

from browser.conftest import wait_for_map_data
from browser.served import serve_app
from browser.test_app_browser import WAIT_MS, selection_count, wait_painted

pytestmark = pytest.mark.browser

TOPICS = ("my refund has not arrived yet", "the app crashes when I open it", "I cannot log in to my account", "the parcel was delivered late")
ROWS = 600  # in batches of 4: enough batches that the card shows them counted


@pytest.fixture(scope="module")
def texts_app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("texts")
    with (folder / "texts.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "topic"])
        writer.writerows((f"{TOPICS[i % 4]}, ticket {i}", TOPICS[i % 4].split()[1]) for i in range(ROWS))
    args = [str(folder / "texts.csv"), "--text", "text", "--label", "topic", "--method", "none", "--batch-size", "4"]
    app = serve_app(args, tmp_path_factory.mktemp("texts-cache"))
    yield app
    app.stop()


def _wait_for_map_across_reload(page, timeout_s: float = 180) -> None:
    """The card reloads the page when the map is ready; a wait that spans the reload starts over."""
    for _ in range(int(timeout_s // 30)):
        try:
            wait_for_map_data(page, timeout=30_000)
            return
        except Error as error:  # the reload destroyed the context, or it is still embedding
            if "Timeout" not in str(error) and "destroyed" not in str(error) and "navigation" not in str(error):
                raise
    pytest.fail(f"the map never replaced the progress card within {timeout_s:.0f} s")


def test_serve_text_shows_progress_then_a_painted_searchable_map(texts_app, open_page):
    assert "in the background; the page shows its progress" in texts_app.output()
    page, _ = open_page(texts_app.url, wait_for_map=False)
    card = page.locator(".projector-pending-line")
    expect(card).to_have_text(re.compile(rf"^Embedding [\d,]+ of {ROWS} texts with all-MiniLM-L6-v2"), timeout=WAIT_MS * 2)
    _wait_for_map_across_reload(page)
    expect(page.locator(".projector-pending")).to_have_count(0)
    wait_painted(page, min_hues=3)  # four topics in four colours
    expect(page.locator(".projector-drawn")).to_have_text(f"{ROWS} points, all drawn as WebGL points")
    page.get_by_label("Find", exact=True).fill("refund")
    page.wait_for_timeout(1000)  # typed values reach the server before the click (see test_app_browser.search)
    page.get_by_role("button", name="Select matches").click()
    expect(page.locator(".projector-selection-count")).to_have_text(re.compile(rf"^{ROWS // 4} of {ROWS} selected"), timeout=WAIT_MS)
    assert selection_count(page) == ROWS // 4

    # every later visitor gets the map directly
    later, _ = open_page(texts_app.url)
    expect(later.locator(".projector-pending")).to_have_count(0)
