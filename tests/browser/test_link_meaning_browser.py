"""A shared link to a search by meaning, opened in a real page: the ranked hits with their scores
appear without any click, the Find box shows the query, and the rows are selected.

The sentences are embedded with the packaged MiniLM but served WITHOUT the record `projector
embed` leaves, as vectors made elsewhere are: `serve --model all-MiniLM-L6-v2` names the model.
"""

from __future__ import annotations

import re

import pyarrow.parquet as pq
import pytest
from playwright.sync_api import expect

from browser.served import serve_app
from meaning_data import SENTENCES, TOPICS, sentence_table

pytestmark = pytest.mark.browser

WAIT_MS = 90_000  # the first search loads the model on the server
LINK = "?q=my+parcel+never+came&meaning=true&qk=3"


@pytest.fixture(scope="module")
def brought_app(tmp_path_factory):
    from projector.embedding import load_text_model

    folder = tmp_path_factory.mktemp("brought")
    pq.write_table(sentence_table(load_text_model()).replace_schema_metadata({}), folder / "brought.parquet")  # no record
    args = [str(folder / "brought.parquet"), "--text", "text", "--label", "kind", "--method", "none", "--model", "all-MiniLM-L6-v2"]
    app = serve_app(args, tmp_path_factory.mktemp("brought-cache"))
    yield app
    app.stop()


def _scores(page) -> list[float]:
    return [float(text) for text in page.locator(".projector-meaning-score").all_text_contents()]


def test_a_link_lists_the_hits_with_scores_without_a_click(brought_app, open_page):
    page, _ = open_page(brought_app.url + LINK)
    hits = page.locator(".projector-meaning-hit")
    expect(hits).to_have_count(3, timeout=WAIT_MS)
    assert TOPICS["delivery"] in hits.first.text_content()
    scores = _scores(page)
    assert scores == sorted(scores, reverse=True) and 0 < scores[-1] < scores[0] <= 1
    expect(page.locator(".projector-selection-count")).to_have_text(f"3 of {len(SENTENCES)} selected")
    expect(page.get_by_text(re.compile(r"^3 rows nearest in meaning, best first"))).to_be_visible()
    expect(page.get_by_label("Find", exact=True)).to_have_value("my parcel never came")
    expect(page).to_have_url(re.compile(r"[?&]sel=\d+(%2C|,)\d+(%2C|,)\d+"))  # the URL now carries the hits


def test_a_link_keeps_its_own_selection_and_still_lists_the_hits(brought_app, open_page):
    page, _ = open_page(brought_app.url + LINK + "&sel=0,1")
    expect(page.locator(".projector-meaning-hit")).to_have_count(3, timeout=WAIT_MS)
    expect(page.locator(".projector-selection-count")).to_have_text(f"2 of {len(SENTENCES)} selected")
    expect(page.get_by_text(re.compile(r"the link's own selection of 2 rows is kept$"))).to_be_visible()
