"""The ``projector`` command: a thin layer that gathers options and calls the library.

Library errors become a one-line message and exit code 2 here, in one place. Nothing heavy is
imported until a command runs, so ``projector --help`` answers at once.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from typing import Any, Sequence

from projector._version import __version__
from projector.errors import ProjectorError, ProjectorWarning

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
    return parser


def _add_cache_commands(commands: Any) -> None:
    cache = commands.add_parser(
        "cache",
        help="show or empty the cache of projections and kNN graphs",
        description="The on-disk cache of projections and kNN graphs ($PROJECTOR_CACHE_DIR moves it).",
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
        elif dest == "dim":
            group.add_argument(flag, dest=dest, type=int, metavar="D", help=text)
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


def _info(args: argparse.Namespace) -> int:
    dataset = _load(args.path, load_options(args))
    info = dataset.info(check_media=not args.no_media_check)
    print(info.to_json() if args.json else info.to_text())
    return 0


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
        if options:
            raise ProjectorError("loading options need a PATH; the built-in demo takes none")
        return projector.demo()
    return projector.load(path, **options)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 2 for a user error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ProjectorWarning)  # loaders record them as notes; info prints them
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
