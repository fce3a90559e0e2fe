"""The `projector` command, run in-process (datasette style) and once as a real subprocess."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from projector.cli import LOAD_OPTIONS, build_parser, main


def _write(tmp_path, matrix, **columns):
    from projector._vectors import matrix_to_column

    table = pa.table({"emb": matrix_to_column(matrix), **columns})
    pq.write_table(table, tmp_path / "d.parquet")
    return tmp_path / "d.parquet"


def test_info_text_on_the_demo(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "rows     1,797" in out and "embedding 'pixels': 64 dimensions" in out and "image" in out


def test_info_json_is_stable(tmp_path, capsys):
    matrix = np.random.default_rng(0).standard_normal((30, 5)).astype(np.float32)
    matrix[7] = matrix[3]
    matrix[:, 2] = 1.0
    path = _write(tmp_path, matrix, img=[f"pics/{i}.png" for i in range(30)], tag=["a", "b", "c"] * 10)
    (tmp_path / "pics").mkdir()
    for i in range(28):
        (tmp_path / "pics" / f"{i}.png").write_bytes(b"")
    assert main(["info", str(path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) == {"schema_version", "source", "rows", "columns", "embeddings", "media", "id_column", "warnings", "notes"}
    assert doc["rows"] == 30 and doc["embeddings"] == [{"name": "emb", "dim": 5}]
    assert {"name": "tag", "role": "label", "type": "string"} in doc["columns"]
    assert doc["media"] == [{"name": "img", "role": "image", "storage": "path"}]
    text = " | ".join(doc["warnings"])
    assert "1 rows repeat another row's vector" in text
    assert "1 of 5 dimensions are constant (dimension 2)" in text
    assert "2 media files are missing" in text and "pics/28.png" in text


def test_info_passes_roles(tmp_path, capsys):
    path = _write(tmp_path, np.eye(6, 4, dtype=np.float32), name=[f"n{i}" for i in range(6)])
    assert main(["info", str(path), "--id", "name", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["id_column"] == "name"


def test_user_error_is_one_line_and_exit_2(tmp_path, capsys):
    (tmp_path / "r.csv").write_text("a,b\n1,2\n3,4,5\n")
    assert main(["info", str(tmp_path / "r.csv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("projector: error: ") and "r.csv" in err and err.count("\n") == 1
    assert main(["info", str(tmp_path / "missing.parquet")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_nonfinite_dropped_from_cli(tmp_path, capsys):
    matrix = np.ones((6, 3), np.float32) * np.arange(6)[:, None]
    matrix[2, 1] = np.nan
    path = _write(tmp_path, matrix)
    assert main(["info", str(path)]) == 2
    assert "drop_nonfinite=True" in capsys.readouterr().err
    assert main(["info", str(path), "--drop-nonfinite"]) == 0
    assert "dropped 1 of 6 rows" in capsys.readouterr().out


def test_every_load_option_is_documented():
    help_text = build_parser()._subparsers._group_actions[0].choices["info"].format_help()
    for flag, _, text in LOAD_OPTIONS:
        assert flag in help_text and text.split()[0] in help_text


def test_real_subprocess_help_and_version():
    out = subprocess.run([sys.executable, "-m", "projector", "--help"], capture_output=True, text=True, check=True)
    assert "info" in out.stdout
    out = subprocess.run([sys.executable, "-m", "projector", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("projector ")


def test_project_writes_coordinates_and_provenance(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PROJECTOR_CACHE_DIR", str(tmp_path / "cache"))
    rng = np.random.default_rng(0)
    matrix = np.vstack([rng.standard_normal((40, 6)) + 8 * i for i in range(3)]).astype(np.float32)
    path = _write(tmp_path, matrix, label=[f"c{i // 40}" for i in range(120)])
    out = tmp_path / "out.parquet"
    args = ["project", str(path), "--method", "umap", "--param", "n_epochs=60", "--param", "n_neighbors=10", "--seed", "3", "--quiet", "-o", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "umap_x, umap_y" in printed and "trustworthiness" in printed
    table = pq.read_table(out)
    assert {"emb", "label", "umap_x", "umap_y", "umap_knn_preserved"} <= set(table.column_names)
    provenance = json.loads(table.schema.metadata[b"projector:projection"])
    assert provenance["method"] == "umap" and provenance["params"]["n_neighbors"] == 10 and provenance["params"]["seed"] == 3
    assert provenance["device"] == "cpu" and "layout" in provenance["seconds"] and provenance["quality"]["trustworthiness"] > 0.75
    assert "umap-learn" in provenance["versions"] or "torch" in provenance["versions"]
    # a second run is served from the cache, and an existing output is never replaced silently
    assert main(args) == 2 and "exists" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 0 and "(from cache)" in capsys.readouterr().out


def test_project_bad_parameter_is_one_line(tmp_path, capsys):
    path = _write(tmp_path, np.random.default_rng(0).standard_normal((20, 5)).astype(np.float32))
    assert main(["project", str(path), "--param", "n_neighbours=5", "-o", str(tmp_path / "o.parquet"), "--no-cache"]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'n_neighbors'" in err and err.count("\n") == 1
    assert not (tmp_path / "o.parquet").exists()
    assert main(["project", str(path), "--param", "oops", "-o", str(tmp_path / "o.parquet")]) == 2
    assert "expected NAME=VALUE" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["serve", "--sample", "0", "--no-open"], "--sample 0: must be at least 1"),
        (["serve", "--port", "70000", "--no-open"], "--port 70000"),
        (["serve", "--label", "y", "--no-open"], "loading options need a PATH"),
    ],
)
def test_serve_refuses_bad_options_before_serving(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_serve_defaults_to_loopback_and_port_5006():
    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port, args.open, args.paths) == ("127.0.0.1", 5006, True, [])
    assert build_parser().parse_args(["serve", "--no-open"]).open is False


def test_serve_sources_turn_a_bad_file_into_an_error_page(tmp_path, monkeypatch):
    from projector.app import open_sources
    from projector.app.server import Failed
    from projector.explore.store import DataStore

    monkeypatch.setenv("PROJECTOR_CACHE_DIR", str(tmp_path / "cache"))
    good = tmp_path / "good.parquet"
    pq.write_table(pa.table({"v": pa.FixedSizeListArray.from_arrays(pa.array(np.random.default_rng(0).random(40 * 5, dtype=np.float32)), 5)}), good)
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet")
    lines: list[str] = []
    sources = open_sources([str(good), str(bad), str(good)], {}, sample=10, report=lines.append)
    assert isinstance(sources[0], DataStore) and isinstance(sources[1], Failed)
    assert [s.name for s in sources] == ["good", "bad", "good-2"]
    assert sources[0].num_rows == 10 and "random sample of 10 of 40" in sources[0].dataset.notes[-1]
    assert sources[0].map_keys == ["PCA of v"]
    assert any("bad.parquet" in line for line in lines) and "bad.parquet" in sources[1].message


def test_serving_a_run_directory_serves_every_logged_set(tmp_path, monkeypatch):
    import projector
    from projector.app import open_sources

    monkeypatch.setenv("PROJECTOR_CACHE_DIR", str(tmp_path / "cache"))
    rng = np.random.default_rng(0)
    run = tmp_path / "run"
    for step in (1, 2):
        projector.log(run, rng.standard_normal((30, 6)).astype(np.float32), {"label": ["a", "b"] * 15}, name="model-a", step=step)
    projector.log(run, rng.standard_normal((30, 4)).astype(np.float32), name="model-b")
    sources = open_sources([str(run)], {}, report=lambda line: None)
    assert [s.name for s in sources] == ["model-a-step1", "model-a-step2", "model-b"]
    assert [s.dimension() for s in sources] == [6, 6, 4]
    picked = open_sources([str(run)], {"name": "model-a", "step": 1}, report=lambda line: None)
    assert len(picked) == 1 and picked[0].dimension() == 6


def test_serve_with_one_file_that_fails_exits_2_with_the_error(tmp_path, capsys):
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet")
    assert main(["serve", str(bad), "--no-open", "--port", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("projector: error:") and "bad.parquet" in err[0]


def test_project_refuses_an_output_that_is_not_parquet(tmp_path, capsys):
    path = _write(tmp_path, np.random.default_rng(0).standard_normal((20, 4)).astype(np.float32))
    assert main(["project", str(path), "-o", str(tmp_path / "out.csv"), "--method", "pca"]) == 2
    assert "project writes Parquet; name the output with a .parquet suffix" in capsys.readouterr().err
    assert not (tmp_path / "out.csv").exists()


def test_project_says_each_warning_once_on_stderr(tmp_path, capsys):
    path = _write(tmp_path, np.random.default_rng(0).standard_normal((10, 4)).astype(np.float32))
    out = tmp_path / "out.parquet"
    assert main(["project", str(path), "-o", str(out), "--method", "umap", "--quiet", "--param", "n_epochs=20"]) == 0
    err = capsys.readouterr().err
    assert err.count("projector: warning: n_neighbors=15 clamped to 9 (N=10)") == 1


def test_export_and_serve_take_the_projection_options_project_has():
    parser = build_parser()
    for command in (["project", "x.parquet", "-o", "y.parquet"], ["export", "x.parquet", "-o", "y.html"], ["serve", "x.parquet"]):
        args = parser.parse_args([*command, "--metric", "l2", "--param", "n_neighbors=5", "--seed", "3", "--device", "cpu", "--no-cache"])
        assert (args.metric, args.param, args.seed, args.device, args.no_cache) == ("l2", ["n_neighbors=5"], 3, "cpu", True)
    assert parser.parse_args(["project", "x.parquet", "-o", "y.parquet"]).method == parser.parse_args(["export", "-o", "y.html"]).method == "auto"


def test_export_computes_the_map_with_the_options_given(tmp_path, capsys, private_cache):
    import projector

    path = _write(tmp_path, np.random.default_rng(0).standard_normal((40, 8)).astype(np.float32))
    out = tmp_path / "map.html"
    assert main(["export", str(path), "-o", str(out), "--method", "umap", "--param", "n_epochs=30", "--param", "n_neighbors=7", "--metric", "l2", "--seed", "2"]) == 0
    key = projector.load(path).project("umap", n_epochs=30, n_neighbors=7, metric="l2", seed=2, cache_only=True)
    assert key is not None  # the export computed exactly that map (and cached it)
    assert main(["export", str(path), "-o", str(tmp_path / "m.png"), "--x", "a", "--y", "b", "--seed", "1"]) == 2
    assert "--x/--y draw the given coordinates" in capsys.readouterr().err


def test_serve_passes_device_cache_and_parameters_to_the_background_map(tmp_path):
    from projector.app import open_sources

    path = _write(tmp_path, np.random.default_rng(0).standard_normal((40, 8)).astype(np.float32))
    [store] = open_sources([str(path)], {}, method="umap", compute={"device": "cpu", "cache": False}, params={"n_neighbors": 6, "n_epochs": 20}, report=lambda line: None)
    job = store.start_auto_map()
    assert job.wait(120), job.describe()
    projection = job.result.projection
    assert projection.params["n_neighbors"] == 6 and projection.provenance["device"] == "cpu"
    store.close()


@pytest.mark.parametrize("command", ["project", "export"])
def test_three_rows_are_one_error_naming_the_file(tmp_path, capsys, command):
    path = tmp_path / "three.parquet"
    pq.write_table(pa.table({"emb": pa.FixedSizeListArray.from_arrays(pa.array(np.eye(3, 5, dtype=np.float32).ravel()), 5)}), path)
    output = tmp_path / ("out.parquet" if command == "project" else "out.html")
    assert main([command, str(path), "-o", str(output), "--method", "pca"]) == 2
    err = capsys.readouterr().err
    assert f"{path}: 'emb': 3 rows cannot be projected; PCA, UMAP and t-SNE need at least 4" in err
    assert not output.exists()


def test_export_draws_the_overlays_asked_for(tmp_path, capsys, private_cache):
    """--overlays: cluster labels (named by the demo's digit labels) and contours in an SVG."""
    out = tmp_path / "map.svg"
    assert main(["export", "-o", str(out), "--method", "pca", "--overlays", "all"]) == 0
    svg = out.read_text(encoding="utf-8")
    assert "<polyline" in svg and svg.count('paint-order="stroke"') >= 3  # contours; haloed labels
    assert re.search(r'paint-order="stroke"[^>]*>\d · \d+%<', svg)  # a majority label such as "7 · 96%"
    assert main(["export", "-o", str(tmp_path / "m.png"), "--x", "a", "--y", "b", "--overlays", "labels"]) == 2
    assert "--overlays need a computed map" in capsys.readouterr().err
