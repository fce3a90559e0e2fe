"""A run directory of logged embedding sets: :func:`projector.log` from eval scripts and training loops.

Layout of a run directory::

    RUN_DIR/
      projector-run.json          the manifest: every logged set, in the order it was logged
      .projector-run.lock         taken (flock) while a set is written and the manifest updated
      model-a/step-00000100.parquet
      model-a/embeddings.parquet  a set logged without a step

Each set is one Parquet file written by :meth:`Dataset.to_parquet` (atomically, roles in its
schema), so any Parquet reader opens it. The manifest is JSON::

    {"format": "projector-run", "version": 1, "entries": [
        {"name": "model-a", "step": 100, "file": "model-a/step-00000100.parquet",
         "rows": 5000, "dims": {"embedding": 768}, "created": "2025-01-01T12:00:00.000000+00:00"}]}

Several processes may log into one directory at once: each holds an exclusive lock on the lock
file while it checks the manifest, writes its Parquet file and replaces the manifest, so no
entry is lost. Readers take no lock; the manifest is only ever replaced whole (temp file and
rename), so a reader sees the old list or the new one. ``projector.load(RUN_DIR)`` reads the
latest set; ``name=`` and ``step=`` pick another.
"""

from __future__ import annotations

import json
import os
import re
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from projector.errors import LoadError, ParameterError, ProjectorError
from projector.validation import check_whole

if TYPE_CHECKING:
    from projector.dataset import Dataset

__all__ = ["RunEntry", "log", "read_run", "find_entry", "load_run_entry", "MANIFEST_NAME", "LOCK_NAME"]

MANIFEST_NAME = "projector-run.json"
LOCK_NAME = ".projector-run.lock"
FORMAT = "projector-run"
VERSION = 1
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


@dataclass(frozen=True)
class RunEntry:
    """One logged embedding set, as the manifest records it.

    Attributes:
        name: the model or run it came from (``"model-a"``).
        step: the training step or checkpoint, or None.
        file: the Parquet file, relative to the run directory.
        rows: samples in the set.
        dims: ``{embedding column: dimensions}``.
        created: when it was logged, ISO 8601 in UTC.
    """

    name: str
    step: int | None
    file: str
    rows: int
    dims: dict[str, int]
    created: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __repr__(self) -> str:
        step = "" if self.step is None else f" step {self.step}"
        dims = ", ".join(f"{column}[{d}]" for column, d in self.dims.items())
        return f"<RunEntry {self.name}{step}: {self.rows} rows, {dims}, {self.file}>"


def log(
    run_dir: str | os.PathLike,
    embeddings: Any,
    metadata: Any = None,
    name: str = "model-a",
    step: int | None = None,
    *,
    overwrite: bool = False,
) -> Path:
    """Append one embedding set to ``run_dir`` (created when missing); returns its Parquet file.

    Args:
        run_dir: the run directory; ``projector.load(run_dir)`` and ``projector serve`` read it.
        embeddings: an (N, D) array (numpy, torch, anything ``np.asarray`` takes), a mapping of
            named (N, D) arrays, or a :class:`~projector.Dataset`.
        metadata: row-aligned columns (a DataFrame, Arrow table, dict of columns, list of dicts),
            as :meth:`Dataset.from_arrays` takes them; not with a Dataset.
        name: the model or run: letters, digits, ``.``, ``_`` and ``-``, starting with a letter
            or digit (it names a folder).
        step: a whole number >= 0 (training step, epoch, checkpoint), or None for a set
            without steps.
        overwrite: replace a set already logged under this ``name`` and ``step``; without it
            that is an error.

    Safe to call from several processes at once (see the module docs).
    """
    from projector.dataset import Dataset

    _check_name(name)
    step = check_whole("step", step, minimum=0, meaning="a training step or epoch", or_none=True)
    if isinstance(embeddings, Dataset):
        if metadata is not None:
            raise ProjectorError("metadata= applies to arrays only; a Dataset carries its own columns.")
        dataset = embeddings
    else:
        dataset = Dataset.from_arrays(embeddings, metadata, source="projector.log")
    run = Path(run_dir).expanduser()
    run.mkdir(parents=True, exist_ok=True)
    relative = f"{name}/{'embeddings' if step is None else f'step-{step:08d}'}.parquet"
    dims = {column: int(dataset.table.column(column).type.list_size) for column in dataset.roles.vectors}
    with _locked(run):
        entries = _read_manifest(run)
        kept = [e for e in entries if (e.name, e.step) != (name, step)]
        if len(kept) != len(entries) and not overwrite:
            what = name if step is None else f"{name} step {step}"
            raise ProjectorError(
                f"{run}: {what} is already logged ({relative}); pass overwrite=True to replace it, "
                "or log it under another name or step."
            )
        # A file without a manifest entry is left from a call that failed halfway: replace it.
        path = dataset.to_parquet(run / relative, overwrite=True)
        created = datetime.now(timezone.utc).isoformat(timespec="microseconds")
        entry = RunEntry(name=name, step=step, file=relative, rows=len(dataset), dims=dims, created=created)
        _write_manifest(run, [*kept, entry])
    return path


