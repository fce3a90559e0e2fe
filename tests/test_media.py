"""Media safety: paths confined to their root, images that cannot hurt the process."""

from __future__ import annotations

import io
import os

import pytest
from PIL import Image

from projector import ProjectorWarning, UnsafeInputError
from projector import media


def _png(size=(40, 30), color=(255, 0, 0)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def test_resolve_inside_root(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.png").write_bytes(_png())
    assert media.resolve_media_path(tmp_path, "a/x.png") == (tmp_path / "a" / "x.png").resolve()


@pytest.mark.parametrize("value", ["../outside.png", "a/../../outside.png", "/etc/passwd"])
def test_resolve_refuses_escapes(tmp_path, value):
    root = tmp_path / "root"
    root.mkdir()
    with pytest.raises(UnsafeInputError, match="outside the data root"):
        media.resolve_media_path(root, value)


def test_resolve_refuses_symlink_escape_and_hidden_files(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "secret.png").write_bytes(_png())
    os.symlink(tmp_path / "secret.png", root / "link.png")
    with pytest.raises(UnsafeInputError, match="outside the data root"):
        media.resolve_media_path(root, "link.png")
    (root / ".env").write_text("TOKEN=1")
    with pytest.raises(UnsafeInputError, match="hidden file"):
        media.resolve_media_path(root, ".env")


def test_check_paths_without_root_allows_relative_only():
    media.check_paths(["a.png", None, "https://example.org/b.png", "sub/c.png"], None, "img")
    with pytest.raises(UnsafeInputError, match=r"column 'img', row 1.*media_root=DIR"):
        media.check_paths(["a.png", "/abs/b.png"], None, "img")


def test_thumbnail_of_bytes_and_file(tmp_path):
    thumb = Image.open(io.BytesIO(media.make_thumbnail(_png((200, 100)), size=64)))
    assert thumb.size == (64, 32) and thumb.getpixel((10, 10))[:3] == (255, 0, 0)
    (tmp_path / "x.png").write_bytes(_png((10, 10), (0, 0, 255)))
    assert Image.open(io.BytesIO(media.make_thumbnail(tmp_path / "x.png"))).getpixel((1, 1))[:3] == (0, 0, 255)


def test_truncated_image_becomes_placeholder():
    data = _png((300, 300))
    with pytest.warns(ProjectorWarning, match="row 7: cannot make a thumbnail"):
        out = media.make_thumbnail(data[: len(data) // 3], what="row 7")
    assert out == media.placeholder_png()


def test_decompression_bomb_becomes_placeholder(monkeypatch):
    monkeypatch.setattr(media, "MAX_IMAGE_PIXELS", 100 * 100)
    with pytest.warns(ProjectorWarning, match="cannot make a thumbnail"):
        out = media.make_thumbnail(_png((400, 400)))
    assert out == media.placeholder_png()


def test_looks_like_image_bytes():
    assert media.looks_like_image_bytes(_png())
    assert not media.looks_like_image_bytes(b"hello world")


def test_a_png_whose_data_chunk_is_broken_becomes_a_placeholder():
    # found by the loader fuzz: Pillow raises SyntaxError (not OSError) for this file
    broken = (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x08\x00\x00\x00\x08\x08\x02\x00\x00\x00Km)\xdc"
        b"\x00\x00\x00\x14IDATx\x9ccd\xd0\x88b\xc0\x06\x98\xb0\x00\x01\x01\x01\x01\x00\x00\x00\x00IEND\xaeB`\x82"
    )
    reasons = []
    assert media.make_thumbnail(broken, 16, on_error=reasons.append) == media.placeholder_png(16)
    assert len(reasons) == 1
