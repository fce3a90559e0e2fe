"""Search by meaning: Dataset.search, its model resolution and errors, and `projector search`.

The packaged all-MiniLM-L6-v2 embeds hand-written sentences (tests/meaning_data.py) and a query;
the assertions are about meaning (the refund sentence answers a refund question), so a broken
model, a wrong index or a wrong score order fails them.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import replace

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from projector import Dataset
from projector.cli import main
from projector.embedding import load_text_model, with_model_info
from projector.errors import ParameterError, ProjectorWarning, SchemaError
from projector.search import query_model, search_rows
from projector.search_results import terminal_safe
from meaning_data import SENTENCES, TOPICS, sentence_table

REAL_TEXT = "/work/shared/fixtures/real-text/pydata_docs_minilm.parquet"


@pytest.fixture(scope="module")
def model():
    return load_text_model()


@pytest.fixture(scope="module")
def table(model):
    return sentence_table(model)


@pytest.fixture
def ds(table):
    return Dataset.from_table(table, text="text", label="kind")


@pytest.mark.parametrize(
    "query, topic",
    [
        ("refund my money", "refund"),
        ("I can't sign in", "password"),
        ("my package is late", "delivery"),
        ("stop charging me every month", "cancel"),
        ("astronomy", "space"),
    ],
)
def test_a_question_finds_the_sentence_that_answers_it(ds, query, topic):
    result = ds.search(query, k=3)
    assert result.column("text")[0].as_py() == TOPICS[topic]
    scores = result.column("score").to_numpy()
    assert (np.diff(scores) <= 0).all(), "best first"
    assert result.num_rows == 3 and result.column_names[-1] == "score"


def test_the_score_is_the_cosine_similarity_of_query_and_row(ds, model):
    result = ds.search("refund my money", k=len(ds))
    query = model.encode(["refund my money"])[0]
    rows = result.column("_row_id").to_numpy()
    vectors = ds.vectors()[rows]
    expected = vectors @ query / np.linalg.norm(vectors, axis=1) / np.linalg.norm(query)
    np.testing.assert_allclose(result.column("score").to_numpy(), expected, atol=1e-5)
    assert result.num_rows == len(SENTENCES)


def test_searches_the_shared_index_and_loads_the_model_once(ds):
    ds.search("weather forecast", k=2)
    index = ds.index(metric="cosine")
    first = query_model(ds)
    ds.search("a football game", k=2)
    assert query_model(ds) is first, "the model is kept on the dataset"
    assert ds.index(metric="cosine") is index, "the column's one index, not a new one"
    assert ("embedding", "cosine") in ds._derived.indexes()


def test_the_recorded_model_travels_through_parquet(ds, tmp_path):
    import projector

    ds.to_parquet(tmp_path / "s.parquet")
    loaded = projector.load(tmp_path / "s.parquet")
    assert loaded.search("bake a cake", k=1).column("text")[0].as_py() == TOPICS["recipe"]


def test_exact_duplicates_all_appear_with_equal_scores_in_row_order(table):
    doubled = pa.concat_tables([table, table.slice(0, 1), table.slice(0, 1)])  # the refund row three times
    ds = Dataset.from_table(doubled)
    result = ds.search("refund my money", k=4)
    rows = result.column("_row_id").to_pylist()
    assert rows[:3] == [0, len(table), len(table) + 1]
    scores = result.column("score").to_numpy()
    assert scores[0] == scores[1] == scores[2] > scores[3]


def test_without_a_recorded_model_the_error_says_to_pass_model(table):
    bare = Dataset.from_table(table.replace_schema_metadata({}))
    with pytest.raises(SchemaError, match=r"'embedding' has no record of the model.*pass model="):
        bare.search("refund")
    assert bare.search("refund my money", k=1, model="all-MiniLM-L6-v2").column("kind")[0].as_py() == "refund"


def test_a_dimension_mismatch_names_both_dimensions():
    ds = Dataset.from_arrays(np.random.default_rng(0).standard_normal((20, 16)).astype(np.float32))
    with pytest.raises(SchemaError, match=r"all-MiniLM-L6-v2' makes 384-dimensional vectors but 'embedding' holds 16-dimensional"):
        ds.search("anything", model="all-MiniLM-L6-v2")


def test_a_model_that_is_not_on_this_machine_is_a_clear_error(table, model):
    moved = replace(model.info, name="my-model", path="/nowhere/my-model")
    with pytest.raises(SchemaError, match=r"embedded by 'my-model' from '/nowhere/my-model', which is not on this machine; pass model="):
        Dataset.from_table(with_model_info(table, "embedding", moved)).search("refund")


def test_another_model_than_the_recorded_one_is_a_warning(table, model):
    other = replace(model.info, revision="0" * 16)
    ds = Dataset.from_table(with_model_info(table, "embedding", other))
    with pytest.warns(ProjectorWarning, match=r"revision 0{16}.*scores compare two models' vectors"):
        ds.search("refund my money", k=1)


def test_bad_queries_and_k_are_refused_before_any_work(ds):
    with pytest.raises(ParameterError, match=r"query='  ': search by meaning needs some words"):
        ds.search("  ")
    with pytest.raises(ParameterError, match=r"k=0"):
        search_rows(ds, "refund", 0)


def test_a_data_column_named_score_is_kept(table):
    ds = Dataset.from_table(table.append_column("score", pa.array(np.arange(table.num_rows, dtype=np.float64))))
    result = ds.search("refund my money", k=2)
    assert result.column("score").to_pylist()[0] == 0.0
    assert result.column("search_score")[0].as_py() > 0.5


def test_real_docstrings_are_found_by_meaning():
    import projector

    docs = projector.load(REAL_TEXT)
    found = docs.search("read a csv file into a dataframe", k=3, model="all-MiniLM-L6-v2").column("name").to_pylist()
    assert "pandas.read_csv" in found
    found = docs.search("eigenvalues of a square matrix", k=10, model="all-MiniLM-L6-v2").column("name").to_pylist()
    assert "numpy.linalg.eigvals" in found


# -- the command --------------------------------------------------------------------------------


@pytest.fixture
def parquet(table, tmp_path):
    hostile = table.append_column("note", pa.array([f"note \x1b[2J\x07{i}\r\u202eevil" for i in range(table.num_rows)]))
    hostile = hostile.append_column("thumb", pa.array([b"\x89PNG"] * table.num_rows, pa.binary()))
    pq.write_table(hostile, tmp_path / "s.parquet")
    return tmp_path / "s.parquet"


def test_cli_json_lists_rows_without_vectors_or_bytes(parquet, capsys):
    assert main(["search", str(parquet), "refund my money", "-k", "2", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["kind"] for row in rows][0] == "refund" and len(rows) == 2
    assert set(rows[0]) == {"text", "kind", "note", "_row_id", "score"}
    assert rows[0]["note"].startswith("note \x1b[2J"), "JSON keeps the data as it is (json escapes it)"


def test_cli_table_shows_data_as_inert_text(parquet, capsys):
    assert main(["search", str(parquet), "my parcel is lost", "-k", "3"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["score", "text", "kind"] and "embedding" not in out and "thumb" not in out
    assert "delivery" in lines[2]
    assert "\x1b" not in out and "\x07" not in out and "\r" not in out and "\u202e" not in out
    assert "\\x1b[2J\\x07" in out and "\\u202e" in out


def test_cli_errors_name_the_way_out(table, tmp_path, capsys):
    pq.write_table(table.replace_schema_metadata({}), tmp_path / "bare.parquet")
    assert main(["search", str(tmp_path / "bare.parquet"), "refund"]) == 2
    assert "pass model= (--model)" in capsys.readouterr().err
    assert main(["search", str(tmp_path / "bare.parquet"), "refund", "--model", str(tmp_path / "none")]) == 2
    assert "is not a folder on this machine" in capsys.readouterr().err


def test_terminal_safe_escapes_controls_and_cuts_long_values():
    assert terminal_safe("a\tb\nc\x1bd\u200fe") == "a b c\\x1bd\\u200fe"
    assert terminal_safe("x" * 100, 10) == "x" * 9 + "…"


# -- the page -----------------------------------------------------------------------------------


def _session(table):
    from projector.app.shell import Session
    from projector.explore.store import DataStore

    store = DataStore(Dataset.from_table(table, text="text", label="kind"), name="sentences")
    store.project("pca")
    return Session(store)


def test_the_page_searches_by_meaning_selects_and_lists_ranked_hits(table, private_cache):
    session = _session(table.append_column("note", pa.array(["<b>x</b>"] * table.num_rows)))
    session.state.search_meaning = True
    session.state.search_k = 3
    session.search.query.value = "my parcel never came"
    session.search._submit()
    assert session.search.k.visible
    assert session.state.selection.size == 3 and 2 in session.state.selection  # the delivery sentence
    assert "3 rows nearest in meaning, best first: scores 0." in session.search.result.object
    hits = session.search.hits.object
    items = hits.split("<li ")[1:]
    assert len(items) == 3 and hits.startswith('<ol class="projector-meaning-hits"')
    assert 'data-row="2"' in items[0] and "where is my delivery" in items[0], "best first"
    from projector.explore.meaning import hits_html, search_by_meaning

    listed = hits_html(search_by_meaning(session.store.dataset, "parcel", 2), session.store.rows, "note")
    assert "&lt;b&gt;x&lt;/b&gt;" in listed and "<b>" not in listed, "data is text, never markup"
    session.state.search_meaning = False
    session.search.query.value = "parcel"
    session.search._submit()
    assert session.state.selection.tolist() == [2] and session.search.hits.object == ""


def test_the_page_says_why_it_cannot_search_by_meaning(table, private_cache):
    session = _session(table.replace_schema_metadata({}))
    session.state.search_meaning = True
    session.search.query.value = "refund"
    session.search._submit()
    assert "does not record one; name it with `projector serve PATH --model NAME_OR_PATH`" in session.search.result.object
    assert "or embed the texts with `projector embed`" in session.search.result.object
    assert session.state.selection.size == 0
    from projector.embedding.record import MODELS_KEY
    from projector.explore.meaning import meaning_unavailable

    damaged = Dataset.from_table(table.replace_schema_metadata({MODELS_KEY: b"{not json"}))
    assert "metadata is not JSON" in meaning_unavailable(damaged)
