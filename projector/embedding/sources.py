"""Loading a file that may hold no embedding yet: texts or images are embedded on the way in.

This is what ``projector serve|project|export PATH --text COL`` does with a table of texts:
a table that already has an embedding loads exactly as :func:`projector.load` loads it.
"""

from __future__ import annotations

import itertools
import os
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from projector.embedding.choose import ModelSpec
from projector.errors import SchemaError

if TYPE_CHECKING:
    import pyarrow as pa

    from projector.dataset import Dataset
    from projector.progress import ProgressCallback

__all__ = ["embed_file", "embed_files", "load_embedded", "needs_embedding"]


def load_embedded(
    source: str | os.PathLike,
    *,
    model: ModelSpec = None,
    device: str = "auto",
    batch_size: int = 64,
    cache: bool = True,
    progress: "ProgressCallback | None" = None,
    embed_as: Mapping[str, str] | None = None,
    **options: Any,
) -> "Dataset":
    """``projector.load(source, **options)``, embedding the ``text`` (or ``image``) column first
    when the file holds no embedding column (see :func:`projector.embedding.embed_table`).

    ``embed_as`` (``{"text": COLUMN}`` or ``{"image": COLUMN}``, as an embedding record's
    ``input`` says) is the column to embed when neither ``text=`` nor ``image=`` is given: new
    rows placed into a map are embedded from the column its vectors were made from.

    Raises :class:`~projector.errors.SchemaError` saying to name a text column when there is
    neither an embedding nor a column to embed.
    """
    embedding = {"model": model, "device": device, "batch_size": batch_size, "cache": cache, "progress": progress}
    return _dataset(*_read(source, options), embedding, embed_as)


def _dataset(
    table: "pa.Table", hints: dict[str, Any], name: str, notes: list[str], embedding: dict[str, Any],
    embed_as: Mapping[str, str] | None = None,
) -> "Dataset":
    """The Dataset of a file read by :func:`_read`, its text or image column embedded first
    when it holds no embedding."""
    from projector.dataset import Dataset

    if not _has_embedding(table, hints):
        if hints.get("text") is None and hints.get("image") is None:
            hints = {**hints, **_recorded_input(embed_as, table, name)}
        table, added = _embedded(table, hints, "embedding", False, embedding)
        notes = notes + added
    return Dataset.from_table(table, source=name, notes=notes, **hints)


def embed_file(
    source: str | os.PathLike,
    *,
    column: str = "embedding",
    overwrite: bool = False,
    model: ModelSpec = None,
    device: str = "auto",
    batch_size: int = 64,
    cache: bool = True,
    progress: "ProgressCallback | None" = None,
    **options: Any,
) -> "pa.Table":
    """The table in file ``source`` (read as :func:`projector.load` reads it, ``options``
    included) plus ``column``, the embedding of its ``text`` (or ``image``) column: what
    ``projector embed`` writes. The file need not hold an embedding already."""
    table, hints, _, _ = _read(source, options)
    embedding = {"model": model, "device": device, "batch_size": batch_size, "cache": cache, "progress": progress}
    return _embedded(table, hints, column, overwrite, embedding)[0]


def embed_files(
    paths: Sequence[str],
    folder: str | os.PathLike,
    *,
    model: ModelSpec = None,
    device: str = "auto",
    batch_size: int = 64,
    cache: bool = True,
    progress: "ProgressCallback | None" = None,
    **options: Any,
) -> tuple[list[str], dict[str, Any]]:
    """``(paths, options)`` to load instead of ``paths`` read with ``options``: each file
    without an embedding is embedded (:func:`load_embedded`) and written as Parquet into
    ``folder`` (created then, if need be; roles included), and the options keep only what
    applies to the new files. Each new file keeps its input's file name, so datasets named
    after their files are named as before; inputs of the same name from different folders
    (``a/texts.csv b/texts.csv``) do not overwrite each other (:func:`_handed_over`).

    For a reader that opens paths itself (``projector serve``). Format options (``encoding=``
    ...) are dropped once any file is embedded: they fit one format, so the files together can
    only be read with them when all are of that format, and then all were embedded.
    """
    from pathlib import Path

    from projector.loaders import ROLE_OPTIONS

    read = {path: _read(path, dict(options)) for path in paths}  # each file read once
    embedded = {path: not _has_embedding(found[0], found[1]) for path, found in read.items()}
    read = {path: found for path, found in read.items() if embedded[path]}  # the rest load as they are
    if not any(embedded.values()):
        return list(paths), options
    Path(folder).mkdir(mode=0o700, parents=True, exist_ok=True)  # made only when something is embedded
    out, roles = [], {name: value for name, value in options.items() if name in ROLE_OPTIONS}
    embedding = {"model": model, "device": device, "batch_size": batch_size, "cache": cache, "progress": progress}
    taken: set[str] = set()
    for path in paths:
        if embedded[path]:
            dataset = _dataset(*read.pop(path), embedding)
            if len(paths) == 1 and dataset.media_root is not None:
                roles.setdefault("media_root", str(dataset.media_root))  # media paths stay relative to the original file
            path = str(dataset.to_parquet(_handed_over(Path(folder), Path(path), taken)))
        out.append(path)
    return out, roles


