"""`projector serve` as a subprocess on a free port, and the small datasets the app tests serve.

Shared by the browser tests (``conftest.py``) and the HTTP tests (``tests/test_app_server.py``).
Each server gets its own cache folder, so a projection computed by one test run is never a
cache hit in the next.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["ServedApp", "serve_app", "write_hostile_dataset", "write_broken_file", "write_far_group_dataset", "HOSTILE", "SCORE_COLUMN", "SYMLINK_ROW", "FAR_ROWS", "READY_TIMEOUT"]

READY_TIMEOUT = 300.0  # seconds until "serving at" (imports, PCA; a busy 2-core machine is slow)

HOSTILE = {
    "img": "<img src=x onerror=alert(1)>",
    "script": "</script><script>alert(2)</script>",
    "dollars": "$5 to $10",
    "bold": "<b>bold</b>",
}
NOTE_COLUMN = "<u>note</u>"  # a column name that is itself markup
SECOND_EMBEDDING = "<img src=x onerror=alert('emb')>"  # an embedding column whose name is markup
SCORE_COLUMN = "<img src=x onerror=alert('score')>"  # a numeric column whose name is markup
LABELS = ("alpha", "beta", "gamma", "delta", HOSTILE["bold"])
HOSTILE_ROWS = (0, 1, 2, 3)  # rows whose text is hostile (all labelled <b>bold</b>)
SYMLINK_ROW = 5  # its image path is a symlink inside the data root that points outside it
FAR_ROWS = (297, 298, 299)  # rows of write_far_group_dataset flung 100 units away along x


@dataclass
class ServedApp:
    """A running ``projector serve``: its URL, its output so far, and how to stop it."""

    process: subprocess.Popen
    url: str = ""
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)

    @property
    def port(self) -> int:
        from urllib.parse import urlsplit

        return int(urlsplit(self.url).port)

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return "".join(self.stdout) + "".join(self.stderr)

    def __repr__(self) -> str:  # failing tests show what the server said
        tail = self.output()[-4000:]
        return f"ServedApp(url={self.url!r}, pid={self.process.pid}, output ends:\n{tail})"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=20)


def serve_app(args: list[str], cache_dir: Path, *, timeout: float = READY_TIMEOUT) -> ServedApp:
    """Start ``projector serve ARGS --port 0 --no-open`` and wait until it prints its URL.

    Fails with the server's output when it exits or stays silent past ``timeout``.
    """
    env = {**os.environ, "PROJECTOR_CACHE_DIR": str(cache_dir), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "projector", "serve", *args, "--port", "0", "--no-open"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    app = ServedApp(process)
    ready = threading.Event()

    def drain(stream, lines: list[str], watch: bool) -> None:
        for line in stream:
            lines.append(line)
            match = re.search(r"serving at (\S+)", line) if watch else None
            if match and not app.url:  # the first address printed is loopback; later ones are other names
                app.url = match.group(1)
                ready.set()
        ready.set()  # the stream closed: the process is gone

    threading.Thread(target=drain, args=(process.stdout, app.stdout, True), daemon=True).start()
    threading.Thread(target=drain, args=(process.stderr, app.stderr, False), daemon=True).start()
    ready.wait(timeout)
    if not app.url:
        app.stop()
        raise RuntimeError(f"`{' '.join(command)}` did not print its URL within {timeout:.0f} s:\n{app.output()}")
    return app


def png_bytes(color: tuple[int, int, int], size: int = 24) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    image = Image.new("RGB", (size, size), color)
    for i in range(size):  # a diagonal, so thumbnails are not flat squares
        image.putpixel((i, i), (0, 0, 0))
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def write_hostile_dataset(folder: Path, rows: int = 300) -> Path:
    """A Parquet of ``rows`` rows with hostile strings, PNG paths and one symlink escape.

    Layout: ``folder/data/hostile.parquet`` and ``folder/data/images/*.png`` (the data root is
    ``folder/data``); ``folder/outside/secret.png`` lies outside the root, and
    ``images/escape.png`` is a symlink to it, named by row :data:`SYMLINK_ROW`.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(7)
    data = folder / "data"
    images = data / "images"
    outside = folder / "outside"
    images.mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.png").write_bytes(png_bytes((255, 0, 0)))
    (images / "escape.png").symlink_to(outside / "secret.png")

    labels = [LABELS[i % len(LABELS)] for i in range(rows)]
    for row in HOSTILE_ROWS:
        labels[row] = HOSTILE["bold"]
    centers = rng.standard_normal((len(LABELS), 16)) * 4.0
    vectors = np.stack([centers[LABELS.index(label)] for label in labels]) + rng.standard_normal((rows, 16))
    for k, row in enumerate(HOSTILE_ROWS):  # far from every cluster and from each other
        vectors[row] = centers[LABELS.index(HOSTILE["bold"])] + 9.0 * np.eye(16)[k] * (1 if k % 2 else -1)
    texts = [f"sample {i}: plain words" for i in range(rows)]
    texts[0] = HOSTILE["img"]
    texts[1] = HOSTILE["script"]
    texts[2] = HOSTILE["dollars"]
    texts[3] = f"{HOSTILE['img']} and {HOSTILE['script']}"
    notes = [f"note {i} {HOSTILE['script'] if i in HOSTILE_ROWS else ''}".strip() for i in range(rows)]
    paths = []
    palette = [(230, 159, 0), (86, 180, 233), (0, 158, 115), (240, 228, 66), (0, 114, 178)]
    for i in range(rows):
        name = f"images/img_{i:03d}.png"
        (data / name).write_bytes(png_bytes(palette[i % len(palette)]))
        paths.append(name)
    paths[SYMLINK_ROW] = "images/escape.png"
    table = pa.table(
        {
            "embedding": pa.array(list(vectors.astype(np.float32)), type=pa.list_(pa.float32())),
            "label": pa.array(labels),
            "text": pa.array(texts),
            NOTE_COLUMN: pa.array(notes),
            "image": pa.array(paths),
            SCORE_COLUMN: pa.array(rng.random(rows)),
            SECOND_EMBEDDING: pa.array(list((vectors + rng.standard_normal(vectors.shape)).astype(np.float32)), type=pa.list_(pa.float32())),
        }
    )
    path = data / "hostile.parquet"
    pq.write_table(table, path)
    return path


def write_broken_file(folder: Path) -> Path:
    """A ``.parquet`` that is not Parquet: loading it fails with a clear error."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "broken.parquet"
    path.write_bytes(b"this is not a parquet file\n" * 10)
    return path


def write_far_group_dataset(folder: Path, rows: int = 300) -> Path:
    """A Parquet of ``rows`` rows with precomputed coordinates ``x``, ``y`` (serve it with
    ``--x x --y y``): a blob, and the rows :data:`FAR_ROWS` (1%) 100 units away along x."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(11)
    x, y = rng.standard_normal(rows), rng.standard_normal(rows)
    x[list(FAR_ROWS)] += 100.0
    vectors = rng.standard_normal((rows, 4)).astype(np.float32)
    table = pa.table({"embedding": pa.array(list(vectors), type=pa.list_(pa.float32())), "x": x, "y": y})
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "far.parquet"
    pq.write_table(table, path)
    return path