def read_run(run_dir: str | os.PathLike) -> list[RunEntry]:
    """Every set logged in ``run_dir``, oldest first (a replaced set counts from its replacement)."""
    run = Path(run_dir).expanduser()
    if not (run / MANIFEST_NAME).is_file():
        raise LoadError(f"{run}: no {MANIFEST_NAME} here; is it a run directory written by projector.log?")
    return _read_manifest(run)


def find_entry(run_dir: str | os.PathLike, name: str | None = None, step: int | None = None) -> RunEntry:
    """The entry ``projector.load(run_dir, name=..., step=...)`` reads.

    Without ``name`` or ``step``: the set logged last. With ``name`` only: that name's highest
    step (its set without a step when it has no other). With ``step``: that step of ``name``,
    or of the only name that has it.
    """
    entries = read_run(run_dir)
    if not entries:
        raise LoadError(f"{run_dir}: the run directory has no logged sets yet.")
    if name is None and step is None:
        return entries[-1]
    found = [e for e in entries if (name is None or e.name == name) and (step is None or e.step == step)]
    if not found:
        names = sorted({e.name for e in entries})
        if name is not None and name not in names:
            raise LoadError(f"{run_dir}: no set named {name!r}; logged names: {', '.join(names)}")
        steps = sorted(e.step for e in entries if e.step is not None and (name is None or e.name == name))
        raise LoadError(f"{run_dir}: no step {step} logged{f' for {name!r}' if name else ''}; logged steps: {_ranges(steps)}")
    if name is None and len({e.name for e in found}) > 1:
        names = ", ".join(sorted({e.name for e in found}))
        raise LoadError(f"{run_dir}: step {step} is logged for several names ({names}); pass name= to pick one.")
    return max(found, key=lambda e: -1 if e.step is None else e.step)


def load_run_entry(run_dir: str | os.PathLike, name: str | None = None, step: int | None = None) -> "Dataset":
    """The logged set :func:`find_entry` picks, as a Dataset: ``projector.load(run_dir, name=, step=)``."""
    from projector.loaders import load

    return load(run_dir, format="run", name=name, step=step)


# -- manifest and lock ---------------------------------------------------------------------------


def _read_manifest(run: Path) -> list[RunEntry]:
    path = run / MANIFEST_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except UnicodeDecodeError as error:
        raise LoadError(f"{path}: not a projector run manifest (not UTF-8 text: {error}); was it overwritten?") from None
    try:
        document = json.loads(text)
        if document.get("format") != FORMAT:
            raise ValueError(f"format is {document.get('format')!r}, not {FORMAT!r}")
        return [RunEntry(**{**raw, "dims": dict(raw["dims"])}) for raw in document["entries"]]
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise LoadError(f"{path}: not a projector run manifest ({error}); was it edited by hand?") from None


def _write_manifest(run: Path, entries: list[RunEntry]) -> None:
    from projector._io import write_atomically

    text = json.dumps({"format": FORMAT, "version": VERSION, "entries": [e.to_dict() for e in entries]}, indent=1)
    write_atomically(run / MANIFEST_NAME, lambda temp: Path(temp).write_text(text + "\n", encoding="utf-8"), overwrite=True)


@contextmanager
def _locked(run: Path) -> Iterator[None]:
    """Hold an exclusive lock on the run directory's lock file (blocks until it is free)."""
    with open(run / LOCK_NAME, "a+b") as handle:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: lock the first byte instead
            import msvcrt

            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
            try:
                yield
            finally:
                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
            return
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


# -- checks ------------------------------------------------------------------------------------


def _check_name(name: Any) -> None:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ParameterError(
            f"name={name!r} must be 1 to 100 letters, digits, '.', '_' or '-', starting with a letter "
            "or digit (it names a folder in the run directory); the default is 'model-a'."
        )


def _ranges(steps: list[int]) -> str:
    if not steps:
        return "none"
    return ", ".join(map(str, steps)) if len(steps) <= 12 else f"{steps[0]} .. {steps[-1]} ({len(steps)} steps)"
