"""TensorFlow projector configs: standalone projector_config.json, TensorBoard log dirs, sprites."""

from __future__ import annotations

import io
import json
import os
import warnings

import numpy as np
import pytest
from PIL import Image

import projector
from projector import FormatError, LoadError, ProjectorWarning, UnsafeInputError
from projector.loaders import _pbtxt
from projector.loaders.tf_config import list_embeddings

COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255), (255, 0, 255), (128, 64, 32)]


def _tensors(path, matrix):
    path.write_text("".join("\t".join(repr(float(v)) for v in row) + "\n" for row in matrix))
    return path


def _matrix(n=6, d=3, seed=0):
    return np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)


def _pixel(png: bytes) -> tuple[int, ...]:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    colours = image.getcolors()
    assert len(colours) == 1, "a thumbnail holds exactly one tile"
    return colours[0][1]


def _sprite(path, n, tile=(4, 3)):
    """A sprite sheet of ``n`` solid tiles, tile i coloured COLOURS[i], in a ceil(sqrt(n)) grid."""
    side = int(np.ceil(np.sqrt(n)))
    width, height = tile
    sheet = Image.new("RGB", (side * width, side * height))
    for i in range(n):
        row, column = divmod(i, side)
        sheet.paste(COLOURS[i], (column * width, row * height, (column + 1) * width, (row + 1) * height))
    sheet.save(path)


# -- standalone projector config -----------------------------------------------------------------


def _standalone_site(tmp_path, n=7):
    """The standalone projector's layout: config in oss_data/, paths relative to the site root."""
    data = tmp_path / "site" / "oss_data"
    data.mkdir(parents=True)
    matrix = _matrix(n, 5)
    matrix.astype("<f4").tofile(data / "digits.bytes")
    (data / "digits.tsv").write_text("digit\tname\n" + "".join(f"{i}\tn{i}\n" for i in range(n)))
    _sprite(data / "sprite.png", n)
    config = {
        "embeddings": [
            {"tensorName": "Words", "tensorShape": [10, 2], "tensorPath": "oss_data/words.bytes", "metadataPath": "oss_data/digits.tsv"},
            {
                "tensorName": "Digits",
                "tensorShape": [n, 5],
                "tensorPath": "oss_data/digits.bytes",
                "metadataPath": "oss_data/digits.tsv",
                "sprite": {"imagePath": "oss_data/sprite.png", "singleImageDim": [4, 3]},
            },
        ],
        "modelCheckpointPath": "Demo datasets",
    }
    (data / "projector_config.json").write_text(json.dumps(config))
    return data / "projector_config.json", matrix


def test_standalone_config_with_sprite_thumbnails(tmp_path):
    config, matrix = _standalone_site(tmp_path)
    ds = projector.load(config, embedding="Digits")
    np.testing.assert_array_equal(ds.vectors(), matrix)
    assert ds.source == "projector_config.json: embedding 'Digits'"
    assert ds.media_root == (tmp_path / "site").resolve()
    assert ds.table.column("name").to_pylist() == [f"n{i}" for i in range(7)]
    assert ds.roles.images == ("image",)
    thumbs = ds.table.column("image").to_pylist()
    assert [_pixel(t) for t in thumbs] == COLOURS
    assert Image.open(io.BytesIO(thumbs[0])).size == (4, 3)


def test_missing_tensor_file_is_skipped_and_named(tmp_path):
    config, matrix = _standalone_site(tmp_path)
    with pytest.warns(ProjectorWarning, match=r"loaded 'Digits'.*'Words' \(tensor file oss_data/words\.bytes is missing\)"):
        ds = projector.load(config)
    np.testing.assert_array_equal(ds.vectors(), matrix)
    assert any("oss_data/words.bytes is missing" in note for note in ds.notes)
    with pytest.raises(LoadError, match=r"embedding 'Words' cannot load: tensor file oss_data/words\.bytes is missing"):
        projector.load(config, embedding="Words")
    with pytest.raises(LoadError, match=r"no embedding named 'digits'; did you mean 'Digits'\? It lists 'Words', 'Digits'"):
        projector.load(config, embedding="digits")
    assert list_embeddings(config.parent) == ["Words", "Digits"]


