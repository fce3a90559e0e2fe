"""`projector embed`, and serve/project/export on a CSV of texts without vectors (--text COL).

Most runs use a tiny random CLIP (built in tmp_path, loads at once; CLIP embeds texts too);
one uses the packaged MiniLM, the default model."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import projector
from projector.cli import main
from projector.embedding import read_embedding_record, read_model_info
from test_embed import TEXTS, tiny_clip_folder


@pytest.fixture(scope="module")
def clip_folder(tmp_path_factory) -> Path:
    return tiny_clip_folder(tmp_path_factory.mktemp("models") / "tiny-clip")


@pytest.fixture
def texts_csv(tmp_path) -> Path:
    path = tmp_path / "texts.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "topic"])
        writer.writerows((text, ["refund", "crash", "login"][i // 2]) for i, text in enumerate(TEXTS))
    return path


def test_embed_writes_the_table_with_the_model_in_its_metadata(texts_csv, tmp_path, capsys, private_cache):
    out = tmp_path / "out.parquet"
    assert main(["embed", str(texts_csv), "--text", "text", "-o", str(out), "--quiet"]) == 0
    assert "wrote" in capsys.readouterr().out
    table = pq.read_table(out)
    assert table.column_names[:2] == ["text", "topic"] and table.schema.field("embedding").type.list_size == 384
    info = read_model_info(table.schema, "embedding")
    assert (info.name, info.dim, info.normalized) == ("all-MiniLM-L6-v2", 384, True) and len(info.revision) == 16
    dataset = projector.load(out)
    assert dataset.vector_columns == ("embedding",) and dataset.vectors().shape == (len(TEXTS), 384)
    assert main(["embed", str(texts_csv), "--text", "text", "-o", str(out)]) == 2
    assert "exists; pass --overwrite" in capsys.readouterr().err
    assert main(["embed", str(texts_csv), "--text", "text", "-o", str(out), "--overwrite", "--quiet", "--column", "vec"]) == 0
    assert read_model_info(pq.read_table(out).schema, "vec").revision == info.revision


def test_embed_with_a_local_folder_model(texts_csv, clip_folder, tmp_path, private_cache, capfd):
    out = tmp_path / "out.parquet"
    assert main(["embed", str(texts_csv), "--text", "text", "--model", str(clip_folder), "--batch-size", "2", "-o", str(out), "--quiet"]) == 0
    assert "Loading weights" not in capfd.readouterr().err  # the library's own loading bar is kept quiet
    record = read_embedding_record(pq.read_table(out).schema, "embedding")
    assert (record["name"], record["kind"], record["dim"], record["input"]) == ("tiny-clip", "clip", 8, {"text": "text"})


def test_project_and_export_embed_a_table_without_vectors_first(texts_csv, clip_folder, tmp_path, capsys, private_cache, monkeypatch):
    import projector.embedding.table as table_module

    model = ["--model", str(clip_folder), "--text", "text"]
    out = tmp_path / "map.parquet"
    assert main(["project", str(texts_csv), "-o", str(out), "--method", "pca", "--quiet", *model]) == 0
    table = pq.read_table(out)
    assert {"embedding", "pca_x", "pca_y", "text", "topic"} <= set(table.column_names)
    assert read_model_info(table.schema, "embedding").kind == "clip"
    # the embedding is cached now: export finds it without loading the model
    monkeypatch.setattr(table_module, "load_model", lambda *a, **k: pytest.fail("the model was loaded again"))
    image = tmp_path / "map.png"
    assert main(["export", str(texts_csv), "-o", str(image), "--method", "pca", *model]) == 0
    assert image.read_bytes().startswith(b"\x89PNG")


def test_serve_embeds_a_table_without_vectors_and_serves_it(texts_csv, clip_folder, private_cache, monkeypatch):
    import projector.app.server as server

    served = []

    def fake_serve(sources, **options):
        from projector.app.pending import Preparing

        if isinstance(sources, Preparing):  # the embedding took longer than serve waits for a cache hit
            sources.job.wait(120)
            sources = sources.sources()
        served.extend(sources)
        return True

    monkeypatch.setattr(server, "serve", fake_serve)
    argv = ["serve", str(texts_csv), "--text", "text", "--model", str(clip_folder), "--method", "none", "--no-open", "--port", "0"]
    assert main(argv) == 0
    [store] = served
    assert store.name == "texts" and store.dataset.vector_columns == ("embedding",) and store.dataset.num_rows == len(TEXTS)
    assert "text" in store.dataset.roles.texts and store.map_keys == ["PCA of embedding"]
    handed_over = Path(store.dataset.source)
    assert handed_over.name == "texts.parquet" and not handed_over.parent.exists()  # removed when serving stops
    store.close()


@pytest.mark.filterwarnings("ignore:.*longer than the model's limit")  # the tiny CLIP reads 16 tokens
def test_embed_files_hands_over_parquet_only_for_tables_without_vectors(texts_csv, clip_folder, tmp_path, private_cache):
    import numpy as np

    from projector.embedding import embed_files

    vectors = tmp_path / "vectors.parquet"
    projector.Dataset.from_arrays(np.eye(4, dtype=np.float32), {"text": ["a", "b", "c", "d"]}).to_parquet(vectors)
    assert embed_files([str(vectors)], tmp_path / "out", text="text") == ([str(vectors)], {"text": "text"})  # as given
    (tmp_path / "out").mkdir()
    paths, options = embed_files([str(texts_csv), str(vectors)], tmp_path / "out", model=clip_folder, text="text")
    assert paths == [str(tmp_path / "out" / "texts.parquet"), str(vectors)] and options == {"text": "text"}
    assert projector.load(paths[0], **options).vector_columns == ("embedding",)
    (tmp_path / "one").mkdir()
    paths, options = embed_files([str(texts_csv)], tmp_path / "one", model=clip_folder, text="text", encoding="utf-8")
    assert "encoding" not in options and options["media_root"] == str(texts_csv.parent)  # CSV options stay with the CSV


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["project", "{csv}", "-o", "{tmp}/o.parquet"], r"no embedding column among 'text', 'topic'; pass --text COL"),
        (["project", "{csv}", "-o", "{tmp}/o.parquet", "--text", "body"], r"text='body': no such column; the columns are 'text', 'topic'"),
        (["embed", "{csv}", "-o", "{tmp}/o.parquet"], r"nothing to embed: name a text column .*--text COL"),
        (["embed", "{csv}", "-o", "{tmp}/o.csv", "--text", "text"], r"embed writes Parquet"),
        (["embed", "{csv}", "-o", "{tmp}/o.parquet", "--text", "text", "--batch-size", "0"], r"--batch-size 0: must be at least 1"),
        (["embed", "{csv}", "-o", "{tmp}/o.parquet", "--text", "text", "--model", "{tmp}/nothing"], r"is not a folder on this machine; projector never downloads"),
    ],
)
def test_errors_are_one_line_naming_the_fix(texts_csv, tmp_path, capsys, argv, message):
    import re

    argv = [part.format(csv=texts_csv, tmp=tmp_path) for part in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and re.search(message, err[0]), err


def test_embed_is_documented_in_help():
    from projector.cli import build_parser

    commands = build_parser()._subparsers._group_actions[0].choices
    assert "embed" in commands
    for name in ("project", "export", "serve", "embed"):
        text = commands[name].format_help()
        assert "--model" in text and "--batch-size" in text and "--text" in text


def test_placing_texts_into_a_map_embeds_them_with_the_maps_own_model(texts_csv, clip_folder, tmp_path, capsys, private_cache):
    """`project NEW.csv --text text --into MAP.parquet` needs no --model: NEW's texts are embedded
    by the model recorded for the map's vectors (here a local CLIP folder, not the default)."""
    mapped = tmp_path / "map.parquet"
    assert main(["project", str(texts_csv), "--text", "text", "--model", str(clip_folder), "--method", "pca", "-o", str(mapped), "--quiet"]) == 0
    placed = tmp_path / "placed.parquet"
    assert main(["project", str(texts_csv), "--text", "text", "--into", str(mapped), "-o", str(placed), "--quiet"]) == 0
    capsys.readouterr()
    before, after = pq.read_table(mapped), pq.read_table(placed)
    assert after.column("placed").to_pylist() == [True] * len(TEXTS)
    for name in ("pca_x", "pca_y"):  # the same texts land where they were mapped (PCA places exactly)
        assert after.column(name).to_pylist() == pytest.approx(before.column(name).to_pylist(), abs=1e-4)


def test_placing_texts_into_a_map_embeds_the_column_its_vectors_came_from(texts_csv, tmp_path, capsys, private_cache):
    """Without --text, NEW's texts are embedded from the column the map's record names; a NEW
    without that column gets an error naming it and --text."""
    mapped = tmp_path / "map.parquet"
    assert main(["project", str(texts_csv), "--text", "text", "--method", "pca", "-o", str(mapped), "--quiet"]) == 0
    placed = tmp_path / "placed.parquet"
    assert main(["project", str(texts_csv), "--into", str(mapped), "-o", str(placed), "--quiet"]) == 0
    before, after = pq.read_table(mapped), pq.read_table(placed)
    assert after.column("pca_x").to_pylist() == pytest.approx(before.column("pca_x").to_pylist(), abs=1e-4)
    renamed = tmp_path / "renamed.csv"
    renamed.write_text("body\n" + "\n".join(f'"{text}"' for text in TEXTS[:3]) + "\n")
    capsys.readouterr()
    assert main(["project", str(renamed), "--into", str(mapped), "-o", str(tmp_path / "x.parquet"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "renamed.csv" in err and "no column 'text'" in err and "--text COL" in err and not (tmp_path / "x.parquet").exists()
