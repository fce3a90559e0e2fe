"""The command line's grammar: every command's flags, beside the handler each one calls (argparse reads them as one table)."""

from __future__ import annotations

import argparse
from typing import Any

from projector._version import __version__
from projector.app import SERVE_EXTRA_METHODS
from projector.cli._common import _add_load_options
from projector.cli.cache import _cache_info, _cache_clear
from projector.cli.embed import _embed
from projector.cli.maps import _info, _project, _export, _search
from projector.cli.serve import _serve
from projector.validation import METHODS, METRICS, method_names_text


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
            "library versions in the schema metadata. With --into, place PATH's rows into the map "
            "of an earlier project output instead: OUT holds PATH's rows with coordinates in that "
            "map's frame (the same column names) and placed=true (with --combined, the earlier "
            "rows first, placed=false). A PATH of texts without vectors is embedded by the map's recorded "
            "model, from the column its vectors were embedded from unless --text names one."
        ),
    )
    project.add_argument("path", metavar="PATH", help="file or folder to load")
    project.add_argument(
        "--into", metavar="EXISTING.parquet",
        help="an earlier `projector project` output: place PATH's rows into its map instead of computing a new one",
    )
    project.add_argument("--combined", action="store_true", help="with --into: write EXISTING's rows too, before PATH's")
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


def _end_map_command(parser: argparse.ArgumentParser, handler: Any, model_help: str = "") -> None:
    """What every command that maps data ends with: how the map is computed, how the data is
    loaded, and the function that runs it (``model_help`` adds to --model's help)."""
    _add_projection_options(parser)
    _add_embedding_options(parser, model_help)
    _add_load_options(parser)
    parser.set_defaults(handler=handler)


def _add_embedding_options(parser: argparse.ArgumentParser, model_help: str = "") -> None:
    """How a table WITHOUT an embedding is embedded first (its --text column, or --image)."""
    group = parser.add_argument_group("embedding (for a table without an embedding column: --text COL embeds it)")
    group.add_argument("--model", metavar="NAME_OR_PATH", help=f"local sentence-transformers or CLIP folder (default: the packaged all-MiniLM-L6-v2){model_help}")
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
    _end_map_command(
        serve, _serve,
        model_help="; on a table that has its embeddings, the text model that made them, which the page's search by "
        "meaning embeds queries with (needed when `projector embed` did not record one; a different recorded model "
        "is overridden, with a warning)",
    )


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
