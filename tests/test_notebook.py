"""Maps in notebooks: a notebook executed headlessly displays a map and reads a selection."""

from __future__ import annotations

import numpy as np
import pytest

import projector


pytestmark = pytest.mark.usefixtures("private_cache")  # a fresh cache per test (tests/conftest.py)


def test_selection_is_readable_and_settable_from_python():
    view = projector.show(projector.demo(), color_by="label")
    assert view.selection.num_rows == 0
    view.select([5, 1, 5])
    assert view.rows.tolist() == [1, 5]
    table = view.selection
    assert table.column("id").to_pylist() == [1, 5] and "pixels" not in table.column_names
    assert table.to_pandas().shape[0] == 2
    assert view.session.map.source.selected.indices == [1, 5]  # the map follows
    view.selection = []
    assert view.rows.size == 0
    with pytest.raises(projector.ProjectorError, match="outside"):
        view.select([5000])
    with pytest.raises(projector.SchemaError, match="no such column"):
        projector.show(projector.demo(), color_by="nope")


def test_a_given_projection_is_the_map_shown():
    ds = projector.demo()
    projection = ds.project("pca", dims=2)
    view = projector.show(ds, projection)
    np.testing.assert_allclose(view.session.map._x, projection.coords[:, 0])


def test_notebook_runs_headlessly_and_displays_the_map(tmp_path):
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("import os\nos.environ['PROJECTOR_CACHE_DIR'] = %r\nimport projector\nds = projector.demo()\nview = projector.show(ds)\nview" % str(tmp_path / "cache")),
        nbformat.v4.new_code_cell("view.select(range(10, 20))\nprint(view.selection.num_rows, view.selection.column('id').to_pylist()[:3])"),
        nbformat.v4.new_code_cell("ds"),
    ]
    NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    first, second, third = (cell.outputs for cell in notebook.cells)
    kinds = {kind for output in first for kind in output.get("data", {})}
    assert "application/vnd.holoviews_exec.v0+json" in kinds or "text/html" in kinds, kinds
    assert any("10 [10, 11, 12]" in output.get("text", "") for output in second)
    assert any(output.get("data") for output in third)
    html = "".join(str(output.get("data", {}).get("text/html", "")) for output in first)
    assert "cdn.holoviz.org" not in html and "cdn.bokeh.org" not in html


def test_text_only_front_ends_get_the_repr_without_a_map(tmp_path):
    """A terminal IPython asks for text only: no PCA is computed and Panel is never imported."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PROJECTOR_CACHE_DIR": str(tmp_path / "cache"), "IPYTHONDIR": str(tmp_path / "ipython")}
    code = (
        "import sys, projector\n"
        "ds = projector.demo()\n"
        "b = ds._repr_mimebundle_(include=['text/plain'])\n"
        "p = ds._repr_mimebundle_(exclude=['text/html', 'application/vnd.holoviews_exec.v0+json'])\n"
        "assert b == {'text/plain': repr(ds)} == p, (b, p)\n"
        "assert 'panel' not in sys.modules and 'bokeh' not in sys.modules\n"
        "assert not ds._derived, ds._derived\n"
        "print('OK')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.stdout.strip() == "OK", done.stderr
    assert not any((tmp_path / "cache").rglob("*.*"))  # nothing computed, nothing cached
    shell = subprocess.run(
        [sys.executable, "-m", "IPython", "--no-banner", "--colors=NoColor", "-c",
         "import sys, projector; ds = projector.demo(); display(ds); print('PANEL', 'panel' in sys.modules)"],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert "<Dataset 1797 rows" in shell.stdout and "PANEL False" in shell.stdout, shell.stdout + shell.stderr
