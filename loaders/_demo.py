"""The built-in demo: scikit-learn's digits, which ships with scikit-learn (no download)."""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa

__all__ = ["digits"]

_THUMBNAIL = 32


def digits() -> "Dataset":
    """1,797 handwritten digits: 64-d pixel embeddings, an 8x8 image per row, label 0-9."""
    from PIL import Image
    from sklearn.datasets import load_digits

    from projector._vectors import matrix_to_column
    from projector.dataset import Dataset

    bunch = load_digits()
    images = bunch.images  # (N, 8, 8) in 0..16
    thumbnails = []
    for image in images:
        pixels = (255 - image * (255 / 16)).astype(np.uint8)  # dark ink on white
        picture = Image.fromarray(pixels, mode="L").resize((_THUMBNAIL, _THUMBNAIL), Image.NEAREST)
        buffer = io.BytesIO()
        picture.save(buffer, format="PNG")
        thumbnails.append(buffer.getvalue())
    data = bunch.data.astype(np.float32)
    table = pa.table(
        {
            "id": pa.array(np.arange(len(data), dtype=np.int64)),
            "pixels": matrix_to_column(data),
            "image": pa.array(thumbnails, type=pa.binary()),
            "label": pa.array([str(t) for t in bunch.target]).dictionary_encode(),
            "ink": pa.array(data.sum(axis=1) / 16.0, type=pa.float32()),
        }
    )
    return Dataset.from_table(
        table,
        id="id",
        vector="pixels",
        image="image",
        label="label",
        source="demo: scikit-learn digits (8x8 images, 64-d pixel embeddings)",
    )


if False:  # pragma: no cover - for type checkers only
    from projector.dataset import Dataset
