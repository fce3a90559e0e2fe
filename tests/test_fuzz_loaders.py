"""Fuzz every loader: whatever bytes arrive, `projector.load` returns a Dataset or raises a
ProjectorError, never another exception, a hang or a file written beside the input.

Three campaigns: random bytes under every suffix and folder layout load() accepts; valid small
files of every format truncated, bit-flipped or spliced; random Arrow schemas and random JSON /
CSV documents, loaded with and without role options. Derandomized, so CI sees the same inputs
every run; ``PROJECTOR_FUZZ_EXAMPLES=2000`` runs a bigger campaign locally, each load first in a
forked child so that a crash in a native reader is reported like any other failure.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import string
import tempfile
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import projector
from projector.errors import ProjectorError

_SCALE = int(os.environ.get("PROJECTOR_FUZZ_EXAMPLES", "0"))


def _fuzz(examples: int):
    """Bounded, deterministic settings; the env var raises every test's count for a campaign."""
    return settings(
        max_examples=_SCALE or examples,
        deadline=dt.timedelta(seconds=20),  # a hang guard, not a speed test: pytest-timeout backs it
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# -- the property -----------------------------------------------------------------------------


def _listing(folder: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for root, dirs, files in os.walk(folder):
        for name in [*dirs, *files]:
            path = Path(root, name)
            stat = path.lstat()
            out[str(path.relative_to(folder))] = (stat.st_size, stat.st_mtime_ns)
    return out


def _crash_signal(target: Path, options: dict) -> int:
    """Load in a forked child; the signal that killed it, or 0. Campaigns only: a crash in a
    native reader would otherwise end the whole run before hypothesis can shrink and report it."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                projector.load(target, **options)
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    return os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0


def _check_load(target: Path, cache: Path, **options) -> None:
    """The fuzz property: a usable Dataset or a ProjectorError, and nothing written anywhere."""
    folder = target if target.is_dir() else target.parent
    if _SCALE and hasattr(os, "fork"):
        assert not (signal := _crash_signal(target, options)), f"load() crashed the process (signal {signal})"
    before = _listing(folder)
    cache_before = _listing(cache) if cache.exists() else {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dataset = projector.load(target, **options)
            assert isinstance(dataset, projector.Dataset)
            # what a caller does first must work on anything load() returned
            assert len(dataset) == dataset.table.num_rows > 0
            for name in dataset.vector_columns:
                assert dataset.vectors(name).shape[0] == len(dataset)
            assert len(dataset.ids) == len(dataset)
            repr(dataset)
        event("loaded")
    except ProjectorError as exc:
        assert str(exc).strip(), f"{type(exc).__name__} with an empty message"
        event(type(exc).__name__)
    assert _listing(folder) == before, "load() wrote beside its input"
    assert (_listing(cache) if cache.exists() else {}) == cache_before, "load() wrote to the cache"


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """This test's own projector cache folder, watched for writes like the input's folder."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("PROJECTOR_CACHE_DIR", str(folder))
    return folder


@pytest.fixture(scope="module", autouse=True)
def _warm_imports():
    """Import the heavy readers once, so no example's time is one-off import time."""
    import pyarrow.csv  # noqa: F401
    import pyarrow.json  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    try:
        import torch  # noqa: F401
    except ImportError:
        pass


def _write_tree(root: Path, files: dict[str, bytes]) -> None:
    for relative, data in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


# -- valid inputs of every format, as {relative path: bytes} ----------------------------------


def _vectors(n: int = 6, d: int = 4) -> np.ndarray:
    return np.random.default_rng(0).standard_normal((n, d)).astype(np.float32)


def _table() -> pa.Table:
    matrix = _vectors()
    return pa.table(
        {
            "id": pa.array([f"s{i}" for i in range(len(matrix))]),
            "embedding": pa.FixedSizeListArray.from_arrays(pa.array(matrix.ravel()), matrix.shape[1]),
            "label": pa.array(["cat", "dog"] * (len(matrix) // 2)),
            "score": pa.array(np.linspace(0, 1, len(matrix))),
        }
    )


def _parquet_bytes(table: pa.Table) -> bytes:
    import pyarrow.parquet as pq

    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def _ipc_bytes(table: pa.Table, stream: bool = False) -> bytes:
    sink = pa.BufferOutputStream()
    opener = pa.ipc.new_stream if stream else pa.ipc.new_file
    with opener(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _tensors_tsv() -> bytes:
    return "\n".join("\t".join(f"{v:.4f}" for v in row) for row in _vectors()).encode() + b"\n"


def _metadata_tsv() -> bytes:
    return b"name\tlabel\n" + b"".join(f"s{i}\t{'ab'[i % 2]}\n".encode() for i in range(6))


def _png(colour: int) -> bytes:
    from PIL import Image

    sink = io.BytesIO()
    Image.new("RGB", (8, 8), (colour, 40, 90)).save(sink, format="PNG")
    return sink.getvalue()


def _npz(**arrays) -> bytes:
    sink = io.BytesIO()
    np.savez(sink, **arrays)
    return sink.getvalue()


def _npy(array) -> bytes:
    sink = io.BytesIO()
    np.save(sink, array)
    return sink.getvalue()


def _torch_bytes() -> bytes | None:
    try:
        import torch
    except ImportError:
        return None
    sink = io.BytesIO()
    torch.save({"embedding": torch.from_numpy(_vectors()), "label": ["a", "b"] * 3}, sink)
    return sink.getvalue()


def _safetensors_bytes() -> bytes:
    from safetensors.numpy import save

    return save({"embedding": _vectors(), "label": np.arange(6, dtype=np.int64)})


def _run_dir() -> dict[str, bytes]:
    with tempfile.TemporaryDirectory() as folder:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            projector.log(Path(folder, "run"), _vectors(), {"label": ["a", "b"] * 3}, name="m", step=1)
        root = Path(folder, "run")
        return {
            str(p.relative_to(root)): p.read_bytes()
            for p in root.rglob("*")
            if p.is_file() and not p.name.endswith(".lock")
        }


def _hf_disk() -> dict[str, bytes]:
    table = pa.table(
        {
            "text": pa.array([f"t{i}" for i in range(6)]),
            "label": pa.array([0, 1, 0, 1, 0, 1], pa.int64()),
            "emb": pa.array(_vectors().tolist(), pa.list_(pa.float32())),
        }
    )
    features = {
        "text": {"dtype": "string", "_type": "Value"},
        "label": {"names": ["neg", "pos"], "_type": "ClassLabel"},
        "emb": {"feature": {"dtype": "float32", "_type": "Value"}, "_type": "Sequence"},
    }
    state = {"_data_files": [{"filename": "data-00000-of-00001.arrow"}], "_split": None}
    return {
        "train/data-00000-of-00001.arrow": _ipc_bytes(table, stream=True),
        "train/state.json": json.dumps(state).encode(),
        "train/dataset_info.json": json.dumps({"features": features}).encode(),
        "dataset_dict.json": json.dumps({"splits": ["train"]}).encode(),
    }


_PBTXT = b"""embeddings {
  tensor_name: "default:00000"
  tensor_path: "00000/default/tensors.tsv"
  metadata_path: "00000/default/metadata.tsv"
}
"""


@lru_cache(maxsize=None)
def _valid_inputs() -> dict[str, tuple[dict[str, bytes], str, dict]]:
    """format -> (files, the path to load ("" for the folder), options): each loads cleanly."""
    table = _table()
    matrix = _vectors()

    def delimited(sep: str) -> bytes:
        rows = [f's{i}{sep}{"ab"[i % 2]}{sep}"{json.dumps([round(float(v), 4) for v in row])}"' for i, row in enumerate(matrix)]
        return "\n".join([sep.join(["id", "label", "embedding"]), *rows]).encode() + b"\n"

    jsonl = "".join(
        json.dumps({"id": f"s{i}", "label": "ab"[i % 2], "embedding": [round(float(v), 4) for v in row]}) + "\n"
        for i, row in enumerate(matrix)
    )
    config = {
        "embeddings": [
            {
                "tensorName": "demo",
                "tensorShape": [6, 4],
                "tensorPath": "tensors.tsv",
                "metadataPath": "metadata.tsv",
                "sprite": {"imagePath": "sprite.png", "singleImageDim": [4, 4]},
            }
        ]
    }
    inputs = {
        "parquet": ({"data.parquet": _parquet_bytes(table)}, "data.parquet", {}),
        "parquet-folder": (
            {"a.parquet": _parquet_bytes(table.slice(0, 3)), "b.parquet": _parquet_bytes(table.slice(3))}, "", {}
        ),
        "arrow": ({"data.arrow": _ipc_bytes(table)}, "data.arrow", {}),
        "arrows": ({"data.arrows": _ipc_bytes(table, stream=True)}, "data.arrows", {}),
        "csv": ({"data.csv": delimited(",")}, "data.csv", {}),
        "tsv-table": ({"data.tsv": delimited("\t")}, "data.tsv", {}),
        "tsv-tensors": (
            {"tensors.tsv": _tensors_tsv(), "metadata.tsv": _metadata_tsv()},
            "tensors.tsv",
            {"metadata": "METADATA"},
        ),
        "jsonl": ({"data.jsonl": jsonl.encode()}, "data.jsonl", {}),
        "npy": ({"data.npy": _npy(matrix)}, "data.npy", {}),
        "npz": ({"data.npz": _npz(embedding=matrix, label=np.array(["a", "b"] * 3))}, "data.npz", {}),
        "bytes": ({"data.bytes": matrix.tobytes(), "metadata.tsv": _metadata_tsv()}, "data.bytes", {"dim": 4}),
        "tf-json": (
            {
                "projector_config.json": json.dumps(config).encode(),
                "tensors.tsv": _tensors_tsv(),
                "metadata.tsv": _metadata_tsv(),
                "sprite.png": _png(200),
            },
            "projector_config.json",
            {},
        ),
        "tensorboard": (
            {
                "projector_config.pbtxt": _PBTXT,
                "00000/default/tensors.tsv": _tensors_tsv(),
                "00000/default/metadata.tsv": b"".join(f"{'ab'[i % 2]}\n".encode() for i in range(6)),
            },
            "",
            {},
        ),
        "safetensors": ({"data.safetensors": _safetensors_bytes()}, "data.safetensors", {}),
        "image-folder": ({f"{c}/{i}.png": _png(30 * i) for c in ("cat", "dog") for i in range(3)}, "", {}),
        "hf-disk": (_hf_disk(), "", {}),
        "run": (_run_dir(), "", {}),
    }
    torch_file = _torch_bytes()
    if torch_file is not None:
        inputs["torch"] = ({"data.pt": torch_file}, "data.pt", {})
    return inputs


# the FORMATS entry each valid input exercises, where its name differs
_FORMAT_OF = {
    "parquet-folder": "parquet",
    "arrows": "arrow",
    "tsv-table": "tsv",
    "tsv-tensors": "tsv",
    "tf-json": "tf-config",
    "image-folder": "image-folder",
}


def _materialise(root: Path, files: dict[str, bytes], entry: str, options: dict) -> tuple[Path, dict]:
    _write_tree(root, files)
    options = {k: (str(root / "metadata.tsv") if v == "METADATA" else v) for k, v in options.items()}
    return (root / entry if entry else root), options


def test_every_valid_input_loads(tmp_path, cache):
    """The starting points of the mutation fuzz are real inputs of each format, not errors."""
    for name, (files, entry, options) in _valid_inputs().items():
        target, options = _materialise(tmp_path / name, files, entry, options)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dataset = projector.load(target, **options)
        assert len(dataset) == 6, name
    assert {"parquet", "arrow", "csv", "jsonl", "npy", "npz", "bytes", "safetensors", "hf-disk", "run"} <= set(
        _valid_inputs()
    )


def test_fuzz_covers_every_suffix_and_format():
    """A suffix or format added to load() must join the fuzz."""
    from projector.loaders import FORMATS, _SUFFIXES

    assert set(_SUFFIXES) <= set(_RANDOM_SUFFIXES)
    formats = {_FORMAT_OF.get(name, name) for name in _valid_inputs()}
    expected = set(FORMATS) - ({"torch"} if "torch" not in _valid_inputs() else set())
    assert expected <= formats


# -- (a) random bytes under every suffix and folder layout ------------------------------------

_RANDOM_SUFFIXES = (
    ".parquet", ".pq", ".arrow", ".arrows", ".feather", ".ipc", ".csv", ".tsv", ".tab", ".jsonl", ".ndjson",
    ".npy", ".npz", ".bytes", ".pbtxt", ".json", ".pt", ".pth", ".safetensors", ".txt", "",
)

# Magic numbers and fragments the parsers branch on, so random bytes reach past the first check.
_PREFIXES = (
    b"", b"PAR1", b"ARROW1\x00\x00", b"\xff\xff\xff\xff", b"FEA1", b"\x93NUMPY\x01\x00", b"\x93NUMPY\x02\x00",
    b"PK\x03\x04", b"\x80\x02", b"\x1f\x8b", b"\x89PNG\r\n\x1a\n", b"{", b"[", b"\xef\xbb\xbf", b"0.5\t1\n",
    b"a,b\n", b'{"embeddings": [', b"embeddings {", b"\x10\x00\x00\x00\x00\x00\x00\x00{",
)

_random_bytes = st.builds(lambda p, b: p + b, st.sampled_from(_PREFIXES), st.binary(max_size=300))


@_fuzz(120)
@given(suffix=st.sampled_from(_RANDOM_SUFFIXES), data=_random_bytes, dim=st.sampled_from([None, 1, 2, 3]))
def test_random_bytes_under_every_suffix(cache, suffix, data, dim):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "input" + suffix)
        path.write_bytes(data)
        options = {"dim": dim} if suffix == ".bytes" and dim else {}
        _check_load(path, cache, **options)


# folder layouts load() recognises, each file's content drawn at random
_FOLDERS = {
    "run": ("projector-run.json", "model/step-1.parquet"),
    "tensorboard": ("projector_config.pbtxt", "00000/default/tensors.tsv", "00000/default/metadata.tsv"),
    "tf-json": ("projector_config.json", "tensors.tsv", "metadata.tsv", "sprite.png"),
    "hf-dataset": ("state.json", "dataset_info.json", "data-00000-of-00001.arrow"),
    "hf-dict": ("dataset_dict.json", "train/state.json", "train/data-00000-of-00001.arrow"),
    "parquet-shards": ("part-0.parquet", "part-1.parquet"),
    "images": ("cat/a.png", "dog/b.jpg", "c.webp"),
}


@_fuzz(60)
@given(layout=st.sampled_from(sorted(_FOLDERS)), data=st.data())
def test_random_bytes_in_every_folder_layout(cache, layout, data):
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder, "input")
        files = {name: data.draw(_random_bytes, label=name) for name in _FOLDERS[layout]}
        _write_tree(root, files)
        _check_load(root, cache)


# -- (b) valid files truncated, bit-flipped, spliced -----------------------------------------


@st.composite
def _mutated(draw, blob: bytes) -> bytes:
    """``blob`` cut short, with bytes flipped or overwritten, or with junk inserted."""
    how = draw(st.sampled_from(["truncate", "flip", "overwrite", "insert", "truncate+flip"]))
    size = len(blob)
    if "truncate" in how:
        blob = blob[: draw(st.integers(0, max(size - 1, 0)))]
    if "flip" in how and blob:
        data = bytearray(blob)
        for _ in range(draw(st.integers(1, 8))):
            at = draw(st.integers(0, len(data) - 1))
            data[at] ^= 1 << draw(st.integers(0, 7))
        blob = bytes(data)
    if how == "overwrite" and blob:
        at = draw(st.integers(0, len(blob) - 1))
        blob = blob[:at] + draw(st.binary(min_size=1, max_size=16)) + blob[at + 16 :]
    if how == "insert":
        at = draw(st.integers(0, len(blob)))
        blob = blob[:at] + draw(st.binary(min_size=1, max_size=16)) + blob[at:]
    return blob


@_fuzz(240)
@given(data=st.data())
def test_corrupted_valid_inputs(cache, data):
    inputs = _valid_inputs()
    name = data.draw(st.sampled_from(sorted(inputs)), label="format")
    files, entry, options = inputs[name]
    victim = data.draw(st.sampled_from(sorted(files)), label="file")
    files = {**files, victim: data.draw(_mutated(files[victim]), label="bytes")}
    with tempfile.TemporaryDirectory() as folder:
        target, options = _materialise(Path(folder, "input"), files, entry, options)
        _check_load(target, cache, **options)


# -- (c) random Arrow schemas and dtypes, random JSON and CSV documents -----------------------

# mostly plain names, so tables get past the name checks; sometimes empty, blank or repeated ones
_NAMES = st.one_of(
    st.sampled_from(["id", "embedding", "label", "text", "image", "emb_0", "emb_1", "x", "<b>", "名前"]),
    st.text(min_size=1, max_size=8).filter(str.strip),
    st.sampled_from(["", " ", "x"]),
)
_HOSTILE = st.sampled_from(
    ["", " ", "\x00", "../../etc/passwd", "/etc/passwd", "<script>alert(1)</script>", "a.png", "C:\\x.jpg",
     "http://example.com/x.png", "data:image/png;base64,AAAA", "\u202e", "😀", "NaN", "1e999", "\n", "'\""]
)
_TEXT = st.one_of(_HOSTILE, st.text(max_size=12))
_TIMES = st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31))


def _float_values(width: int):
    return st.floats(width=width, allow_nan=True, allow_infinity=True)


_LEAVES = {
    "int8": (pa.int8(), st.integers(-128, 127)),
    "int64": (pa.int64(), st.integers(-(2**63), 2**63 - 1)),
    "uint64": (pa.uint64(), st.integers(0, 2**64 - 1)),
    "float32": (pa.float32(), _float_values(32)),
    "float64": (pa.float64(), _float_values(64)),
    "bool": (pa.bool_(), st.booleans()),
    "string": (pa.string(), _TEXT),
    "large_string": (pa.large_string(), _TEXT),
    "binary": (pa.binary(), st.binary(max_size=12)),
    "timestamp": (pa.timestamp("us"), _TIMES),
    "timestamp_tz": (pa.timestamp("ms", tz="UTC"), _TIMES.map(lambda t: t.replace(tzinfo=dt.timezone.utc))),
    "date": (pa.date32(), st.dates()),
    "null": (pa.null(), st.none()),
}


@st.composite
def _type_and_values(draw, depth: int = 0):
    """An Arrow type and a strategy for one (possibly null) value of it."""
    kinds = sorted(_LEAVES) + (["list", "large_list", "fixed", "struct", "dictionary"] if depth < 2 else [])
    kind = draw(st.sampled_from(kinds))
    if kind in _LEAVES:
        kind_type, values = _LEAVES[kind]
    elif kind in ("list", "large_list"):
        inner, inner_values = draw(_type_and_values(depth + 1))
        kind_type = (pa.list_ if kind == "list" else pa.large_list)(inner)
        values = st.lists(inner_values, max_size=5)
    elif kind == "fixed":
        inner, inner_values = draw(_type_and_values(depth + 1))
        size = draw(st.integers(0, 4))
        kind_type = pa.list_(inner, size)
        values = st.lists(inner_values, min_size=size, max_size=size)
    elif kind == "struct":
        fields = draw(st.lists(st.tuples(_NAMES, _type_and_values(depth + 1)), min_size=1, max_size=3))
        names = [f"{name}{i}" for i, (name, _) in enumerate(fields)]
        kind_type = pa.struct([pa.field(n, t) for n, (_, (t, _)) in zip(names, fields)])
        values = st.fixed_dictionaries({n: v for n, (_, (_, v)) in zip(names, fields)})
    else:
        kind_type, values = pa.dictionary(pa.int32(), pa.string()), st.sampled_from(["a", "b", "c", "<i>"])
    if draw(st.booleans()):
        values = st.one_of(st.none(), values)
    return kind_type, values


@st.composite
def _tables(draw) -> pa.Table:
    rows = draw(st.integers(0, 6))
    width = draw(st.integers(1, 4))
    names, arrays = [], []
    if draw(st.integers(0, 3)):  # most tables get an embedding-shaped column, so roles get past "no embedding"
        dim = draw(st.integers(0, 4))
        kind = draw(st.sampled_from([pa.float32(), pa.float64(), pa.float16(), pa.int32()]))
        ragged = draw(st.integers(0, 3)) == 0
        raw = draw(st.lists(st.lists(_float_values(16), min_size=dim, max_size=dim + ragged), min_size=rows, max_size=rows))
        if kind == pa.int32():
            raw = [[int(v) if np.isfinite(v) else 0 for v in row] for row in raw]
        elif kind == pa.float16():
            raw = [np.asarray(row, np.float16) for row in raw]
        list_type = pa.list_(kind, dim) if draw(st.booleans()) and all(len(r) == dim for r in raw) else pa.list_(kind)
        names.append(draw(st.sampled_from(["embedding", "vec", "emb"])))
        arrays.append(pa.array(raw, list_type))
    for _ in range(width):
        kind_type, values = draw(_type_and_values())
        column = draw(st.lists(values, min_size=rows, max_size=rows))
        if pa.types.is_dictionary(kind_type):
            array = pa.array(column, pa.string()).dictionary_encode()
        else:
            array = pa.array(column, kind_type)
        names.append(draw(_NAMES))
        arrays.append(array)
    if draw(st.integers(0, 4)):  # usually unique names; sometimes repeats are the point
        names = [name if name not in names[:i] else f"{name}_{i}" for i, name in enumerate(names)]
    return pa.Table.from_arrays(arrays, names=names)


def _role_options(draw, names: list[str]) -> dict:
    """Role options naming real, duplicate or missing columns, or none at all."""
    options = {}
    column = st.sampled_from([*names, "missing"]) if names else st.just("missing")
    for role in ("vector", "label", "text", "image", "id"):
        if draw(st.integers(0, 5)) == 0:
            options[role] = draw(column)
    if draw(st.integers(0, 7)) == 0:
        options["vector_prefix"] = draw(st.sampled_from(["emb_", "", "x"]))
    if draw(st.integers(0, 5)) == 0:
        options["drop_nonfinite"] = True
    return options


def _crashes_parquet_writer(kind: pa.DataType) -> bool:
    """pyarrow 26's Parquet writer aborts the process on a zero-size fixed list of strings or
    structs holding a null ("Slice offset greater than array length"); such a file cannot exist."""
    if pa.types.is_fixed_size_list(kind) and kind.list_size == 0:
        value = kind.value_type
        if not (pa.types.is_integer(value) or pa.types.is_floating(value) or pa.types.is_boolean(value)):
            return True
    if pa.types.is_struct(kind):
        return any(_crashes_parquet_writer(kind.field(i).type) for i in range(kind.num_fields))
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        return _crashes_parquet_writer(kind.value_type)
    return False


@_fuzz(160)
@given(data=st.data(), suffix=st.sampled_from([".parquet", ".arrow", ".arrows", ".feather"]))
def test_random_arrow_tables(cache, data, suffix):
    table = data.draw(_tables(), label="table")
    options = _role_options(data.draw, table.column_names)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "input" + suffix)
        if suffix == ".parquet" and any(_crashes_parquet_writer(f.type) for f in table.schema):
            return
        try:
            if suffix == ".parquet":
                path.write_bytes(_parquet_bytes(table))
            elif suffix == ".feather":
                import pyarrow.feather as feather

                feather.write_feather(table, str(path))
            else:
                path.write_bytes(_ipc_bytes(table, stream=suffix == ".arrows"))
        except (pa.ArrowException, ValueError):
            return  # a table the writer itself refuses cannot reach load()
        _check_load(path, cache, **options)


_JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), _TEXT),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_TEXT, children, max_size=3),
    max_leaves=12,
)


@st.composite
def _jsonl(draw) -> tuple[bytes, list[str]]:
    names = draw(st.lists(_NAMES, min_size=1, max_size=4))
    vector = [draw(st.floats(width=32)) for _ in range(draw(st.integers(0, 3)))]
    lines = []
    for _ in range(draw(st.integers(0, 6))):
        record = {name: draw(_JSON_VALUES) for name in names}
        if draw(st.booleans()):
            record["embedding"] = [v + draw(st.sampled_from([0.0, 1.0])) for v in vector]
        line = json.dumps(record) if draw(st.integers(0, 9)) else draw(st.sampled_from(["", "[]", "1", "{", "null"]))
        lines.append(line)
    return "\n".join(lines).encode(), [*names, "embedding"]


@_fuzz(100)
@given(data=st.data(), suffix=st.sampled_from([".jsonl", ".ndjson"]))
def test_random_json_lines(cache, data, suffix):
    blob, names = data.draw(_jsonl(), label="jsonl")
    options = _role_options(data.draw, names)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "input" + suffix)
        path.write_bytes(blob)
        _check_load(path, cache, **options)


_CELLS = st.one_of(
    _TEXT,
    st.floats().map(repr),
    st.integers().map(str),
    st.lists(st.floats(width=32), max_size=4).map(json.dumps),
    st.sampled_from(['"', '""', '"a,b"', "\t", ",", "\r\n", "[1,", "[]", "[1, NaN]"]),
)


