"""`projector serve PATH --model M`: the page searches embeddings brought without a record of
their model by meaning with M (DataStore.search_model), as `projector search --model` does.

The packaged MiniLM embeds hand-written sentences (tests/meaning_data.py); the Parquet written
holds the vectors but not the record `projector embed` would have left, as vectors made
elsewhere do. The server is not started: `serve` hands its sources to a stand-in.
"""

from __future__ import annotations

import html
import re

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from projector.app.shell import Session
from projector.cli import main
from projector.embedding import load_text_model, with_model_info
from projector.errors import ProjectorWarning
from meaning_data import SENTENCES, TOPICS, sentence_table

DELIVERY = SENTENCES.index(TOPICS["delivery"])
pytestmark = pytest.mark.usefixtures("private_cache")


@pytest.fixture(scope="module")
def recorded():
    return sentence_table(load_text_model())


@pytest.fixture
def brought(recorded, tmp_path):
    """MiniLM vectors with no record of their model."""
    path = tmp_path / "brought.parquet"
    pq.write_table(recorded.replace_schema_metadata({}), path)
    return path


@pytest.fixture
def serve(monkeypatch, capsys):
    """``serve(*argv)``: (exit code, the stores `projector serve` would serve, terminal output)."""
    import projector.app.server as server

    def serve(*argv: str):
        served: list = []

        def stand_in(sources, **options):
            served.extend(sources)
            return True

        monkeypatch.setattr(server, "serve", stand_in)
        code = main(["serve", *argv, "--method", "none", "--no-open", "--port", "0"])
        return code, served, capsys.readouterr()

    return serve


def _search(store, query: str, k: int = 3) -> Session:
    session = Session(store)
    session.state.search_meaning = True
    session.state.search_k = k
    session.search.query.value = query
    session.search._submit()
    return session


def _said(session: Session) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", session.search.result.object))


def test_serve_model_makes_brought_embeddings_searchable_by_meaning(brought, serve):
    code, [store], _ = serve(str(brought), "--model", "all-MiniLM-L6-v2")
    assert code == 0 and store.search_model == "all-MiniLM-L6-v2"
    session = _search(store, "my parcel never came")
    assert session.search.panel.visible
    assert DELIVERY in session.state.selection and session.state.selection.size == 3
    first = re.search(r'data-row="(\d+)"', session.search.hits.object)
    assert first and int(first.group(1)) == DELIVERY, "best first"
    assert _said(session).startswith("3 rows nearest in meaning, best first: scores 0.")
    store.close()


def test_without_serve_model_the_page_says_what_to_pass(brought, serve):
    code, [store], _ = serve(str(brought))
    assert code == 0 and store.search_model is None
    session = _search(store, "my parcel never came")
    said = _said(session)
    assert "this data does not record one; name it with `projector serve PATH --model NAME_OR_PATH`" in said, said
    assert session.state.selection.size == 0 and session.search.hits.object == ""
    store.close()


def test_a_model_of_another_dimension_is_an_error_naming_both_sizes(tmp_path, serve):
    import projector

    path = tmp_path / "small.parquet"
    rows = np.random.default_rng(0).standard_normal((len(SENTENCES), 16)).astype(np.float32)
    projector.Dataset.from_arrays({"emb": rows}, {"text": SENTENCES}).to_parquet(path)
    code, [store], _ = serve(str(path), "--model", "all-MiniLM-L6-v2")
    assert code == 0
    session = _search(store, "my parcel never came")
    said = _said(session)
    assert "`projector serve --model all-MiniLM-L6-v2` does not fit this data" in said, said
    assert "384-dimensional" in said and "'emb' holds 16-dimensional" in said
    assert session.state.selection.size == 0
    store.close()


def test_serve_model_wins_over_a_different_recorded_model_with_a_warning(recorded, tmp_path, serve):
    from dataclasses import replace

    from projector.embedding import read_model_info

    other = replace(read_model_info(recorded.schema, "embedding"), name="other-model", revision="0123456789abcdef")
    path = tmp_path / "recorded.parquet"
    pq.write_table(with_model_info(recorded, "embedding", other), path)
    code, [store], said = serve(str(path), "--model", "all-MiniLM-L6-v2")
    assert code == 0
    assert re.search(
        r"projector: warning: recorded: 'embedding' was embedded by 'other-model' \(revision 0123456789abcdef\) but --model "
        r"names 'all-MiniLM-L6-v2' \(revision [0-9a-f]{16}\): searches by meaning embed queries with 'all-MiniLM-L6-v2'",
        said.out,
    ), said.out
    with pytest.warns(ProjectorWarning, match="scores compare two models' vectors"):  # the search says it too
        session = _search(store, "my parcel never came")  # the recorded 'other-model' is on no machine: --model is used
    assert DELIVERY in session.state.selection
    store.close()
    same = tmp_path / "same.parquet"
    pq.write_table(recorded, same)
    code, [store], said = serve(str(same), "--model", "all-MiniLM-L6-v2")
    assert code == 0 and "warning" not in said.out, "the recorded model is the one named: nothing to say"
    store.close()


def test_a_missing_model_folder_fails_before_any_data_is_read(tmp_path, serve):
    code, served, said = serve(str(tmp_path / "no-such.parquet"), "--model", str(tmp_path / "no-model"))
    assert code == 2 and served == []
    assert "is not a folder on this machine" in said.err and "no-such.parquet" not in said.err
