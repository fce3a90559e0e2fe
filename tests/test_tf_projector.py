"""TensorFlow Embedding Projector data files: tensors TSV, metadata TSV, raw .bytes."""

from __future__ import annotations

import numpy as np
import pytest

import projector
from projector import FormatError, LoadError, ParameterError, RowCountError, VectorError


def _tensors(path, matrix):
    path.write_text("".join("\t".join(repr(float(v)) for v in row) + "\n" for row in matrix))
    return path


def _matrix(n=6, d=3, seed=0):
    return np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)


# -- tensors and metadata TSV -------------------------------------------------------------------


def test_tensors_tsv_with_one_label_per_line(tmp_path):
    matrix = _matrix(8)
    _tensors(tmp_path / "tensors.tsv", matrix)
    (tmp_path / "metadata.tsv").write_text("cat\ndog\ncat\n\"dog\ndog\ncat\ncat\ndog\n")
    ds = projector.load(tmp_path / "tensors.tsv", metadata=tmp_path / "metadata.tsv")
    np.testing.assert_array_equal(ds.vectors(), matrix)
    assert ds.roles.vectors == ("embedding",)
    assert ds.table.column("label").to_pylist() == ["cat", "dog", "cat", '"dog', "dog", "cat", "cat", "dog"]
    assert ds.roles.labels == ("label",)


def test_multi_column_metadata_has_a_header(tmp_path):
    _tensors(tmp_path / "tensors.tsv", _matrix(4))
    (tmp_path / "meta.tsv").write_text("word\tcount\tscore\tzip\nthe\t10\t0.5\t01234\na\t7\t\t02139\nof\t3\t1.5\t10001\nto\t1\t2\t94110\n")
    ds = projector.load(tmp_path / "tensors.tsv", metadata=tmp_path / "meta.tsv")
    table = ds.table
    assert table.column("word").to_pylist() == ["the", "a", "of", "to"]
    assert table.column("count").to_pylist() == [10, 7, 3, 1]
    assert table.column("score").to_pylist() == [0.5, None, 1.5, 2.0]
    assert table.column("zip").to_pylist() == ["01234", "02139", "10001", "94110"], "zero-padded codes stay text"


def test_metadata_with_crlf_and_bom(tmp_path):
    _tensors(tmp_path / "tensors.tsv", _matrix(4))
    (tmp_path / "one.tsv").write_bytes("\ufeffα\r\nβ\r\nγ\r\nδ\r\n\r\n".encode())
    (tmp_path / "two.tsv").write_bytes("\ufeffname\tn\r\nα\t1\r\nβ\t2\r\nγ\t3\r\nδ\t4\r\n".encode())
    one = projector.load(tmp_path / "tensors.tsv", metadata=tmp_path / "one.tsv")
    assert one.table.column("label").to_pylist() == ["α", "β", "γ", "δ"]
    two = projector.load(tmp_path / "tensors.tsv", metadata=tmp_path / "two.tsv")
    assert two.table.column("name").to_pylist() == ["α", "β", "γ", "δ"]
    assert two.table.column("n").to_pylist() == [1, 2, 3, 4]


def test_tensors_tsv_with_crlf_and_bom(tmp_path):
    (tmp_path / "t.tsv").write_bytes(b"\xef\xbb\xbf1\t2\r\n3\t4\r\n\r\n5\t6\r\n7\t8\r\n")
    assert projector.load(tmp_path / "t.tsv").vectors().tolist() == [[1, 2], [3, 4], [5, 6], [7, 8]]


def test_non_utf8_metadata_names_the_line_and_the_way_out(tmp_path):
    _tensors(tmp_path / "tensors.tsv", _matrix(4))
    (tmp_path / "meta.tsv").write_bytes("tea\ncoffee\ncafé\nmilk\n".encode("latin-1"))
    with pytest.raises(FormatError, match=r"meta\.tsv, line 3: bytes that are not valid utf-8.*encoding='latin-1'"):
        projector.load(tmp_path / "tensors.tsv", metadata=tmp_path / "meta.tsv")
    ds = projector.load(tmp_path / "tensors.tsv", metadata=tmp_path / "meta.tsv", encoding="latin-1")
    assert ds.table.column("label").to_pylist() == ["tea", "coffee", "café", "milk"]


