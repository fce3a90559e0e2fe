"""Tables on disk: Parquet, Arrow IPC / Feather, CSV, TSV, JSON Lines, and their bad inputs."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

import projector
from projector import FormatError, LoadError, ParameterError, ProjectorError, SchemaError, VectorError


def _table(n=10, d=4):
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((n, d))
    return pa.table(
        {
            "id": [f"item-{i}" for i in range(n)],
            "embedding": pa.array(list(vectors), type=pa.list_(pa.float64())),
            "label": ["a", "b"] * (n // 2),
        }
    ), vectors


@pytest.mark.parametrize(
    "kind",
    [pa.list_(pa.float32()), pa.large_list(pa.float64()), pa.list_(pa.float16(), 4), pa.list_(pa.int64())],
)
def test_parquet_any_list_flavour(tmp_path, kind):
    table, vectors = _table()
    if pa.types.is_integer(kind.value_type):
        vectors = np.round(vectors * 100)
    table = table.set_column(1, "embedding", pa.array(list(vectors), type=kind))
    pq.write_table(table, tmp_path / "d.parquet")
    ds = projector.load(tmp_path / "d.parquet")
    assert ds.roles.vectors == ("embedding",) and ds.roles.id == "id" and ds.roles.labels == ("label",)
    np.testing.assert_allclose(ds.vectors(), vectors.astype(np.float32), rtol=1e-2, atol=1e-2)


def test_parquet_folder_of_shards(tmp_path):
    table, _ = _table(10)
    (tmp_path / "shards").mkdir()
    pq.write_table(table.slice(0, 5), tmp_path / "shards" / "part-0.parquet")
    pq.write_table(table.slice(5), tmp_path / "shards" / "part-1.parquet")
    ds = projector.load(tmp_path / "shards")
    assert len(ds) == 10 and ds.vectors().shape == (10, 4)


def test_arrow_ipc_is_memory_mapped_not_copied(tmp_path):
    n, d = 20_000, 64
    matrix = np.random.default_rng(0).standard_normal((n, d)).astype(np.float32)
    from projector._vectors import matrix_to_column

    table = pa.table({"emb": matrix_to_column(matrix), "k": np.arange(n)})
    with pa.OSFile(str(tmp_path / "d.arrow"), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    del table
    before = pa.total_allocated_bytes()
    ds = projector.load(tmp_path / "d.arrow")
    grew = pa.total_allocated_bytes() - before
    assert grew < matrix.nbytes / 10, f"loading copied {grew} bytes"
    np.testing.assert_array_equal(ds.vectors(), matrix)


def test_feather_and_ipc_stream(tmp_path):
    table, vectors = _table()
    feather.write_feather(table, tmp_path / "d.feather")
    with pa.OSFile(str(tmp_path / "d.arrows"), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    for name in ("d.feather", "d.arrows"):
        ds = projector.load(tmp_path / name)
        np.testing.assert_allclose(ds.vectors(), vectors.astype(np.float32))


def test_csv_with_json_list_cells(tmp_path):
    lines = ["id,embedding,caption"]
    vectors = np.arange(24, dtype=np.float32).reshape(6, 4) / 7
    for i, v in enumerate(vectors):
        lines.append(f'{i},"{json.dumps(v.tolist())}","sample, with a comma and ""quotes"" {i}"')
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n")
    ds = projector.load(tmp_path / "d.csv")
    np.testing.assert_allclose(ds.vectors(), vectors, rtol=1e-6)
    assert ds.table.column("caption")[0].as_py() == 'sample, with a comma and "quotes" 0'


def test_csv_prefix_columns_inferred_and_named(tmp_path):
    rows = ["x_0,x_1,x_2,x_3,label,score"] + [f"{i},{i+1},{i+2},{i+3},{'ab'[i % 2]},{i/10}" for i in range(8)]
    (tmp_path / "p.csv").write_text("\n".join(rows))
    ds = projector.load(tmp_path / "p.csv")
    assert ds.roles.vectors == ("x",)
    np.testing.assert_array_equal(ds.vectors()[3], [3, 4, 5, 6])
    explicit = projector.load(tmp_path / "p.csv", vector_prefix="x_")
    assert explicit.roles.vectors == ("x",) and "x_0" not in explicit.column_names
    with pytest.raises(SchemaError, match="vector_prefix='emb_'"):
        projector.load(tmp_path / "p.csv", vector_prefix="emb_")


def test_tsv_with_header_quotes_crlf_and_bom(tmp_path):
    body = 'name\tv_0\tv_1\tv_2\tv_3\r\n"tab\there"\t1\t2\t3\t4\r\n"say ""hi"""\t5\t6\t7\t8\r\nplain\t9\t10\t11\t12\r\nlast\t0\t0\t0\t1\r\n'
    (tmp_path / "d.tsv").write_bytes(b"\xef\xbb\xbf" + body.encode())
    ds = projector.load(tmp_path / "d.tsv")
    assert ds.column_names[0] == "name"  # the BOM is not part of the first column's name
    assert ds.table.column("name").to_pylist()[:2] == ["tab\there", 'say "hi"']
    np.testing.assert_array_equal(ds.vectors()[2], [9, 10, 11, 12])


