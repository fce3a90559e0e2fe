"""End-to-end: `projector serve` driven by Debian's headless Chromium through Playwright.

Only what a browser alone shows is tested here: that the map paints, that hover, click, box
select, search, colour-by and computing a map work through the page, and that hostile values
stay text. State and store logic are tested without a browser. Waits are generous (a busy
2-core machine renders WebGL in software); nothing asserts on wall-clock time.
"""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from playwright.sync_api import expect

from browser.conftest import map_geometry
from browser.served import FAR_ROWS, HOSTILE, HOSTILE_ROWS, NOTE_COLUMN, SCORE_COLUMN, SECOND_EMBEDDING, SYMLINK_ROW

pytestmark = pytest.mark.browser

DEMO_ROWS = 1797
WAIT_MS = 60_000


# -- helpers ----------------------------------------------------------------------------------


def map_colours(page) -> tuple[int, int]:
    """(coloured pixels, distinct hues among them) inside the plot frame, from a screenshot.

    Grid lines, axes and greyed-out points are grey; only painted points are saturated."""
    from PIL import Image

    frame = map_geometry(page, [])["frame"]
    shot = page.screenshot(clip={"x": frame["x"] + 2, "y": frame["y"] + 2, "width": frame["width"] - 4, "height": frame["height"] - 4})
    pixels = np.asarray(Image.open(io.BytesIO(shot)).convert("HSV"), dtype=np.int32).reshape(-1, 3)
    coloured = pixels[(pixels[:, 1] > 80) & (pixels[:, 2] > 40)]
    hues = np.unique(coloured[:, 0] // 16) if coloured.size else np.zeros(0)
    return int(len(coloured)), int(hues.size)


def wait_painted(page, *, min_hues: int, timeout_s: float = 60) -> tuple[int, int]:
    """Poll the canvas until points in at least ``min_hues`` colours are painted."""
    for _ in range(int(timeout_s * 2)):
        count, hues = map_colours(page)
        if count >= 300 and hues >= min_hues:
            return count, hues
        page.wait_for_timeout(500)
    pytest.fail(f"the map stayed blank: {count} coloured pixels in {hues} hues after {timeout_s:.0f} s")


def isolated(points: list[list[float]], candidates: list[int]) -> int:
    """The candidate row farthest (on screen) from any other point, so hover and click hit it."""
    xy = np.asarray(points, dtype=np.float64)
    best, best_gap = candidates[0], -1.0
    for row in candidates:
        d = np.hypot(*(xy - xy[row]).T)
        d[row] = np.inf
        if d.min() > best_gap:
            best, best_gap = row, float(d.min())
    return best


def on_screen(page, row: int) -> list[float]:
    """Where ``row`` is drawn now, in viewport pixels (scrolling the map into view first)."""
    page.locator("canvas").first.scroll_into_view_if_needed()
    return map_geometry(page, [row])["points"][0]


def hover(page, x: float, y: float) -> None:
    page.mouse.move(x - 6, y - 6)
    page.mouse.move(x, y, steps=3)


def selection_count(page) -> int:
    return int(page.locator(".projector-selection-count").text_content().split(" of ")[0].replace(",", ""))


DEEP_COUNT_JS = """([selector, text, exact]) => {
  const found = [];
  const walk = (root) => {
    found.push(...root.querySelectorAll(selector));
    for (const el of root.querySelectorAll("*")) if (el.shadowRoot) walk(el.shadowRoot);
  };
  walk(document);
  return found.filter((el) => text === null || (exact ? el.textContent === text : el.textContent.includes(text))).length;
}"""


def deep_count(page, selector: str, text: str | None = None, *, exact: bool = False) -> int:
    """Elements matching ``selector`` in the document and every shadow root (optionally
    containing ``text``, or whose whole text is ``text``)."""
    return page.evaluate(DEEP_COUNT_JS, [selector, text, exact])


def select_option(page, label: str, option: str) -> None:
    page.get_by_label(label, exact=True).select_option(label=option)


def check_box(page, text: str) -> None:
    """Tick the checkbox whose text is ``text`` (Bokeh's checkbox has no accessible name)."""
    page.locator(".bk-label", has_text=re.compile(f"^{re.escape(text)}$")).locator("xpath=preceding-sibling::input[@type='checkbox']").check()


def search(page, column: str, query: str, *, settle: bool = True) -> None:
    """Type a regex search and press "Select matches".

    With ``settle``, the click waits until the typed values reached the server (the checkbox
    shows in the page URL, and events arrive in order): a click right after typing hits an
    app bug, see test_search_clicked_right_after_typing_selects."""
    page.get_by_label("Find", exact=True).fill(query)
    select_option(page, "Search in", column)
    check_box(page, "regular expression")
    if settle:
        expect(page).to_have_url(re.compile(r"[?&]regex=(?i:true)"), timeout=WAIT_MS)
        page.wait_for_timeout(1000)
    page.get_by_role("button", name="Select matches").click()


# -- the demo ---------------------------------------------------------------------------------


def test_demo_map_is_painted(demo_app, open_page):
    page, _ = open_page(demo_app.url)
    _, hues = wait_painted(page, min_hues=5)  # ten digit classes in ten colours
    assert hues >= 5
    assert page.locator(".projector-drawn").text_content() == "1,797 points, all drawn as WebGL points"
    assert page.locator(".projector-legend-name").count() == 10


def test_hover_shows_the_sample_and_its_image(demo_app, open_page):
    page, _ = open_page(demo_app.url)
    geometry = map_geometry(page, None)
    row = isolated(geometry["points"], list(range(0, DEMO_ROWS, 7)))
    hover(page, *geometry["points"][row])
    tip = page.locator("#projector-tooltip")
    tip.wait_for(state="visible", timeout=WAIT_MS)
    assert tip.get_attribute("data-row") == str(row)
    assert f"id {row}" in tip.text_content()
    image = tip.locator("img")
    assert "/thumb/" in image.get_attribute("src")
    page.wait_for_function("() => { const img = document.querySelector('#projector-tooltip img'); return img && img.complete && img.naturalWidth > 0; }", timeout=WAIT_MS)


def test_box_selection_fills_the_table_and_media_grid(demo_app, open_page):
    page, _ = open_page(demo_app.url)
    geometry = map_geometry(page, None)
    frame = geometry["frame"]
    x0, y0 = frame["x"] + frame["width"] * 0.35, frame["y"] + frame["height"] * 0.35
    x1, y1 = frame["x"] + frame["width"] * 0.6, frame["y"] + frame["height"] * 0.6
    xy = np.asarray(geometry["points"])
    inside = int(((xy[:, 0] > x0) & (xy[:, 0] < x1) & (xy[:, 1] > y0) & (xy[:, 1] < y1)).sum())
    assert inside > 30, "the box should cover a dense part of the demo map"

    page.locator("[title='Box Select']").first.click()
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x1, y1, steps=8)
    page.mouse.up()
    expect(page.locator(".projector-selection-count")).not_to_have_text(re.compile(r"^0 of"), timeout=WAIT_MS)
    selected = selection_count(page)
    assert abs(selected - inside) <= 3, (selected, inside)  # points on the box's edge may go either way
    rows = page.locator("table.projector-table tr[data-row]")
    rows.first.wait_for(state="attached", timeout=WAIT_MS)
    assert rows.count() == min(selected, 25)  # the table's first page
    assert all(0 <= int(r) < DEMO_ROWS for r in rows.evaluate_all("(els) => els.map((el) => el.dataset.row)"))
    media = page.locator(".projector-media-item")
    media.first.wait_for(state="attached", timeout=WAIT_MS)
    assert media.count() >= min(selected, 1)


