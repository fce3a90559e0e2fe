"""NumPy files: .npy memory-mapped into Arrow, .npz archives of named arrays, refused pickles."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import projector
from projector import FormatError, ProjectorError, RowCountError, UnsafeInputError, VectorError


def test_float32_npy_is_memory_mapped_not_copied(tmp_path):
    n, d = 20_000, 64  # 5 MB
    matrix = np.random.default_rng(0).standard_normal((n, d)).astype(np.float32)
    path = tmp_path / "emb.npy"
    np.save(path, matrix)

    before = pa.total_allocated_bytes()
    ds = projector.load(path)
    assert pa.total_allocated_bytes() - before < matrix.nbytes // 10
    assert ds.roles.vectors == ("embedding",) and ds.vectors().shape == (n, d)
    np.testing.assert_array_equal(ds.vectors(), matrix)

    # The column *is* the file's mapping: a change written to the file shows through it.
    header = path.stat().st_size - matrix.nbytes
    with open(path, "r+b") as handle:
        handle.seek(header)
        handle.write(np.float32(42.5).tobytes())
    assert ds.vectors()[0, 0] == np.float32(42.5)


@pytest.mark.parametrize("dtype", [np.float64, np.float16, np.int64, np.uint8, ">f4"])
def test_other_dtypes_are_cast_to_float32(tmp_path, dtype):
    matrix = (np.arange(24).reshape(6, 4) % 7).astype(dtype)
    np.save(tmp_path / "emb.npy", matrix)
    ds = projector.load(tmp_path / "emb.npy")
    assert ds.vectors().dtype == np.float32
    np.testing.assert_array_equal(ds.vectors(), matrix.astype(np.float32))


def test_fortran_order_npy_loads_the_same_values(tmp_path):
    matrix = np.asfortranarray(np.arange(20, dtype=np.float32).reshape(5, 4))
    np.save(tmp_path / "emb.npy", matrix)
    np.testing.assert_array_equal(projector.load(tmp_path / "emb.npy").vectors(), matrix)


def test_object_npy_is_refused_without_unpickling(tmp_path):
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}, [1, 2]], dtype=object), allow_pickle=True)
    with pytest.raises(UnsafeInputError) as info:
        projector.load(tmp_path / "objects.npy")
    message = str(info.value)
    assert "objects.npy" in message and "Python objects" in message
    assert "unpickling" in message and "Save plain arrays" in message


@pytest.mark.parametrize(
    ("shape", "hint"),
    [((7,), "np.stack"), ((4, 3, 2), "reshape(len(array), -1)"), ((2, 2, 2, 2), "reshape(len(array), -1)")],
)
def test_npy_that_is_not_2d_names_its_shape(tmp_path, shape, hint):
    np.save(tmp_path / "bad.npy", np.zeros(shape, dtype=np.float32))
    with pytest.raises(VectorError) as info:
        projector.load(tmp_path / "bad.npy")
    assert str(shape) in str(info.value) and "(N, D)" in str(info.value) and hint in str(info.value)


def test_string_npy_is_not_an_embedding(tmp_path):
    np.save(tmp_path / "names.npy", np.array([["a", "b"], ["c", "d"]]))
    with pytest.raises(VectorError, match="strings; embeddings must be numbers"):
        projector.load(tmp_path / "names.npy")


def test_npz_with_several_arrays(tmp_path):
    rng = np.random.default_rng(3)
    clip, dino = rng.random((6, 8)), rng.random((6, 4)).astype(np.float32)
    np.savez_compressed(
        tmp_path / "run.npz",
        clip=clip,
        dino=dino,
        names=np.array([f"img{i}.png" for i in range(6)]),
        score=np.linspace(0, 1, 6),
        centroids=np.ones((3, 8)),  # another row count: left out
        token_ids=np.ones((6, 5), dtype=np.int64),  # integers beside floats: not embeddings
        pixels=np.zeros((6, 2, 2)),  # 3-D: left out
    )
    ds = projector.load(tmp_path / "run.npz")
    assert ds.roles.vectors == ("clip", "dino")
    np.testing.assert_allclose(ds.vectors("clip"), clip.astype(np.float32))
    np.testing.assert_array_equal(ds.vectors("dino"), dino)
    assert ds.table.column("names").to_pylist() == [f"img{i}.png" for i in range(6)]
    assert ds.roles.images == ("names",)  # strings ending in .png are image paths
    assert ds.roles.numeric == ("score",)
    for left_out in ("centroids", "token_ids", "pixels"):
        assert left_out not in ds.column_names
        assert any(left_out in note for note in ds.notes)
    assert any("3 rows, but 'clip' has 6" in note for note in ds.notes)


def test_npz_refuses_object_arrays_but_loads_the_rest(tmp_path):
    np.savez(tmp_path / "mixed.npz", emb=np.eye(4), meta=np.array([None] * 4, dtype=object))
    ds = projector.load(tmp_path / "mixed.npz")
    assert ds.column_names[:1] == ["emb"] and "meta" not in ds.column_names
    assert any("'meta'" in note and "never" in note for note in ds.notes)


def test_npz_of_only_object_arrays_is_unsafe(tmp_path):
    np.savez(tmp_path / "pickles.npz", emb=np.array([[1.0], [2.0]], dtype=object))
    with pytest.raises(UnsafeInputError, match=r"pickles\.npz.*'emb'.*refuses"):
        projector.load(tmp_path / "pickles.npz")


def test_npz_without_a_matrix_says_what_it_holds(tmp_path):
    np.savez(tmp_path / "flat.npz", a=np.arange(3), b=np.array(["x", "y", "z"]))
    with pytest.raises(VectorError) as info:
        projector.load(tmp_path / "flat.npz")
    assert "'a' (shape (3,), numbers)" in str(info.value) and "'b' (shape (3,), strings)" in str(info.value)


def test_metadata_file_is_attached_row_by_row(tmp_path):
    np.save(tmp_path / "emb.npy", np.eye(4, dtype=np.float32))
    (tmp_path / "meta.csv").write_text("word,count\nalpha,1\nbeta,2\ngamma,3\ndelta,4\n")
    ds = projector.load(tmp_path / "emb.npy", metadata=tmp_path / "meta.csv")
    assert ds.table.column("word").to_pylist() == ["alpha", "beta", "gamma", "delta"]
    assert ds.table.column("count").to_pylist() == [1, 2, 3, 4]


def test_metadata_row_count_mismatch_names_both_files(tmp_path):
    np.savez(tmp_path / "emb.npz", emb=np.eye(5))
    (tmp_path / "meta.csv").write_text("word\nalpha\nbeta\ngamma\n")
    with pytest.raises(RowCountError) as info:
        projector.load(tmp_path / "emb.npz", metadata=str(tmp_path / "meta.csv"))
    message = str(info.value)
    assert "meta.csv has 3 metadata rows" in message and "emb.npz has 5 vectors" in message


def test_in_memory_metadata(tmp_path):
    np.save(tmp_path / "emb.npy", np.eye(4, dtype=np.float32))
    ds = projector.load(tmp_path / "emb.npy", metadata={"tag": ["a", "b", "c", "d"]})
    assert ds.table.column("tag").to_pylist() == ["a", "b", "c", "d"]


def test_truncated_npy_is_a_format_error(tmp_path):
    np.save(tmp_path / "full.npy", np.ones((100, 8), dtype=np.float32))
    data = (tmp_path / "full.npy").read_bytes()
    (tmp_path / "cut.npy").write_bytes(data[: len(data) // 2])
    with pytest.raises(FormatError, match=r"cut\.npy: cannot be read as NumPy \.npy \(truncated or corrupt\?\)"):
        projector.load(tmp_path / "cut.npy")
    (tmp_path / "header.npy").write_bytes(data[:40])
    with pytest.raises(FormatError, match=r"header\.npy"):
        projector.load(tmp_path / "header.npy")


def test_files_that_are_not_really_npy_or_npz(tmp_path):
    (tmp_path / "notes.npy").write_text("these are not numbers\n")
    with pytest.raises(FormatError, match=r"notes\.npy.*\.npy signature"):
        projector.load(tmp_path / "notes.npy")
    np.save(tmp_path / "plain.npy", np.eye(2, dtype=np.float32))
    (tmp_path / "renamed.npz").write_bytes((tmp_path / "plain.npy").read_bytes())
    with pytest.raises(FormatError, match=r"renamed\.npz: not a zip archive.*NumPy \.npy"):
        projector.load(tmp_path / "renamed.npz")
    np.savez(tmp_path / "whole.npz", emb=np.ones((50, 8)))
    data = (tmp_path / "whole.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(FormatError, match=r"cut\.npz: cannot be read as .*truncated or corrupt"):
        projector.load(tmp_path / "cut.npz")


def test_unknown_option_is_rejected(tmp_path):
    np.save(tmp_path / "emb.npy", np.eye(4, dtype=np.float32))
    with pytest.raises(ProjectorError, match="metdata=.*did you mean 'metadata'"):
        projector.load(tmp_path / "emb.npy", metdata="x.csv")


def test_zero_width_arrays_are_vector_errors(tmp_path):
    # found by the loader fuzz: an (N, 0) array reached Arrow as a list of size 0 (ArrowInvalid)
    np.save(tmp_path / "z.npy", np.zeros((3, 0), np.float32))
    with pytest.raises(VectorError, match=r"z\.npy: holds an array of shape \(3, 0\): vectors of 0 values"):
        projector.load(tmp_path / "z.npy")
    np.savez(tmp_path / "z.npz", e=np.zeros((3, 0), np.float32))
    with pytest.raises(VectorError, match=r"z\.npz: no 2-D array of numbers.*'e' \(shape \(3, 0\)"):
        projector.load(tmp_path / "z.npz")


def test_corrupt_npy_header_is_a_format_error(tmp_path):
    # found by the loader fuzz: numpy raised tokenize.TokenError for this header
    header = b"{{'fortran_order': False, 'shape': (6, 4), }"
    data = b"\x93NUMPY\x01\x00" + (118).to_bytes(2, "little") + header.ljust(117) + b"\n" + bytes(96)
    (tmp_path / "bad.npy").write_bytes(data)
    with pytest.raises(FormatError, match=r"bad\.npy: cannot be read as NumPy \.npy.*header is not readable"):
        projector.load(tmp_path / "bad.npy")
