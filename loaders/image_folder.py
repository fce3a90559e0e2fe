"""Image folders: ``root/<class>/<image>`` becomes one row per image, labelled by its folder.

Columns: ``path`` (relative to the root, POSIX, the row id), ``label`` (the class folder's
name; ``""`` for images directly in the root), ``image`` (a PNG thumbnail made once here, so
the app never re-reads the originals) and the embeddings.

Embeddings come from ``embeddings=FILE``: anything :func:`projector.load` reads, with a column
naming each image by relative path (``cat/001.png``, or a longer path ending in it) or by file
name (``001.png``, when that name is unique in the folder). Without one, a labelled stand-in
is computed: ``pixels_16x16_rgb``, the thumbnail squeezed to 16x16 RGB, 768 values in 0-1.
An image that cannot be read (truncated, corrupt, a decompression bomb) keeps its row with the
grey placeholder thumbnail, and its stand-in pixels are the placeholder's: a constant grey
vector, finite and non-zero so every distance metric stays defined.

Hidden files and folders are skipped; images whose real path leaves the root (symlinks) are
refused with a warning.
"""

from __future__ import annotations

import io
import os
import warnings
from collections import Counter
from pathlib import Path, PurePosixPath
from typing import Iterator

import numpy as np
import pyarrow as pa

from projector._vectors import matrix_to_column
from projector.errors import LoadError, ProjectorWarning, RowCountError, UnsafeInputError
from projector.loaders._common import Loaded
from projector.media import IMAGE_SUFFIXES, THUMBNAIL_SIZE, make_thumbnail, placeholder_png, resolve_media_path
from projector.validation import check_whole

__all__ = ["has_images", "read_image_folder", "PIXEL_COLUMN"]

PIXEL_COLUMN = "pixels_16x16_rgb"
_PIXEL_SIDE = 16
_PROGRESS_FROM = 200  # images; fewer load too fast for a progress bar to help
_SHOWN = 5


def has_images(path: Path) -> bool:
    """Whether ``path`` holds image files directly or one folder down (hidden ones aside)."""
    entries = list(_visible(path))
    if any(_is_image(entry) for entry in entries):
        return True
    return any(entry.is_dir() and any(_is_image(e) for e in _visible(Path(entry.path))) for entry in entries)


def read_image_folder(
    path: Path, *, embeddings: str | os.PathLike[str] | None = None, thumbnail_size: int = THUMBNAIL_SIZE
) -> Loaded:
    """One row per image under ``path``, with thumbnails, labels and embeddings.

    Args:
        embeddings: a file of embeddings naming each image by relative path or file name;
            without it, a 16x16 pixel stand-in (with a warning).
        thumbnail_size: the longest side of the stored thumbnails, in pixels.
    """
    check_whole("thumbnail_size", thumbnail_size, minimum=8, maximum=512, meaning="pixels", default=THUMBNAIL_SIZE)
    images, notes = _list_images(path)
    if not images:
        raise LoadError(f"{path}: no images in this folder or its subfolders ({' '.join(IMAGE_SUFFIXES)})")
    table = pa.table(
        {
            "path": pa.array([rel for rel, _, _ in images], pa.string()),
            "label": pa.array([label for _, label, _ in images], pa.string()).dictionary_encode(),
        }
    )
    if embeddings is not None:  # matched before the thumbnails, so a mismatch fails fast
        table, vectors, join_notes = _join_embeddings(table, Path(embeddings).expanduser(), path)
        notes.extend(join_notes)
    thumbnails = _thumbnails(path, images, thumbnail_size)
    table = table.add_column(2, "image", pa.array(thumbnails, pa.binary()))
    placeholder = placeholder_png(thumbnail_size)
    unreadable = [rel for (rel, _, _), png in zip(images, thumbnails) if png == placeholder]
    if unreadable:
        notes.append(
            f"{len(unreadable)} images could not be read (truncated, corrupt or too large) and show a "
            f"grey placeholder: {_first(unreadable)}"
        )
    if embeddings is None:
        table = table.append_column(PIXEL_COLUMN, matrix_to_column(_pixel_matrix(thumbnails)))
        vectors = [PIXEL_COLUMN]
        message = (
            f"{path}: no embeddings given, so the map uses {PIXEL_COLUMN!r}, a stand-in of raw "
            "16x16 RGB pixels (768 values in 0-1) that groups images by colour and layout, not "
            "content. Pass embeddings=FILE (Parquet, CSV, .npz, ... with a column naming each image "
            "by relative path or file name) for real embeddings"
        )
        warnings.warn(message, ProjectorWarning, stacklevel=2)
        notes.append(message)
    hints = {"id": "path", "image": "image", "vector": vectors}
    return Loaded(table, str(path), hints=hints, media_root=path, notes=notes)


