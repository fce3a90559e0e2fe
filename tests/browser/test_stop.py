"""Ctrl-C stops `projector serve` promptly even while a map is being computed for a page."""

from __future__ import annotations

import re
import signal
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from playwright.sync_api import expect

from browser.served import serve_app

pytestmark = pytest.mark.browser

ROWS = 20_000  # a UMAP of these takes far longer than the wait below on any machine here


@pytest.mark.parametrize("started_by", ["serve --method umap", "the Compute map button"])
def test_ctrl_c_during_a_running_umap_stops_the_server(tmp_path, open_page, started_by):
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((ROWS, 32)).astype(np.float32)
    path = tmp_path / "vectors.parquet"
    pq.write_table(pa.table({"embedding": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), 32)}), path)
    app = serve_app([str(path), "--method", "umap" if started_by.startswith("serve") else "none"], tmp_path / "cache")
    try:
        page, _ = open_page(app.url)  # the page's first paint starts the background UMAP
        if started_by == "the Compute map button":
            page.get_by_role("button", name="UMAP", exact=True).click()
            page.get_by_role("button", name="Compute map").click()
        running = page.locator(".projector-text").filter(has_text=re.compile(r"^UMAP of embedding: (?!waiting|done)"))
        expect(running.first).to_be_visible(timeout=120_000)
        page.close()
        app.process.send_signal(signal.SIGINT)
        started = time.monotonic()
        code = app.process.wait(timeout=30)
        took = time.monotonic() - started
        print(f"{started_by}: Ctrl-C to exit {took:.2f} s")
        assert code == 0, app
        assert took < 10, f"the server took {took:.1f} s to stop"  # STOP_GRACE_S is 1.5 s; the rest is a busy machine
        deadline = time.monotonic() + 5
        while "projector: stopped" not in "".join(app.stdout) and time.monotonic() < deadline:
            time.sleep(0.1)  # the reader thread drains what the process printed last
        assert "projector: stopped" in "".join(app.stdout)
    finally:
        app.stop()