def test_config_paths_may_not_leave_the_root(tmp_path):
    (tmp_path / "secret.tsv").write_text("1\t2\n")
    logdir = tmp_path / "run"
    logdir.mkdir()
    (logdir / "projector_config.pbtxt").write_text('embeddings { tensor_name: "x" tensor_path: "../secret.tsv" }')
    with pytest.raises(UnsafeInputError, match=r"embedding 'x', tensor file '\.\./secret\.tsv' is refused"):
        projector.load(logdir)
    os.symlink(tmp_path / "secret.tsv", logdir / "link.tsv")
    (logdir / "projector_config.pbtxt").write_text('embeddings { tensor_name: "x" tensor_path: "link.tsv" }')
    with pytest.raises(UnsafeInputError, match="outside the data root"):
        projector.load(logdir)


def test_json_that_is_not_a_config(tmp_path):
    (tmp_path / "records.json").write_text('[{"a": 1}]')
    with pytest.raises(FormatError, match=r"records\.json: not a TensorFlow projector config.*JSON Lines"):
        projector.load(tmp_path / "records.json")


# -- TensorBoard text-format config --------------------------------------------------------------


def test_pbtxt_subset_of_protobuf_text_format(tmp_path):
    _tensors(tmp_path / "a b.tsv", _matrix(4, 2))
    (tmp_path / "meta.tsv").write_text("x\ny\nz\nw\n")
    _sprite(tmp_path / "s.png", 4, tile=(2, 2))
    (tmp_path / "projector_config.pbtxt").write_text(
        "# written by hand\n"
        "model_checkpoint_path: 'ckpt'\n"
        "embeddings <\n"
        '  tensor_name: "caf\\303\\251" " \\"one\\""  # octal UTF-8 and adjacent strings\n'
        '  tensor_path: "a b.tsv", metadata_path: \'meta.tsv\';\n'
        "  sprite { image_path: \"s.png\" single_image_dim: [2, 2] }\n"
        ">\n"
        'embeddings { tensor_name: "ckpt only" }\n'
    )
    assert list_embeddings(tmp_path) == ['café "one"', "ckpt only"]
    with pytest.warns(ProjectorWarning, match=r"'ckpt only' \(no tensor path: its values live in a checkpoint \(the TensorFlow checkpoint 'ckpt'\)"):
        ds = projector.load(tmp_path / "projector_config.pbtxt")
    assert ds.table.column("label").to_pylist() == ["x", "y", "z", "w"]
    assert [_pixel(t) for t in ds.table.column("image").to_pylist()] == COLOURS[:4]
    (tmp_path / "projector_config.pbtxt").write_text('embeddings {\n  tensor_name: "x"\n  tensor_path "a.tsv"\n}\n')
    with pytest.raises(FormatError, match=r"projector_config\.pbtxt, line 3: expected ':' or '\{' after 'tensor_path'"):
        projector.load(tmp_path)


def test_pbtxt_parse_keeps_repeats_blocks_and_lists(tmp_path):
    fields = _pbtxt.parse('a: 1 a: "x" b { c: [2, 3] c: 4 } b < >', tmp_path / "c.pbtxt")
    assert fields == {"a": ["1", "x"], "b": [{"c": ["2", "3", "4"]}, {}]}
    with pytest.raises(FormatError, match=r"c\.pbtxt, line 2: expected '\}'"):
        _pbtxt.parse("b {\n c: 1 >", tmp_path / "c.pbtxt")