def _handed_over(folder: "Path", source: "Path", taken: set[str]) -> "Path":
    """Where embedded input ``source`` is written: ``folder/NAME.parquet`` (NAME: its file's
    stem), or, for a name already written (in any case: some file systems ignore it),
    ``folder/PARENT/NAME.parquet`` after the input's own folder (``PARENT-2`` ... when that is
    taken too). No input overwrites another, the file name, which names the page, stays the
    input's, and the path the page shows says which folder it came from."""
    name = f"{source.stem or 'data'}.parquet"
    parent = source.expanduser().absolute().parent.name or "input"
    candidates = itertools.chain([name], (f"{parent}{f'-{n}' if n > 1 else ''}/{name}" for n in itertools.count(1)))
    relative = next(candidate for candidate in candidates if not {candidate.lower(), candidate.split("/")[0].lower()} & taken)
    taken.update({relative.lower(), relative.split("/")[0].lower()})  # a subfolder's name is taken for files too
    target = folder / relative
    target.parent.mkdir(mode=0o700, exist_ok=True)
    return target


def needs_embedding(source: str | os.PathLike, **options: Any) -> bool:
    """Whether file ``source`` (read with ``options``) holds no embedding column, so
    :func:`load_embedded` would embed it."""
    table, hints, _, _ = _read(source, options)
    return not _has_embedding(table, hints)


def _read(source: str | os.PathLike, options: dict[str, Any]) -> tuple["pa.Table", dict[str, Any], str, list[str]]:
    """(table, roles and format hints, source name, notes) of a file, before any Dataset is built."""
    from pathlib import Path

    from projector.loaders import ROLE_OPTIONS, _load_path

    roles = {name: options.pop(name) for name in ROLE_OPTIONS if name in options}
    loaded = _load_path(Path(source).expanduser(), options.pop("format", None), options)
    hints = {**loaded.hints, **roles}
    if "media_root" not in roles and loaded.media_root is not None:
        hints["media_root"] = loaded.media_root
    return loaded.table, hints, loaded.source, list(loaded.notes)


def _embedded(table: "pa.Table", hints: dict[str, Any], column: str, overwrite: bool, embedding: dict[str, Any]) -> tuple["pa.Table", list[str]]:
    """``table`` with ``column`` embedded from the hinted text/image column, and its notes."""
    from projector.embedding.record import read_embedding_record
    from projector.embedding.table import embed_table

    text, image = _first(hints.get("text")), _first(hints.get("image"))
    table = embed_table(table, text=text, image=image, column=column, overwrite=overwrite, media_root=hints.get("media_root"), **embedding)
    return table, list(read_embedding_record(table.schema, column).get("notes", []))


def _recorded_input(embed_as: Mapping[str, str] | None, table: "pa.Table", name: str) -> dict[str, str]:
    """``{"text": COLUMN}`` (or image) to embed, from ``embed_as``, or the error saying what to pass."""
    columns = ", ".join(map(repr, table.column_names))
    kind, column = next(iter((embed_as or {}).items()), (None, None))
    if kind in ("text", "image") and column in table.column_names:
        return {kind: column}
    if kind is not None:
        raise SchemaError(
            f"{name}: no embedding column, and no column {column!r} (the {kind} column the map's vectors were "
            f"embedded from) among {columns}; pass --{kind} COL ({kind}=COL) to name the column to embed"
        )
    raise SchemaError(
        f"{name}: no embedding column among {columns}; "
        "pass --text COL (text=COL) to embed a text column with a local model, or --vector COL to name the embedding"
    )


def _first(names: Any) -> str | None:
    """The column to embed: the first of several named (the rest stay text/image columns)."""
    if names is None or isinstance(names, str):
        return names
    return next(iter(names), None)


def _has_embedding(table: Any, hints: dict[str, Any]) -> bool:
    """Whether :meth:`Dataset.from_table` would find an embedding column without embedding."""
    from projector.dataset import _infer_vectors
    from projector.schema import roles_from_schema

    if hints.get("vector") or hints.get("vector_prefix"):
        return True
    stored = roles_from_schema(table.schema)
    return bool(stored is not None and stored.vectors) or bool(_infer_vectors(table)[1])
