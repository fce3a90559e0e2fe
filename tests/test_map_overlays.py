"""One way to ask for a map's overlays, served to the image export and the reports alike:
``overlays=True`` computes cluster labels (named by their members) and density contours."""

from __future__ import annotations

import json

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
