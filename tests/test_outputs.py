"""Files the user gets are ordinary files: the user's umask decides their mode, not a temp file's."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

import projector
from projector._io import write_atomically


@pytest.fixture
def umask():
    """Run a test under a chosen umask, restoring the old one after."""
    old = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_outputs_get_the_mode_the_umask_gives(tmp_path, umask, mask):
    umask(mask)
    ds = projector.Dataset.from_arrays(np.random.default_rng(0).standard_normal((20, 4)).astype(np.float32))
    table = ds.to_parquet(tmp_path / "data.parquet")
    text = write_atomically(tmp_path / "note.txt", lambda temp: open(temp, "w").write("hi"))
    run = tmp_path / "run"
    projector.log(run, np.ones((5, 3), dtype=np.float32), name="a", step=1)
    logged = [p for p in run.rglob("*") if p.is_file()]
    assert logged
    for path in [table, text, *logged]:
        assert _mode(path) == 0o666 & ~mask, path


def test_replacing_a_file_keeps_its_mode(tmp_path, umask):
    umask(0o022)
    target = tmp_path / "shared.txt"
    target.write_text("old")
    os.chmod(target, 0o640)
    write_atomically(target, lambda temp: open(temp, "w").write("new"), overwrite=True)
    assert target.read_text() == "new" and _mode(target) == 0o640
