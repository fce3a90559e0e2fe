"""projector.validation: one wording for every shared check, and every check a ParameterError."""

from __future__ import annotations

import numpy as np
import pytest

from projector.errors import ParameterError, ProjectorError
from projector.validation import (
    METHOD_NAMES,
    METHODS,
    METRICS,
    check_choice,
    check_coords,
    check_k,
    check_method,
    check_metric,
    check_whole,
    method_name,
    method_names_text,
    method_options,
    one_of,
)


def test_parameter_error_is_a_value_error_and_a_projector_error():
    assert issubclass(ParameterError, ValueError) and issubclass(ParameterError, ProjectorError)


def test_method_names_for_people():
    assert [method_name(m) for m in METHODS] == ["PCA", "UMAP", "t-SNE"]
    assert method_name("identity") == "as is" and method_name("mystery") == "mystery"
    assert method_options() == {"PCA": "pca", "UMAP": "umap", "t-SNE": "tsne"}
    assert list(method_options(("umap", "tsne", "pca"))) == ["UMAP", "t-SNE", "PCA"]
    assert set(METHODS) < set(METHOD_NAMES)
    assert method_names_text() == "PCA, UMAP or t-SNE"
    assert method_names_text(("umap", "tsne"), last="and") == "UMAP and t-SNE"


def test_one_of_lists_choices_as_a_sentence():
    assert one_of(("a",)) == "'a'"
    assert one_of(METRICS) == "'cosine', 'l2' or 'ip'"
    assert one_of((2, 3)) == "2 or 3"


def test_check_choice_names_parameter_value_choices_and_default():
    assert check_choice("mode", "b", ("a", "b")) == "b"
    with pytest.raises(ParameterError) as info:
        check_choice("mode", "c", ("a", "b"), default="a")
    assert str(info.value) == "mode='c' must be one of 'a' or 'b'; the default is 'a'"
    with pytest.raises(ParameterError, match=r"^mode=\['a'\] must be one of 'a' or 'b'$"):
        check_choice("mode", ["a"], ("a", "b"))  # unhashable values are refused, not a TypeError


def test_check_metric():
    for metric in METRICS:
        assert check_metric(metric) == metric
    with pytest.raises(ParameterError) as info:
        check_metric("euclid")
    assert str(info.value) == "metric='euclid' must be one of 'cosine', 'l2' or 'ip'; the default is 'cosine'"


def test_check_method_with_the_callers_extra_words():
    assert check_method("auto") == "auto" and check_method("tsne") == "tsne"
    with pytest.raises(ParameterError) as info:
        check_method("none")
    assert str(info.value) == "method='none' must be one of 'pca', 'umap', 'tsne' or 'auto'; the default is 'auto'"
    assert check_method("none", also=("auto", "none")) == "none"
    with pytest.raises(ParameterError, match=r"^method='TSNE' must be one of 'pca', 'umap' or 'tsne'; the default is 'pca'$"):
        check_method("TSNE", also=(), default="pca")


def test_check_whole():
    assert check_whole("n", np.int64(4)) == 4 and type(check_whole("n", np.int64(4))) is int
    assert check_whole("step", None, or_none=True) is None
    with pytest.raises(ParameterError) as info:
        check_whole("n", -1, meaning="how many rows to return", default=10)
    assert str(info.value) == "n=-1 must be a whole number >= 0 (how many rows to return); the default is 10"
    with pytest.raises(ParameterError, match=r"^step=1\.5 must be a whole number >= 0, or None$"):
        check_whole("step", 1.5, or_none=True)
    for bad in (True, np.bool_(True), 2.0, "3", None):
        with pytest.raises(ParameterError, match="must be a whole number"):
            check_whole("size", bad, minimum=1)


def test_check_k():
    assert check_k(np.int32(5)) == 5
    with pytest.raises(ParameterError) as info:
        check_k(0)
    assert str(info.value) == "k=0 must be a whole number >= 1 (the number of neighbours); the default is 10"
    with pytest.raises(ParameterError, match="the default is 15$"):
        check_k(True, default=15)


def test_check_coords_accepts_a_map_as_given():
    coords = np.arange(12, dtype=np.float32).reshape(6, 2)
    assert check_coords(coords) is coords
    assert check_coords([[0, 1], [2, 3]]).shape == (2, 2)
    assert check_coords(np.zeros((4, 1))).shape == (4, 1)  # a one-component PCA


def test_check_coords_names_shape_rows_and_the_way_out():
    with pytest.raises(ParameterError) as info:
        check_coords(np.zeros(5), "reference_coords")
    assert str(info.value) == (
        "reference_coords has shape (5,) and dtype float64; expected numbers shaped (N, 2) or (N, 3), "
        "one row of map coordinates per point"
    )
    with pytest.raises(ParameterError, match=r"coords has shape \(1, 2\) .* \(N, 3\) with N >= 2"):
        check_coords(np.zeros((1, 2)), min_rows=2)
    with pytest.raises(ParameterError, match=r"shape \(3, 1\)"):
        check_coords(np.zeros((3, 1)), min_dims=2)
    with pytest.raises(ParameterError, match="dtype <U1"):
        check_coords(np.array([["a", "b"]]))
    bad = np.zeros((6, 2))
    bad[[2, 4], 1] = [np.nan, np.inf]
    assert check_coords(bad, finite=False) is bad
    with pytest.raises(ParameterError) as info:
        check_coords(bad)
    assert str(info.value) == (
        "coords has 2 row(s) with NaN or infinite values, the first at row 2; "
        "a map must place every point: drop those rows or fill them"
    )


def test_callers_share_the_wording():
    """Quality, alignment and run logs raise the checks' own messages, not their own."""
    import projector
    from projector.comparison import align
    from projector.quality import map_knn, projection_quality

    plane = np.random.default_rng(0).standard_normal((20, 3)).astype(np.float32)
    with pytest.raises(ParameterError, match=r"^k=0 must be a whole number >= 1 \(the number of neighbours\)"):
        projection_quality(plane, plane[:, :2], k=0)
    with pytest.raises(ParameterError, match=r"^sample_size=2 must be a whole number >= 3 .*the default is 2000$"):
        projection_quality(plane, plane[:, :2], sample_size=2)
    with pytest.raises(ParameterError, match=r"^coords has shape \(20,\)"):
        map_knn(plane[:, 0], 3)
    with pytest.raises(ParameterError, match=r"^reference_coords has shape \(1, 2\) .*with N >= 2"):
        align(np.zeros((1, 2)), np.zeros((1, 2)))
    with pytest.raises(ParameterError, match=r"^step=-1 must be a whole number >= 0 \(a training step or epoch\), or None$"):
        projector.log("unused", plane, step=-1)


def test_check_whole_with_a_maximum():
    assert check_whole("size", 512, minimum=8, maximum=512) == 512
    with pytest.raises(ParameterError) as info:
        check_whole("size", 513, minimum=8, maximum=512, meaning="pixels", default=128)
    assert str(info.value) == "size=513 must be a whole number in [8, 512] (pixels); the default is 128"
