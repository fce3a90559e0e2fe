"""`projector serve texts.csv --text text`: the server opens while the texts are embedded in the
background, each page showing the progress until the map is ready (projector.app.pending).

The packaged MiniLM embeds 20 short texts in batches of 4, so several progress events occur; the
terminal's progress callback holds the job after its first batch so the page is seen pending.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from projector.app import open_sources
from projector.app.pending import EmbedProgress, PendingCard, Preparing, prepare
from projector.app.server import Failed, build_server
from projector.cli import main
from projector.explore.store import DataStore
from projector.progress import Progress

TEXTS = [f"{topic} number {i}" for i, topic in enumerate(["my refund never arrived", "the app crashes on start", "cannot log in to my account", "shipping was late"] * 5)]


@pytest.fixture
def texts_csv(tmp_path) -> Path:
    """20 short texts and their topic: a table with no vectors."""
    import pyarrow as pa
    from pyarrow import csv

    csv.write_csv(pa.table({"text": TEXTS, "topic": [text.split()[1] for text in TEXTS]}), tmp_path / "texts.csv")
    return tmp_path / "texts.csv"


def _open(paths, options):
    return open_sources(paths, options, method="none", report=lambda line: None)


def _embedding(progress=None, model=None) -> dict:
    return {"model": model, "device": "cpu", "batch_size": 4, "cache": True, "progress": progress}


def _text(panel) -> str:
    """All HTML a page's panes hold, for asserting what it says."""
    return " ".join(str(getattr(pane, "object", "")) for pane in panel.select(lambda obj: hasattr(obj, "object")))


def test_the_page_shows_embedding_progress_then_the_map(texts_csv, tmp_path, private_cache):
    first_batch, go_on, terminal = threading.Event(), threading.Event(), []

    def hold_after_first_batch(event: Progress) -> None:  # the terminal's callback: draws after the card's
        terminal.append(event)
        if event.done == 4:
            first_batch.set()
            go_on.wait(120)

    lines: list[str] = []
    preparing = prepare(
        [str(texts_csv)], {"text": "text"}, str(tmp_path / "scratch"), embedding=_embedding(hold_after_first_batch),
        open_paths=_open, report=lines.append, quick_s=0.0,
    )
    try:
        assert isinstance(preparing, Preparing) and preparing.names == ("texts",)
        assert "in the background; the page shows its progress" in lines[0]
        assert first_batch.wait(120), "no batch was embedded"
        card = PendingCard(preparing, "texts")
        assert "Embedding 4 of 20 texts with all-MiniLM-L6-v2" in card.text.object and 'value="0.200"' in card.text.object
        assert preparing.sources() is None and not preparing.stores
        assert "projector-pending" in _text(preparing.page("texts"))  # a new visitor sees the card too
        card.update()
        assert not card.ready  # still embedding: no reload
    finally:
        go_on.set()
    assert preparing.job.wait(180) and preparing.job.state == "done", preparing.job.describe()
    assert [event.done for event in terminal] == [0, 4, 8, 12, 16, 20]  # the terminal saw every batch
    card.update()
    assert card.ready  # the card asks its browser to reload
    [store] = preparing.sources()
    assert isinstance(store, DataStore) and preparing.stores == {"texts": store}
    assert store.dataset.vector_columns == ("embedding",) and store.num_rows == len(TEXTS)
    assert Path(store.dataset.source).parent == tmp_path / "scratch"  # the user's folder is untouched
    assert sorted(p.name for p in texts_csv.parent.iterdir()) == sorted(["texts.csv", "scratch", "cache"])
    page = preparing.page("texts")  # every later visitor gets the app
    assert "projector-pending" not in _text(page) and "20 points" in _text(page)
    server, urls = build_server(preparing, port=0)
    server.stop()
    assert urls[0].startswith("http://127.0.0.1:")
    assert preparing.close(5.0)

    # the second run finds the embedding in the cache: no pending page at all
    again = prepare([str(texts_csv)], {"text": "text"}, str(tmp_path / "scratch2"), embedding=_embedding(), open_paths=_open, report=lines.append)
    assert isinstance(again, list) and isinstance(again[0], DataStore) and again[0].num_rows == len(TEXTS)
    again[0].close()