def test_clicking_a_point_lists_its_neighbours(demo_app, open_page):
    page, _ = open_page(demo_app.url)
    geometry = map_geometry(page, None)
    row = isolated(geometry["points"], list(range(3, DEMO_ROWS, 11)))
    page.mouse.click(*geometry["points"][row])
    listing = page.locator(".projector-neighbors")
    listing.wait_for(state="visible", timeout=WAIT_MS)
    assert f"nearest to row {row} " in listing.text_content()
    neighbours = page.locator("tr.projector-neighbor[data-row]")
    assert neighbours.count() == 10  # k defaults to 10
    assert str(row) not in neighbours.evaluate_all("(els) => els.map((el) => el.dataset.row)")
    assert re.search(r"\b\d+ of 10 are also among its 10 nearest on the map", page.locator(".projector-map-overlap").text_content())
    expect(page.locator(".projector-selection-count")).to_have_text(f"1 of {DEMO_ROWS:,} selected", timeout=WAIT_MS)


def test_regex_search_selects_the_matches(demo_app, open_page):
    from sklearn.datasets import load_digits

    expected = int(np.isin(load_digits().target, [3, 7]).sum())
    page, _ = open_page(demo_app.url)
    search(page, "label", "^[37]$")
    expect(page.locator(".projector-selection-count")).to_have_text(f"{expected:,} of {DEMO_ROWS:,} selected", timeout=WAIT_MS)
    expect(page.get_by_text(f"{expected:,} matches", exact=True)).to_be_visible()


