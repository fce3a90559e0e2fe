"""An eval script's report: two checkpoints' embeddings of the same samples, in one HTML file.

    python examples/eval_report.py [OUT_DIR]

Makes synthetic embeddings for a "before" and an "after" checkpoint (so it needs no data or
model), scores them, logs them to a run directory, and writes ``eval_report.html``: markdown,
a table of metrics, a map, and a side-by-side comparison showing which samples moved. The file
opens offline; send it around or keep it as a CI artifact.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

import projector


def main(out_dir: Path) -> Path:
    rng = np.random.default_rng(0)
    n, classes = 600, ["cat", "dog", "bird", "fish"]
    labels = rng.integers(0, len(classes), size=n)
    centers = rng.standard_normal((len(classes), 48)).astype(np.float32) * 3
    before = centers[labels] + rng.standard_normal((n, 48)).astype(np.float32) * 2.0
    after = centers[labels] + rng.standard_normal((n, 48)).astype(np.float32) * 0.8  # tighter classes
    metadata = {"label": [classes[k] for k in labels], "caption": [f"sample {i}: a {classes[k]}" for i, k in enumerate(labels)]}

    ds = projector.Dataset.from_arrays({"before": before, "after": after}, metadata, label="label", text="caption")
    scores = [
        {"checkpoint": name, **{key: value for key, value in projector.metrics(ds, column=name, k=10).to_dict().items() if key in ("label_accuracy", "n", "k")}}
        for name in ("before", "after")
    ]
    for step, name in ((1000, "before"), (2000, "after")):
        projector.log(out_dir / "run", ds.vectors(name), metadata, name="model", step=step, overwrite=True)

    report = projector.Report("Checkpoint 1000 vs 2000")
    report.markdown("Embeddings of the validation set. **Hover** a point for its sample, **click** for its nearest neighbours, **box-select** to list samples.")
    report.metrics(scores, title="k-NN label accuracy (k=10)")
    report.map(ds, ds.project("umap", column="after"), color_by=["label"], title="After: UMAP")
    report.compare(ds, "before", "after", k=10, method="pca")
    path = report.save(out_dir / "eval_report.html", overwrite=True)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB); serve the logged run with: projector serve {out_dir / 'run'}")
    return path


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="projector-report-")))