def _visible(folder: Path) -> Iterator[os.DirEntry]:
    try:
        with os.scandir(folder) as entries:
            yield from (entry for entry in entries if not entry.name.startswith("."))
    except (PermissionError, NotADirectoryError, FileNotFoundError):
        return


def _is_image(entry: os.DirEntry) -> bool:
    return entry.name.lower().endswith(IMAGE_SUFFIXES) and entry.is_file()


def _list_images(root: Path) -> tuple[list[tuple[str, str, Path]], list[str]]:
    """``(relative path, label, real path)`` for every image, sorted; escapes refused."""
    found: list[tuple[str, str]] = []
    nested: list[str] = []
    for entry in _visible(root):
        if _is_image(entry):
            found.append((entry.name, ""))
        elif entry.is_dir():
            for inner in _visible(Path(entry.path)):
                if _is_image(inner):
                    found.append((f"{entry.name}/{inner.name}", entry.name))
                elif inner.is_dir():
                    nested.append(f"{entry.name}/{inner.name}")
    notes = []
    if nested:
        notes.append(
            f"left out {len(nested)} folders inside class folders ({_first(sorted(nested))}); "
            "only root/<class>/<image> is read"
        )
    images, refused = [], []
    for rel, label in sorted(found):
        try:
            images.append((rel, label, resolve_media_path(root, rel)))
        except UnsafeInputError:
            refused.append(rel)
    if refused:
        message = (
            f"{root}: refused {len(refused)} images whose real path leaves the folder "
            f"(symbolic links): {_first(refused)}; copy the files in to include them"
        )
        warnings.warn(message, ProjectorWarning, stacklevel=3)
        notes.append(message)
    return images, notes


def _thumbnails(root: Path, images: list[tuple[str, str, Path]], size: int) -> list[bytes]:
    from tqdm import tqdm

    bar = tqdm(
        images,
        desc=f"thumbnails of {root.name or root}",
        unit="image",
        disable=None if len(images) >= _PROGRESS_FROM else True,
    )
    return [make_thumbnail(real, size, what=f"{root / rel}") for rel, _, real in bar]


def _pixel_matrix(thumbnails: list[bytes]) -> np.ndarray:
    """The stand-in embedding: each thumbnail on white, resized to 16x16 RGB, scaled to 0-1."""
    from PIL import Image

    matrix = np.empty((len(thumbnails), _PIXEL_SIDE * _PIXEL_SIDE * 3), dtype=np.float32)
    for row, png in enumerate(thumbnails):
        with Image.open(io.BytesIO(png)) as image:
            rgba = image.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        small = Image.alpha_composite(canvas, rgba).convert("RGB").resize((_PIXEL_SIDE, _PIXEL_SIDE), Image.BILINEAR)
        matrix[row] = np.asarray(small, dtype=np.float32).reshape(-1) / 255.0
    return matrix


