"""The on-disk cache: keys, round trips, damaged entries, concurrent writers, broken disks, CLI."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from projector.cache import Cache, CacheKeyError, cache_key, content_hash, default_root, format_bytes
from projector.cli import main
from projector.errors import ProjectorWarning

VERSIONS = {"numpy": "2.0.0", "faiss-cpu": "1.9.0"}


def _key(kind="knn", data="a" * 64, params=None, versions=None):
    return cache_key(kind, data, params if params is not None else {"k": 15, "metric": "cosine"}, versions or VERSIONS)


def _files(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir())


# -- hashing and keys -----------------------------------------------------------------------------


def test_content_hash_follows_values_dtype_and_shape(small_matrix):
    base = content_hash(small_matrix)
    assert base == content_hash(small_matrix.copy())
    assert base == content_hash(np.asfortranarray(small_matrix))  # layout does not matter
    changed = small_matrix.copy()
    changed[19, 7] = np.nextafter(changed[19, 7], np.float32(np.inf))
    assert content_hash(changed) != base
    assert content_hash(small_matrix.astype(np.float64)) != base
    assert content_hash(small_matrix.view(np.int32)) != base  # same bytes, other dtype
    assert content_hash(small_matrix.reshape(40, 4)) != base  # same bytes, other shape
    assert content_hash(small_matrix.astype(">f4")) != base  # same values, other byte order


def test_content_hash_of_a_multi_block_array_never_copies_it_whole(tmp_path, rng):
    matrix = rng.standard_normal((6000, 768)).astype(np.float32)  # 18 MB: several 4 MiB blocks
    np.save(tmp_path / "m.npy", matrix)
    mapped = np.load(tmp_path / "m.npy", mmap_mode="r")
    tracemalloc.start()
    try:
        digest = content_hash(mapped)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000, peak  # hashed in place
    assert digest == content_hash(matrix) == content_hash(np.asfortranarray(matrix))
    assert content_hash(matrix[::2]) == content_hash(matrix[::2].copy())  # a strided view
    tail = matrix.copy()
    tail[-1, -1] += 1
    assert content_hash(tail) != digest


def test_content_hash_edge_shapes():
    assert content_hash(np.zeros((0, 5), np.float32)) != content_hash(np.zeros((5, 0), np.float32))
    assert content_hash(np.float32(1.0)) != content_hash(np.ones(1, np.float32))
    with pytest.raises(TypeError, match="object"):
        content_hash(np.array(["a", None], dtype=object))


def test_cache_key_changes_with_each_part_and_nothing_else():
    key = _key()
    assert key == _key(params={"metric": "cosine", "k": 15})  # order of params
    assert key == _key(params={"k": np.int64(15), "metric": "cosine"})  # numpy scalars
    assert key == cache_key("knn", "a" * 64, {"k": 15, "metric": "cosine"}, dict(reversed(list(VERSIONS.items()))))
    others = {
        _key(kind="projection-umap"),
        _key(data="b" * 64),
        _key(params={"k": 16, "metric": "cosine"}),
        _key(params={"k": 15, "metric": "cosine", "seed": 0}),
        _key(versions={**VERSIONS, "numpy": "2.0.1"}),
    }
    assert key not in others and len(others) == 5
    assert key.startswith("knn-") and len(key) == 4 + 64
    with pytest.raises(CacheKeyError, match="kind"):
        _key(kind="../etc")
    with pytest.raises(TypeError, match="JSON"):
        _key(params={"fn": object()})


# -- round trip -----------------------------------------------------------------------------------


def test_round_trip_keeps_arrays_and_meta(tmp_path, rng):
    cache = Cache(tmp_path)
    arrays = {
        "coords": rng.standard_normal((50, 2)).astype(np.float32),
        "indices": rng.integers(0, 50, (50, 15)),
        "cube": rng.standard_normal((3, 4, 5)),
        "mask": rng.random(50) > 0.5,
        "big_endian": np.arange(7, dtype=">i4"),
        "empty": np.zeros((0, 3), np.float32),
        "scalar": np.float64(2.5),
        "fortran": np.asfortranarray(rng.standard_normal((6, 4))),
    }
    meta = {"method": "umap", "params": {"n_neighbors": 15}, "seconds": np.float64(1.5), "notes": []}
    key = _key()
    assert cache.get(key) is None
    cache.put(key, arrays, meta)
    assert _files(tmp_path) == [f"{key}.arrow"]
    hit = cache.get(key)
    assert hit is not None and hit.kind == "knn" and hit.key == key and hit.created > 0
    assert hit.meta == {"method": "umap", "params": {"n_neighbors": 15}, "seconds": 1.5, "notes": []}
    assert list(hit.arrays) == list(arrays)
    for name, expected in arrays.items():
        got = hit.arrays[name]
        assert got.dtype == np.asarray(expected).dtype and got.shape == np.shape(expected), name
        np.testing.assert_array_equal(got, expected)
        assert not got.flags.writeable  # a read-only view of the memory-mapped file
    assert key in cache
    again = Cache(tmp_path).get(key)  # another process would see the same
    np.testing.assert_array_equal(again.arrays["coords"], arrays["coords"])


def test_entry_is_a_plain_arrow_file_without_pickle(tmp_path):
    cache = Cache(tmp_path)
    key = _key()
    cache.put(key, {"coords": np.ones((4, 2), np.float32)}, {"method": "pca"})
    with pa.memory_map(str(tmp_path / f"{key}.arrow")) as source:
        table = pa.ipc.open_file(source).read_all()
    header = json.loads(table.schema.metadata[b"projector.cache"])
    assert header["key"] == key and header["meta"] == {"method": "pca"}
    assert header["arrays"]["coords"] == {"dtype": "<f4", "shape": [4, 2], "hash": content_hash(np.ones((4, 2), np.float32))}


def test_put_refuses_what_the_format_cannot_hold(tmp_path):
    cache = Cache(tmp_path)
    with pytest.raises(TypeError, match="object"):
        cache.put(_key(), {"x": np.array([{"a": 1}], dtype=object)}, {})
    with pytest.raises(TypeError, match="JSON"):
        cache.put(_key(), {}, {"f": lambda: None})
    with pytest.raises(CacheKeyError, match="cache_key"):
        cache.put("../../outside", {}, {})
    assert not tmp_path.exists() or _files(tmp_path) == []


# -- damaged entries ------------------------------------------------------------------------------


def _stored(tmp_path, rng):
    cache = Cache(tmp_path)
    key = _key()
    cache.put(key, {"indices": rng.integers(0, 100, (100, 10)), "coords": rng.random((100, 2))}, {"a": 1})
    return cache, key, tmp_path / f"{key}.arrow"


@pytest.mark.parametrize("cut", [0, 1, 100, 0.5, -1])
def test_a_truncated_entry_is_a_miss_and_is_removed(tmp_path, rng, cut):
    cache, key, path = _stored(tmp_path, rng)
    data = path.read_bytes()
    keep = int(len(data) * cut) if isinstance(cut, float) else (cut if cut >= 0 else len(data) + cut)
    path.write_bytes(data[:keep])
    assert cache.get(key) is None
    assert not path.exists()


def test_garbage_and_foreign_files_are_misses(tmp_path, rng):
    cache, key, path = _stored(tmp_path, rng)
    path.write_bytes(os.urandom(5000))
    assert cache.get(key) is None and not path.exists()
    import pyarrow.feather as feather

    feather.write_feather(pa.table({"x": [1, 2]}), path, compression="uncompressed")  # Arrow, not ours
    assert cache.get(key) is None and not path.exists()


def test_flipped_bits_renamed_entries_and_old_formats_are_misses(tmp_path, rng):
    cache, key, path = _stored(tmp_path, rng)
    data = bytearray(path.read_bytes())
    original = bytes(data)
    payload = data.index(np.asarray(cache.get(key, verify=False).arrays["indices"]).tobytes()[:64])
    data[payload + 8] ^= 0x01
    path.write_bytes(bytes(data))
    assert cache.get(key, verify=False) is not None  # structure intact ...
    assert cache.get(key) is None and not path.exists()  # ... but the content hash catches it
    other = _key(params={"k": 99})
    (tmp_path / f"{other}.arrow").write_bytes(original)  # an entry under another key's name
    assert cache.get(other) is None
    path.write_bytes(original.replace(b'"format": 1', b'"format": 9'))
    assert cache.get(key) is None
    assert _files(tmp_path) == []


def test_a_folder_in_place_of_an_entry_is_a_miss(tmp_path):
    cache = Cache(tmp_path)
    key = _key()
    (tmp_path / f"{key}.arrow").mkdir()
    assert cache.get(key) is None


# -- concurrent writers ---------------------------------------------------------------------------

_WRITER = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from projector.cache import Cache, cache_key

    root, start = sys.argv[1], float(sys.argv[2])
    cache = Cache(root)
    key = cache_key("knn", "c" * 64, {"k": 15}, {})
    arrays = {"indices": np.arange(2_000_000, dtype=np.int64).reshape(-1, 20)}
    while time.time() < start:
        time.sleep(0.001)
    for _ in range(8):
        cache.put(key, arrays, {"pid": 0})
        hit = cache.get(key)
        assert hit is not None and np.array_equal(hit.arrays["indices"], arrays["indices"])
    print("ok")
    """
)


