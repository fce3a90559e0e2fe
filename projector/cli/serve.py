"""``projector serve``: the app on 127.0.0.1, over files, a folder or the built-in demo.

``--model`` names the text model of the embeddings twice over: the one that embeds a table
without vectors (``--text``), and the one the pages embed queries with for search by meaning
(:attr:`~projector.explore.store.DataStore.search_model`), which is how embeddings brought
without a record of their model become searchable. It wins over a recorded model, as ``model=``
does in :meth:`projector.Dataset.search`, with a warning when the two differ.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from projector.cli._common import load_options, _check_demo_options
from projector.cli.embed import _embedded_paths
from projector.cli.maps import _method_options
from projector.errors import ProjectorError

if TYPE_CHECKING:
    from projector.embedding.choose import ModelChoice


def _serve(args: argparse.Namespace) -> int:
    import shutil
    import tempfile
    import uuid

    from projector.app import open_sources
    from projector.app.server import serve, url_prefix

    prefix = url_prefix(args.prefix)  # a bad one fails before any data is read
    if args.sample is not None and args.sample < 1:
        raise ProjectorError(f"--sample {args.sample}: must be at least 1")
    if not 0 <= args.port <= 65535:
        raise ProjectorError(f"--port {args.port}: must be in 0..65535")
    options = load_options(args)
    _check_demo_options(args.paths, options)
    from projector.app.server import Failed

    def report(line: str) -> None:
        print(line, file=sys.stderr if line.startswith("projector: error:") else sys.stdout, flush=True)

    compute = {"device": args.device, "cache": not args.no_cache}
    search_model = _search_model(args.model)  # a missing folder fails before any data is read
    scratch = Path(tempfile.gettempdir()) / f"projector-embedded-{os.getpid()}-{uuid.uuid4().hex[:12]}"  # made if needed
    try:
        def open_paths(paths: list, options: dict[str, Any]) -> list:
            sources = open_sources(
                paths, options, x=args.x, y=args.y, sample=args.sample, method=args.method,
                compute=compute, params=_method_options(args), report=report,
            )
            return _name_search_model(sources, args.model, search_model, report)

        sources = _embedded_paths(args, args.paths, options, str(scratch), open_paths, report)
        if isinstance(sources, list) and all(isinstance(source, Failed) for source in sources):
            return 2  # nothing to serve; the error was said (one bad file among good ones gets an error page)
        stopped = serve(
            sources, host=args.host, port=args.port, open_browser=args.open, allow_websocket_origin=args.allow_websocket_origin,
            prefix=prefix, on_ready=lambda url: report(f"projector: serving at {url}"),
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    report("projector: stopped")
    if not stopped:  # a cancelled job is inside a step it cannot leave; do not wait for it
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    return 0


def _search_model(model: str | None) -> "ModelChoice | None":
    """The :class:`~projector.embedding.choose.ModelChoice` ``--model`` names (found, not
    loaded: its fit to the data is checked by the first search), or None."""
    if model is None:
        return None
    from projector.embedding.choose import choose_model

    return choose_model(model)


def _name_search_model(sources: list, model: str | None, choice: "ModelChoice | None", report: Callable[[str], None]) -> list:
    """``sources``, each dataset's pages told to embed queries with ``model`` (``--model``);
    a dataset whose recorded model differs is named in a warning."""
    if model is None or choice is None:
        return sources
    from projector.explore.meaning import named_model_notes
    from projector.explore.store import DataStore

    for source in sources:
        if isinstance(source, DataStore):
            source.search_model = model
            for note in named_model_notes(source.dataset, choice.name, choice.revision):
                report(f"projector: warning: {source.name}: {note}")
    return sources
