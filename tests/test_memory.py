"""In-memory inputs: arrays, tensors, DataFrames, Arrow objects, C-stream producers, records."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
import torch

import projector
from projector import Dataset, LoadError, RowCountError


def test_numpy_array(small_matrix):
    ds = projector.load(small_matrix)
    assert ds.roles.vectors == ("embedding",) and np.shares_memory(ds.vectors(), small_matrix)


def test_numpy_array_with_metadata(small_matrix):
    ds = projector.load(small_matrix, metadata={"label": ["a", "b"] * 10})
    assert ds.roles.labels == ("label",)
    with pytest.raises(RowCountError, match="metadata has 3 metadata rows but"):
        projector.load(small_matrix, metadata={"label": ["a", "b", "c"]})


def test_torch_tensor_any_dtype(small_matrix):
    for tensor in (torch.from_numpy(small_matrix), torch.from_numpy(small_matrix).to(torch.bfloat16), torch.from_numpy(small_matrix).requires_grad_()):
        ds = projector.load(tensor)
        np.testing.assert_allclose(ds.vectors(), small_matrix, rtol=1e-2, atol=1e-2)


def test_pandas_dataframe_with_array_cells(small_matrix):
    frame = pd.DataFrame({"emb": list(small_matrix.astype(np.float64)), "label": ["x", "y"] * 10}, index=range(100, 120))
    ds = projector.load(frame)
    assert ds.column_names[:2] == ["emb", "label"] and "__index_level_0__" not in ds.column_names
    np.testing.assert_allclose(ds.vectors(), small_matrix)


def test_polars_dataframe(small_matrix):
    frame = pl.DataFrame({"emb": small_matrix.tolist(), "name": [f"n{i}" for i in range(20)]})
    ds = projector.load(frame, text="name")
    assert ds.roles.texts == ("name",)
    np.testing.assert_allclose(ds.vectors(), small_matrix)


def test_arrow_table_batch_reader_and_c_stream(small_matrix):
    table = pa.table({"v": pa.array(list(small_matrix), type=pa.list_(pa.float32(), 8)), "k": np.arange(20)})
    assert len(projector.load(table)) == 20
    assert len(projector.load(pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=7)))) == 20

    class Producer:  # any object speaking the Arrow C stream protocol
        def __arrow_c_stream__(self, requested_schema=None):
            return table.__arrow_c_stream__(requested_schema)

    ds = projector.load(Producer())
    np.testing.assert_array_equal(ds.vectors("v"), small_matrix)


def test_list_of_dicts():
    rows = [{"vec": [float(i), 1.0, 0.0], "caption": f"a long enough caption number {i}"} for i in range(6)]
    ds = projector.load(rows)
    assert ds.roles.vectors == ("vec",) and ds.roles.texts == ("caption",)


def test_from_arrays_several_embeddings_and_metadata(small_matrix):
    other = small_matrix[:, :3].copy()
    ds = Dataset.from_arrays({"model_a": small_matrix, "model_b": torch.from_numpy(other)}, metadata=pd.DataFrame({"y": [0, 1] * 10}))
    assert ds.roles.vectors == ("model_a", "model_b") and ds.vectors("model_b").shape == (20, 3)
    assert ds.roles.labels == ("y",)


def test_unsupported_objects_and_shapes():
    with pytest.raises(LoadError, match="cannot load a builtins.set"):
        projector.load({1, 2})
    with pytest.raises(projector.SchemaError, match=r"shape \(5,\); expected \(N, D\)"):
        projector.load(np.arange(5.0))
    with pytest.raises(LoadError, match="format= applies to paths only"):
        projector.load(np.ones((5, 2)), format="npy")