def test_two_processes_writing_one_key_both_succeed_and_leave_one_entry(tmp_path):
    import time

    start = time.time() + 1.5
    env = {**os.environ, "PYTHONWARNINGS": "error::projector.errors.ProjectorWarning"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(tmp_path), str(start)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )
        for _ in range(2)
    ]
    results = [p.communicate(timeout=60) for p in procs]
    for proc, (out, err) in zip(procs, results):
        assert proc.returncode == 0 and out.strip() == "ok", err
    key = cache_key("knn", "c" * 64, {"k": 15}, {})
    assert _files(tmp_path) == [f"{key}.arrow"]  # no temp files left
    assert Cache(tmp_path).get(key) is not None


# -- broken disks ---------------------------------------------------------------------------------


def _put_twice_expecting_one_warning(cache: Cache, key: str) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cache.put(key, {"x": np.ones(3)}, {})
        cache.put(key, {"x": np.ones(3)}, {})
    messages = [str(w.message) for w in caught if issubclass(w.category, ProjectorWarning)]
    assert len(messages) == 1 and messages[0].startswith("cache disabled: "), messages
    assert str(cache.root) in messages[0]
    assert not cache.active
    assert cache.get(key) is None


def test_a_root_below_a_regular_file_disables_the_cache(tmp_path):
    (tmp_path / "plain").write_text("not a folder")
    cache = Cache(tmp_path / "plain" / "cache")
    assert cache.get(_key()) is None
    _put_twice_expecting_one_warning(cache, _key())
    assert cache.info().entries == 0 and cache.clear() == 0


