"""``projector embed``, and embedding a table without vectors first for the commands that map it (``--text``/``--image``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from projector.cli._common import load_options, _load
from projector.errors import ProjectorError


def _embed(args: argparse.Namespace) -> int:
    import time

    import pyarrow.parquet as pq

    from projector._io import write_atomically
    from projector.embedding import embed_file, read_embedding_record

    started = time.perf_counter()
    if Path(args.output).suffix.lower() != ".parquet":
        raise ProjectorError(f"-o {args.output}: embed writes Parquet; name the output with a .parquet suffix")
    if Path(args.output).exists() and not args.overwrite:
        raise ProjectorError(f"{args.output} exists; pass --overwrite to replace it")
    table = embed_file(args.path, column=args.column, **_embedding_options(args), **load_options(args))
    write_atomically(args.output, lambda temp: pq.write_table(table, temp), overwrite=args.overwrite)
    record = read_embedding_record(table.schema, args.column)
    print(
        f"wrote {args.output}: {table.num_rows:,} rows, column {args.column!r} ({record['dim']}-d, {record['name']} "
        f"revision {record['revision']}) in {time.perf_counter() - started:.1f} s"
    )
    return 0


def _embedding_options(args: argparse.Namespace) -> dict[str, Any]:
    """How to embed a table that needs it: model, device, batch size, cache, terminal progress."""
    from projector.progress import tqdm_callback

    if args.batch_size < 1:
        raise ProjectorError(f"--batch-size {args.batch_size}: must be at least 1")
    progress = None if getattr(args, "quiet", False) else tqdm_callback()
    return {"model": args.model, "device": args.device, "batch_size": args.batch_size, "cache": not args.no_cache, "progress": progress}


def _embedded_paths(args: argparse.Namespace, paths: list[str], options: dict[str, Any], folder: str, open_paths, report):
    """serve's datasets: ``open_paths(paths, options)`` at once, or, with --text/--image, after
    the tables without an embedding are embedded into ``folder`` in the background (terminal
    bar, cached). Returns the sources, or a :class:`~projector.app.pending.Preparing` whose
    pages show the progress when the embedding is not a quick cache hit."""
    from projector.app.pending import explain_missing_embedding, prepare

    if not paths or (options.get("text") is None and options.get("image") is None):
        return explain_missing_embedding(open_paths(paths or [None], options), paths or [None], options, report)
    return prepare(paths, options, folder, embedding=_embedding_options(args), open_paths=open_paths, report=report)


def _embedded_input(args: argparse.Namespace, path: str | None, options: dict[str, Any]):
    """The Dataset of ``path``: loaded as is, or, for a table without an embedding, with its
    --text (or --image) column embedded first (see :func:`projector.embedding.load_embedded`)."""
    if path is None:
        return _load(path, options)
    from projector.embedding import load_embedded

    return load_embedded(path, **_embedding_options(args), **options)
