"""Load embeddings from an eval run, check them, and save them with their roles.

    python examples/quickstart.py [OUT_DIR]

Makes a small synthetic "eval run" (embeddings plus captions and labels) so it needs no data,
then shows the three ways in: in-memory arrays, a file on disk, and the built-in demo.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

import projector


def main(out_dir: Path) -> None:
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((3, 32)).astype(np.float32)
    labels = rng.integers(0, 3, size=300)
    embeddings = centers[labels] + 0.1 * rng.standard_normal((300, 32)).astype(np.float32)
    metadata = {
        "caption": [f"sample {i}: a photo of a {'cat dog bird'.split()[k]}" for i, k in enumerate(labels)],
        "label": ["cat dog bird".split()[k] for k in labels],
        "loss": rng.random(300),
    }

    # 1. straight from arrays, as an eval script has them
    ds = projector.Dataset.from_arrays(embeddings, metadata)
    print(ds)
    print(ds.roles)

    # 2. through a file: roles survive the round trip in the Parquet schema metadata
    path = ds.to_parquet(out_dir / "eval_run.parquet", overwrite=True)
    again = projector.load(path)
    assert again.roles == ds.roles
    print(again.info().to_text())

    # 3. the built-in demo
    print(projector.demo())


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(Path(tmp))
