"""The error tree: documented once, re-exported as is, and value errors are ValueErrors.

Making SchemaError a ValueError means every ``except ValueError`` inside projector could now
catch one of our own errors; the tests at the end pin the sites where that could matter.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import projector
from projector import errors


def _documented_tree() -> dict[str, tuple[str, str]]:
    """``{error: (parent, extra built-in base or "")}`` as the errors module's docstring draws it."""
    tree: dict[str, tuple[str, str]] = {}
    parents = ["ProjectorError"]
    for line in errors.__doc__.splitlines():
        found = re.match(r"^ {4}((?:│   |    )*)[├└]── (\w+)\s+(?:\+ (\w+))?", line)
        if found:
            depth = len(found.group(1)) // 4
            del parents[depth + 1:]
            tree[found.group(2)] = (parents[depth], found.group(3) or "")
            parents.append(found.group(2))
    return tree


def test_the_docstring_draws_the_real_tree():
    tree = _documented_tree()
    classes = {
        name: obj for name in errors.__all__
        if isinstance(obj := getattr(errors, name), type) and issubclass(obj, errors.ProjectorError) and name != "ProjectorError"
    }
    assert set(tree) == set(classes)
    for name, (parent, builtin) in tree.items():
        assert classes[name].__bases__[0] is getattr(errors, parent), name
        extra = {base.__name__ for base in classes[name].__mro__} & {"ValueError", "ImportError"}
        assert extra == ({builtin} if builtin else set()), name


def test_value_errors_are_value_errors():
    for name in ("SchemaError", "VectorError", "RowCountError", "TooFewRowsError", "ParameterError"):
        assert issubclass(getattr(errors, name), ValueError), name
    for name in ("LoadError", "FormatError", "EmptyDatasetError", "UnsafeInputError"):
        assert not issubclass(getattr(errors, name), ValueError), name
    assert issubclass(errors.MissingDependencyError, ImportError)


def test_the_package_reexports_the_errors_module_list():
    assert set(errors.__all__) <= set(projector.__all__)
    for name in errors.__all__:
        assert getattr(projector, name) is getattr(errors, name)
    assert projector.ParameterError is errors.ParameterError


def test_a_ragged_embedding_column_is_a_value_error(tmp_path):
    path = tmp_path / "ragged.parquet"
    pq.write_table(pa.table({"embedding": [[1.0, 2.0], [1.0, 2.0, 3.0], [0.0, 1.0], [2.0, 2.0]]}), path)
    with pytest.raises(ValueError, match="row 1 has 3 values, expected 2") as info:
        projector.load(path)
    assert isinstance(info.value, projector.VectorError)


def test_mismatched_lengths_are_a_value_error():
    with pytest.raises(ValueError, match="metadata has 2 rows but the embeddings have 5") as info:
        projector.Dataset.from_arrays(np.ones((5, 3), np.float32), metadata={"label": ["a", "b"]})
    assert isinstance(info.value, projector.RowCountError)


def test_an_unknown_column_is_a_value_error(tmp_path):
    path = tmp_path / "ok.parquet"
    pq.write_table(pa.table({"embedding": [[1.0, 2.0]] * 4}), path)
    with pytest.raises(ValueError, match="nope") as info:
        projector.load(path, vector="nope")
    assert isinstance(info.value, projector.SchemaError)


# -- the `except ValueError` sites whose try block can raise one of our errors ---------------


def test_npz_loader_lets_a_vector_error_through(tmp_path):
    """read_npz catches ValueError to report a corrupt zip; what the arrays hold is not that."""
    np.savez(tmp_path / "flat.npz", a=np.arange(3.0))
    with pytest.raises(projector.VectorError, match="no 2-D array of numbers") as info:
        projector.load(tmp_path / "flat.npz")
    assert not isinstance(info.value, projector.FormatError)


def test_safetensors_loader_lets_a_vector_error_through(tmp_path):
    from safetensors.numpy import save_file

    save_file({"a": np.arange(3, dtype=np.float32)}, str(tmp_path / "flat.safetensors"))
    with pytest.raises(projector.VectorError, match="no 2-D array of numbers") as info:
        projector.load(tmp_path / "flat.safetensors")
    assert not isinstance(info.value, projector.FormatError)


def test_unreadable_roles_metadata_is_ignored_not_raised():
    """schema.roles_from_schema catches ValueError: stored roles that do not parse are dropped."""
    from projector.schema import ROLES_METADATA_KEY, roles_from_schema

    schema = pa.schema([("embedding", pa.list_(pa.float32()))], metadata={ROLES_METADATA_KEY: b"{not json"})
    assert roles_from_schema(schema) is None


def test_a_broken_run_manifest_is_a_load_error(tmp_path):
    """runlog._read_manifest turns ValueError into LoadError; nothing of ours is raised inside."""
    from projector.runlog import MANIFEST_NAME, read_run

    (tmp_path / MANIFEST_NAME).write_text('{"format": "something else", "entries": []}')
    with pytest.raises(projector.LoadError, match="not a projector run manifest"):
        read_run(tmp_path)


def test_serve_refuses_an_unknown_method_in_the_shared_wording():
    from projector.app import _background_method

    with pytest.raises(projector.ParameterError) as info:
        _background_method("t-sne", store=None, user_coords=False)
    assert str(info.value) == "method='t-sne' must be one of 'pca', 'umap', 'tsne', 'auto' or 'none'; the default is 'auto'"