def test_large_sprite_tiles_become_thumbnails(tmp_path):
    _tensors(tmp_path / "t.tsv", _matrix(4, 2))
    _sprite(tmp_path / "colour.png", 4, tile=(100, 80))
    Image.open(tmp_path / "colour.png").convert("L").save(tmp_path / "grey.png")
    for sheet, mode in (("colour.png", "RGB"), ("grey.png", "L")):
        (tmp_path / "projector_config.pbtxt").write_text(
            f'embeddings {{ tensor_name: "e" tensor_path: "t.tsv" '
            f'sprite {{ image_path: "{sheet}" single_image_dim: [100, 80] }} }}'
        )
        thumbs = projector.load(tmp_path).table.column("image").to_pylist()
        images = [Image.open(io.BytesIO(t)) for t in thumbs]
        assert [i.size for i in images] == [(64, 51)] * 4, "at most 64 pixels on a side, aspect kept"
        assert {i.mode for i in images} == {mode}, "a grey sheet gives grey thumbnails"
        if mode == "RGB":
            assert [_pixel(t) for t in thumbs] == COLOURS[:4]


def test_unreadable_sprite_gives_placeholders(tmp_path):
    _tensors(tmp_path / "t.tsv", _matrix(4, 2))
    (tmp_path / "s.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    (tmp_path / "projector_config.pbtxt").write_text(
        'embeddings { tensor_name: "e" tensor_path: "t.tsv" sprite { image_path: "s.png" single_image_dim: 8 single_image_dim: 8 } }'
    )
    with pytest.warns(ProjectorWarning, match=r"s\.png: cannot read the sprite"):
        ds = projector.load(tmp_path)
    assert [_pixel(t) for t in ds.table.column("image").to_pylist()] == [(200, 200, 200)] * 4


def test_oversized_sprite_is_refused_before_decoding(tmp_path, monkeypatch):
    from projector.loaders import tf_config

    _tensors(tmp_path / "t.tsv", _matrix(4, 2))
    _sprite(tmp_path / "s.png", 4, tile=(8, 8))
    (tmp_path / "projector_config.pbtxt").write_text(
        'embeddings { tensor_name: "e" tensor_path: "t.tsv" sprite { image_path: "s.png" single_image_dim: 8 single_image_dim: 8 } }'
    )
    monkeypatch.setattr(tf_config, "MAX_IMAGE_PIXELS", 255)
    with pytest.warns(ProjectorWarning, match=r"s\.png: cannot read the sprite \(16x16 pixels is more than 255\)"):
        ds = projector.load(tmp_path)
    assert [_pixel(t) for t in ds.table.column("image").to_pylist()] == [(200, 200, 200)] * 4


def test_summary_writer_log_dir_with_two_embeddings(tmp_path):
    import torch
    from torch.utils.tensorboard import SummaryWriter

    first = torch.randn(5, 3)
    colours = torch.tensor([[1.0, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0, 1, 1]])
    images = colours[:, :, None, None].expand(5, 3, 6, 6).contiguous()
    second = torch.randn(4, 8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with SummaryWriter(str(tmp_path / "logs")) as writer:
            writer.add_embedding(first, metadata=["a", "b", "c", "d", "e"], label_img=images, tag="pics", global_step=0)
            writer.add_embedding(
                second,
                metadata=[["w", 1], ["x", 2], ["y", 3], ["z", 4]],
                metadata_header=["word", "rank"],
                tag="words",
                global_step=3,
            )
    logs = tmp_path / "logs"
    assert list_embeddings(logs) == ["pics:00000", "words:00003"]
    with pytest.warns(ProjectorWarning, match=r"loaded 'pics:00000'\. Others: 'words:00003'\. Choose one with embedding="):
        ds = projector.load(logs)
    np.testing.assert_allclose(ds.vectors(), first.numpy(), rtol=1e-6)
    assert ds.table.column("label").to_pylist() == ["a", "b", "c", "d", "e"]
    assert [_pixel(t) for t in ds.table.column("image").to_pylist()] == [
        tuple(int(v * 255) for v in c) for c in colours.tolist()
    ]
    assert ds.source == "projector_config.pbtxt: embedding 'pics:00000'"
    for name in ("words:00003", "words"):
        ds = projector.load(logs, embedding=name)
        np.testing.assert_allclose(ds.vectors(), second.numpy(), rtol=1e-6)
        assert ds.table.column("word").to_pylist() == ["w", "x", "y", "z"]
        assert ds.table.column("rank").to_pylist() == [1, 2, 3, 4]
        assert ds.roles.images == ()
