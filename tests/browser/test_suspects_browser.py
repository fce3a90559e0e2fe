"""The Mislabels tab in a real page: once the checks have run after the first paint it lists
the demo's likely mislabels, most doubtful first, and clicking one focuses and selects that
row while the list stays open for the next."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

DEMO_ROWS = 1797
WAIT_MS = 90_000
SENTENCE = re.compile(r"^\d+% · row (\d+) labelled \d: \d+ of \d+ neighbours are \d")


def test_the_mislabel_list_shows_suspects_and_a_click_focuses_one(demo_app, open_page):
    page, log = open_page(demo_app.url)
    page.locator(".bk-tab", has_text="Mislabels").first.click()
    options = page.locator(".projector-suspects select option")
    options.first.wait_for(state="attached", timeout=WAIT_MS)  # the checks ran in the background
    texts = options.all_text_contents()
    assert len(texts) >= 5 and all(SENTENCE.match(text) for text in texts), texts[:3]
    shares = [int(text.split("%")[0]) for text in texts]
    assert shares == sorted(shares, reverse=True)  # most doubtful first
    expect(page.get_by_text(re.compile(r"rows are likely mislabelled in label"))).to_be_visible(timeout=WAIT_MS)

    row = int(SENTENCE.match(texts[1]).group(1))
    options.nth(1).click()
    expect(page.locator(".projector-selection-count")).to_have_text(f"1 of {DEMO_ROWS:,} selected", timeout=WAIT_MS)
    expect(options.first).to_be_visible()  # the list stays open for the next suspect
    page.locator(".bk-tab", has_text="Neighbours").first.click()
    expect(page.locator(".projector-neighbors")).to_contain_text(f"nearest to row {row} ", timeout=WAIT_MS)
    assert not log.errors and not log.dialogs
