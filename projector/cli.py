"""The ``projector`` command: a thin layer that gathers options and calls the library.

Library errors become a one-line message and exit code 2 here, in one place. Nothing heavy is
imported until a command runs, so ``projector --help`` answers at once. The module is past
the ~450-line guide because every command's flags sit beside its handler (argparse reads them
as one table); each handler only gathers options, and the work is in the library.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from typing import Any, Sequence

from projector._version import __version__
from projector.app import SERVE_EXTRA_METHODS
from projector.errors import ProjectorError, ProjectorWarning
from projector.validation import METHODS, METRICS, method_names_text

__all__ = ["main", "build_parser"]

# (flag, load option, help): the options every command that reads data accepts.
LOAD_OPTIONS: tuple[tuple[str, str, str], ...] = (
    ("--vector", "vector", "embedding column (repeat for several); default: inferred"),
    ("--vector-prefix", "vector_prefix", "gather numbered columns PREFIX0..PREFIXn into one embedding"),
    ("--text", "text", "text column (repeat for several)"),
    ("--image", "image", "image column: paths, URLs or bytes"),
    ("--audio", "audio", "audio column: paths"),
    ("--label", "label", "label / category column"),
    ("--id", "id", "column of unique row ids; default: a column named 'id', else row numbers"),
    ("--metadata", "metadata", "row-aligned metadata file for .npy/.npz/.pt/.safetensors/.bytes/tensor TSV"),
    ("--dim", "dim", "vector dimension of a raw float32 .bytes file"),
    ("--embedding", "embedding", "which embedding of a TensorBoard/TF projector config to load"),
    ("--embeddings", "embeddings", "embeddings file to join to an image folder"),
    ("--split", "split", "which split of a Hugging Face DatasetDict to load"),
    ("--name", "name", "which logged set of a run directory (projector.log) to load"),
    ("--step", "step", "which step of a run directory's set to load"),
    ("--encoding", "encoding", "text encoding of CSV/TSV files (default utf-8)"),
    ("--media-root", "media_root", "folder that media paths are resolved against and confined to"),
    ("--format", "format", "force the input format instead of guessing from the suffix"),
)
_REPEATABLE = {"vector", "text", "image", "audio", "label"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="projector",
        description="See your embedding space: load embeddings and the samples behind them.",
    )
    parser.add_argument("--version", action="version", version=f"projector {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    info = commands.add_parser(
        "info",
        help="describe a dataset: rows, columns and roles, embeddings, media, warnings",
        description="Describe a dataset. With no PATH, describes the built-in demo.",
    )
    info.add_argument("path", nargs="?", metavar="PATH", help="file or folder to load (default: built-in demo)")
    info.add_argument("--json", action="store_true", help="print a stable machine-readable JSON document")
    info.add_argument("--no-media-check", action="store_true", help="skip checking that media files exist")
    _add_load_options(info)
    info.set_defaults(handler=_info)
    _add_cache_commands(commands)
    project = commands.add_parser(
        "project",
        help=f"compute a {method_names_text()} map and write the table with its coordinates",
        description=(
            "Compute a map of one embedding column and write the input table plus the coordinate "
            "columns (METHOD_x, METHOD_y[, METHOD_z]; pca_1..pca_K past 3 PCA components) and "
            "METHOD_knn_preserved to Parquet, with method, parameters, device, timings, quality and "
            "library versions in the schema metadata."
        ),
    )
    project.add_argument("path", metavar="PATH", help="file or folder to load")
    project.add_argument("-o", "--output", required=True, metavar="OUT.parquet", help="where to write the table")
    project.add_argument("--method", choices=METHOD_CHOICES, default="auto", help=METHOD_HELP)
    project.add_argument("--dims", type=int, help="dimensions of the map (2 or 3; any number for pca)")
    project.add_argument("--no-quality", action="store_true", help="skip the quality scores")
    project.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    project.add_argument("--quiet", action="store_true", help="no progress bars")
    project.add_argument(
        "--clusters", action="store_true",
        help="also write 'cluster' (int, -1 for none) and 'cluster_label' (words of its members) columns",
    )
    _end_map_command(project, _project)
    _add_serve_command(commands)
    _add_export_command(commands)
    _add_search_command(commands)
    _add_embed_command(commands)
    return parser


METHOD_CHOICES = ("auto", *METHODS)
METHOD_HELP = "the map (default auto: UMAP, or the data as is when D <= 3)"


def _add_projection_options(parser: argparse.ArgumentParser) -> None:
    """How a map is computed: the same flags for project, export and serve."""
    parser.add_argument("--metric", choices=METRICS, help="distance in the original space (umap, tsne)")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="a method parameter; repeat for several")
    parser.add_argument("--seed", type=int, help="random seed (default 0)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="default: auto (CUDA when available)")
    parser.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")


def _add_coordinate_options(parser: argparse.ArgumentParser) -> None:
    """Precomputed coordinates to draw instead of a computed map: export and serve."""
    parser.add_argument("--x", metavar="COL", help="column of precomputed x coordinates (with --y)")
    parser.add_argument("--y", metavar="COL", help="column of precomputed y coordinates (with --x)")


def _end_map_command(parser: argparse.ArgumentParser, handler: Any) -> None:
    """What every command that maps data ends with: how the map is computed, how the data is
    loaded, and the function that runs it."""
    _add_projection_options(parser)
    _add_embedding_options(parser)
    _add_load_options(parser)
    parser.set_defaults(handler=handler)


def _add_embedding_options(parser: argparse.ArgumentParser) -> None:
    """How a table WITHOUT an embedding is embedded first (its --text column, or --image)."""
    group = parser.add_argument_group("embedding (for a table without an embedding column: --text COL embeds it)")
    group.add_argument("--model", metavar="NAME_OR_PATH", help="local sentence-transformers or CLIP folder (default: the packaged all-MiniLM-L6-v2)")
    group.add_argument("--batch-size", type=int, default=64, metavar="N", help="texts or images per model call (default 64)")


def _add_embed_command(commands: Any) -> None:
    embed = commands.add_parser(
        "embed",
        help="embed a text (or image) column with a local model and write the table with an 'embedding' column",
        description=(
            "Embed the --text column (or the --image column, with a CLIP --model) of PATH with a local model and "
            "write the input table plus a fixed_size_list<float32> embedding column to Parquet, with the model's name, "
            "revision, dimension and normalisation in the schema metadata. Never downloads a model; results are "
            "cached by content and model, so a second run is instant."
        ),
    )
    embed.add_argument("path", metavar="PATH", help="file or folder to load")
    embed.add_argument("-o", "--output", required=True, metavar="OUT.parquet", help="where to write the table")
    embed.add_argument("--column", default="embedding", metavar="NAME", help="name of the new column (default embedding)")
    embed.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="default: auto (CUDA when available)")
    embed.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    embed.add_argument("--quiet", action="store_true", help="no progress bar")
    embed.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    _add_embedding_options(embed)
    _add_load_options(embed)
    embed.set_defaults(handler=_embed)


def _add_export_command(commands: Any) -> None:
    export = commands.add_parser(
        "export",
        help="write a self-contained HTML report, or a PNG / SVG image, of a map",
        description=(
            "Write one map of PATH as a single HTML file that opens offline (every script, datum "
            "and thumbnail inlined; hover, colour-by, selection table and neighbours work without "
            "a server), or as a PNG or SVG image, by the suffix of -o."
        ),
    )
    export.add_argument("path", nargs="?", metavar="PATH", help="file or folder to load (default: built-in demo)")
    export.add_argument("-o", "--output", required=True, metavar="OUT", help="report.html, map.png or map.svg")
    export.add_argument("--method", choices=METHOD_CHOICES, default="auto", help=METHOD_HELP)
    _add_coordinate_options(export)
    export.add_argument("--color-by", dest="color_by", action="append", metavar="COL", help="colour by COL; repeat to offer a switch in HTML (images use the first)")
    export.add_argument("--title", help="title above the map")
    export.add_argument("--k", type=int, default=10, help="neighbours precomputed per point for HTML reports (default 10)")
    export.add_argument(
        "--overlays", choices=("all", "labels", "contours"),
        help="draw cluster labels (named by their rows' texts or labels) and/or density contours over the map",
    )
    export.add_argument(
        "--contours-by", dest="contours_by", metavar="COL",
        help="outline each of COL's 5 most frequent categories with its own contours, in its legend colour (implies contours)",
    )
    export.add_argument("--mislabels", action="store_true", help="HTML: add the table of likely mislabels of the first label column under the map")
    export.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    _end_map_command(export, _export)


def _add_serve_command(commands: Any) -> None:
    serve = commands.add_parser(
        "serve",
        help="open the interactive map of one or more datasets in the browser",
        description=(
            "Serve the interactive map. With no PATH, serves the built-in demo. Listens on "
            "127.0.0.1 unless --host says otherwise, and prints the URL once ready."
        ),
    )
    serve.add_argument("paths", nargs="*", metavar="PATH", help="files or folders to load (default: built-in demo)")
    _add_coordinate_options(serve)
    serve.add_argument("--sample", type=int, metavar="N", help="show a random sample of N rows (the page says so)")
    serve.add_argument(
        "--method", choices=(*SERVE_EXTRA_METHODS, *METHODS), default="auto",
        help="map computed in the background after the first (PCA) map paints; pages switch to it when ready "
        "(default auto: UMAP up to 100,000 rows, else none)",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=int, default=5006, help="port (default 5006; 0 picks a free one)")
    serve.add_argument(
        "--allow-websocket-origin", action="append", default=[], metavar="HOST[:PORT]",
        help="also accept pages served through this host (a reverse proxy, a remote browser); repeat for several",
    )
    serve.add_argument(
        "--prefix", default="", metavar="PATH",
        help="serve every page and endpoint below PATH (e.g. /projector), for a reverse proxy that forwards that path",
    )
    serve.add_argument("--open", dest="open", action="store_true", default=True, help="open a browser tab (default)")
    serve.add_argument("--no-open", dest="open", action="store_false", help="do not open a browser tab")
    _end_map_command(serve, _serve)


def _add_search_command(commands: Any) -> None:
    search = commands.add_parser("search", help="find the rows nearest in meaning to a text query", description=(
        "Embed QUERY with the model that made the embedding column (recorded by `projector embed`, or named with "
        "--model) and list the K rows nearest to it in the original space, best first, with their cosine similarity as 'score'."
    ))
    search.add_argument("path", metavar="PATH", help="file or folder to load")
    search.add_argument("query", metavar="QUERY", help="what to look for, in words")
    search.add_argument("-k", type=int, default=10, help="rows to list (default 10)")
    search.add_argument("--model", help="the text model of the embeddings: a local sentence-transformers folder or all-MiniLM-L6-v2")
    search.add_argument("--column", help="the embedding column searched (default: the first)")
    search.add_argument("--json", action="store_true", help="print a JSON list of rows (no vectors or media bytes) instead of a table")
    _add_load_options(search)
    search.set_defaults(handler=_search)


def _add_cache_commands(commands: Any) -> None:
    cache = commands.add_parser(
        "cache",
        help="show or empty the cache of projections, kNN graphs and embeddings",
        description="The on-disk cache of projections, kNN graphs and embeddings ($PROJECTOR_CACHE_DIR moves it).",
    )
    actions = cache.add_subparsers(dest="cache_command", metavar="ACTION", required=True)
    info = actions.add_parser("info", help="where the cache is; entries and bytes per kind")
    info.add_argument("--json", action="store_true", help="print a stable machine-readable JSON document")
    info.set_defaults(handler=_cache_info)
    clear = actions.add_parser(
        "clear",
        help="delete cached entries",
        description="Delete cached entries now, without asking: a cache holds nothing that cannot be "
        "recomputed. Only the cache's own entry files go; anything else in the folder stays.",
    )
    clear.add_argument("--kind", metavar="K", help="only kind K and its K-* variants (knn, projection, projection-umap ...)")
    clear.set_defaults(handler=_cache_clear)


def _add_load_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("loading")
    for flag, dest, text in LOAD_OPTIONS:
        if dest in _REPEATABLE:
            group.add_argument(flag, dest=dest, action="append", metavar="COL", help=text)
        elif dest in ("dim", "step"):
            group.add_argument(flag, dest=dest, type=int, metavar=dest.upper() if dest == "step" else "D", help=text)
        else:
            group.add_argument(flag, dest=dest, help=text)
    group.add_argument("--drop-nonfinite", action="store_true", help="drop rows whose vectors hold NaN/inf instead of failing")


def load_options(args: argparse.Namespace) -> dict[str, Any]:
    """The ``projector.load`` keyword arguments named on the command line."""
    options: dict[str, Any] = {}
    for _, dest, _ in LOAD_OPTIONS:
        value = getattr(args, dest, None)
        if value is not None:
            options[dest] = value[0] if isinstance(value, list) and len(value) == 1 else value
    if getattr(args, "drop_nonfinite", False):
        options["drop_nonfinite"] = True
    return options


def _embed(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

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


def _info(args: argparse.Namespace) -> int:
    dataset = _load(args.path, load_options(args))
    info = dataset.info(check_media=not args.no_media_check)
    print(info.to_json() if args.json else info.to_text())
    return 0


def _project(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    import pyarrow.parquet as pq

    from projector._io import write_atomically
    from projector.progress import tqdm_callback

    started = time.perf_counter()
    if Path(args.output).suffix.lower() != ".parquet":
        raise ProjectorError(f"-o {args.output}: project writes Parquet; name the output with a .parquet suffix")
    if isinstance(args.vector, list) and len(args.vector) > 1:
        raise ProjectorError("project takes one --vector column")
    dataset = _embedded_input(args, args.path, load_options(args))
    options = _method_options(args)
    column = options.pop("column", None)
    progress = None if args.quiet else tqdm_callback()
    projection = dataset.project(
        args.method, column=column, device=args.device, cache=not args.no_cache,
        quality=not args.no_quality, progress=progress, **options,
    )
    if args.clusters:
        projection = projection.with_clusters(dataset.clusters(projection, progress=progress))
    table = projection.to_table(dataset.table)
    write_atomically(args.output, lambda temp: pq.write_table(table, temp), overwrite=args.overwrite)
    print(_summary(projection, args.output, time.perf_counter() - started))
    return 0


def _serve(args: argparse.Namespace) -> int:
    import shutil
    import tempfile
    import uuid
    from pathlib import Path

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
    scratch = Path(tempfile.gettempdir()) / f"projector-embedded-{os.getpid()}-{uuid.uuid4().hex[:12]}"  # made if needed
    try:
        def open_paths(paths: list, options: dict[str, Any]) -> list:
            return open_sources(
                paths, options, x=args.x, y=args.y, sample=args.sample, method=args.method,
                compute=compute, params=_method_options(args), report=report,
            )

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


def _export(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    from projector.cache import format_bytes

    started = time.perf_counter()
    suffix = Path(args.output).suffix.lower()
    if suffix not in (".html", ".htm", ".png", ".svg"):
        raise ProjectorError(f"-o {args.output}: the suffix must be .html, .png or .svg")
    if Path(args.output).exists() and not args.overwrite:
        raise ProjectorError(f"{args.output} exists; pass --overwrite to replace it")
    if (args.x is None) != (args.y is None):
        raise ProjectorError("--x and --y go together: name both coordinate columns or neither")
    if not 1 <= args.k <= 200:
        raise ProjectorError(f"--k {args.k}: must be in 1..200")
    options = _method_options(args)
    if args.x is not None and (options or args.device != "auto" or args.no_cache):
        raise ProjectorError("--x/--y draw the given coordinates; --metric, --param, --seed, --device and --no-cache compute a map")
    if (args.overlays or args.contours_by) and args.x is not None:
        raise ProjectorError(f"{'--overlays need' if args.overlays else '--contours-by needs'} a computed map: leave out --x/--y")
    if args.overlays == "labels" and args.contours_by:
        raise ProjectorError("--contours-by draws contours: pass --overlays contours or all (or leave --overlays out), not labels")
    if args.mislabels and suffix not in (".html", ".htm"):
        raise ProjectorError(f"--mislabels adds a table to an HTML report; -o {args.output} is an image: write report.html")
    overlays = _overlays_spec(args.overlays, args.contours_by)
    dataset = _embedded_input(args, args.path, load_options(args))
    projection = args.method
    if args.x is None:
        projection = dataset.project(args.method, device=args.device, cache=not args.no_cache, **options)
    if suffix in (".html", ".htm"):
        from projector.report import save_html

        written = save_html(
            dataset, args.output, projection, color_by=args.color_by, title=args.title, k=args.k, x=args.x, y=args.y,
            overlays=overlays, mislabels=args.mislabels, overwrite=args.overwrite,
        )
    else:
        from projector.image import export_image

        if args.x is not None:
            from projector.report.document import map_entry

            _, entry = map_entry(dataset, x=args.x, y=args.y)
            from projector.projection import Projection

            projection = Projection(entry.coords, "identity", f"{args.x}, {args.y}", {})
        color = args.color_by[0] if args.color_by else None
        written = export_image(dataset, args.output, projection=projection, color_by=color, title=args.title, overlays=overlays, overwrite=args.overwrite)
    size = Path(written).stat().st_size
    print(f"wrote {written}: {format_bytes(size)} in {time.perf_counter() - started:.1f} s")
    return 0


def _search(args: argparse.Namespace) -> int:
    from projector.search_results import results_json, results_text

    dataset = _load(args.path, load_options(args))  # k < 1 is refused by the search, naming k
    table = dataset.search(args.query, args.k, column=args.column, model=args.model)
    print(results_json(dataset, table) if args.json else results_text(dataset, table))
    return 0


def _overlays_spec(kinds: str | None, contours_by: str | None) -> Any:
    """``--overlays`` and ``--contours-by`` as the one overlays spec every front door reads."""
    if contours_by:
        return {"labels": kinds == "all", "contours": contours_by}
    return True if kinds == "all" else kinds


def _method_options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for item in args.param:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ProjectorError(f"--param {item!r}: expected NAME=VALUE, e.g. --param n_neighbors=30")
        options[name.strip().replace("-", "_")] = value.strip()
    for name in ("dims", "metric", "seed"):
        value = getattr(args, name, None)
        if value is not None:
            options[name] = value
    return options


def _summary(projection, output: str, total: float) -> str:
    meta = projection.metadata()
    lines = [f"wrote {output}: {len(projection.coords):,} rows, columns {', '.join(projection.columns)}"]
    timing = ", ".join(f"{stage} {seconds:.1f} s" for stage, seconds in meta.get("seconds", {}).items() if stage != "total")
    cached = " (from cache)" if meta.get("cached") else ""
    lines.append(f"{projection.method} on {meta.get('device', 'cpu')}{cached}: {timing or 'no stages'}; total {total:.1f} s")
    if projection.quality is not None:
        q = projection.quality
        of = f" {q.describe_axes([f'PC{i + 1}' for i in range(projection.coords.shape[1])])}" if q.axes else ""
        text = f"quality{of}: trustworthiness {q.trustworthiness:.3f}, {q.k}-NN preserved {q.knn_preservation:.1%}"
        if q.label_accuracy_map is not None:
            text += f", {q.k}-NN label accuracy {q.label_accuracy_original:.1%} original / {q.label_accuracy_map:.1%} map"
        lines.append(text)
    lines.extend(f"note: {note}" for note in projection.notes)
    return "\n".join(lines)


def _cache_info(args: argparse.Namespace) -> int:
    from projector.cache import Cache

    info = Cache().info()
    print(info.to_json() if args.json else info.to_text())
    return 0


def _cache_clear(args: argparse.Namespace) -> int:
    from projector.cache import Cache, format_bytes

    cache = Cache()
    before = cache.info().bytes
    removed = cache.clear(args.kind)
    freed = max(0, before - cache.info().bytes)
    what = f"{args.kind} entries" if args.kind else "entries"
    print(f"removed {removed:,} {what} from {cache.root}, freed {format_bytes(freed)}")
    return 0


def _load(path: str | None, options: dict[str, Any]):
    import projector

    if path is None:
        _check_demo_options(path, options)
        return projector.demo()
    return projector.load(path, **options)


def _check_demo_options(paths: Any, options: dict[str, Any]) -> None:
    """Loading options with no PATH (the built-in demo) are a mistake, not something to ignore."""
    if options and not paths:
        raise ProjectorError("loading options need a PATH; the built-in demo takes none")


def _show_warning(message, *_args, **_kwargs) -> None:
    print(f"projector: warning: {message}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 2 for a user error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    with warnings.catch_warnings():
        if args.command == "info":
            warnings.simplefilter("ignore", ProjectorWarning)  # loaders record them as notes; info lists them
        else:  # clamped parameters, dropped rows: said once each, on stderr
            warnings.simplefilter("once", ProjectorWarning)
            warnings.showwarning = _show_warning
        try:
            return args.handler(args)
        except ProjectorError as exc:
            print(f"projector: error: {exc}", file=sys.stderr)
            return 2
        except FileExistsError as exc:
            print(f"projector: error: {exc}", file=sys.stderr)
            return 2
        except BrokenPipeError:  # `projector info | head`: the reader left; not an error
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