def _join_embeddings(table: pa.Table, source: Path, root: Path) -> tuple[pa.Table, list[str], list[str]]:
    """Embeddings (and other columns) from ``source``, one row per image, matched by name."""
    from projector.loaders import load
    from projector.schema import GENERATED_ID

    if source.resolve() == root.resolve():
        raise LoadError(f"embeddings={source}: that is the image folder itself; name a file of embeddings")
    # image=[], audio=[]: the names are matched here, not opened as media
    found = load(source, image=[], audio=[])
    rels = table.column("path").to_pylist()
    candidates = [
        f.name
        for f in found.table.schema
        if f.name not in found.roles.vectors and (pa.types.is_string(f.type) or pa.types.is_large_string(f.type))
    ]
    matcher = _Matcher(rels)
    best, best_rows, best_hits = None, [], 0
    for name in candidates:
        values = found.table.column(name).to_pylist()
        rows = [matcher.match(value) for value in values]
        # a file name found in several folders still shows which column holds the names
        hits = sum(row is not None or matcher.is_repeated(value) for row, value in zip(rows, values))
        if hits > best_hits:
            best, best_rows, best_hits = name, rows, hits
    if best is None:
        text = ", ".join(repr(c) for c in candidates) or "none"
        raise LoadError(
            f"embeddings={source}: no column names the images of {root}; it needs a text column of "
            f"relative paths (like {rels[0]!r}) or file names (like {PurePosixPath(rels[0]).name!r}). "
            f"Its text columns: {text}"
        )
    row_of_image: dict[int, int] = {}
    for row, image in enumerate(best_rows):
        if image is None:
            continue
        if image in row_of_image:
            raise LoadError(
                f"embeddings={source}, column {best!r}: rows {row_of_image[image]} and {row} both name "
                f"{rels[image]!r}; each image needs exactly one embedding"
            )
        row_of_image[image] = row
    missing = [rels[i] for i in range(len(rels)) if i not in row_of_image]
    if missing:
        ambiguous = sorted({PurePosixPath(r).name for r in missing} & matcher.repeated)
        hint = (
            f" File names found in several folders ({_first(ambiguous)}) must be given as relative paths."
            if ambiguous
            else ""
        )
        raise RowCountError(
            f"embeddings={source}: no row names {len(missing)} of the {len(rels)} images in {root} "
            f"(column {best!r}): {_first(missing)}. Every image needs an embedding row naming it by "
            f"relative path or file name.{hint}"
        )
    notes = []
    extra = [v for v, image in zip(found.table.column(best).to_pylist(), best_rows) if image is None]
    if extra:
        notes.append(f"ignored {len(extra)} rows of {source} that name no image in the folder: {_first(extra)}")
    take = pa.array([row_of_image[i] for i in range(len(rels))], pa.int64())
    vectors = []
    for field_ in found.table.schema:
        name = field_.name
        if name == best or (name == GENERATED_ID and found.roles.generated_id):
            continue
        out = f"{name}_meta" if name in (*table.column_names, "image") else name
        table = table.append_column(pa.field(out, field_.type), found.table.column(name).take(take))
        if name in found.roles.vectors:
            vectors.append(out)
    notes.append(f"embeddings {', '.join(map(repr, vectors))} from {source}, matched by column {best!r}")
    return table, vectors, notes


class _Matcher:
    """Finds the image a name means: a relative path, a path ending in one, or a unique file name."""

    def __init__(self, rels: list[str]) -> None:
        self.by_path = {rel: i for i, rel in enumerate(rels)}
        names = [PurePosixPath(rel).name for rel in rels]
        counts = Counter(names)
        self.repeated = {name for name, count in counts.items() if count > 1}
        self.by_name = {name: i for i, name in enumerate(names) if counts[name] == 1}

    def match(self, value: str | None) -> int | None:
        if not value:
            return None
        parts = [p for p in value.replace("\\", "/").split("/") if p not in ("", ".")]
        for start in range(len(parts)):
            hit = self.by_path.get("/".join(parts[start:]))
            if hit is not None:
                return hit
        return self.by_name.get(parts[-1]) if parts else None

    def is_repeated(self, value: str | None) -> bool:
        return bool(value) and PurePosixPath(value.replace("\\", "/")).name in self.repeated


def _first(values: list[str]) -> str:
    shown = ", ".join(repr(v) for v in values[:_SHOWN])
    return shown + (f" and {len(values) - _SHOWN} more" if len(values) > _SHOWN else "")