@st.composite
def _delimited(draw, delimiter: str) -> tuple[bytes, list[str]]:
    header = draw(st.lists(_NAMES.map(lambda n: n.replace(delimiter, "")), min_size=1, max_size=4))
    rows = draw(st.lists(st.lists(_CELLS, min_size=len(header) - 1, max_size=len(header) + 1), max_size=6))
    quote = draw(st.booleans())

    def cell(value: str) -> str:
        return '"' + value.replace('"', '""') + '"' if quote else value

    text = "\n".join(delimiter.join(cell(v) for v in row) for row in [header, *rows])
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "latin-1", "utf-16"]))
    return text.encode(encoding, errors="replace"), header


@_fuzz(120)
@given(data=st.data(), suffix=st.sampled_from([".csv", ".tsv", ".tab"]))
def test_random_delimited_text(cache, data, suffix):
    blob, names = data.draw(_delimited("," if suffix == ".csv" else "\t"), label="text")
    options = _role_options(data.draw, names)
    if data.draw(st.integers(0, 5)) == 0:
        options["encoding"] = data.draw(st.sampled_from(["latin-1", "utf-16", "no-such-codec"]))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "input" + suffix)
        path.write_bytes(blob)
        _check_load(path, cache, **options)


@_fuzz(60)
@given(
    shape=st.lists(st.integers(0, 4), min_size=0, max_size=3),
    dtype=st.sampled_from(["f4", "f8", "f2", "i1", "u8", "?", "U3", "S2", "c8", "V4", "M8[s]", ">f4"]),
    fill=_float_values(64),
    suffix=st.sampled_from([".npy", ".npz", ".safetensors"]),
)
def test_random_arrays(cache, shape, dtype, fill, suffix):
    """Arrays of every shape and dtype numpy, npz and safetensors can hold."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        array = np.full(shape, fill if np.isfinite(fill) or dtype[-2] == "f" else 0).astype(dtype)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "input" + suffix)
        if suffix == ".npy":
            path.write_bytes(_npy(array))
        elif suffix == ".npz":
            path.write_bytes(_npz(embedding=array, other=array.reshape(-1)[:1]))
        else:
            from safetensors import SafetensorError
            from safetensors.numpy import save

            try:
                path.write_bytes(save({"embedding": array, "extra": np.arange(3)}))
            except (SafetensorError, ValueError, TypeError):  # dtypes safetensors cannot store
                return
        _check_load(path, cache)