def test_an_embedding_error_is_the_page_and_says_the_fix(texts_csv, tmp_path, private_cache):
    from projector.app.shell import error_page

    lines: list[str] = []
    failed = prepare(
        [str(texts_csv)], {"text": "<b>body</b>"}, str(tmp_path / "scratch"), embedding=_embedding(), open_paths=_open, report=lines.append,
    )
    [entry] = failed
    assert isinstance(entry, Failed) and "<b>body</b>" in entry.message and "'text'" in entry.message
    assert lines == [f"projector: error: {entry.message}"]
    html = _text(error_page(entry.name, entry.message))
    assert "&lt;b&gt;body&lt;/b&gt;" in html and "<b>body</b>" not in html

    missing = tmp_path / "no-such-model"
    slow = prepare(
        [str(texts_csv)], {"text": "text"}, str(tmp_path / "scratch"), embedding=_embedding(model=str(missing)),
        open_paths=_open, report=lines.append, quick_s=0.0,
    )
    if isinstance(slow, Preparing):  # the error page replaces the card once the job has ended
        assert slow.job.wait(60)
        slow = slow.sources()
    [entry] = slow
    assert isinstance(entry, Failed) and str(missing) in entry.message and "projector[embed]" in entry.message


def test_serve_without_text_names_the_option_and_the_text_columns(texts_csv, capsys, private_cache):
    assert main(["serve", str(texts_csv), "--no-open", "--port", "0", "--method", "none"]) == 2
    err = capsys.readouterr().err
    assert f"projector serve {texts_csv} --text text" in err and "its text columns: 'text', 'topic'" in err


def test_the_card_describes_progress_with_time_left():
    now = [100.0]
    progress = EmbedProgress("texts.csv", clock=lambda: now[0])
    assert progress.describe() == "Reading texts.csv and loading the embedding model"
    progress.model = "all-MiniLM-L6-v2"
    progress(Progress("embedding texts", 0, 6723))
    assert progress.describe() == "Embedding 0 of 6,723 texts with all-MiniLM-L6-v2"
    now[0] += 40.0
    progress(Progress("embedding texts", 1234, 6723))
    assert progress.describe() == "Embedding 1,234 of 6,723 texts with all-MiniLM-L6-v2 · 3 min left"
    now[0] += 170.0
    progress(Progress("embedding texts", 6500, 6723))
    assert progress.describe().endswith("· 7 s left")
    progress(Progress("embedding texts", 6723, 6723))
    assert progress.describe() == "Embedding 6,723 of 6,723 texts with all-MiniLM-L6-v2"
    progress.opening = True
    assert progress.describe() == "Embedded 6,723 texts; computing the first map"


def test_stopping_the_server_cancels_the_embedding(texts_csv, tmp_path, private_cache):
    first_batch, go_on, lines = threading.Event(), threading.Event(), []

    def hold(event: Progress) -> None:
        if event.done == 4:
            first_batch.set()
            go_on.wait(120)

    preparing = prepare(
        [str(texts_csv)], {"text": "text"}, str(tmp_path / "scratch"), embedding=_embedding(hold),
        open_paths=_open, report=lines.append, quick_s=0.0,
    )
    assert first_batch.wait(120)
    threading.Timer(0.2, go_on.set).start()  # Ctrl-C arrives while a batch is under way
    assert preparing.close(30.0) and preparing.job.state == "cancelled"
    [entry] = preparing.sources()
    assert isinstance(entry, Failed) and "cancelled" in entry.message and not preparing.stores
    assert not any("error" in line for line in lines)  # a stop is not an error