def test_tab_inside_a_value_is_named(tmp_path):
    _tensors(tmp_path / "tensors.tsv", _matrix(3))
    (tmp_path / "meta.tsv").write_text("word\tn\nthe\t1\na\tb\t2\nof\t3\n")
    with pytest.raises(FormatError, match=r"meta\.tsv, line 3 has 3 fields, expected 2: an unquoted tab inside a value"):
        projector.load(tmp_path / "tensors.tsv", metadata=tmp_path / "meta.tsv")


def test_metadata_row_count_mismatch_hints_at_the_header(tmp_path):
    _tensors(tmp_path / "tensors.tsv", _matrix(3))
    (tmp_path / "meta.tsv").write_text("label\na\nb\nc\n")
    with pytest.raises(RowCountError, match=r"4 metadata rows but .*tensors\.tsv has 3 vectors.*no header when there is one column"):
        projector.load(tmp_path / "tensors.tsv", metadata=tmp_path / "meta.tsv")
    (tmp_path / "short.tsv").write_text("a\nb\n")
    with pytest.raises(RowCountError, match=r"2 metadata rows but .* 3 vectors"):
        projector.load(tmp_path / "tensors.tsv", metadata=tmp_path / "short.tsv")


def test_ragged_tensors_row_names_row_and_counts(tmp_path):
    lines = ["1\t2\t3", "4\t5\t6", "", "7\t8\t9", "1\t2", "3\t4\t5"]
    (tmp_path / "tensors.tsv").write_text("\n".join(lines) + "\n")
    with pytest.raises(VectorError, match=r"tensors\.tsv: row 3 has 2 values, expected 3 \(line 5\)"):
        projector.load(tmp_path / "tensors.tsv")
    (tmp_path / "bad.tsv").write_text("1\t2\n3\tx\n")
    with pytest.raises(VectorError, match=r"bad\.tsv: row 1, column 1 is 'x', not a number"):
        projector.load(tmp_path / "bad.tsv")


def test_metadata_for_a_headed_tsv_is_refused(tmp_path):
    (tmp_path / "t.tsv").write_text("a\tb\n1\t2\n")
    with pytest.raises(LoadError, match="metadata= applies to a TensorFlow projector tensors file"):
        projector.load(tmp_path / "t.tsv", metadata=tmp_path / "t.tsv")


# -- .bytes -----------------------------------------------------------------------------------


def test_bytes_with_dim_or_metadata(tmp_path):
    matrix = _matrix(5, 4)
    matrix.astype("<f4").tofile(tmp_path / "v.bytes")
    ds = projector.load(tmp_path / "v.bytes", dim=4)
    np.testing.assert_array_equal(ds.vectors(), matrix)
    with open(tmp_path / "v.bytes", "r+b") as handle:  # memory-mapped: the file shows through
        handle.write(np.float32(42).tobytes())
    assert ds.vectors()[0, 0] == 42
    (tmp_path / "labels.tsv").write_text("a\nb\nc\nd\ne\n")
    ds = projector.load(tmp_path / "v.bytes", metadata=tmp_path / "labels.tsv")
    assert ds.vectors().shape == (5, 4) and ds.table.column("label").to_pylist() == list("abcde")


def test_bytes_without_dim_asks_for_it(tmp_path):
    _matrix(5, 4).tofile(tmp_path / "v.bytes")
    with pytest.raises(LoadError, match=r"v\.bytes: a \.bytes file holds raw float32 values without their shape; pass dim="):
        projector.load(tmp_path / "v.bytes")


def test_truncated_bytes(tmp_path):
    (tmp_path / "v.bytes").write_bytes(_matrix(5, 4).tobytes()[:-6])
    with pytest.raises(FormatError, match=r"v\.bytes: 74 bytes is not a whole number of 4-d float32 vectors.*truncated"):
        projector.load(tmp_path / "v.bytes", dim=4)
    with pytest.raises(ParameterError, match=r"dim=0 must be a whole number >= 1 \(the values per vector\)"):
        projector.load(tmp_path / "v.bytes", dim=0)
