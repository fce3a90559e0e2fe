"""Image folders: classes from folder names, thumbnails, pixel stand-in, joined embeddings, bad files."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

import projector
import projector.media
from projector import LoadError, ParameterError, ProjectorWarning, RowCountError
from projector.loaders.image_folder import PIXEL_COLUMN

COLOURS = {"red": (255, 0, 0), "green": (0, 200, 0), "blue": (0, 0, 255)}


def _image(path, colour, size=(40, 30), fmt=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path, format=fmt)


@pytest.fixture
def folder(tmp_path):
    """root/<colour>/<n>.png|jpg: three classes, two images each."""
    root = tmp_path / "photos"
    for name, colour in COLOURS.items():
        _image(root / name / "1.png", colour)
        _image(root / name / "2.jpg", colour, fmt="JPEG")
    return root


def _load(path, expected="stand-in", **options):
    """Load, asserting a ProjectorWarning matching ``expected`` (the pixel stand-in by default)."""
    with pytest.warns(ProjectorWarning) as caught:
        ds = projector.load(path, **options)
    messages = [str(w.message) for w in caught]
    assert any(expected in m for m in messages), messages
    return ds


def test_classes_paths_and_thumbnails(folder):
    ds = _load(folder, thumbnail_size=32)
    assert ds.table.column("path").to_pylist() == [
        "blue/1.png", "blue/2.jpg", "green/1.png", "green/2.jpg", "red/1.png", "red/2.jpg",
    ]
    label = ds.table.column("label")
    assert pa.types.is_dictionary(label.type) and label.to_pylist() == ["blue"] * 2 + ["green"] * 2 + ["red"] * 2
    assert ds.roles.id == "path" and ds.roles.images == ("image",) and "label" in ds.roles.labels
    assert ds.media_root == folder.resolve()
    for png in ds.table.column("image").to_pylist():
        with Image.open(io.BytesIO(png)) as thumb:
            assert thumb.format == "PNG" and max(thumb.size) == 32


def test_pixel_stand_in_is_labelled(folder):
    ds = _load(folder, "a stand-in of raw 16x16 RGB pixels")
    assert ds.roles.vectors == (PIXEL_COLUMN,) == ("pixels_16x16_rgb",)
    pixels = ds.vectors()
    assert pixels.shape == (6, 768) and pixels.min() >= 0 and pixels.max() <= 1
    red = pixels[ds.table.column("path").to_pylist().index("red/1.png")].reshape(16, 16, 3)
    np.testing.assert_allclose(red[..., 0], 1.0)
    np.testing.assert_allclose(red[..., 1:], 0.0)
    assert any("stand-in" in note and "embeddings=FILE" in note for note in ds.notes)


def test_files_directly_in_the_root_and_hidden_files(tmp_path):
    root = tmp_path / "flat"
    _image(root / "a.png", (10, 10, 10))
    _image(root / "b.webp", (20, 20, 20), fmt="WEBP")
    _image(root / ".hidden.png", (0, 0, 0))
    _image(root / ".thumbs" / "x.png", (0, 0, 0))
    _image(root / "cls" / ".skip.png", (0, 0, 0))
    _image(root / "cls" / "c.png", (30, 30, 30))
    (root / "notes.txt").write_text("not an image")
    ds = _load(root)
    assert ds.table.column("path").to_pylist() == ["a.png", "b.webp", "cls/c.png"]
    assert ds.table.column("label").to_pylist() == ["", "", "cls"]


def test_folders_without_images_are_not_image_folders(tmp_path):
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "empty" / "readme.txt").write_text("hi")
    with pytest.raises(LoadError, match="nothing loadable in this folder"):
        projector.load(tmp_path / "empty")


def _embeddings(n_dims=5):
    rng = np.random.default_rng(7)
    return {
        f"{name}/{file}": rng.standard_normal(n_dims).astype(np.float32)
        for name in COLOURS
        for file in ("1.png", "2.jpg")
    }


def test_embeddings_joined_by_relative_path(folder, tmp_path):
    vectors = _embeddings()
    keys = sorted(vectors, reverse=True) + ["gone/9.png"]  # another order, one extra row
    table = pa.table(
        {
            "file": keys,
            "clip": pa.array([vectors.get(k, np.zeros(5, np.float32)) for k in keys], pa.list_(pa.float32())),
            "score": np.arange(len(keys), dtype=np.float64),
            "label": ["from the file"] * len(keys),
        }
    )
    pq.write_table(table, tmp_path / "emb.parquet")
    ds = projector.load(folder, embeddings=tmp_path / "emb.parquet")
    assert ds.roles.vectors == ("clip",) and PIXEL_COLUMN not in ds.column_names
    for path, row in zip(ds.table.column("path").to_pylist(), ds.vectors()):
        np.testing.assert_array_equal(row, vectors[path])
    assert "score" in ds.column_names and "file" not in ds.column_names
    assert ds.table.column("label").to_pylist()[0] == "blue"  # the folder's label stays
    assert ds.table.column("label_meta").to_pylist()[0] == "from the file"
    assert any("ignored 1 rows" in note and "gone/9.png" in note for note in ds.notes)


def test_embeddings_joined_by_file_name_from_npz(tmp_path):
    root = tmp_path / "imgs"
    names = [f"img{i}.png" for i in range(5)]
    for i, name in enumerate(names):
        _image(root / ("odd" if i % 2 else "even") / name, (i * 40, 0, 0))
    matrix = np.random.default_rng(0).random((5, 3))
    np.savez(tmp_path / "emb.npz", embedding=matrix, name=np.array([f"/data/somewhere/{n}" for n in names]))
    ds = projector.load(root, embeddings=str(tmp_path / "emb.npz"))
    order = [int(p.split("img")[1][0]) for p in ds.table.column("path").to_pylist()]
    np.testing.assert_allclose(ds.vectors(), matrix[order].astype(np.float32))


def test_unmatched_images_are_an_error_listing_them(folder, tmp_path):
    vectors = _embeddings()
    keep = [k for k in vectors if not k.startswith("blue/")]
    (tmp_path / "emb.csv").write_text(
        "path,embedding\n" + "".join(f'{k},"{list(map(float, vectors[k]))}"\n' for k in keep)
    )
    with pytest.raises(RowCountError) as info:
        projector.load(folder, embeddings=tmp_path / "emb.csv")
    message = str(info.value)
    assert "no row names 2 of the 6 images" in message and "'blue/1.png', 'blue/2.jpg'" in message
    assert "emb.csv" in message


def test_repeated_file_names_must_be_relative_paths(folder, tmp_path):
    vectors = _embeddings()
    (tmp_path / "emb.csv").write_text(
        "name,embedding\n" + "".join(f'{k.split("/")[1]},"{list(map(float, v))}"\n' for k, v in vectors.items())
    )
    with pytest.raises(RowCountError, match=r"several folders \('1.png', '2.jpg'\) must be given as relative paths"):
        projector.load(folder, embeddings=tmp_path / "emb.csv")


def test_embeddings_file_without_names(folder, tmp_path):
    np.save(tmp_path / "emb.npy", np.ones((6, 4), np.float32))
    with pytest.raises(LoadError, match=r"no column names the images .*like 'blue/1.png'"):
        projector.load(folder, embeddings=tmp_path / "emb.npy")


def _png_header_claiming(width, height):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_truncated_image_and_decompression_bomb_become_placeholders(folder):
    whole = (folder / "red" / "1.png").read_bytes()
    (folder / "red" / "cut.png").write_bytes(whole[: len(whole) // 2])
    (folder / "red" / "bomb.png").write_bytes(_png_header_claiming(100_000, 100_000))
    with pytest.warns(ProjectorWarning) as caught:
        ds = projector.load(folder)
    messages = " | ".join(str(w.message) for w in caught)
    assert "cut.png: cannot make a thumbnail" in messages and "bomb.png: cannot make a thumbnail" in messages
    paths = ds.table.column("path").to_pylist()
    assert len(ds) == 8 and "red/cut.png" in paths and "red/bomb.png" in paths
    placeholder = projector.media.placeholder_png(64)
    for name in ("red/cut.png", "red/bomb.png"):
        row = paths.index(name)
        assert ds.table.column("image")[row].as_py() == placeholder
        np.testing.assert_allclose(ds.vectors()[row], 200 / 255, rtol=1e-6)  # the placeholder's grey
    assert any("2 images could not be read" in note for note in ds.notes)


def test_pixel_limit_is_respected(folder, monkeypatch):
    monkeypatch.setattr(projector.media, "MAX_IMAGE_PIXELS", 100)
    ds = _load(folder, "40x30 pixels is more than 100")
    assert set(ds.table.column("image").to_pylist()) == {projector.media.placeholder_png(64)}


def test_symlink_leaving_the_root_is_refused(folder, tmp_path):
    outside = tmp_path / "secret"
    _image(outside / "private.png", (1, 2, 3))
    (folder / "red" / "link.png").symlink_to(outside / "private.png")
    (folder / "linked").symlink_to(outside, target_is_directory=True)
    ds = _load(folder, "refused 2 images whose real path leaves the folder")
    paths = ds.table.column("path").to_pylist()
    assert len(ds) == 6 and "red/link.png" not in paths and "linked/private.png" not in paths
    assert any("refused 2 images" in note for note in ds.notes)


def test_thumbnail_size_is_checked(folder):
    with pytest.raises(ParameterError, match=r"thumbnail_size=2 must be a whole number in \[8, 512\] \(pixels\); the default is "):
        projector.load(folder, thumbnail_size=2)
