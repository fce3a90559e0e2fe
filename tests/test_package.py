"""The package itself: a light import, a curated public surface, a fast --help, the demo."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

import projector

HEAVY = ("umap", "pynndescent", "numba", "faiss", "panel", "bokeh", "torch", "holoviews", "datashader", "pandas", "sklearn", "openTSNE")


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
        check=True, capture_output=True, text=True,
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_import_projector_stays_light():
    loaded = _modules_after("import projector")
    assert not [m for m in HEAVY if m in loaded]
    assert "pyarrow" not in loaded and "numpy" not in loaded


def test_loading_a_file_stays_light(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((5, 3), np.float32))
    loaded = _modules_after(f"import projector; projector.load({str(tmp_path / 'x.npy')!r})")
    assert not [m for m in ("umap", "pynndescent", "numba", "faiss", "panel", "bokeh", "torch", "pandas") if m in loaded]


def test_cli_help_is_light():
    loaded = _modules_after("import projector.cli; projector.cli.build_parser().format_help()")
    assert "pyarrow" not in loaded and not [m for m in HEAVY if m in loaded]


def test_public_names_match_all():
    for name in projector.__all__:
        assert getattr(projector, name) is not None
    assert set(projector.__all__) <= set(dir(projector))
    import types

    public = {
        n for n, v in vars(projector).items()
        if not n.startswith("_") and not isinstance(v, types.ModuleType)
    } - {"annotations", "import_module", "TYPE_CHECKING", "Any"}
    assert public <= set(projector.__all__), public - set(projector.__all__)


def test_errors_form_one_tree():
    for name in projector.__all__:
        obj = getattr(projector, name)
        if isinstance(obj, type) and issubclass(obj, Exception) and not issubclass(obj, Warning):
            assert issubclass(obj, projector.ProjectorError)


def test_loaders_ship_inside_the_package():
    import projector.loaders

    assert projector.loaders.__name__ == "projector.loaders"
    out = subprocess.run([sys.executable, "-c", "import loaders"], capture_output=True, text=True, cwd="/")
    assert out.returncode != 0  # no top-level `loaders` module installed


def test_demo_digits():
    ds = projector.demo()
    assert len(ds) == 1797 and ds.vectors().shape == (1797, 64)
    assert ds.roles.images == ("image",) and ds.roles.labels == ("label",)
    assert sorted(set(ds.table.column("label").to_pylist())) == [str(i) for i in range(10)]
    from io import BytesIO

    from PIL import Image

    thumb = Image.open(BytesIO(ds.table.column("image")[0].as_py()))
    assert thumb.size == (32, 32)
    # the thumbnail is the sample: ink where the 8x8 pixel value is high
    pixels = np.asarray(thumb.convert("L").resize((8, 8), Image.NEAREST), dtype=float)
    assert np.corrcoef(pixels.ravel(), ds.vectors()[0])[0, 1] < -0.9


def test_quickstart_example_runs(tmp_path):
    from pathlib import Path

    script = Path(__file__).parents[1] / "examples" / "quickstart.py"
    out = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "<Dataset 300 rows, embeddings embedding[32]" in out.stdout and "no warnings" in out.stdout
    assert (tmp_path / "eval_run.parquet").exists()


def test_projector_demo_stays_the_function_whatever_was_imported_before():
    """No submodule of projector.loaders is named like a public function (importing it would
    replace the function on its package: ``projector.demo()`` once failed after such an import)."""
    import pkgutil

    import projector.loaders

    public = set(projector.loaders.__all__)
    assert not public & {info.name for info in pkgutil.iter_modules(projector.loaders.__path__)}
    assert callable(projector.demo)
