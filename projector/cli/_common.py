"""What every command shares: the loading options it accepts and loading its input (or the built-in demo)."""

from __future__ import annotations

import argparse
from typing import Any

from projector.errors import ProjectorError


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
