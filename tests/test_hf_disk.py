"""Hugging Face datasets saved with save_to_disk (real `datasets` writes them; pyarrow reads)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import datasets  # noqa: E402
import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

import projector  # noqa: E402
from projector import FormatError, LoadError, UnsafeInputError  # noqa: E402
from projector.media import resolve_media_path  # noqa: E402

CLASSES = ["cat", "dog", "fox"]
FEATURES = datasets.Features(
    {
        "image": datasets.Image(),
        "label": datasets.ClassLabel(names=CLASSES),
        "embedding": datasets.Sequence(datasets.Value("float32"), length=4),
        "caption": datasets.Value("string"),
    }
)


def _png(shade: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (10, 6), (shade, 40, 90)).save(buffer, format="PNG")
    return buffer.getvalue()


def _dataset(n: int, seed: int = 0) -> datasets.Dataset:
    rng = np.random.default_rng(seed)
    return datasets.Dataset.from_dict(
        {
            "image": [{"bytes": _png(20 * i), "path": None} for i in range(n)],
            "label": [i % 3 for i in range(n)],
            "embedding": rng.random((n, 4), dtype=np.float32).tolist(),
            "caption": [f"caption number {i}" for i in range(n)],
        },
        features=FEATURES,
    )


def _save(obj, path) -> None:
    obj.save_to_disk(str(path))


def test_saved_dataset_with_image_and_classlabel(tmp_path):
    source = _dataset(6)
    _save(source, tmp_path / "ds")
    ds = projector.load(tmp_path / "ds")
    assert len(ds) == 6 and ds.roles.vectors == ("embedding",)
    np.testing.assert_allclose(ds.vectors(), np.asarray(source["embedding"], dtype=np.float32))
    assert ds.roles.images == ("image",)
    assert "label" in ds.roles.labels and ds.roles.texts == ("caption",)
    label = ds.table.column("label")
    assert pa.types.is_dictionary(label.type)
    assert label.to_pylist() == ["cat", "dog", "fox", "cat", "dog", "fox"]
    first = ds.table.column("image")[0].as_py()
    assert Image.open(io.BytesIO(first["bytes"])).size == (10, 6)
    assert ds.media_root == (tmp_path / "ds").resolve()
    assert b"huggingface" not in (ds.table.schema.metadata or {})  # stale ClassLabel features dropped


def test_arrow_files_are_memory_mapped(tmp_path):
    n = 4_000
    matrix = np.random.default_rng(1).random((n, 16), dtype=np.float32)
    features = datasets.Features(
        {"embedding": datasets.Sequence(datasets.Value("float32"), length=16), "text": datasets.Value("string")}
    )
    text = [f"{i:05d}" + "x" * 2_500 for i in range(n)]  # 10 MB of text
    _save(datasets.Dataset.from_dict({"embedding": matrix, "text": text}, features=features), tmp_path / "big")
    before = pa.total_allocated_bytes()
    ds = projector.load(tmp_path / "big")
    # the text stays in the mapped file; only the embedding, written in 1,000-row batches,
    # is joined into one contiguous block
    assert pa.total_allocated_bytes() - before < 2 * matrix.nbytes
    np.testing.assert_array_equal(ds.vectors(), matrix)
    assert ds.table.column("text")[n - 1].as_py() == text[-1]


def test_dataset_dict_stacks_splits_with_a_split_column(tmp_path):
    _save(datasets.DatasetDict({"train": _dataset(6), "test": _dataset(4, seed=1)}), tmp_path / "dd")
    ds = projector.load(tmp_path / "dd")
    assert len(ds) == 10
    assert ds.table.column("split").to_pylist() == ["train"] * 6 + ["test"] * 4
    assert "split" in ds.roles.labels and ds.roles.images == ("image",)
    assert ds.table.column("label").to_pylist()[6:] == ["cat", "dog", "fox", "cat"]
    assert any("train (6 rows), test (4 rows)" in note and "split=NAME" in note for note in ds.notes)


def test_each_split_keeps_its_own_class_names(tmp_path):
    other = _dataset(3).cast_column("label", datasets.ClassLabel(names=["red", "green", "blue"]))
    _save(datasets.DatasetDict({"train": _dataset(3), "test": other}), tmp_path / "dd")
    ds = projector.load(tmp_path / "dd")
    assert ds.table.column("label").to_pylist() == ["cat", "dog", "fox", "red", "green", "blue"]


def test_dataset_dict_split_selection(tmp_path):
    test_split = _dataset(4, seed=1)
    _save(datasets.DatasetDict({"train": _dataset(6), "test": test_split}), tmp_path / "dd")
    ds = projector.load(tmp_path / "dd", split="test")
    assert len(ds) == 4 and "split" not in ds.column_names
    np.testing.assert_allclose(ds.vectors(), np.asarray(test_split["embedding"], dtype=np.float32))
    assert "split 'test'" in ds.source

    with pytest.raises(LoadError) as info:
        projector.load(tmp_path / "dd", split="validation")
    assert "split='validation' is not one of its splits: 'train', 'test'" in str(info.value)


def test_split_option_on_a_single_dataset(tmp_path):
    _save(_dataset(4), tmp_path / "ds")
    with pytest.raises(LoadError, match="split='train' applies to a DatasetDict"):
        projector.load(tmp_path / "ds", split="train")


def test_classlabel_minus_one_is_missing(tmp_path):
    source = datasets.Dataset.from_dict(
        {"embedding": np.eye(4, dtype=np.float32).tolist(), "label": [0, -1, 2, 1]},
        features=datasets.Features(
            {"embedding": datasets.Sequence(datasets.Value("float32")), "label": datasets.ClassLabel(names=CLASSES)}
        ),
    )
    _save(source, tmp_path / "ds")
    ds = projector.load(tmp_path / "ds")
    assert ds.table.column("label").to_pylist() == ["cat", None, "fox", "dog"]


def _rewrite_image_column(folder, structs, data_file="data-00000-of-00001.arrow") -> None:
    """Store path-only image structs, as older `datasets` releases did (newer ones embed bytes)."""
    data = folder / data_file
    table = pa.ipc.open_stream(data.read_bytes()).read_all()
    column = pa.array(structs, type=table.schema.field("image").type)
    table = table.set_column(table.column_names.index("image"), "image", column)
    with pa.OSFile(str(data), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)


def test_image_paths_resolve_relative_to_the_dataset_folder(tmp_path):
    _save(_dataset(4), tmp_path / "ds")
    (tmp_path / "ds" / "imgs").mkdir()
    for i in range(4):
        (tmp_path / "ds" / "imgs" / f"{i}.png").write_bytes(_png(i))
    _rewrite_image_column(tmp_path / "ds", [{"bytes": None, "path": f"imgs/{i}.png"} for i in range(4)])
    ds = projector.load(tmp_path / "ds")
    value = ds.table.column("image")[2].as_py()["path"]
    assert resolve_media_path(ds.media_root, value) == (tmp_path / "ds" / "imgs" / "2.png").resolve()


def test_image_paths_leaving_the_folder_are_refused(tmp_path):
    _save(_dataset(4), tmp_path / "ds")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    _rewrite_image_column(tmp_path / "ds", [{"bytes": None, "path": str(outside / f"{i}.png")} for i in range(4)])
    with pytest.raises(UnsafeInputError, match="leaves the data root.*media_root"):
        projector.load(tmp_path / "ds")
    assert len(projector.load(tmp_path / "ds", media_root=tmp_path)) == 4


def test_missing_images_and_bytes_beside_paths_in_a_sharded_dataset(tmp_path):
    _dataset(8).save_to_disk(str(tmp_path / "ds"), num_shards=2)  # rows 4-7 in the second file
    second = "data-00001-of-00002.arrow"
    stored = [
        {"bytes": _png(1), "path": "../elsewhere.png"},  # the bytes are used; the path is never opened
        None,  # no image at all
        {"bytes": None, "path": None},
        {"bytes": None, "path": "imgs/7.png"},
    ]
    _rewrite_image_column(tmp_path / "ds", stored, second)
    ds = projector.load(tmp_path / "ds")
    image = ds.table.column("image")
    assert image.is_null().to_pylist() == [False] * 5 + [True, False, False]
    assert image[7].as_py() == {"bytes": None, "path": "imgs/7.png"}

    _rewrite_image_column(tmp_path / "ds", [*stored[:3], {"bytes": None, "path": "../../x.png"}], second)
    with pytest.raises(UnsafeInputError, match=r"column 'image\.path', row 7: media path '\.\./\.\./x\.png' leaves"):
        projector.load(tmp_path / "ds")


def test_loading_leaves_the_image_bytes_in_the_memory_map(tmp_path):
    rng = np.random.default_rng(3)
    images = []
    for _ in range(200):  # random pixels do not compress: about 19 KB each
        buffer = io.BytesIO()
        Image.fromarray(rng.integers(0, 256, (80, 80, 3), dtype=np.uint8)).save(buffer, format="PNG")
        images.append(buffer.getvalue())
    captions = [None] + [f"{i:04d} " + "words " * 330 for i in range(1, 200)]  # 400 KB of text
    features = datasets.Features(
        {
            "image": datasets.Image(),
            "embedding": datasets.Sequence(datasets.Value("float32"), length=4),
            "caption": datasets.Value("string"),
        }
    )
    columns = {"image": [{"bytes": b, "path": None} for b in images], "embedding": rng.random((200, 4)).tolist()}
    _save(datasets.Dataset.from_dict({**columns, "caption": captions}, features=features), tmp_path / "ds")
    # a fresh process, so the Arrow pool's high-water mark belongs to the first load alone; the
    # second, its modules imported, is traced for Python objects. Copying the images out
    # (combine_chunks, to_pylist), or the text (drop_null of a column with a null, to sample
    # it) would show in one or the other
    code = (
        "import json, sys, tracemalloc, pyarrow as pa, projector\n"
        "pool = pa.default_memory_pool(); before = pool.bytes_allocated()\n"
        "projector.load(sys.argv[1]); arrow_peak = pool.max_memory() - before\n"
        "tracemalloc.start(); ds = projector.load(sys.argv[1])\n"
        "print(json.dumps([arrow_peak, tracemalloc.get_traced_memory()[1], ds.roles.images, ds.roles.texts]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "ds")], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    arrow_peak, python_peak, images_role, texts_role = json.loads(out.stdout)
    image_bytes = sum(map(len, images))
    assert image_bytes > 3_000_000 and images_role == ["image"] and texts_role == ["caption"]
    assert arrow_peak < 100_000, f"Arrow memory rose by {arrow_peak:,} bytes loading {image_bytes:,} of images"
    assert python_peak < image_bytes / 10, f"Python objects took {python_peak:,} bytes loading {image_bytes:,} of images"


def test_state_json_may_not_point_outside_the_folder(tmp_path):
    _save(_dataset(4), tmp_path / "ds")
    state = json.loads((tmp_path / "ds" / "state.json").read_text())
    state["_data_files"] = [{"filename": "../secret.arrow"}]
    (tmp_path / "ds" / "state.json").write_text(json.dumps(state))
    (tmp_path / "secret.arrow").write_bytes(b"not for you")
    with pytest.raises(UnsafeInputError, match="outside the data root"):
        projector.load(tmp_path / "ds")


def test_corrupt_arrow_file_is_a_format_error(tmp_path):
    _save(_dataset(4), tmp_path / "ds")
    data = tmp_path / "ds" / "data-00000-of-00001.arrow"
    data.write_bytes(data.read_bytes()[:200])
    with pytest.raises(FormatError, match=r"data-00000-of-00001\.arrow"):
        projector.load(tmp_path / "ds")


def test_missing_arrow_file_is_named(tmp_path):
    _save(_dataset(4), tmp_path / "ds")
    (tmp_path / "ds" / "data-00000-of-00001.arrow").unlink()
    with pytest.raises(LoadError, match=r"data-00000-of-00001\.arrow: listed in state\.json but missing"):
        projector.load(tmp_path / "ds")


def test_loading_does_not_import_datasets(tmp_path):
    _save(_dataset(4), tmp_path / "ds")
    code = (
        "import sys, projector; projector.load(sys.argv[1]); "
        "assert 'datasets' not in sys.modules, 'datasets was imported'"
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "ds")], check=True, timeout=60)
