"""projector.log: a run directory of embedding sets, safe from several processes, read by projector.load."""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from pathlib import Path

import numpy as np
import pytest

import projector
from projector import runlog
from projector.errors import LoadError, ProjectorError
from projector.runlog import MANIFEST_NAME, RunEntry, find_entry, load_run_entry, read_run


def _vectors(rows: int, dims: int = 8, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((rows, dims)).astype(np.float32)


def test_round_trip_with_metadata(tmp_path):
    vectors = _vectors(30)
    metadata = {
        "label": [f"class-{i % 3}" for i in range(30)],
        "score": np.linspace(0, 1, 30),
        "index": np.arange(30, dtype=np.int64),
    }
    path = projector.log(tmp_path / "run", vectors, metadata, name="model-a", step=3)
    assert path == tmp_path / "run" / "model-a" / "step-00000003.parquet" and path.is_file()
    [entry] = read_run(tmp_path / "run")
    assert isinstance(entry, RunEntry)
    assert (entry.name, entry.step, entry.file, entry.rows, entry.dims) == ("model-a", 3, "model-a/step-00000003.parquet", 30, {"embedding": 8})
    assert entry.created.endswith("+00:00")
    ds = projector.load(tmp_path / "run")
    np.testing.assert_array_equal(ds.vectors(), vectors)
    assert ds.table.column("label").to_pylist() == metadata["label"]
    np.testing.assert_array_equal(ds.table.column("score").to_numpy(), metadata["score"])
    np.testing.assert_array_equal(ds.table.column("index").to_numpy(), metadata["index"])
    assert ds.roles == load_run_entry(tmp_path / "run", "model-a", 3).roles
    assert "model-a step 3" in ds.source


def test_load_picks_latest_or_the_named_set(tmp_path):
    run = tmp_path / "run"
    for step in (0, 20, 10):  # logged out of order: the latest logged is step 10
        projector.log(run, _vectors(5 + step), name="model-a", step=step)
    projector.log(run, _vectors(4, dims=3), name="model-b")
    assert len(projector.load(run)) == 4  # the set logged last
    assert len(projector.load(run, name="model-a")) == 25  # that name's highest step
    assert len(projector.load(run, name="model-a", step=10)) == 15
    assert len(projector.load(run, step=0)) == 5  # only model-a has step 0
    assert find_entry(run, "model-b").dims == {"embedding": 3}
    with pytest.raises(LoadError, match="no set named 'model-c'; logged names: model-a, model-b"):
        projector.load(run, name="model-c")
    with pytest.raises(LoadError, match="no step 5 logged for 'model-a'; logged steps: 0, 10, 20"):
        projector.load(run, name="model-a", step=5)
    with pytest.raises(ProjectorError, match="option stpe= does not apply"):
        projector.load(run, stpe=1)


def test_overwrite_is_refused_unless_asked(tmp_path):
    run = tmp_path / "run"
    projector.log(run, _vectors(6), name="m", step=1)
    manifest = (run / MANIFEST_NAME).read_bytes()
    with pytest.raises(ProjectorError, match="m step 1 is already logged .* pass overwrite=True"):
        projector.log(run, _vectors(9), name="m", step=1)
    assert (run / MANIFEST_NAME).read_bytes() == manifest
    assert len(projector.load(run)) == 6
    projector.log(run, _vectors(9), name="m", step=1, overwrite=True)
    assert [(e.name, e.step, e.rows) for e in read_run(run)] == [("m", 1, 9)]
    assert len(projector.load(run)) == 9
    projector.log(run, _vectors(4), name="m")  # no step: a set of its own
    with pytest.raises(ProjectorError, match="m is already logged"):
        projector.log(run, _vectors(4), name="m")


def test_manifest_is_replaced_whole(tmp_path, monkeypatch):
    run = tmp_path / "run"
    projector.log(run, _vectors(5), name="m", step=0)
    before = (run / MANIFEST_NAME).read_bytes()
    real_replace = os.replace

    def failing_replace(source, target):
        if Path(target).name == MANIFEST_NAME:
            raise OSError("disk full")
        real_replace(source, target)

    monkeypatch.setattr("projector._io.os.replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        projector.log(run, _vectors(5), name="m", step=1)
    assert (run / MANIFEST_NAME).read_bytes() == before  # the old list, whole
    assert not [p for p in run.rglob("*.tmp")]  # no temp file left behind
    monkeypatch.setattr("projector._io.os.replace", real_replace)
    projector.log(run, _vectors(5), name="m", step=1)  # the file left without an entry is replaced
    assert [e.step for e in read_run(run)] == [0, 1]


def _log_many(run_dir: str, name: str, count: int, start) -> None:
    start.wait()
    for step in range(count):
        projector.log(run_dir, _vectors(10 + step, seed=step), {"step": [step] * (10 + step)}, name=name, step=step)


def test_two_processes_at_once_lose_nothing(tmp_path):
    run = tmp_path / "run"
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    workers = [context.Process(target=_log_many, args=(str(run), name, 20, start)) for name in ("model-a", "model-b")]
    for worker in workers:
        worker.start()
    start.set()
    while any(worker.is_alive() for worker in workers):
        if (run / MANIFEST_NAME).exists():
            read_run(run)  # a reader never meets a half-written manifest
        time.sleep(0.005)
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    entries = read_run(run)
    assert sorted((e.name, e.step) for e in entries) == sorted((n, s) for n in ("model-a", "model-b") for s in range(20))
    for entry in entries:
        assert entry.rows == 10 + entry.step and (run / entry.file).is_file()
    ds = projector.load(run, name="model-b", step=7)
    assert len(ds) == 17 and set(ds.table.column("step").to_pylist()) == {7}


def test_bad_arguments(tmp_path):
    with pytest.raises(ProjectorError, match="name='../up' must be"):
        projector.log(tmp_path, _vectors(4), name="../up")
    with pytest.raises(ProjectorError, match="step=-1 must be a whole number"):
        projector.log(tmp_path, _vectors(4), step=-1)
    with pytest.raises(ProjectorError, match="step=1.5 must be"):
        projector.log(tmp_path, _vectors(4), step=1.5)
    ds = projector.Dataset.from_arrays(_vectors(4))
    with pytest.raises(ProjectorError, match="metadata= applies to arrays only"):
        projector.log(tmp_path, ds, {"a": [1, 2, 3, 4]})
    projector.log(tmp_path / "ds", ds, step=np.int64(2))
    assert read_run(tmp_path / "ds")[0].step == 2
    with pytest.raises(LoadError, match="no projector-run.json here"):
        read_run(tmp_path / "nothing")


def test_broken_manifest_and_escaping_entry(tmp_path):
    run = tmp_path / "run"
    projector.log(run, _vectors(4), name="m")
    document = json.loads((run / MANIFEST_NAME).read_text())
    document["entries"][0]["file"] = "../../elsewhere.parquet"
    (run / MANIFEST_NAME).write_text(json.dumps(document))
    with pytest.raises(projector.UnsafeInputError, match="outside the run directory"):
        projector.load(run)
    (run / MANIFEST_NAME).write_text("{not json")
    with pytest.raises(LoadError, match="not a projector run manifest"):
        projector.load(run)
    (run / MANIFEST_NAME).write_bytes(b"\x80 not text")  # found by the loader fuzz
    with pytest.raises(LoadError, match=r"projector-run\.json: not a projector run manifest \(not UTF-8"):
        projector.load(run)
    assert runlog.LOCK_NAME.startswith(".")
