"""Maps of real embeddings: 6,723 MiniLM sentence embeddings with exact duplicates.

The fixture lives beside the repository (``../shared/fixtures``, or ``$PROJECTOR_FIXTURES``),
where the project's CI and developers have it; a user's clone does not, and there these tests
say so and skip. Blobs and digits flatter a map; this data has groups of up to 76 identical
vectors, which once threw the bulk of a UMAP into a corner.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import projector

FIXTURES = Path(os.environ.get("PROJECTOR_FIXTURES", Path(__file__).resolve().parents[2] / "shared" / "fixtures"))
REAL_TEXT = FIXTURES / "real-text" / "pydata_docs_minilm.parquet"

pytestmark = pytest.mark.skipif(not REAL_TEXT.is_file(), reason=f"the real-text fixture is not at {REAL_TEXT} (a clone without ../shared)")


@pytest.fixture(scope="module")
def real_text():
    return projector.load(REAL_TEXT, label="module")


def test_umap_of_real_sentence_embeddings_keeps_every_point_near_the_map(real_text):
    from projector.duplicates import unique_rows

    projection = real_text.project("umap", cache=False)
    coords = projection.coords
    distance = np.linalg.norm(coords - np.median(coords, axis=0), axis=1)
    assert distance.max() < 2 * np.percentile(distance, 99)
    unique = unique_rows(real_text.vectors())
    assert unique.duplicates == 446 - 136  # 446 rows share 136 vectors
    largest = np.bincount(unique.inverse).argmax()
    copies = np.flatnonzero(unique.inverse == largest)
    assert copies.size == 76 and (coords[copies] == coords[copies[0]]).all()
    assert projection.quality.trustworthiness > 0.92
    assert projection.quality.label_accuracy_map > 0.5