def test_search_clicked_right_after_typing_selects(demo_app, open_page):
    page, _ = open_page(demo_app.url)
    search(page, "label", "^[1]$", settle=False)
    expect(page.locator(".projector-selection-count")).to_have_text(re.compile(r"^1\d\d of "), timeout=WAIT_MS)
    assert "_pending_writes" not in demo_app.output()


def test_colour_by_changes_the_legend(demo_app, open_page):
    page, _ = open_page(demo_app.url)
    legend = page.locator(".projector-legend")
    legend.wait_for(state="visible", timeout=WAIT_MS)
    assert legend.locator(".projector-legend-title").text_content() == "label"
    assert sorted(page.locator(".projector-legend-name").all_text_contents()) == [str(d) for d in range(10)]
    select_option(page, "Colour by", "ink")  # numeric: a colour bar replaces the legend
    legend.wait_for(state="detached", timeout=WAIT_MS)
    select_option(page, "Colour by", "label")
    legend.wait_for(state="visible", timeout=WAIT_MS)
    assert page.locator(".projector-legend-name").count() == 10


def test_computing_umap_shows_progress_then_the_new_map(demo_app, open_page):
    page, _ = open_page(demo_app.url)
    wait_painted(page, min_hues=5)
    maps = page.get_by_label("Map", exact=True)
    assert maps.evaluate("(el) => el.options[el.selectedIndex].text").startswith("PCA")
    page.get_by_role("button", name="UMAP", exact=True).click()
    page.get_by_role("button", name="Compute map").click()
    seen_progress = False
    for _ in range(1200):  # up to ten minutes on a busy machine; the test module's budget is UMAP's
        selected = maps.evaluate("(el) => el.options[el.selectedIndex] ? el.options[el.selectedIndex].text : ''")
        if selected.startswith("UMAP"):
            break
        if not seen_progress:
            seen_progress = page.locator("progress").first.is_visible() or page.get_by_text(re.compile(r"^UMAP of pixels: (?!done)")).count() > 0
        page.wait_for_timeout(500)
    else:
        pytest.fail("the UMAP map never appeared in the Map select")
    assert seen_progress, "no progress bar or status line was shown while UMAP ran"
    assert any(option.startswith("PCA") for option in maps.evaluate("(el) => [...el.options].map((o) => o.text)"))
    assert page.locator("progress").first.is_hidden()
    wait_painted(page, min_hues=5)


# -- hostile values, media confinement, failed datasets ---------------------------------------


def no_markup_ran(page) -> None:
    """None of the hostile strings became elements anywhere (document or shadow roots)."""
    assert deep_count(page, 'img[src="x"]') == 0
    assert deep_count(page, "script", "alert(") == 0
    assert deep_count(page, "b", "bold", exact=True) == 0
    assert deep_count(page, "u", "note", exact=True) == 0


def test_hostile_values_render_as_text(hostile_app, open_page):
    page, _ = open_page(hostile_app.url + "hostile")
    # legend: the category "<b>bold</b>" is text
    names = page.locator(".projector-legend-name").all_text_contents()
    assert HOSTILE["bold"] in names

    # hover card: label, text and a markup column name, all as text
    geometry = map_geometry(page, None)
    row = isolated(geometry["points"], list(HOSTILE_ROWS))
    hover(page, *geometry["points"][row])
    tip = page.locator("#projector-tooltip")
    tip.wait_for(state="visible", timeout=WAIT_MS)
    text = tip.text_content()
    assert HOSTILE["bold"] in text and f"{NOTE_COLUMN}: note {row} {HOSTILE['script']}" in text
    assert "&lt;" in tip.inner_html()

    # table: every hostile row through a regex search over the text column
    search(page, "text", r"onerror|</script>|\$5")
    table = page.locator("table.projector-table")
    page.locator("table.projector-table tr[data-row]").nth(len(HOSTILE_ROWS) - 1).wait_for(state="attached", timeout=WAIT_MS)
    assert sorted(int(r) for r in table.locator("tr[data-row]").evaluate_all("(els) => els.map((el) => el.dataset.row)")) == list(HOSTILE_ROWS)
    cells = table.text_content()
    for value in HOSTILE.values():
        assert value in cells
    assert NOTE_COLUMN in table.locator("th").all_text_contents()

    # sample card and neighbour list of a clicked hostile row
    page.mouse.click(*on_screen(page, row))
    card = page.locator(".projector-card")
    expect(card).to_contain_text(f"row {row} ", timeout=WAIT_MS)
    card_text = card.text_content()
    assert HOSTILE["bold"] in card_text and NOTE_COLUMN in card_text
    page.locator(".projector-neighbors").wait_for(state="visible", timeout=WAIT_MS)
    no_markup_ran(page)


