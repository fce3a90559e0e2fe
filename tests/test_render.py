"""Static images: PNG and SVG maps with title, legend and footer, written atomically."""

from __future__ import annotations

import base64
import io
import xml.etree.ElementTree as ET

import numpy as np
import pyarrow as pa
import pytest
from PIL import Image

from projector.explore.colors import color_spec
from projector.dataset import Dataset
from projector.errors import ProjectorError, RowCountError, SchemaError
from projector.image import ColorBar, Text, compose, numeric_palette, render_image

HOSTILE = "</text><script>alert(1)</script>"
SVG = "{http://www.w3.org/2000/svg}"


def _clusters(rng, n: int, k: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points in ``k`` tight, well separated clusters on a circle, and each one's cluster."""
    labels = rng.integers(0, k, n)
    angle = 2 * np.pi * labels / k
    centres = np.column_stack([np.cos(angle), np.sin(angle)]) * 10
    return (centres + rng.normal(0, 0.5, (n, 2))).astype(np.float32), labels


@pytest.fixture
def dataset(rng) -> Dataset:
    xy, labels = _clusters(rng, 400)
    names = np.array(["cat", "dog", "bird", HOSTILE])[labels].tolist()
    names[0] = None  # one missing label
    return Dataset.from_arrays(xy, {"label": names, "score": xy[:, 0].astype(np.float64)})


def _plot_pixels(figure, image: Image.Image) -> np.ndarray:
    x0, y0, x1, y1 = figure.plot
    return np.asarray(image.convert("RGB"))[y0:y1, x0:x1]


def test_png_map_has_points_colours_and_legend(dataset, tmp_path):
    path = dataset.save_image(tmp_path / "map.png")
    assert path == tmp_path / "map.png"
    image = Image.open(path)
    assert image.size == (1200, 900) and image.format == "PNG"
    pixels = np.asarray(image.convert("RGB"))

    spec = color_spec("label", dataset.table.column("label"), len(dataset))
    figure = compose(dataset.vectors(), colors=spec, title="t")  # the same layout as the file's
    x0, y0, x1, y1 = figure.plot
    plot = pixels[y0:y1, x0:x1]
    drawn = (plot != 255).any(axis=2)
    assert drawn.mean() > 0.001  # points, not a blank frame
    colours = {tuple(c) for c in plot[drawn].reshape(-1, 3)[:: max(1, drawn.sum() // 2000)]}
    assert len(colours) >= 4  # several categories, several colours
    legend = pixels[y0:y1, x1 + 5:]
    assert (legend != 255).any(axis=2).mean() > 0.005  # swatches and names drawn
    assert (pixels[: y0 - 2] != 255).any()  # title
    assert (pixels[y1 + 2:] != 255).any()  # footer


def test_points_take_the_app_palette_and_keep_orientation(rng):
    xy, labels = _clusters(rng, 2000, k=4)
    spec = color_spec("label", pa.chunked_array([pa.array([f"c{i}" for i in labels])]), len(xy))
    rgb = {e.name: tuple(int(e.color[i:i + 2], 16) for i in (1, 3, 5)) for e in spec.legend}
    figure = compose(xy, colors=spec, width=600, height=500, point_size=1)
    opaque = figure.points[figure.points[..., 3] == 255][:, :3]
    assert opaque.size and {tuple(c) for c in opaque} <= set(rgb.values())  # exactly the app's colours
    # the cluster at the top of the data (90 degrees: label 1) is drawn at the top of the image
    top = figure.points[: figure.points.shape[0] // 3]
    top = top[top[..., 3] > 200][:, :3].astype(int)
    names = list(rgb)
    nearest = np.argmin([[np.abs(c - np.array(rgb[name])).sum() for name in names] for c in top], axis=1)
    assert top.size and {names[i] for i in nearest} == {"c1"}


def test_svg_is_xml_with_text_escaped_and_no_script(dataset, tmp_path):
    path = dataset.save_image(tmp_path / "map.svg", title=f"title {HOSTILE} \x01")
    text = path.read_text(encoding="utf-8")
    assert "<script" not in text
    root = ET.fromstring(text)
    assert root.tag == f"{SVG}svg"
    assert not [e for e in root.iter() if e.tag.lower().endswith("script")]
    texts = [e.text for e in root.iter(f"{SVG}text")]
    assert HOSTILE in texts  # the hostile label is a legend entry, as text
    assert any(t and HOSTILE in t for t in texts if t != HOSTILE)  # and in the title
    assert "(missing)" in texts and "400 points · embedding as given" in texts
    (image,) = root.iter(f"{SVG}image")
    href = image.get("{http://www.w3.org/1999/xlink}href")
    assert href.startswith("data:image/png;base64,")
    points = np.asarray(Image.open(io.BytesIO(base64.b64decode(href.split(",", 1)[1]))))
    assert points.shape[2] == 4 and (points[..., 3] > 0).mean() > 0.001


def test_numeric_colouring_has_a_colour_bar(dataset, tmp_path):
    figure = compose(dataset.vectors(), colors=color_spec("score", dataset.table.column("score"), len(dataset)))
    (bar,) = [item for item in figure.items if isinstance(item, ColorBar)]
    labels = [item.text for item in figure.items if isinstance(item, Text)]
    low, high = dataset.table.column("score").to_numpy().min(), dataset.table.column("score").to_numpy().max()
    assert f"{low:.4g}" in labels and f"{high:.4g}" in labels and "score" in labels
    pixels = np.asarray(figure.to_image().convert("RGB")).astype(int)
    ramp = numeric_palette()
    y = int((bar.y0 + bar.y1) / 2)
    for x, colour in ((int(bar.x0) + 1, ramp[0]), (int(bar.x1) - 2, ramp[-1])):
        expected = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
        assert np.abs(pixels[y, x] - expected).max() <= 8
    path = dataset.save_image(tmp_path / "score.svg", color_by="score")
    assert "linearGradient" in path.read_text()


def test_200k_points_render(rng):
    xy, labels = _clusters(rng, 200_000, k=12)
    spec = color_spec("label", pa.chunked_array([pa.array(labels.astype(str))]), len(xy))
    image = render_image(xy, colors=spec, title="200k")
    assert image.size == (1200, 900)
    assert len(np.unique(np.asarray(image.convert("RGB")).reshape(-1, 3), axis=0)) > 12


def test_existing_file_is_refused_before_projecting(rng, tmp_path, monkeypatch):
    ds = Dataset.from_arrays(rng.normal(size=(50, 8)).astype(np.float32))
    target = tmp_path / "map.png"
    target.write_bytes(b"keep me")

    def no_projection(*args, **kwargs):
        raise AssertionError("projected before checking the output path")

    monkeypatch.setattr(Dataset, "project", no_projection)
    with pytest.raises(FileExistsError, match="overwrite"):
        ds.save_image(target)
    assert target.read_bytes() == b"keep me"


def test_overwrite_replaces(dataset, tmp_path):
    target = tmp_path / "map.png"
    dataset.save_image(target, width=400, height=300)
    dataset.save_image(target, width=500, height=300, overwrite=True)
    assert Image.open(target).size == (500, 300)
    assert [p.name for p in tmp_path.iterdir()] == ["map.png"]  # no temp file left


def test_unknown_suffix_is_named(dataset, tmp_path):
    with pytest.raises(ProjectorError, match=r"'\.jpg'") as error:
        dataset.save_image(tmp_path / "map.jpg")
    assert isinstance(error.value, ValueError) and ".png or .svg" in str(error.value)
    with pytest.raises(ProjectorError, match="no suffix"):
        dataset.save_image(tmp_path / "map")
    assert not list(tmp_path.iterdir())


def test_colour_by_choices(dataset, tmp_path):
    from projector.image import dataset_colors

    assert dataset_colors(dataset, None).column == "label"
    assert dataset_colors(dataset, "").kind == "none"
    with pytest.raises(SchemaError, match="did you mean 'label'"):
        dataset_colors(dataset, "lable")
    with pytest.raises(SchemaError, match="embedding column"):
        dataset_colors(dataset, "embedding")
    path = dataset.save_image(tmp_path / "plain.png", color_by="", title="")
    assert np.asarray(Image.open(path)).shape == (900, 1200, 4)


def test_many_categories_fold_and_overflow(rng):
    n = 3000
    xy = rng.normal(size=(n, 2)).astype(np.float32)
    names = pa.chunked_array([pa.array([f"category {i % 60}" for i in range(n)])])
    spec = color_spec("kind", names, n, max_categories=50)
    figure = compose(xy, colors=spec, width=800, height=400)
    texts = [item.text for item in figure.items if isinstance(item, Text)]
    assert any(t.startswith("… ") and t.endswith("points)") for t in texts)  # not all 51 entries fit
    figure = compose(xy, colors=spec, width=800, height=2000)
    texts = [item.text for item in figure.items if isinstance(item, Text)]
    assert "other (10 categories)" in texts


def test_wrong_rows_and_options(dataset, rng):
    from projector.projection import Projection

    other = Projection(rng.normal(size=(10, 2)).astype(np.float32), "pca", "embedding", {})
    with pytest.raises(RowCountError, match="10 rows"):
        dataset.save_image("unused.png", other)
    with pytest.raises(ValueError, match="width=50"):
        compose(dataset.vectors(), width=50)
    with pytest.raises(ValueError, match="point_size=0"):
        compose(dataset.vectors(), point_size=0)
    with pytest.raises(ValueError, match="background="):
        compose(dataset.vectors(), background="not a colour")


def test_3d_coordinates_and_footer(rng, tmp_path):
    from projector.projection import Projection
    from projector.image import footer_text

    coords = rng.normal(size=(30, 3)).astype(np.float32)
    projection = Projection(coords, "umap", "emb", {})
    assert footer_text(projection) == "30 points · UMAP of emb · first 2 of 3 dimensions shown"
    ds = Dataset.from_arrays(rng.normal(size=(30, 5)).astype(np.float32), name="emb")
    path = ds.save_image(tmp_path / "map.png", projection, point_size=5)
    assert (np.asarray(Image.open(path).convert("L")) < 200).mean() > 0.001
