"""Loaders: every input a user has, turned into one Arrow table and then a :class:`Dataset`.

:func:`load` dispatches on what it is given: an in-memory object (array, tensor, DataFrame,
Arrow table or stream, list of dicts), a file (by suffix), or a folder (by what it holds).
One small module per format returns a :class:`~projector.loaders._common.Loaded`; this module
merges the roles the format implies with the ones the user named and builds the Dataset.

Options every source takes (see :meth:`Dataset.from_table`): ``id``, ``vector``,
``vector_prefix``, ``text``, ``image``, ``audio``, ``label``, ``drop_nonfinite``,
``media_root``. Format options (``metadata``, ``dim``, ``embedding``, ``embeddings``,
``encoding``, ``split``; ``name`` and ``step`` for a :func:`projector.log` run directory) apply
only to the formats that document them; any other name is an error, never silently ignored.
"""

from __future__ import annotations

import difflib
import inspect
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from projector.errors import LoadError, ProjectorError
from projector.validation import check_choice

if TYPE_CHECKING:
    from projector.dataset import Dataset

__all__ = ["load", "demo", "FORMATS"]

ROLE_OPTIONS = ("id", "vector", "vector_prefix", "text", "image", "audio", "label", "drop_nonfinite", "media_root")

# format name -> (module, function). Suffixes map to format names below.
FORMATS: dict[str, tuple[str, str]] = {
    "parquet": ("tabular", "read_parquet"),
    "arrow": ("tabular", "read_ipc"),
    "csv": ("tabular", "read_csv"),
    "tsv": ("tabular", "read_tsv"),
    "jsonl": ("tabular", "read_jsonl"),
    "npy": ("numpy_files", "read_npy"),
    "npz": ("numpy_files", "read_npz"),
    "bytes": ("tf_projector", "read_bytes"),
    "tf-config": ("tf_config", "read_config"),
    "tensorboard": ("tf_config", "read_config"),
    "torch": ("torch_files", "read_torch"),
    "safetensors": ("torch_files", "read_safetensors"),
    "image-folder": ("image_folder", "read_image_folder"),
    "hf-disk": ("hf_disk", "read_hf_disk"),
    "run": ("run_dir", "read_run_dir"),
}

_SUFFIXES = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".arrow": "arrow",
    ".arrows": "arrow",
    ".feather": "arrow",
    ".ipc": "arrow",
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".npy": "npy",
    ".npz": "npz",
    ".bytes": "bytes",
    ".pbtxt": "tf-config",
    ".json": "tf-config",
    ".pt": "torch",
    ".pth": "torch",
    ".safetensors": "safetensors",
}


def load(source: Any, *, format: str | None = None, **options: Any) -> "Dataset":
    """Load ``source`` into a :class:`Dataset`.

    Args:
        source: a path (file or folder) or an in-memory object: numpy array, torch tensor,
            pandas/polars DataFrame, pyarrow Table or RecordBatchReader, anything with
            ``__arrow_c_stream__``, a list of dicts or a dict of columns.
        format: force a format instead of guessing from the suffix (one of :data:`FORMATS`).
        **options: roles (``vector=``, ``text=``, ``image=``, ``label=``, ``id=``, ...) and the
            format's own options. Unknown names are errors.

    Raises:
        ProjectorError: a subclass naming the file, column or row at fault and what to do.
    """
    from projector.dataset import Dataset

    roles = {name: options.pop(name) for name in ROLE_OPTIONS if name in options}
    if isinstance(source, (str, os.PathLike)):
        loaded = _load_path(Path(source).expanduser(), format, options)
    else:
        if format is not None:
            raise LoadError("format= applies to paths only; in-memory objects are recognised by type")
        from projector.loaders.memory import read_object

        loaded = _call(read_object, source, options, "in-memory data")
    hints = {**loaded.hints, **roles}
    if "media_root" not in roles and loaded.media_root is not None:
        hints["media_root"] = loaded.media_root
    return Dataset.from_table(loaded.table, source=loaded.source, notes=loaded.notes, **hints)


def demo() -> "Dataset":
    """The built-in demo: scikit-learn's digits, 1,797 samples of 64-d pixels with thumbnails.

    Needs no file and no network.
    """
    from projector.loaders._demo import digits

    return digits()


def _load_path(path: Path, format: str | None, options: dict[str, Any]):
    if format is not None:
        name = check_choice("format", format, sorted(FORMATS))
    elif path.is_dir():
        name = _folder_format(path)
    elif not path.exists():
        raise LoadError(f"{path}: no such file or directory")
    else:
        name = _SUFFIXES.get(path.suffix.lower())
        if name is None:
            known = " ".join(sorted(_SUFFIXES))
            raise LoadError(f"{path}: unknown file type {path.suffix!r}; projector reads {known} and folders")
    module, function = FORMATS[name]
    from importlib import import_module

    reader = getattr(import_module(f"projector.loaders.{module}"), function)
    return _call(reader, path, options, f"{name} files")


def _folder_format(path: Path) -> str:
    from projector.loaders.tf_config import CONFIG_NAMES
    from projector.runlog import MANIFEST_NAME

    if (path / MANIFEST_NAME).is_file():
        return "run"
    if any((path / name).is_file() for name in CONFIG_NAMES):
        return "tensorboard"
    if (path / "dataset_dict.json").is_file() or (path / "state.json").is_file():
        return "hf-disk"
    files = [p for p in path.iterdir() if not p.name.startswith(".")]
    if any(p.suffix.lower() in (".parquet", ".pq") for p in files if p.is_file()):
        return "parquet"
    from projector.loaders.image_folder import has_images

    if has_images(path):
        return "image-folder"
    raise LoadError(
        f"{path}: nothing loadable in this folder; expected Parquet files, an image folder "
        "(root/<class>/<image>), a TensorBoard projector log directory (projector_config.pbtxt) "
        "or a Hugging Face dataset saved with save_to_disk"
    )


def _call(reader: Callable, source: Any, options: dict[str, Any], what: str):
    accepted = [
        p.name
        for p in list(inspect.signature(reader).parameters.values())[1:]
        if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    for name in options:
        if name not in accepted:
            close = difflib.get_close_matches(name, [*accepted, *ROLE_OPTIONS], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            takes = ", ".join([*accepted, *ROLE_OPTIONS])
            raise ProjectorError(f"option {name}= does not apply to {what}{hint} Options here: {takes}")
    return reader(source, **options)