def test_every_control_and_tab_shows_hostile_names_as_text(hostile_app, open_page):
    """Column and category names that are markup, through every sink of the page: colour-by
    and size-by selects, the colour bar, the hover-column choice and the card, filter titles
    and options, the selection table and every tab (a dialog fails the test)."""
    page, _ = open_page(hostile_app.url + "hostile")
    legend = page.locator(".projector-legend")
    legend.wait_for(state="visible", timeout=WAIT_MS)
    select_option(page, "Colour by", SCORE_COLUMN)  # numeric: a colour bar titled with the name
    legend.wait_for(state="detached", timeout=WAIT_MS)
    select_option(page, "Size by", SCORE_COLUMN)
    page.get_by_label("Hover shows", exact=True).select_option(label=[SCORE_COLUMN, NOTE_COLUMN])
    expect(page.get_by_text(re.compile(re.escape(f"{SCORE_COLUMN}: ") + r"[0-9.]+ \.\. 1")).first).to_be_visible(timeout=WAIT_MS)  # the range filter's title

    geometry = map_geometry(page, None)
    row = isolated(geometry["points"], list(HOSTILE_ROWS))
    hover(page, *geometry["points"][row])
    tip = page.locator("#projector-tooltip")
    expect(tip).to_contain_text(f"{SCORE_COLUMN}: ", timeout=WAIT_MS)
    expect(tip).to_contain_text(f"{NOTE_COLUMN}: note {row}", timeout=WAIT_MS)

    frame = geometry["frame"]
    page.locator("[title='Box Select']").first.click()
    page.mouse.move(frame["x"] + 2, frame["y"] + 2)
    page.mouse.down()
    page.mouse.move(frame["x"] + frame["width"] - 2, frame["y"] + frame["height"] - 2, steps=8)
    page.mouse.up()
    expect(page.locator(".projector-selection-count")).not_to_have_text(re.compile(r"^0 of"), timeout=WAIT_MS)
    headers = page.locator("table.projector-table th")
    expect(headers.filter(has_text=SCORE_COLUMN).first).to_be_attached(timeout=WAIT_MS)
    page.get_by_label("label", exact=True).select_option(label=HOSTILE["bold"])  # a category filter
    for tab in ("Neighbours", "Sample", "Compare", "Selection"):
        page.locator(".bk-tab", has_text=tab).first.click()
        page.wait_for_timeout(300)
    no_markup_ran(page)


def test_the_compare_tab_shows_hostile_column_names_as_text(hostile_app, open_page):
    """Two embedding columns, one named with markup: the Compare tab's selects, linked maps and
    most-changed table show every column name as text (a dialog fails the test)."""
    page, _ = open_page(hostile_app.url + "hostile")
    page.locator(".bk-tab", has_text="Compare").first.click()
    page.get_by_role("button", name="Compare", exact=True).click()
    headers = page.locator(".slick-header-column")
    expect(headers.filter(has_text=NOTE_COLUMN).first).to_be_visible(timeout=120_000)
    assert NOTE_COLUMN in [t.strip() for t in headers.all_inner_texts()]
    status = page.locator(".projector-text").filter(has_text="comparing embedding with")
    expect(status).to_contain_text(f"comparing embedding with {SECOND_EMBEDDING}: done", timeout=WAIT_MS)  # text, not markup
    no_markup_ran(page)


def test_media_outside_the_data_root_is_refused(hostile_app, open_page):
    page, _ = open_page(hostile_app.url + "hostile")
    base = hostile_app.url + "projector/hostile"
    assert page.request.get(f"{base}/media/image/{SYMLINK_ROW + 1}").status == 200  # a file under the root
    assert page.request.get(f"{base}/media/image/{SYMLINK_ROW}").status == 404  # symlink leaving the root
    assert page.request.get(f"{base}/thumb/image/{SYMLINK_ROW}").status == 200  # a grey placeholder, counted:
    expect(page.get_by_text("'image': 1 media file is missing, empty, unreadable or outside the data root and shows as a grey placeholder (row 5)")).to_be_visible()
    assert "1 media file is missing" in hostile_app.output()  # the one warning, on the console too
    assert page.request.get(f"{base}/media/image/999999").status == 404
    assert page.request.get(f"{base}/media/..%2F..%2Foutside%2Fsecret.png/0").status == 404
    assert page.request.get(f"{base}/media/image/..%2F..%2Foutside%2Fsecret.png").status == 404


