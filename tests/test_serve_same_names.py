"""`projector serve a/texts.csv b/texts.csv --text text`: inputs of the same file name, embedded
into serve's temp folder, each keep their own rows and their own page.

The packaged MiniLM embeds a few short texts per file.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from pyarrow import csv

import projector
from projector.cli import main
from projector.embedding import embed_files

pytestmark = pytest.mark.usefixtures("private_cache")

TEXTS = {
    "a": ["my refund never arrived", "please return my money", "I was charged twice", "cancel my subscription", "where is my invoice"],
    "b": ["the striker scored twice", "the match ended in a draw", "the goalkeeper saved a penalty", "extra time was played"],
    "c": ["rain all afternoon", "a sunny morning", "snow in the hills", "a windy night"],
    "x/b": ["whisk the eggs", "fold in the flour", "bake for twenty minutes", "let it cool"],
}


def _csv(folder: Path, name: str, texts: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    csv.write_csv(pa.table({"text": texts}), folder / name)
    return folder / name


def test_same_named_inputs_are_embedded_side_by_side(tmp_path):
    names = {"a": "texts.csv", "b": "texts.csv", "c": "TEXTS.csv", "x/b": "texts.csv"}  # TEXTS.csv: some file systems ignore case
    inputs = [_csv(tmp_path / folder, name, TEXTS[folder]) for folder, name in names.items()]
    out = tmp_path / "scratch"
    paths, options = embed_files([str(path) for path in inputs], out, text="text", device="cpu")
    assert paths == [str(out / "texts.parquet"), str(out / "b" / "texts.parquet"), str(out / "c" / "TEXTS.parquet"), str(out / "b-2" / "texts.parquet")]
    for path, folder in zip(paths, names):
        assert projector.load(path, **options).table.column("text").to_pylist() == TEXTS[folder]


def test_serve_serves_each_same_named_input_with_its_own_rows(tmp_path, monkeypatch):
    import projector.app.server as server
    from projector.app.pending import Preparing

    pages: list[str] = []
    served: list = []

    def stand_in(sources, **options):  # what the server would serve: a page per name
        if isinstance(sources, Preparing):  # the embedding took longer than serve waits for a cache hit
            pages.extend(sources.names)
            assert sources.job.wait(120), sources.job.describe()
            sources = sources.sources()
        else:
            pages.extend(source.name for source in sources)
        served.extend(sources)
        return True

    monkeypatch.setattr(server, "serve", stand_in)
    a, b = _csv(tmp_path / "a", "texts.csv", TEXTS["a"]), _csv(tmp_path / "b", "texts.csv", TEXTS["b"])
    assert main(["serve", str(a), str(b), "--text", "text", "--method", "none", "--no-open", "--port", "0", "--device", "cpu"]) == 0
    assert pages == ["texts", "texts-2"] == [store.name for store in served], "each page shows the dataset of its name"
    from projector.app.shell import Session

    header = Session(served[0], others=pages).header.object
    assert 'href="./texts-2"' in header, "the first page links the second"
    assert "/b/texts.parquet</span>" in Session(served[1], others=pages).header.object, "the second says which folder it came from"
    for store, folder in zip(served, "ab"):
        assert store.dataset.table.column("text").to_pylist() == TEXTS[folder]
        assert store.num_rows == len(TEXTS[folder]) and store.dataset.vector_columns == ("embedding",)
        store.close()


def test_a_subfolder_never_takes_the_name_of_a_file_written_or_to_come(tmp_path):
    from projector.embedding.sources import _handed_over

    taken: set[str] = set()
    where = [_handed_over(tmp_path, Path(source), taken).relative_to(tmp_path).as_posix() for source in ("a/texts.csv", "texts.parquet/texts.csv", "x.parquet/texts.csv", "q/x.csv")]
    assert where == ["texts.parquet", "texts.parquet-2/texts.parquet", "x.parquet/texts.parquet", "q/x.parquet"]