def test_non_utf8_csv_names_the_line_and_the_fix(tmp_path):
    content = "v_0,v_1,v_2,v_3,name\n" + "".join(f"{i},1,2,3,ok\n" for i in range(5))
    (tmp_path / "bad.csv").write_bytes(content.encode() + b"1,2,3,4,caf\xe9\n")
    with pytest.raises(FormatError, match=r"bad\.csv, line 7: .*not valid UTF-8.*encoding='latin-1'"):
        projector.load(tmp_path / "bad.csv")
    ds = projector.load(tmp_path / "bad.csv", encoding="latin-1")
    assert ds.table.column("name")[-1].as_py() == "café"


def test_csv_ragged_row_is_a_clear_error(tmp_path):
    (tmp_path / "r.csv").write_text("a,b\n1,2\n3,4,5\n")
    with pytest.raises(FormatError, match=r"r\.csv: not a well-formed CSV file.*Expected 2 columns, got 3"):
        projector.load(tmp_path / "r.csv")


def test_jsonl(tmp_path):
    rows = [{"text": f"sentence number {i}", "vec": [i, i + 0.5, -i], "split": "train" if i % 3 else "test"} for i in range(9)]
    (tmp_path / "d.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    ds = projector.load(tmp_path / "d.jsonl")
    assert ds.roles.vectors == ("vec",) and ds.roles.labels == ("split",) and ds.roles.texts == ("text",)
    np.testing.assert_array_equal(ds.vectors()[2], [2, 2.5, -2])


def test_bad_jsonl_names_the_line(tmp_path):
    (tmp_path / "b.jsonl").write_text('{"v": [1, 2]}\n{"v": [3, 4]}\n{"v": [5, \n')
    with pytest.raises(FormatError, match=r"b\.jsonl \(line 3\): not valid JSON Lines"):
        projector.load(tmp_path / "b.jsonl")


def test_file_that_is_not_what_it_claims(tmp_path):
    table, _ = _table()
    pq.write_table(table, tmp_path / "real.parquet")
    (tmp_path / "fake.csv").write_bytes((tmp_path / "real.parquet").read_bytes())
    with pytest.raises(FormatError, match=r"fake\.csv: not a CSV file; its first bytes look like a Parquet"):
        projector.load(tmp_path / "fake.csv")
    (tmp_path / "fake.parquet").write_text("a,b\n1,2\n")
    with pytest.raises(FormatError, match=r"fake\.parquet: cannot be read as Parquet"):
        projector.load(tmp_path / "fake.parquet")


def test_truncated_files(tmp_path):
    table, _ = _table(200, 16)
    pq.write_table(table, tmp_path / "full.parquet")
    feather.write_feather(table, tmp_path / "full.arrow")
    for name in ("full.parquet", "full.arrow"):
        data = (tmp_path / name).read_bytes()
        cut = tmp_path / f"cut{(tmp_path / name).suffix}"
        cut.write_bytes(data[: len(data) // 2])
        with pytest.raises(FormatError, match=r"cut\.(parquet|arrow)"):
            projector.load(cut)


@pytest.mark.parametrize("name", ["e.parquet", "e.csv", "e.arrow", "e.jsonl", "e.tsv"])
def test_empty_file(tmp_path, name):
    (tmp_path / name).write_bytes(b"")
    with pytest.raises(FormatError, match=r"the file is empty"):
        projector.load(tmp_path / name)


def test_header_only_csv_has_zero_rows(tmp_path):
    (tmp_path / "h.csv").write_text("id,embedding\n")
    with pytest.raises(ProjectorError, match="no rows|no embedding"):
        projector.load(tmp_path / "h.csv")


def test_duplicate_column_names_in_csv(tmp_path):
    (tmp_path / "dup.csv").write_text('v,v,label\n"[1,2]","[3,4]",a\n"[1,2]","[3,4]",b\n')
    with pytest.raises(SchemaError, match=r"dup\.csv: column name 'v' appears more than once"):
        projector.load(tmp_path / "dup.csv")


def test_duplicate_column_names_in_parquet(tmp_path):
    # found by the loader fuzz: the column-by-column Parquet read met a KeyError
    table = pa.Table.from_arrays([pa.array([[1.0, 2.0], [3.0, 4.0]]), pa.array([1, 2])], names=["v", "v"])
    pq.write_table(table, tmp_path / "dup.parquet")
    with pytest.raises(SchemaError, match=r"dup\.parquet: column name 'v' appears more than once"):
        projector.load(tmp_path / "dup.parquet")


@pytest.mark.parametrize("stream", [False, True])
def test_corrupt_offsets_in_arrow_file_are_a_format_error(tmp_path, stream):
    # found by the loader fuzz: IPC readers trust offsets, so reading the strings crashed Python
    table = pa.table({"name": ["ab", "cd"], "embedding": pa.array([[1.0, 2.0], [3.0, 4.0]], pa.list_(pa.float32(), 2))})
    sink = pa.BufferOutputStream()
    with (pa.ipc.new_stream if stream else pa.ipc.new_file)(sink, table.schema) as writer:
        writer.write_table(table)
    offsets = np.array([0, 2, 4], np.int32).tobytes()
    data = sink.getvalue().to_pybytes()
    assert data.count(offsets) == 1
    (tmp_path / "bad.arrow").write_bytes(data.replace(offsets, np.array([0, 2, 4000], np.int32).tobytes()))
    with pytest.raises(FormatError, match=r"bad\.arrow: cannot be read as Arrow IPC.*offsets"):
        projector.load(tmp_path / "bad.arrow")


@pytest.mark.parametrize("content", [b"null", b"\xef\xbb\xbf null\n", b'{"v": [1, 2]}\n\n  null\n{"v": [3, 4]}\n'])
def test_jsonl_null_line_is_a_format_error(tmp_path, content):
    # found by the loader fuzz: pyarrow's JSON reader segfaults on a `null` line starting a block
    (tmp_path / "n.jsonl").write_bytes(content)
    line = 3 if content.startswith(b"{") else 1
    with pytest.raises(FormatError, match=rf"n\.jsonl \(line {line}\): .*the line is null"):
        projector.load(tmp_path / "n.jsonl")


def test_list_column_as_id_is_a_schema_error(tmp_path):
    # found by the loader fuzz: counting distinct list values raised ArrowNotImplementedError
    (tmp_path / "l.jsonl").write_text('{"id": [], "v": [1, 2]}\n{"id": [], "v": [3, 4]}\n')
    assert projector.load(tmp_path / "l.jsonl").roles.id == "_row_id"
    with pytest.raises(SchemaError, match=r"l\.jsonl: id column 'id' holds list<item: null> values.*leave id= out"):
        projector.load(tmp_path / "l.jsonl", id="id")


def test_non_utf8_header_and_zero_length_vectors(tmp_path):
    # found by the loader fuzz: a header name that is not UTF-8 raised UnicodeDecodeError, and a
    # fixed-size list of 0 values an ArrowInvalid
    (tmp_path / "h.csv").write_bytes(b'\x81,v\n1,"[1,2]"\n')
    with pytest.raises(FormatError, match=r"h\.csv, line 1: bytes that are not valid UTF-8"):
        projector.load(tmp_path / "h.csv")
    feather.write_feather(pa.table({"e": pa.array([[], []], pa.list_(pa.float64(), 0))}), tmp_path / "z.arrow")
    with pytest.raises(VectorError, match="'e': every vector is empty"):
        projector.load(tmp_path / "z.arrow")


@pytest.mark.parametrize("name", ["t.csv", "t.tsv"])
def test_utf16_without_bom_is_a_format_error(tmp_path, name):
    # found by the loader fuzz: Python's UTF-16 stream decoder raises a bare UnicodeError
    (tmp_path / name).write_bytes(b"id")
    with pytest.raises(FormatError, match=rf"{name}: cannot decode as 'utf-16'.*BOM.*encoding="):
        projector.load(tmp_path / name, encoding="utf-16")


def test_missing_path_unknown_suffix_and_empty_folder(tmp_path):
    with pytest.raises(LoadError, match="no such file"):
        projector.load(tmp_path / "nope.parquet")
    (tmp_path / "x.weird").write_text("?")
    with pytest.raises(LoadError, match=r"unknown file type '\.weird'"):
        projector.load(tmp_path / "x.weird")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("nothing here")
    with pytest.raises(LoadError, match="nothing loadable in this folder"):
        projector.load(tmp_path / "empty")


def test_unknown_option_is_an_error_not_ignored(tmp_path):
    table, _ = _table()
    pq.write_table(table, tmp_path / "d.parquet")
    with pytest.raises(ProjectorError, match=r"option lable= does not apply.*did you mean 'label'"):
        projector.load(tmp_path / "d.parquet", lable="label")
    with pytest.raises(ParameterError, match="format='xls' must be one of 'arrow', .* or 'tsv'"):
        projector.load(tmp_path / "d.parquet", format="xls")


def test_format_option_overrides_suffix(tmp_path):
    table, _ = _table()
    pq.write_table(table, tmp_path / "data.bin")
    assert len(projector.load(tmp_path / "data.bin", format="parquet")) == 10


def test_load_writes_nothing(tmp_path):
    (tmp_path / "r.csv").write_text("a,b\n1,2\n3,4,5\n")
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(ProjectorError):
        projector.load(tmp_path / "r.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == before
