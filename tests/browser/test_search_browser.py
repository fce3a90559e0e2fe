"""Search by meaning in a real page: type a query, tick "by meaning", and the nearest rows are
selected on the map and listed best first with scores; the URL keeps the query and the mode."""

from __future__ import annotations

import re

import pyarrow.parquet as pq
import pytest
from playwright.sync_api import expect

from browser.served import serve_app
from meaning_data import SENTENCES, TOPICS, sentence_table

pytestmark = pytest.mark.browser

WAIT_MS = 90_000  # the first search loads the model on the server


@pytest.fixture(scope="module")
def sentences_app(tmp_path_factory):
    from projector.embedding import load_text_model

    folder = tmp_path_factory.mktemp("sentences")
    pq.write_table(sentence_table(load_text_model()), folder / "sentences.parquet")  # records its model
    app = serve_app([str(folder / "sentences.parquet"), "--text", "text", "--label", "kind", "--method", "none"], tmp_path_factory.mktemp("sentences-cache"))
    yield app
    app.stop()


def test_search_by_meaning_selects_and_ranks_and_the_url_keeps_it(sentences_app, open_page):
    page, _ = open_page(f"{sentences_app.url}?qk=3")
    page.get_by_label("Find", exact=True).fill("my parcel never came")
    page.locator(".bk-label", has_text=re.compile("^by meaning$")).locator("xpath=preceding-sibling::input[@type='checkbox']").check()
    expect(page).to_have_url(re.compile(r"[?&]meaning=(?i:true)"), timeout=WAIT_MS)
    page.wait_for_timeout(1000)  # typed values reach the server before the click (see test_app_browser.search)
    page.get_by_role("button", name="Select matches").click()
    expect(page.locator(".projector-selection-count")).to_have_text(f"3 of {len(SENTENCES)} selected", timeout=WAIT_MS)
    hits = page.locator(".projector-meaning-hit")
    expect(hits).to_have_count(3)
    assert TOPICS["delivery"] in hits.first.text_content()
    scores = [float(text) for text in page.locator(".projector-meaning-score").all_text_contents()]
    assert scores == sorted(scores, reverse=True) and 0 < scores[-1] < scores[0] <= 1
    expect(page.get_by_text(re.compile(r"^3 rows nearest in meaning, best first"))).to_be_visible()
    expect(page).to_have_url(re.compile(r"[?&]q=my(\+|%20)parcel(\+|%20)never(\+|%20)came"))
    assert re.search(r"[?&]qk=3\b", page.url) and re.search(r"[?&]sel=", page.url), page.url
