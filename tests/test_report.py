"""Self-contained HTML reports, without a browser (tests/browser/test_report_browser.py opens them)."""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import projector
from projector.cli import main
from projector.report import Report, save_html
from projector.explore.sampling import stratified_sample
from projector.figures.map_block import map_block
from projector.figures.options import MapOptions

HOSTILE = "<img src=x onerror=alert(1)>"
SCRIPT = "</script><script>alert(2)</script>"


pytestmark = pytest.mark.usefixtures("private_cache")  # a fresh cache per test (tests/conftest.py)


def hostile_dataset(n: int = 120) -> projector.Dataset:
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((n, 6)).astype(np.float32)
    table = pa.table(
        {
            "emb": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), 6),
            "text": [HOSTILE if i == 0 else SCRIPT if i == 1 else f"$5 to $10 #{i}" for i in range(n)],
            "label": [["<b>bold</b>", "b", "c"][i % 3] for i in range(n)],
            "x": rng.standard_normal(n),
            "y": rng.standard_normal(n),
        }
    )
    return projector.Dataset.from_table(table, vector="emb", label="label", text="text")


def test_report_is_one_file_with_nothing_to_fetch(tmp_path):
    path = save_html(hostile_dataset(), tmp_path / "r.html", "pca", title="Run <1>")
    page = path.read_text(encoding="utf-8")
    assert "<title>Run &lt;1&gt;</title>" in page
    # every script is inline: no src= on script tags, no stylesheet links, no http(s) fetches
    assert not re.search(r"<script[^>]+src=", page)
    assert not re.search(r"<link[^>]+href=", page)
    # (BokehJS's own code names a MathJax CDN, used only for math text, which reports never
    # contain; the browser test checks that opening a report requests nothing)
    # user strings arrive escaped inside the embedded document
    assert HOSTILE not in page and SCRIPT not in page


def test_existing_report_is_only_replaced_when_asked(tmp_path):
    target = tmp_path / "r.html"
    target.write_text("mine")
    with pytest.raises(FileExistsError, match="overwrite"):
        save_html(hostile_dataset(), target, "pca")
    assert target.read_text() == "mine"
    save_html(hostile_dataset(), target, "pca", overwrite=True)
    assert target.stat().st_size > 100_000
    assert not list(tmp_path.glob(".*.tmp"))


def test_given_coordinates_are_used_as_they_are(tmp_path):
    from projector.report.document import map_entry

    ds = hostile_dataset()
    store, entry = map_entry(ds, x="x", y="y")
    np.testing.assert_allclose(entry.coords[:, 0], ds.table.column("x").to_numpy(), rtol=1e-6)


def test_map_block_inlines_neighbours_and_thumbnails():
    from bokeh.models import ColumnDataSource, CustomJS

    ds = projector.demo()
    from projector.report.document import map_entry

    store, entry = map_entry(ds, "pca")
    layout = map_block(store, entry, MapOptions(k=5, thumbnails=100))
    sources = [m for m in layout.references() if isinstance(m, ColumnDataSource) and "x" in m.data and "row" in m.data]
    data = sources[0].data
    assert len(data["x"]) == 1797
    hover = next(m for m in layout.references() if isinstance(m, CustomJS) and "thumbs" in m.args)
    assert len(hover.args["thumbs"]) == 100 and all(t.startswith("data:image/png;base64,") for t in hover.args["thumbs"])
    assert (data["_thumb"] >= 0).sum() == 100
    callbacks = [m for m in layout.references() if isinstance(m, CustomJS) and "neighbors" in m.args]
    neighbors = callbacks[0].args["neighbors"]
    assert neighbors.shape == (1797 * 5,) and neighbors.min() >= 0
    # digits: a point's neighbours mostly share its label
    labels = np.asarray(ds.table.column("label").to_pylist())
    same = (labels[neighbors.reshape(-1, 5)] == labels[:, None]).mean()
    assert same > 0.9


def test_big_maps_keep_a_stratified_interactive_sample_over_a_raster():
    ds = projector.demo()
    from bokeh.models import ColumnDataSource, Div, ImageURL

    from projector.report.document import map_entry

    store, entry = map_entry(ds, "pca")
    layout = map_block(store, entry, MapOptions(max_points=500))
    points = next(m for m in layout.references() if isinstance(m, ColumnDataSource) and "x" in m.data and "row" in m.data)
    assert len(points.data["x"]) == 500
    assert any(isinstance(m, ImageURL) for m in layout.references())
    about = next(m for m in layout.references() if isinstance(m, Div) and "projector-drawn" in m.text)
    assert "1,797 points" in about.text and "500 of them" in about.text


