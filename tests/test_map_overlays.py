"""One way to ask for a map's overlays, served to the image export and the reports alike:
``overlays=True`` computes cluster labels (named by their members) and density contours."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest

import projector
from projector.errors import ParameterError
from projector import demo as digits_dataset
from projector.explore.map_overlays import map_overlays, overlay_kinds, resolve_overlays
from projector.explore.overlays import MapLabel, Overlays


@pytest.fixture(scope="module")
def digits():
    ds = digits_dataset()
    return ds, ds.project("pca", cache=False, quality=False)


def test_the_kinds_asked_for_are_read_once_and_checked():
    assert overlay_kinds(True) == ("labels", "contours")
    assert overlay_kinds(["contours"]) == ("contours",) and overlay_kinds("labels") == ("labels",)
    assert overlay_kinds(None) == () and overlay_kinds(False) == ()
    with pytest.raises(ParameterError, match=r"overlays='clusters' must be True, False, 'labels', 'contours'"):
        overlay_kinds("clusters")


def test_labels_name_the_clusters_and_contours_outline_the_map(digits):
    ds, pca = digits
    overlays, clusters = map_overlays(ds, pca)
    assert clusters is not None and clusters.count >= 5
    fine = [label for label in overlays.labels if label.level == max(item.level for item in overlays.labels)]
    assert len(fine) == clusters.count
    assert {label.text for label in fine} == set(clusters.names)  # "7 · 96%": the majority digit
    assert any(label.text.split(" · ")[0] in "0123456789" for label in fine)
    assert overlays.contours and all(len(contour.paths) for contour in overlays.contours)
    only, none = map_overlays(ds, pca, ("contours",))
    assert not only.labels and only.contours and none is None
    given = Overlays(labels=(MapLabel(0.0, 0.0, "mine", 10),))
    assert resolve_overlays(given, ds, pca) is given and resolve_overlays(None, ds, pca) is None


def test_images_and_reports_draw_what_overlays_true_computes(tmp_path, digits):
    ds, pca = digits
    png = ds.save_image(tmp_path / "map.svg", pca, overlays=True)
    svg = png.read_text(encoding="utf-8")
    assert "paint-order" in svg and "<polyline" in svg  # haloed labels and contour lines
    report = projector.Report().map(ds, pca, overlays="labels")
    html = report.html()
    _, clusters = map_overlays(ds, pca, ("labels",))
    assert all(json.dumps(name)[1:-1] in html for name in clusters.names[:3])  # in the document's JSON
    coords = ds.table.append_column("x", pa.array(pca.coords[:, 0])).append_column("y", pa.array(pca.coords[:, 1]))
    plain = projector.Dataset.from_table(coords, vector="pixels", label="label")
    with pytest.raises(ParameterError, match="overlays= needs a map projector computed"):
        projector.Report().map(plain, x="x", y="y", overlays=True)


# -- contours per category: {"contours": COLUMN} ------------------------------------------------

HOSTILE = "<img src=x onerror=alert(1)>"


def test_a_column_for_contours_is_read_from_the_one_spec():
    from projector.explore.map_overlays import contours_column

    assert overlay_kinds({"contours": "label"}) == ("contours",) and contours_column({"contours": "label"}) == "label"
    assert overlay_kinds({"labels": True, "contours": "label"}) == ("labels", "contours")
    assert overlay_kinds({"labels": True, "contours": False}) == ("labels",) and contours_column({"contours": True}) is None
    assert contours_column(True) is None and contours_column("contours") is None
    with pytest.raises(ParameterError, match=r"'contour' is not a kind of overlay"):
        overlay_kinds({"contour": "label"})
    with pytest.raises(ParameterError, match=r"'labels' takes True or False .* got 'label'"):
        overlay_kinds({"labels": "label"})


def test_each_top_category_gets_lines_named_and_coloured_as_its_legend(digits):
    from projector.explore.map_overlays import CATEGORY_LEVELS, TOP_CATEGORIES
    from projector.image.export import dataset_colors

    ds, pca = digits
    contours = resolve_overlays({"contours": "label"}, ds, pca).contours
    legend = dataset_colors(ds, "label").legend
    top = [entry.name for entry in legend[:TOP_CATEGORIES]]  # the most frequent digits, as the legend orders them
    assert [c.category for c in contours] == [name for name in top for _ in CATEGORY_LEVELS]
    assert {c.category: c.color for c in contours} == {entry.name: entry.color for entry in legend[:TOP_CATEGORIES]}
    labels = np.asarray(ds.table.column("label").to_pylist()).astype(str)
    span = np.ptp(pca.coords[:, :2], axis=0).mean()
    for contour in contours:
        assert contour.paths  # every top digit is outlined
        if contour.level == CATEGORY_LEVELS[0]:  # its core lies around its own points, not the map's middle
            centre = np.median(pca.coords[labels == contour.category, :2], axis=0)
            assert np.linalg.norm(np.concatenate(contour.paths) - centre, axis=1).min() < span / 4
    fewer, _ = map_overlays(ds, pca, ("contours",), contours_by="label", top=2)
    assert [c.category for c in fewer.contours][:: len(CATEGORY_LEVELS)] == top[:2]


def test_contours_by_names_a_missing_or_unfit_column_and_the_way_out(digits):
    from projector.errors import SchemaError

    ds, pca = digits
    with pytest.raises(SchemaError, match=r"no column 'lable' to outline .*columns: \['id', 'pixels', 'image', 'label', 'ink'\]"):
        resolve_overlays({"contours": "lable"}, ds, pca)
    with pytest.raises(SchemaError, match="an embedding column has no categories"):
        resolve_overlays({"contours": "pixels"}, ds, pca)
    with pytest.raises(SchemaError, match=r"'ink'.*holds numbers, not categories.*label columns: \['label'\]"):
        resolve_overlays({"contours": "ink"}, ds, pca)


def _hostile_digits(ds):
    """The digits with every 3 relabelled as markup: a category name from data that must stay text."""
    labels = [HOSTILE if str(value) == "3" else value for value in ds.table.column("label").to_pylist()]
    table = ds.table.set_column(ds.table.column_names.index("label"), "label", pa.array([str(v) for v in labels]))
    return projector.Dataset.from_table(table, vector="pixels", label="label", image="image")


def test_images_and_reports_draw_category_contours_in_legend_colours_and_names_stay_text(tmp_path, digits):
    import xml.etree.ElementTree as ET

    ds, pca = digits
    hostile = _hostile_digits(ds)
    expected = resolve_overlays({"contours": "label"}, hostile, pca).contours
    assert HOSTILE in {c.category for c in expected}
    svg = hostile.save_image(tmp_path / "map.svg", pca, overlays={"contours": "label"}).read_text(encoding="utf-8")
    root = ET.fromstring(svg)  # well-formed: the markup in a category is escaped text
    lines = {el.get("stroke") for el in root.iter() if el.tag.endswith("polyline")}
    assert {c.color for c in expected} <= lines and "#3a3a3a" not in lines  # each category's colour, no all-points grey
    assert "<img" not in svg and HOSTILE in "".join(root.itertext())  # the legend names it, as text
    png = hostile.save_image(tmp_path / "map.png", pca, overlays={"contours": "label"})
    plain = hostile.save_image(tmp_path / "plain.png", pca)
    assert png.read_bytes() != plain.read_bytes()
    report = projector.Report().map(hostile, pca, color_by="label", overlays={"labels": False, "contours": "label"})
    drawn = [r.glyph.line_color for block in report._blocks for r in block.select({"name": "projector-contours"})]
    assert sorted(drawn) == sorted(dict.fromkeys(c.color for c in expected)), (drawn, expected)  # one multi_line per category, in its colour
    html = report.html()
    assert "<img src=x" not in html and json.dumps(HOSTILE)[1:-1].replace("<", "\\u003c") in html  # a legend entry, as text
