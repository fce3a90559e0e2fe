"""Custom axes: ds.project("custom", x=(A, B), y=(C, D)) with text, category and row ends.

The packaged MiniLM embeds hand-written reviews (tests/meaning_data.py): an axis from
"negative review" to "positive review" must order terrible < okay < wonderful, which fails for a
wrong direction, a wrong space or a wrong end.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from projector import Dataset
from projector.embedding import load_text_model
from projector.errors import ParameterError
from projector.explore.store import DataStore
from projector.image.export import footer_text
from projector.projection import PROVENANCE_KEY
from projector.reduce.custom_axes import REST_TITLE, end_from_text, end_title
from projector.reduce.params import CustomParams
from meaning_data import REVIEWS, TOPICS, sentence_table

FIRST_REVIEW = len(TOPICS)  # reviews follow the topic sentences
SENTIMENT = np.array([rank for rank, _ in REVIEWS])


@pytest.fixture(scope="module")
def ds():
    return Dataset.from_table(sentence_table(load_text_model()), text="text", label="kind")


def _cosine_space(ds):
    vectors = ds.vectors()
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_a_text_axis_orders_reviews_by_sentiment(ds):
    projection = ds.project("custom", x=("negative review", "positive review"), quality=False)
    x = projection.coords[FIRST_REVIEW:, 0]
    means = [x[SENTIMENT == rank].mean() for rank in range(3)]
    assert means[0] < means[1] < means[2], means
    assert x[SENTIMENT == 0].max() < x[SENTIMENT == 2].min(), "every terrible review left of every wonderful one"
    assert np.corrcoef(np.argsort(np.argsort(x)), SENTIMENT)[0, 1] > 0.7


def test_category_ends_are_centroids_at_zero_and_the_distance_between_them(ds):
    terrible, wonderful = {"column": "kind", "value": "terrible"}, {"column": "kind", "value": "wonderful"}
    projection = ds.project("custom", x=(terrible, wonderful), y=([0], [1, 2]), quality=False)
    space = _cosine_space(ds)
    kinds = np.array(ds.table.column("kind").to_pylist())
    a, b = space[kinds == "terrible"].mean(0), space[kinds == "wonderful"].mean(0)
    x = projection.coords[:, 0]
    assert x[kinds == "terrible"].mean() == pytest.approx(0.0, abs=1e-5)
    assert x[kinds == "wonderful"].mean() == pytest.approx(np.linalg.norm(b - a), abs=1e-5)
    np.testing.assert_allclose(x, (space - a) @ ((b - a) / np.linalg.norm(b - a)), atol=1e-5)
    y = projection.coords[:, 1]
    c, d = space[0], space[[1, 2]].mean(0)
    np.testing.assert_allclose(y, (space - c) @ ((d - c) / np.linalg.norm(d - c)), atol=1e-5)


def test_without_y_the_y_axis_is_the_top_component_of_what_x_leaves(ds):
    projection = ds.project("custom", x=([0], [1]), quality=False)
    space = _cosine_space(ds).astype(np.float64)
    unit = (space[1] - space[0]) / np.linalg.norm(space[1] - space[0])
    rest = space - np.outer(space @ unit, unit)
    rest -= rest.mean(0)
    top = np.linalg.svd(rest, full_matrices=False)[2][0]
    y = projection.coords[:, 1].astype(np.float64)
    assert abs(np.corrcoef(y, rest @ top)[0, 1]) > 0.9999
    assert abs(np.corrcoef(y, space @ unit)[0, 1]) < 0.9, "y is not the x axis again"
    assert projection.provenance["axis_titles"][1] == REST_TITLE


def test_the_projection_records_its_ends_and_names_its_axes(ds):
    ends = ("negative review", {"column": "kind", "value": "wonderful"})
    projection = ds.project("custom", x=ends, y=([3, 1, 3], "football"))
    assert projection.method == "custom" and projection.columns == ["custom_x", "custom_y"]
    assert projection.params["x"] == ends and projection.params["y"] == ([1, 3], "football")
    assert projection.quality is not None and 0 < projection.quality.trustworthiness <= 1
    titles = ["negative review → kind=wonderful", "2 rows (1, 3) → football"]
    assert projection.provenance["axis_titles"] == titles
    saved = json.loads(projection.to_table(ds.table).schema.metadata[PROVENANCE_KEY])
    assert saved["params"]["x"] == ["negative review", {"column": "kind", "value": "wonderful"}]
    entry = DataStore(ds).add_projection(projection)
    assert entry.axis_names == tuple(titles) and entry.axis_labels() == titles
    assert entry.key == f"custom axes of embedding ({titles[0]}; {titles[1]})"
    assert "x: negative review → kind=wonderful; y: 2 rows (1, 3) → football" in footer_text(projection)


def test_a_report_draws_a_custom_map_with_its_axis_titles(ds, tmp_path):
    from projector.report import Report

    projection = ds.project("custom", x=("sad", "happy"), y=("indoors", "outdoors"), quality=False)
    page = Report("custom").map(ds, projection, color_by="kind").save(tmp_path / "r.html").read_text(encoding="utf-8")
    for title in ("sad \\u2192 happy", "indoors \\u2192 outdoors"):
        assert title in page or title.replace("\\u2192", "→") in page


@pytest.mark.parametrize(
    "options, message",
    [
        ({}, r"custom: x= is required"),
        ({"x": "negative"}, r"custom: x='negative' must be two ends \(A, B\)"),
        ({"x": ("a", "b", "c")}, r"must be two ends"),
        ({"x": ("bad", "  ")}, r"custom: x end B is an empty query"),
        ({"x": ("a", "b"), "y": ({"col": "kind"}, "b")}, r"custom: y end C=\{'col': 'kind'\} must be \{'column': NAME, 'value': VALUE\}"),
        ({"x": ("a", 1.5)}, r"custom: x end B=1.5 must be a text query \(str\)"),
        ({"x": ("a", [])}, r"x end B=\[\] must be a text query"),
        ({"x": ([0], [99])}, r"custom: x end B names row 99; rows are positions 0 to 20"),
        ({"x": ({"column": "kind", "value": "meh"}, "b")}, r"x end A: no row has kind='meh'; some values of 'kind': \["),
        ({"x": ({"column": "nope", "value": "a"}, "b")}, r"x end A names column 'nope', which is not a data column"),
        ({"x": ([2, 5], [5, 2])}, r"custom: x ends '2 rows \(2, 5\)' and '2 rows \(2, 5\)' are the same point"),
        ({"x": ("a", "b"), "metric": "ip"}, r"custom: metric='ip' must be one of"),
        ({"x": ("a", "b"), "ends": 1}, r"custom: unknown parameter 'ends'"),
    ],
)
def test_bad_ends_are_errors_that_name_the_end(ds, options, message):
    with pytest.raises(ParameterError, match=message):
        ds.project("custom", quality=False, **options)


def test_l2_measures_the_vectors_as_they_are():
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((30, 5)).astype(np.float32) * 3
    ds = Dataset.from_arrays(vectors)
    projection = ds.project("custom", x=([0], [1]), y=([2], [3]), metric="l2", quality=False)
    unit = (vectors[1] - vectors[0]) / np.linalg.norm(vectors[1] - vectors[0])
    np.testing.assert_allclose(projection.coords[:, 0], (vectors - vectors[0]) @ unit, atol=1e-4)
    assert projection.coords[1, 0] == pytest.approx(np.linalg.norm(vectors[1] - vectors[0]), rel=1e-5)


def test_form_text_becomes_an_end_and_ends_have_titles():
    assert end_from_text("kind=okay", ["text", "kind"]) == {"column": "kind", "value": "okay"}
    assert end_from_text(" kind = very good ", ["kind"]) == {"column": "kind", "value": "very good"}
    assert end_from_text("e=mc2 is famous", ["kind"]) == "e=mc2 is famous"
    assert end_from_text("kind=", ["kind"]) == "kind="
    assert [end_title(e) for e in ("q", {"column": "c", "value": 1}, [4], [1, 2, 3, 4])] == ["q", "c=1", "row 4", "4 rows (1, 2, 3, …)"]
    assert CustomParams().to_dict() == {"x": None, "y": None, "metric": "cosine", "model": None}


def test_the_page_computes_a_custom_map_from_four_ends(ds, private_cache):
    from projector.app.shell import Session

    store = DataStore(ds, name="sentences")
    store.project("pca")
    session = Session(store)
    controls = session.map_controls
    controls.method.value = "custom axes"
    assert controls.params.visible and not controls.tune.visible
    ends = controls._ends.ends
    ends["x0"].value, ends["x1"].value = "kind=terrible", ""
    controls._start()
    assert "&#x27;x to&#x27; is empty; give both ends of x" in controls.status.object and controls.job is None
    ends["x1"].value = "a wonderful review"
    controls._start()
    controls.job.wait(120)
    controls.poll()
    assert controls.job.state == "done", controls.job.describe()
    entry = store.map(session.state.map_key)
    assert entry.method == "custom" and entry.axis_names == ("kind=terrible → a wonderful review", REST_TITLE)
    assert entry.projection.params["x"] == ({"column": "kind", "value": "terrible"}, "a wonderful review")
    controls.method.value = "UMAP"
    assert controls.tune.visible and not controls.params.visible
