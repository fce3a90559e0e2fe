"""Serving data that is still being embedded: the server and its pages open at once.

``projector serve texts.csv --text text`` embeds the texts in a background :class:`Job` (the
same cached :func:`projector.embedding.embed_files` and terminal bar as ``project``), then
opens the datasets as :func:`projector.app.open_sources` does. Until then each page is a
progress card; when the job ends the card reloads the page, which the server now builds as the
normal app (or the error page, whose message says the fix), as it does for every later visitor.
A reload is what Panel does reliably: swapping a live page's content for a new session's
layout would miss the ``onload`` hooks that start the background maps.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Sequence

from projector.errors import ProjectorError
from projector.explore.html import escape
from projector.explore.jobs import Job
from projector.progress import Cancelled, Progress

__all__ = ["EmbedProgress", "Preparing", "PendingCard", "prepare", "explain_missing_embedding", "QUICK_S", "POLL_MS"]

QUICK_S = 2.0
"""How long ``serve`` waits for the embedding before opening the server: a cache hit (the
second run) ends well within it, so its pages open on the map with no progress card."""
POLL_MS = 500  # how often a progress card redraws
_CARD_STYLE = {"background": "#eef4fb", "padding": "12px 16px", "border-radius": "6px", "font-size": "14px", "max-width": "640px"}


class EmbedProgress:
    """The latest embedding progress, described for a person: a progress callback (it never
    cancels) that the card reads from its own session's loop."""

    def __init__(self, what: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.what = what  # the file(s) being embedded, for the card's title
        self.model = ""
        self.event: Progress | None = None
        self.opening = False  # embedding is over; the maps are being prepared
        self._clock = clock
        self._first: tuple[float, int] | None = None  # (time, done) of the first event of a stage

    def __call__(self, event: Progress) -> None:
        if self.event is None or self.event.stage != event.stage:
            self._first = (self._clock(), event.done)
        self.event = event

    def seconds_left(self) -> float | None:
        """The time the rest should take at the rate so far; None before a batch has finished
        and once all are done (the model then counts the texts it cut)."""
        event, first = self.event, self._first
        if event is None or first is None or not event.total or event.done <= first[1] or event.done >= event.total:
            return None  # nothing measured yet, or nothing left
        rate = (event.done - first[1]) / max(self._clock() - first[0], 1e-9)
        return (event.total - event.done) / rate

    def describe(self) -> str:
        """One line: "Embedding 1,234 of 6,723 texts with all-MiniLM-L6-v2 · 2 min left"."""
        event = self.event
        if self.opening:
            return f"Embedded {_count(event)}; computing the first map"
        if event is None:
            return f"Reading {self.what} and loading the embedding model"
        noun = event.stage.removeprefix("embedding ") if event.stage.startswith("embedding ") else event.stage
        line = f"Embedding {event.done:,} of {event.total:,} {noun}" if event.total else f"Embedding {event.done:,} {noun}"
        if self.model:
            line += f" with {self.model}"
        left = self.seconds_left()
        return line if left is None else f"{line} · {_duration(left)} left"


def _count(event: Progress | None) -> str:
    if event is None or not event.total:
        return "the data"
    return f"{event.total:,} {event.stage.removeprefix('embedding ')}"


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{max(1, round(seconds))} s"
    return f"{round(seconds / 60)} min"


class Preparing:
    """The datasets of a server whose sources a background job makes (embedding, then loading).

    ``names`` are the pages, known before the data is; :attr:`stores` fills in when the job
    ends (the media endpoints look datasets up in it per request).
    """

    def __init__(self, names: Sequence[str], job: Job, progress: EmbedProgress, stores: dict[str, Any]) -> None:
        self.names = tuple(names)
        self.job = job
        self.progress = progress
        self.stores = stores

    def sources(self) -> list | None:
        """The DataStores and Failed entries once the job has ended, else None. A job that broke
        (not a :class:`ProjectorError`, which the job turns into Failed entries itself) fails every page."""
        from projector.app.server import Failed

        if not self.job.finished:
            return None
        if self.job.state == "done" and self.job.result is not None:
            return list(self.job.result)
        reason = self.job.error if self.job.state == "failed" else "the embedding was cancelled"
        return [Failed(name, f"embedding failed: {reason}") for name in self.names]

    def page(self, name: str, others: Sequence[str] = ()):
        """The page of dataset ``name``: the app once ready, else a progress card."""
        from projector.app.server import Failed
        from projector.app.shell import build_page, error_page

        sources = self.sources()
        if sources is None:
            return PendingCard(self, name).panel
        source = next((s for s in sources if s.name == name), None)
        if source is None:
            return error_page(name, f"no dataset named {name!r} was opened; served: {', '.join(s.name for s in sources)}")
        if isinstance(source, Failed):
            return error_page(name, source.message)
        return build_page(source, others)

    def close(self, grace_s: float) -> bool:
        """Cancel the job and close the stores it opened; True when everything ended in time."""
        self.job.cancel()
        ended = self.job.wait(grace_s)
        stores = list(self.stores.values())
        for store in stores:
            store.close()
        return ended and all(store.wait_idle(grace_s) for store in stores)


class PendingCard:
    """A page showing :class:`EmbedProgress` until the job ends, then reloading itself."""

    def __init__(self, preparing: Preparing, name: str) -> None:
        import panel as pn

        from projector.app.views._events import Poller

        self.preparing = preparing
        self.name = name
        self.text = pn.pane.HTML(self._html(), sizing_mode="stretch_width", styles=_CARD_STYLE)
        # the browser reloads when the server flips this; the new page is then the app itself
        self.reload = pn.widgets.Checkbox(value=False, visible=False)
        self.reload.jscallback(value="if (cb_obj.active) { window.location.reload() }")
        self.panel = pn.Column(pn.pane.HTML(f"<h2>projector · {escape(name)}</h2>"), self.text, self.reload, sizing_mode="stretch_width")
        self._poller = Poller(self.update, POLL_MS)
        self._poller.start()

    def _html(self) -> str:
        progress = self.preparing.progress
        fraction = progress.event.fraction if progress.event is not None and not progress.opening else None
        bar = f'<progress max="1" value="{fraction:.3f}" style="width:100%"></progress>' if fraction is not None else '<progress style="width:100%"></progress>'
        return (
            f'<div class="projector-pending"><div class="projector-pending-line">{escape(progress.describe())}</div>{bar}'
            '<div style="font-size:12px;color:#555">The map opens here when this is done; the terminal shows the same progress.</div></div>'
        )

    def update(self) -> None:
        """Redraw the card; once the job has ended, stop polling and reload the page."""
        self.text.object = self._html()
        if self.preparing.job.finished:
            self._poller.stop()
            self.reload.value = True

    @property
    def ready(self) -> bool:
        return self.reload.value


def prepare(
    paths: Sequence[str], options: dict[str, Any], folder: str, *, embedding: dict[str, Any],
    open_paths: Callable[[list, dict], list], report: Callable[[str], None], quick_s: float = QUICK_S,
) -> "list | Preparing":
    """Embed the tables among ``paths`` that need it (into ``folder``) and open them all with
    ``open_paths(paths, options)``, on a worker thread.

    Returns the opened sources when the embedding ended within ``quick_s`` (a cache hit), else a
    :class:`Preparing` for :func:`projector.app.server.serve`. ``embedding`` holds
    :func:`~projector.embedding.embed_files`' options, with ``progress`` the terminal's callback.
    An embedding error (no model, no such column) becomes a Failed entry per dataset, and is
    reported as ``projector: error: ...``.
    """
    from projector.app import _expand_runs
    from projector.app.server import Failed, slug

    taken: set[str] = set()
    names = [slug(name, taken) for _, name, _ in _expand_runs(paths, options)]
    progress = EmbedProgress(", ".join(map(_file_name, paths)))
    embedded = threading.Event()
    stores: dict[str, Any] = {}

    def run(cancel: Callable[[Progress], bool]) -> list:
        from projector.embedding import embed_files
        from projector.embedding.choose import choose_model

        terminal = embedding.get("progress")

        def both(event: Progress) -> bool:
            progress(event)
            if terminal is not None:
                terminal(event)
            return cancel(event)

        try:
            progress.model = choose_model(embedding.get("model"), images=options.get("image") is not None).name
            new_paths, new_options = embed_files(paths, folder, **{**embedding, "progress": both}, **options)
        except Cancelled:
            raise
        except ProjectorError as exc:
            report(f"projector: error: {exc}")
            return [Failed(name, str(exc)) for name in names]
        except Exception as exc:  # not ours: the job fails every page with it; the terminal says it too
            report(f"projector: error: embedding failed: {type(exc).__name__}: {exc}")
            raise
        finally:
            embedded.set()
        progress.opening = True
        sources = open_paths(new_paths, new_options)
        stores.update((s.name, s) for s in sources if not isinstance(s, Failed))
        return sources

    preparing = Preparing(names, Job(f"embedding {progress.what}", run), progress, stores)
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="projector-embed")
    preparing.job.submit(executor)
    executor.shutdown(wait=False)
    if embedded.wait(quick_s):
        preparing.job.wait()
        return preparing.sources()
    report(f"projector: embedding {progress.what} in the background; the page shows its progress and opens the map when done")
    return preparing


