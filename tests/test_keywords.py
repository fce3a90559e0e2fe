"""Cluster names: c-TF-IDF keywords from the members' own texts, or the majority label."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from projector.keywords import keyword_labels, majority_labels

FIXTURES = Path(os.environ.get("PROJECTOR_FIXTURES", Path(__file__).resolve().parents[2] / "shared" / "fixtures"))
REAL_TEXT = FIXTURES / "real-text" / "pydata_docs_minilm.parquet"


def test_keywords_name_what_sets_a_cluster_apart_without_stop_words():
    texts = [
        "the matrix inverse of a matrix", "a matrix determinant and the inverse", "matrix rank of the matrix",
        "the dataframe groupby column", "a column of the dataframe", "groupby on a dataframe column",
    ]
    names = keyword_labels(np.array([0, 0, 0, 1, 1, 1]), texts)
    assert names[0].split(" · ")[0] == "matrix" and "inverse" in names[0]
    assert names[1].split(" · ")[0] in {"dataframe", "column"} and "groupby" in names[1]
    for name in names:
        assert not {"the", "a", "of", "and", "on"} & set(name.split(" · "))
        assert len(name.split(" · ")) == 3


@pytest.mark.parametrize("sample", [50_000, 500])
def test_every_keyword_comes_from_the_clusters_own_members(sample):
    rng = np.random.default_rng(0)
    table = pq.read_table(REAL_TEXT, columns=["text", "package"]).slice(0, 1500)
    texts = table.column("text").to_pylist()
    labels = rng.integers(-1, 12, size=len(texts))  # arbitrary clusters, some rows in none
    names = keyword_labels(labels, texts, sample=sample)  # 500: a sample of each cluster's texts
    assert len(names) == 12
    for c, name in enumerate(names):
        members = " ".join(texts[i] for i in np.flatnonzero(labels == c)).lower()
        for word in name.split(" · "):
            assert word in members, (c, word)


def test_a_cluster_of_only_stop_words_or_empty_texts_gets_a_plain_name():
    assert keyword_labels(np.array([0, 0, 1]), ["the and of", None, "a the"]) == ["cluster 0", "cluster 1"]
    assert keyword_labels(np.array([0, 1, 1]), ["the of", "spline knots", "spline fit"])[0] == "cluster 0"


def test_hostile_text_stays_plain_text():
    texts = ['<script>alert("x")</script> payload', "<script>alert('y')</script> payload", "quiet numbers"]
    names = keyword_labels(np.array([0, 0, 1]), texts)
    assert "script" in names[0] and "&lt;" not in names[0]
    majority = majority_labels(np.array([0, 0, 0]), ['<b>"bold"</b>', '<b>"bold"</b>', "x"])
    assert majority == ['<b>"bold"</b> · 67%']


def test_majority_label_gives_the_share():
    values = ["7"] * 24 + ["1"] + [None]
    assert majority_labels(np.array([0] * 25 + [-1]), values) == ["7 · 96%"]


@pytest.mark.parametrize("empty", [np.array([], dtype=int), np.array([-1, -1])])
def test_no_clusters_no_names(empty):
    assert keyword_labels(empty, ["x"] * len(empty)) == []
    assert majority_labels(empty, ["x"] * len(empty)) == []
