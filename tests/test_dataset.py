"""The Dataset contract: one Arrow table, float32 fixed-size-list embeddings, roles that persist."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import projector
from projector import Dataset, ProjectorWarning, SchemaError, VectorError
from projector.schema import ROLES_METADATA_KEY, Roles


def test_from_arrays_is_zero_copy_for_float32(small_matrix):
    ds = Dataset.from_arrays(small_matrix)
    view = ds.vectors()
    assert view.shape == (20, 8) and view.dtype == np.float32 and view.flags.c_contiguous
    assert np.shares_memory(view, small_matrix)
    assert ds.table.schema.field("embedding").type == pa.list_(pa.float32(), 8)


@pytest.mark.parametrize("dtype", [np.float16, np.float64, np.int32, np.int64])
def test_other_dtypes_are_cast_once_to_float32(dtype, small_matrix):
    source = (small_matrix * 10).astype(dtype)
    ds = Dataset.from_arrays(source)
    assert ds.vectors().dtype == np.float32
    np.testing.assert_allclose(ds.vectors(), source.astype(np.float32), rtol=1e-3)


def test_list_of_double_column_becomes_fixed_size_float32():
    table = pa.table({"v": pa.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]] * 3, type=pa.list_(pa.float64()))})
    with pytest.warns(ProjectorWarning, match="only 3 rows"):
        ds = Dataset.from_table(table.slice(0, 3))
    assert ds.table.schema.field("v").type == pa.list_(pa.float32(), 3)
    np.testing.assert_array_equal(ds.vectors("v"), [[1, 2, 3], [4, 5, 6], [1, 2, 3]])


def test_multi_chunk_and_sliced_columns_give_one_contiguous_view():
    chunks = [pa.array([[float(i), float(i + 1)] for i in range(s, s + 5)], type=pa.list_(pa.float32(), 2)) for s in (0, 5)]
    table = pa.table({"v": pa.chunked_array(chunks)}).slice(2, 6)
    ds = Dataset.from_table(table)
    np.testing.assert_array_equal(ds.vectors()[:, 0], [2, 3, 4, 5, 6, 7])
    assert ds.vectors().flags.c_contiguous


def test_roles_inferred_by_documented_rules():
    n = 12
    table = pa.table(
        {
            "id": [f"s{i}" for i in range(n)],
            "emb": pa.array([[float(i), 1.0, 2.0] for i in range(n)]),
            "img": [f"images/{i}.PNG" for i in range(n)],
            "sound": [f"clips/{i}.wav" for i in range(n)],
            "caption": [f"a rather long caption for sample number {i}" for i in range(n)],
            "species": ["cat", "dog", "bird"] * 4,
            "class": [i % 2 for i in range(n)],
            "score": np.linspace(0, 1, n),
            "count": list(range(n)),
        }
    )
    ds = Dataset.from_table(table, media_root=".")
    roles = ds.roles
    assert roles.id == "id" and not roles.generated_id
    assert roles.vectors == ("emb",)
    assert roles.images == ("img",)
    assert roles.audio == ("sound",)
    assert roles.texts == ("caption",)
    assert set(roles.labels) == {"species", "class"}
    assert set(roles.numeric) == {"score", "count"}


def test_explicit_roles_win_and_unknown_column_is_named():
    table = pa.table({"a": pa.array([[1.0, 2.0]] * 5), "b": pa.array([[3.0, 4.0]] * 5), "t": ["x"] * 5})
    ds = Dataset.from_table(table, vector="b", text="t")
    assert ds.roles.vectors == ("b",) and ds.roles.texts == ("t",)
    with pytest.raises(SchemaError, match=r"label='lable'.*no such column"):
        Dataset.from_table(pa.table({"v": pa.array([[1.0, 2.0]] * 5), "label": [1] * 5}), label="lable")


def test_generated_ids_when_none_named():
    ds = Dataset.from_arrays(np.ones((5, 3), np.float32) * np.arange(5)[:, None])
    assert ds.roles.generated_id and ds.roles.id == "_row_id"
    np.testing.assert_array_equal(ds.ids, np.arange(5))


def test_named_id_must_be_unique():
    table = pa.table({"v": pa.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]]), "key": ["a", "b", "a", "c"]})
    with pytest.raises(SchemaError, match="id column 'key' repeats values"):
        Dataset.from_table(table, id="key")


def test_roles_survive_parquet_round_trip(tmp_path):
    table = pa.table({"vec": pa.array([[1.0, 0.0]] * 3 + [[0.0, 1.0]] * 3), "name": [f"n{i}" for i in range(6)], "k": list(range(6))})
    ds = Dataset.from_table(table, id="name", label="k")
    path = ds.to_parquet(tmp_path / "out.parquet")
    assert ROLES_METADATA_KEY in pq.read_schema(path).metadata
    again = projector.load(path)
    assert again.roles == ds.roles
    assert again.table.schema.field("vec").type == pa.list_(pa.float32(), 2)


def test_to_parquet_never_overwrites_unless_told(tmp_path, small_matrix):
    target = tmp_path / "keep.parquet"
    target.write_bytes(b"user data")
    ds = Dataset.from_arrays(small_matrix)
    with pytest.raises(FileExistsError):
        ds.to_parquet(target)
    assert target.read_bytes() == b"user data"
    ds.to_parquet(target, overwrite=True)
    assert projector.load(target).num_rows == 20
    assert [p.name for p in tmp_path.iterdir()] == ["keep.parquet"]  # no temp file left behind


def test_ragged_vectors_name_the_row():
    rows = [[0.0] * 384 for _ in range(1300)]
    rows[1234] = [0.0] * 383
    with pytest.raises(VectorError, match=r"row 1234 has 383 values, expected 384"):
        Dataset.from_table(pa.table({"v": rows}))


def test_null_vector_is_named():
    table = pa.table({"v": pa.array([[1.0, 2.0], None, [3.0, 4.0], [5.0, 6.0]])})
    with pytest.raises(VectorError, match=r"row 1: no vector"):
        Dataset.from_table(table)


def test_nonfinite_rows_listed_by_id_or_dropped(small_matrix):
    bad = small_matrix.copy()
    bad[[3, 7, 11], 2] = [np.nan, np.inf, -np.inf]
    meta = {"name": [f"row-{i}" for i in range(20)]}
    with pytest.raises(VectorError, match=r"3 embedding rows hold NaN.*'row-3', 'row-7', 'row-11'.*drop_nonfinite=True"):
        Dataset.from_arrays(bad, meta, id="name")
    with pytest.warns(ProjectorWarning, match="dropped 3 of 20 rows"):
        ds = Dataset.from_arrays(bad, meta, id="name", drop_nonfinite=True)
    assert len(ds) == 17 and np.isfinite(ds.vectors()).all()
    assert "row-7" not in ds.table.column("name").to_pylist()


def test_nonfinite_lists_only_first_ten():
    matrix = np.zeros((30, 4), np.float32)
    matrix[::2, 0] = np.nan
    with pytest.raises(VectorError, match=r"\(rows 0, 2, 4, 6, 8, 10, 12, 14, 16, 18 and 5 more\)"):
        Dataset.from_arrays(matrix)


def test_zero_rows_is_an_error_and_few_rows_warn():
    with pytest.raises(projector.EmptyDatasetError, match="no rows"):
        Dataset.from_arrays(np.zeros((0, 4), np.float32))
    with pytest.warns(ProjectorWarning, match="only 2 rows"):
        ds = Dataset.from_arrays(np.eye(2, 4, dtype=np.float32))
    assert len(ds) == 2 and any("only 2 rows" in n for n in ds.notes)


@pytest.mark.parametrize("names", [["v", "v"], ["v", ""]])
def test_duplicate_or_empty_column_names_refused(names):
    table = pa.Table.from_arrays([pa.array([[1.0, 2.0]] * 4), pa.array([1, 2, 3, 4])], names=names)
    with pytest.raises(SchemaError, match="more than once|empty name"):
        Dataset.from_table(table)


def test_no_embedding_column_says_how_to_name_one():
    with pytest.raises(SchemaError, match=r"no embedding column.*vector=COLUMN"):
        Dataset.from_table(pa.table({"a": ["x", "y", "z", "w"]}))


def test_vectors_rejects_non_embedding_column(small_matrix):
    ds = Dataset.from_arrays(small_matrix, {"t": [str(i) for i in range(20)]})
    with pytest.raises(SchemaError, match="not an embedding column"):
        ds.vectors("t")


def test_roles_json_round_trip():
    roles = Roles(id="id", vectors=("a", "b"), images=("img",), labels=("y",), generated_id=True)
    assert Roles.from_json(roles.to_json()) == roles
    assert roles.role_of("b") == "vector" and roles.role_of("img") == "image" and roles.role_of("zzz") is None


def test_path_leaving_the_data_root_is_refused(tmp_path):
    table = pa.table({"v": pa.array([[1.0, 2.0]] * 4), "img": ["a.png", "b.png", "../secret.png", "c.png"]})
    with pytest.raises(projector.UnsafeInputError, match=r"column 'img', row 2.*leaves the data root"):
        Dataset.from_table(table, media_root=tmp_path)
    absolute = pa.table({"v": pa.array([[1.0, 2.0]] * 4), "img": ["a.png", "/etc/passwd.png", "b.png", "c.png"]})
    with pytest.raises(projector.UnsafeInputError, match="row 1"):
        Dataset.from_table(absolute, media_root=tmp_path)
    inside = pa.table({"v": pa.array([[1.0, 2.0]] * 4), "img": [str(tmp_path / "a.png"), "b.png", "https://x.org/c.png", "d.png"]})
    assert Dataset.from_table(inside, media_root=tmp_path).roles.images == ("img",)


def test_hf_image_struct_paths_checked_only_without_bytes(tmp_path):
    kind = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    ok = pa.array([{"bytes": b"\x89PNG...", "path": "/somewhere/else/0.png"}, {"bytes": None, "path": "1.png"}] * 2, type=kind)
    ds = Dataset.from_table(pa.table({"v": pa.array([[1.0, 2.0]] * 4), "image": ok}), media_root=tmp_path)
    assert ds.roles.images == ("image",)
    bad = pa.array([{"bytes": None, "path": "../0.png"}] * 4, type=kind)
    with pytest.raises(projector.UnsafeInputError, match=r"column 'image.path', row 0"):
        Dataset.from_table(pa.table({"v": pa.array([[1.0, 2.0]] * 4), "image": bad}), media_root=tmp_path)


def test_roles_read_past_leading_nulls_in_every_chunk():
    # the sample of values is taken in growing windows (drop_null of a whole column copies it)
    n = 300
    paths = pa.chunked_array([[None] * 100, [None] * 150 + [f"{i}.jpg" for i in range(50)]], pa.string())
    pngs = pa.chunked_array([[None] * 250, [b"\x89PNG\r\n" + bytes([i]) for i in range(50)]], pa.binary())
    vectors = pa.array(np.random.default_rng(0).random((n, 2)).tolist())
    ds = Dataset.from_table(pa.table({"v": vectors, "img": paths, "raw": pngs}), media_root=".")
    assert ds.roles.images == ("img", "raw")


def test_large_finite_values_are_not_mistaken_for_nonfinite():
    matrix = np.full((6, 4), 3e38, dtype=np.float32)  # each row's float32 sum overflows
    matrix[4, 1] = np.nan
    with pytest.raises(VectorError, match=r"1 embedding rows hold NaN.*\(rows 4\)"):
        Dataset.from_arrays(matrix)


def test_generated_ids_survive_a_round_trip_and_the_name_is_reserved(tmp_path, small_matrix):
    ds = Dataset.from_arrays(small_matrix)
    again = projector.load(ds.to_parquet(tmp_path / "g.parquet"))
    assert again.roles == ds.roles and again.roles.generated_id
    clash = pa.table({"v": pa.array([[1.0, 2.0]] * 4), "_row_id": [0, 0, 1, 1]})
    with pytest.raises(SchemaError, match="'_row_id' is reserved"):
        Dataset.from_table(clash)