def _file_name(path: Any) -> str:
    from pathlib import Path

    return Path(str(path)).name or str(path)


def explain_missing_embedding(sources: list, paths: Sequence[str | None], options: dict[str, Any], report: Callable[[str], None]) -> list:
    """``sources`` with each Failed entry of a table that has no embedding column saying how
    to embed it: ``--text COL``, naming its text columns (serve's answer, as project's); each
    such answer is also reported as ``projector: error: ...``."""
    from projector.app.server import Failed
    from projector.embedding import needs_embedding

    if len(sources) != len(paths):
        return sources  # a run directory expanded into several: not tables of texts
    out = []
    for source, path in zip(sources, paths):
        if isinstance(source, Failed) and path is not None:
            try:
                missing = needs_embedding(path, **options)
            except ProjectorError:
                missing = False
            if missing:
                source = Failed(source.name, _embed_hint(path, options))
                report(f"projector: error: {source.message}")
        out.append(source)
    return out


def _embed_hint(path: str, options: dict[str, Any]) -> str:
    from pathlib import Path

    import pyarrow as pa

    from projector.loaders import ROLE_OPTIONS, _load_path

    settings = {key: value for key, value in options.items() if key not in ROLE_OPTIONS and key != "format"}
    table = _load_path(Path(path).expanduser(), options.get("format"), settings).table
    texts = [name for name in table.column_names if pa.types.is_string(table.schema.field(name).type) or pa.types.is_large_string(table.schema.field(name).type)]
    listed = f"its text columns: {', '.join(map(repr, texts))}" if texts else "it has no text column"
    return (
        f"{path}: no embedding column among {', '.join(map(repr, table.column_names))}; pass --text COL to embed a "
        f"text column with a local model ({listed}), e.g. projector serve {path} --text {texts[0] if texts else 'COL'}; "
        "or --vector COL to name an embedding column"
    )