def far_group_dataset(n: int = 300) -> projector.Dataset:
    """Given coordinates ``x``, ``y``: a blob, and 1% of the rows 100 units away along x."""
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal(n), rng.standard_normal(n)
    x[-n // 100:] += 100.0
    vectors = rng.standard_normal((n, 4)).astype(np.float32)
    table = pa.table({"emb": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), 4), "x": x, "y": y})
    return projector.Dataset.from_table(table, vector="emb")


def figure_ranges(page: str) -> list[dict]:
    """Each figure's ``{"x": Range1d attributes, "y": ...}`` in a saved report."""
    import json

    doc = json.loads(re.search(r'<script type="application/json" id="projector-document">(.*?)</script>', page, re.S).group(1))
    objects: dict[str, dict] = {}

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "object" and "attributes" in node:
                objects[node["id"]] = node
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    return [
        {axis: objects[fig["attributes"][f"{axis}_range"]["id"]]["attributes"] for axis in ("x", "y")}
        for fig in objects.values() if fig["name"] == "Figure"
    ]


def test_report_maps_open_on_the_bulk_and_reset_to_every_point(tmp_path):
    ds = far_group_dataset()
    x, y = ds.table.column("x").to_numpy(), ds.table.column("y").to_numpy()
    page = save_html(ds, tmp_path / "far.html", x="x", y="y").read_text(encoding="utf-8")
    (ranges,) = figure_ranges(page)
    xr, yr = ranges["x"], ranges["y"]
    assert xr["start"] <= x[:-3].min() and x[:-3].max() <= xr["end"] < 10  # the bulk, not squeezed
    assert xr["reset_start"] < x.min() and x.max() < xr["reset_end"]  # reset shows the far rows
    assert (yr["start"], yr["end"]) == (yr["reset_start"], yr["reset_end"])  # nothing far along y
    assert yr["start"] < y.min() and y.max() < yr["end"]
    assert "3 far points lie outside the first view" in page
    # a map with no far points opens on everything, as before
    (plain,) = figure_ranges(save_html(hostile_dataset(), tmp_path / "plain.html", x="x", y="y").read_text(encoding="utf-8"))
    assert all((r["start"], r["end"]) == (r["reset_start"], r["reset_end"]) for r in plain.values())


def test_a_sampled_report_map_keeps_the_bulk_sharp_in_its_image():
    from bokeh.models import GlyphRenderer, ImageURL, Plot

    from projector.report.document import map_entry

    store, entry = map_entry(far_group_dataset(), x="x", y="y")
    layout = map_block(store, entry, MapOptions(max_points=100))
    images = sorted((m.glyph for m in layout.references() if isinstance(m, GlyphRenderer) and isinstance(m.glyph, ImageURL)), key=lambda m: m.w)
    fig = next(m for m in layout.references() if isinstance(m, Plot))
    assert len(images) == 2  # the bulk over the first view, the far rows over every point
    assert (images[0].x, images[0].x + images[0].w) == pytest.approx((fig.x_range.start, fig.x_range.end))
    assert images[1].x + images[1].w == pytest.approx(entry.coords[:, 0].max())


def test_stratified_sample_keeps_every_label_and_its_share():
    labels = np.repeat(np.arange(4), [700, 200, 90, 10])
    rows = stratified_sample(labels, 1000, 100, seed=1)
    assert rows.size == 100 and np.all(np.diff(rows) > 0)
    counts = np.bincount(labels[rows], minlength=4)
    assert counts[0] >= 65 and counts[3] >= 1
    np.testing.assert_array_equal(stratified_sample(None, 10, 20), np.arange(10))


def test_report_api_composes_blocks_and_renders_markdown_safely(tmp_path):
    report = Report("Eval")
    report.markdown(f"## Findings\n\n*ok* {HOSTILE} [x](javascript:alert(1))")
    report.metrics({"k-NN accuracy": 0.91234, "note": SCRIPT}, title="Scores")
    report.metrics([{"model": "a", "acc": 0.5}, {"model": "b", "acc": 0.75}])
    report.map(hostile_dataset(), "pca", color_by=["label", "x"])
    page = report.save(tmp_path / "eval.html").read_text(encoding="utf-8")
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and HOSTILE not in page
    assert "href" not in page.split("projector-markdown", 1)[1].split("</div>", 1)[0]  # the unsafe link stays text
    assert "0.9123" in page
    with pytest.raises(projector.ProjectorError, match="no such column"):
        Report().map(hostile_dataset(), "pca", color_by="nope")


