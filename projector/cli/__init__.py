"""The ``projector`` command: a thin layer that gathers options and calls the library.

Library errors become a one-line message and exit code 2 here, in one place. Nothing heavy is
imported until a command runs, so ``projector --help`` answers at once. The grammar is in
:mod:`projector.cli.parser`; each command's handler sits in a module of its own kind (maps,
embedding, serving, the cache), and only gathers options: the work is in the library.
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import Sequence

from projector.cli._common import LOAD_OPTIONS, load_options
from projector.cli.parser import build_parser
from projector.errors import ProjectorError, ProjectorWarning

__all__ = ["main", "build_parser", "load_options", "LOAD_OPTIONS"]


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