@pytest.mark.parametrize("where", ["mkstemp", "replace", "fsync"])
def test_a_full_disk_disables_the_cache_and_leaves_no_temp_files(tmp_path, monkeypatch, where):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    target = {"mkstemp": (tempfile, "mkstemp"), "replace": (os, "replace"), "fsync": (os, "fsync")}[where]
    monkeypatch.setattr(*target, full)
    cache = Cache(tmp_path)
    _put_twice_expecting_one_warning(cache, _key())
    monkeypatch.undo()
    assert _files(tmp_path) == []
    assert "No space left" in repr(cache)


def test_a_disk_that_fills_mid_write_disables_the_cache(tmp_path, monkeypatch):
    import io

    real_open = open

    class Full(io.FileIO):
        def write(self, data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def fake_open(file, mode="r", *args, **kwargs):
        if isinstance(file, int) and mode == "wb":
            return Full(file, "wb")
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr("builtins.open", fake_open)
    cache = Cache(tmp_path)
    _put_twice_expecting_one_warning(cache, _key())
    monkeypatch.undo()
    assert _files(tmp_path) == []


def test_a_read_only_root_warns_or_works_but_never_raises(tmp_path):
    root = tmp_path / "ro"
    root.mkdir()
    root.chmod(0o500)
    try:
        cache = Cache(root)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            cache.put(_key(), {"x": np.ones(3)}, {})
        if os.access(root, os.W_OK):  # root ignores the mode bits: the write just works
            assert cache.get(_key()) is not None and not caught
        else:
            assert [str(w.message)[:15] for w in caught] == ["cache disabled:"]
            assert cache.get(_key()) is None
    finally:
        root.chmod(0o700)


def test_a_writer_that_loses_the_race_to_a_finished_entry_stays_quiet(tmp_path, monkeypatch):
    cache = Cache(tmp_path)
    key = _key()
    cache.put(key, {"x": np.ones(3)}, {})

    def locked(*args, **kwargs):  # Windows: replacing a file another process has mapped fails
        raise PermissionError(errno.EACCES, "in use")

    monkeypatch.setattr(os, "replace", locked)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cache.put(key, {"x": np.ones(3)}, {})
    monkeypatch.undo()
    assert cache.active and _files(tmp_path) == [f"{key}.arrow"]


def test_disabled_cache_touches_nothing(tmp_path):
    Cache(tmp_path).put(_key(), {"x": np.ones(3)}, {})
    off = Cache.from_options(no_cache=True, cache_dir=tmp_path / "new")
    off.put(_key(), {"x": np.ones(3)}, {})
    assert not (tmp_path / "new").exists()
    assert Cache(tmp_path, enabled=False).get(_key()) is None
    assert Cache.from_options(no_cache=False, cache_dir=tmp_path).get(_key()) is not None


# -- where the cache lives ------------------------------------------------------------------------


def test_cache_dir_env_overrides_the_platform_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("PROJECTOR_CACHE_DIR", str(tmp_path / "mine"))
    assert Cache().root == tmp_path / "mine" == default_root()
    Cache().put(_key(), {"x": np.ones(2)}, {})
    assert (tmp_path / "mine" / f"{_key()}.arrow").is_file()
    monkeypatch.setenv("PROJECTOR_CACHE_DIR", "")
    import platformdirs

    assert Cache().root == Path(platformdirs.user_cache_dir("projector", appauthor=False))


def test_importing_the_cache_loads_no_arrow():
    out = subprocess.run(
        [sys.executable, "-c", "import projector.cache, sys; print('pyarrow' in sys.modules, 'platformdirs' in sys.modules)"],
        check=True, capture_output=True, text=True,
    )
    assert out.stdout.split() == ["False", "False"]


# -- info and clear -------------------------------------------------------------------------------


def _populate(root: Path) -> dict[str, str]:
    cache = Cache(root)
    keys = {
        "knn": _key("knn"),
        "knn2": _key("knn", params={"k": 30}),
        "umap": _key("projection-umap"),
        "tsne": _key("projection-tsne"),
    }
    for name, key in keys.items():
        cache.put(key, {"x": np.ones((10, 4), np.float32)}, {"name": name})
    foreign = ["notes.txt", "knn-1234.arrow", "results.arrow", f"{keys['knn']}.arrow.bak"]
    for name in foreign:
        (root / name).write_text("keep me")
    (root / "sub").mkdir()
    return keys


def test_info_counts_entries_and_bytes_per_kind(tmp_path):
    _populate(tmp_path)
    info = Cache(tmp_path).info()
    sizes = {p.name: p.stat().st_size for p in tmp_path.glob("*-" + "?" * 64 + ".arrow")}
    assert info.root == tmp_path and info.entries == 4 and info.bytes == sum(sizes.values())
    assert {k: v.entries for k, v in info.by_kind.items()} == {"knn": 2, "projection-umap": 1, "projection-tsne": 1}
    assert sum(v.bytes for v in info.by_kind.values()) == info.bytes
    assert "projection-umap" in info.to_text() and json.loads(info.to_json())["entries"] == 4
    assert Cache(tmp_path / "missing").info().entries == 0


def test_clear_removes_only_its_own_entries(tmp_path):
    keys = _populate(tmp_path)
    cache = Cache(tmp_path)
    (tmp_path / f".{keys['knn']}.abc123.tmp").write_bytes(b"fresh temp of a live writer")
    stale = tmp_path / f".{keys['umap']}.def456.tmp"
    stale.write_bytes(b"left by a killed writer")
    os.utime(stale, (0, 0))
    assert cache.clear("projection") == 2  # projection-umap and projection-tsne
    assert cache.info().entries == 2 and cache.get(keys["knn"]) is not None
    assert cache.clear("proj") == 0  # a kind prefix is not enough
    assert cache.clear() == 2
    assert _files(tmp_path) == sorted(
        [f".{keys['knn']}.abc123.tmp", "knn-1234.arrow", f"{keys['knn']}.arrow.bak", "notes.txt", "results.arrow", "sub"]
    )
    assert cache.clear() == 0
    with pytest.raises(CacheKeyError):
        cache.clear("../x")


# -- the command line -----------------------------------------------------------------------------


def test_cli_cache_info_and_clear(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PROJECTOR_CACHE_DIR", str(tmp_path))
    _populate(tmp_path)
    assert main(["cache", "info", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["root"] == str(tmp_path) and doc["entries"] == 4 and doc["enabled"] is True
    assert doc["by_kind"]["knn"]["entries"] == 2 and set(doc["by_kind"]["knn"]) == {"entries", "bytes"}
    assert main(["cache", "info"]) == 0
    text = capsys.readouterr().out
    assert str(tmp_path) in text and "entries  4" in text
    knn_bytes = doc["by_kind"]["knn"]["bytes"]
    assert main(["cache", "clear", "--kind", "knn"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("removed 2 knn entries") and f"freed {format_bytes(knn_bytes)}" in out
    assert main(["cache", "clear"]) == 0
    assert capsys.readouterr().out.startswith("removed 2 entries")
    assert "notes.txt" in _files(tmp_path)
    assert main(["cache", "clear", "--kind", "Bad/Kind"]) == 2
    assert "kind='Bad/Kind'" in capsys.readouterr().err


def test_cli_cache_needs_an_action(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["cache"])
    assert exit_.value.code == 2