def test_a_dataset_that_fails_to_load_gets_an_error_page(hostile_app, open_page):
    index, _ = open_page(hostile_app.url, wait_for_map=False)
    links = index.locator("a.card-link").evaluate_all("(els) => els.map((el) => el.getAttribute('href'))")
    assert sorted(links) == ["./broken", "./hostile"]
    page, _ = open_page(hostile_app.url + "broken", wait_for_map=False)
    error = page.locator(".projector-error")
    error.wait_for(state="visible", timeout=WAIT_MS)
    assert "could not be loaded" in error.text_content() and "Parquet" in error.text_content()
    assert "Traceback" not in page.content()
    assert hostile_app.process.poll() is None
    assert page.request.get(hostile_app.url + "projector/hostile/row/0").status == 200  # still serving the other


def test_the_index_page_requests_nothing_outside(hostile_app, open_page):
    page, log = open_page(hostile_app.url, check_outside=False, wait_for_map=False)
    page.wait_for_load_state("load")
    assert log.outside == []


def test_a_copied_link_reopens_the_same_view(demo_app, open_page):
    page, _ = open_page(demo_app.url)
    geometry = map_geometry(page, None)
    row = isolated(geometry["points"], list(range(5, DEMO_ROWS, 13)))
    page.mouse.click(*geometry["points"][row])
    expect(page.locator(".projector-selection-count")).to_have_text(f"1 of {DEMO_ROWS:,} selected", timeout=WAIT_MS)
    select_option(page, "Colour by", "ink")
    page.wait_for_function(f"() => window.location.search.includes('focus={row}') && window.location.search.includes('color=ink')", timeout=WAIT_MS)
    link = page.url
    assert f"sel={row}" in link

    again, _ = open_page(link)
    expect(again.locator(".projector-selection-count")).to_have_text(f"1 of {DEMO_ROWS:,} selected", timeout=WAIT_MS)
    listing = again.locator(".projector-neighbors")
    listing.wait_for(state="visible", timeout=WAIT_MS)
    assert f"nearest to row {row} " in listing.text_content()
    assert deep_count(again, ".projector-legend") == 0  # coloured by the number column: a colour bar, no legend


# -- framing ----------------------------------------------------------------------------------

RANGES_JS = """() => {
  const figure = [...Bokeh.documents[0].all_models].find((m) => m.type === "Figure");
  return {x: [figure.x_range.start, figure.x_range.end], y: [figure.y_range.start, figure.y_range.end]};
}"""


def test_far_points_are_left_to_the_reset_tool(far_app, open_page):
    page, _ = open_page(far_app.url)
    geometry = map_geometry(page, None)
    frame = geometry["frame"]
    in_view = [frame["x"] <= px <= frame["x"] + frame["width"] and frame["y"] <= py <= frame["y"] + frame["height"] for px, py in geometry["points"]]
    assert not any(in_view[row] for row in FAR_ROWS)  # the first view frames the bulk...
    assert sum(in_view) == geometry["n"] - len(FAR_ROWS)  # ...all of it
    assert page.evaluate(RANGES_JS)["x"][1] < 10
    expect(page.locator(".projector-drawn")).to_contain_text(f"{len(FAR_ROWS)} far points lie outside the first view (reset shows every point)")

    page.locator("[title='Reset']").first.click()
    page.wait_for_function(f"() => ({RANGES_JS})().x[1] > 100", timeout=WAIT_MS)
    geometry = map_geometry(page, None)
    frame = geometry["frame"]
    assert all(frame["x"] <= px <= frame["x"] + frame["width"] and frame["y"] <= py <= frame["y"] + frame["height"] for px, py in geometry["points"])


def test_the_first_map_paints_at_once_then_umap_takes_over_with_a_notice(auto_app, open_page):
    """`make demo`: PCA paints first with its quality pending or shown, UMAP computes in the
    background with a status line, then the page switches to it and says so."""
    page, _ = open_page(auto_app.url)
    wait_painted(page, min_hues=5)
    maps = page.get_by_label("Map", exact=True)
    notice = page.locator(".projector-message")
    expect(notice).to_contain_text("UMAP of pixels is ready: showing it now", timeout=300_000)
    assert maps.evaluate("(el) => el.options[el.selectedIndex].text") == "UMAP of pixels"
    assert any(option.startswith("PCA") for option in maps.evaluate("(el) => [...el.options].map((o) => o.text)"))
    wait_painted(page, min_hues=5)
    # the side bar's quality line is the shown map's, once scored in the background
    expect(page.get_by_text(re.compile(r"^trustworthiness 0\.\d{3} · k-NN preserved"))).to_be_visible(timeout=120_000)