def test_export_cli_writes_html_and_says_how_big(tmp_path, capsys):
    ds = hostile_dataset()
    source = tmp_path / "in.parquet"
    ds.to_parquet(source)
    out = tmp_path / "r.html"
    assert main(["export", str(source), "-o", str(out), "--x", "x", "--y", "y", "--color-by", "label"]) == 0
    assert out.exists() and "wrote" in capsys.readouterr().out
    assert main(["export", str(source), "-o", str(out), "--x", "x", "--y", "y"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(["export", str(source), "-o", str(tmp_path / "r.txt")]) == 2
    assert ".html, .png or .svg" in capsys.readouterr().err


def test_compare_block_links_two_aligned_maps_coloured_by_change(tmp_path):
    from bokeh.models import ColumnDataSource, CustomJS, DataTable

    rng = np.random.default_rng(0)
    n = 200
    a = (np.repeat(rng.standard_normal((20, 8)) * 10, 10, axis=0) + rng.standard_normal((n, 8))).astype(np.float32)
    b = a.copy()
    moved = np.arange(0, n, 2)
    b[moved] = a[rng.permutation(moved)]
    ds = projector.Dataset.from_arrays({"a": a, "b": b}, metadata={"group": [str(i // 10) for i in range(n)]}, label="group")
    report = Report("diff").compare(ds, "a", "b", k=5, method="pca")
    block = report._blocks[-1]
    points = next(m for m in block.references() if isinstance(m, ColumnDataSource) and "xb" in m.data)
    comparison = projector.compare(ds, "a", "b", k=5)
    np.testing.assert_allclose(points.data["c0"], comparison.jaccard)
    # one source drawn by both maps: selection and hover are shared
    renderers = [m for m in block.references() if getattr(m, "data_source", None) is points]
    assert len(renderers) == 2
    switch = next(m for m in block.references() if isinstance(m, CustomJS) and "renderers" in m.args)
    assert len(switch.args["renderers"]) == 2
    worst = next(m for m in block.references() if isinstance(m, DataTable) and "projector-most-changed" in m.css_classes)
    assert set(worst.source.data["row"]) <= set(moved.tolist())
    assert report.save(tmp_path / "diff.html").stat().st_size > 100_000


def test_writing_a_report_does_not_import_panel():
    import subprocess
    import sys

    code = "import sys, projector.report.document, projector.figures.map_block; print('panel' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


def test_eval_report_example_writes_a_report(tmp_path):
    import importlib.util
    from pathlib import Path

    script = Path(__file__).parents[1] / "examples" / "eval_report.py"
    spec = importlib.util.spec_from_file_location("eval_report_example", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    path = module.main(tmp_path)
    assert path.stat().st_size > 500_000
    assert len(projector.runlog.read_run(tmp_path / "run")) == 2


def test_an_image_outside_the_data_root_is_a_placeholder_not_a_failed_report(tmp_path):
    from browser.served import SYMLINK_ROW, write_hostile_dataset

    path = write_hostile_dataset(tmp_path, rows=40)
    dataset = projector.load(path)
    with pytest.warns(projector.ProjectorWarning, match=rf"'image': 1 media file is missing, empty, unreadable or outside the data root and shows as a grey placeholder \(row {SYMLINK_ROW}\)"):
        written = dataset.save_html(tmp_path / "report.html", "pca")
    assert written.stat().st_size > 0 and b"secret" not in written.read_bytes()


def test_a_missing_an_empty_and_an_unreadable_image_do_not_fail_an_export(tmp_path, capsys):
    from projector.cli import main

    from browser.served import png_bytes

    (tmp_path / "imgs").mkdir()
    paths = []
    for i in range(50):
        name = f"imgs/{i}.png"
        (tmp_path / name).write_bytes(png_bytes((10 * (i % 20), 100, 150)))
        paths.append(name)
    paths[7] = "imgs/missing.png"
    paths[9] = ""
    (tmp_path / "imgs/11.png").write_bytes(png_bytes((0, 0, 0))[:40])  # truncated: unreadable
    vectors = np.random.default_rng(0).standard_normal((50, 6)).astype(np.float32)
    table = pa.table({"emb": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), 6), "image": paths})
    pq.write_table(table, tmp_path / "data.parquet")
    assert main(["export", str(tmp_path / "data.parquet"), "-o", str(tmp_path / "r.html"), "--method", "pca"]) == 0
    err = capsys.readouterr().err
    assert err.count("3 media files are missing, empty, unreadable or outside the data root and show as grey placeholders (rows 7, 9, 11)") == 1
    assert err.count("projector: warning:") == 1, err  # one warning for all three
