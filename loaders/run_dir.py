"""A run directory written by :func:`projector.log`: one logged embedding set, the latest by default."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from projector.errors import UnsafeInputError
from projector.loaders._common import Loaded

__all__ = ["read_run_dir"]


def read_run_dir(path: Path, *, name: str | None = None, step: int | None = None) -> Loaded:
    """The set :func:`projector.runlog.find_entry` picks: the latest, or ``name=`` / ``step=``.

    Media paths in the set's columns resolve against the run directory.
    """
    from projector.loaders.tabular import read_parquet
    from projector.runlog import MANIFEST_NAME, find_entry, read_run

    run = Path(path)
    entry = find_entry(run, name, step)
    file = (run / entry.file).resolve()
    if not file.is_relative_to(run.resolve()):
        raise UnsafeInputError(f"{run / MANIFEST_NAME}: entry {entry.name!r} points outside the run directory ({entry.file}); refused.")
    which = entry.name if entry.step is None else f"{entry.name} step {entry.step}"
    notes = []
    logged = len(read_run(run))
    if logged > 1 and name is None and step is None:
        notes.append(f"run directory with {logged} logged sets; showing the latest, {which} (name= and step= pick another)")
    loaded = read_parquet(file)
    return replace(loaded, source=f"{run} [{which}]", media_root=run.resolve(), notes=[*loaded.notes, *notes])
