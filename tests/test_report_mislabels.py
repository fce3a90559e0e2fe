"""The table of likely mislabels in a report (Report.mislabels, save_html(mislabels=True),
``projector export --mislabels``): most doubtful first, every value from the data escaped."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import numpy as np
import pyarrow as pa
import pytest

import projector
from projector.cli import main
from projector.errors import SchemaError
from projector.report import Report, save_html
from projector.suspects import mislabels

pytestmark = pytest.mark.usefixtures("private_cache")  # a fresh cache per test (tests/conftest.py)

HOSTILE = "<img src=x onerror=alert(1)>"
SCRIPT = "</script><script>alert(2)</script>"
FLIPPED = {5: HOSTILE, 70: "a", 130: "b", 131: "a"}  # rows given a label their blob does not carry


def blobs(n: int = 180) -> projector.Dataset:
    """Three tight blobs labelled a, b, c, with four rows relabelled (one as markup, with markup text)."""
    rng = np.random.default_rng(0)
    blob = np.arange(n) * 3 // n
    vectors = (np.eye(8)[blob] * 10 + rng.standard_normal((n, 8)) * 0.5).astype(np.float32)
    labels = [FLIPPED.get(i, "abc"[b]) for i, b in enumerate(blob)]
    texts = [SCRIPT if i == 5 else f"sample {i} of blob {'abc'[b]}" for i, b in enumerate(blob)]
    table = pa.table({"emb": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), 8), "label": labels, "text": texts})
    return projector.Dataset.from_table(table, vector="emb", label="label", text="text")


class _Cells(HTMLParser):
    """The table's cells as text, row by row, and every element seen (to find injected ones)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.tags: set[str] = set()
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        if tag == "tr" and ("class", "projector-mislabel") in attrs:
            self.rows.append([])
        elif tag == "td" and self.rows:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _table_html(report: Report) -> str:
    return report._blocks[-1].text


def test_the_table_lists_suspects_most_doubtful_first_with_their_neighbours_and_text():
    ds = blobs()
    report = Report().mislabels(ds)
    cells = _Cells()
    cells.feed(_table_html(report))
    found = mislabels(ds)
    assert found.count == len(FLIPPED) and [int(row[0]) for row in cells.rows] == found.rows().tolist()
    assert {int(row[0]) for row in cells.rows} == set(FLIPPED)
    shares = [int(row[5].rstrip("%")) for row in cells.rows]
    assert shares == sorted(shares, reverse=True) and shares[0] == 100
    by_row = {int(row[0]): row for row in cells.rows}
    assert by_row[5][2:5] == [HOSTILE, "a", "10 of 10"]  # label, what the neighbours suggest, how many say so
    assert by_row[5][6] == SCRIPT and by_row[70][6] == "sample 70 of blob b"  # the text preview, as text
    assert by_row[70][3] == "b" and by_row[130][3] == "c"
    assert "img" not in cells.tags and "script" not in cells.tags  # hostile values never become elements


def test_limit_threshold_and_a_clean_column_are_said_plainly():
    ds = blobs()
    cells = _Cells()
    cells.feed(_table_html(Report().mislabels(ds, limit=2)))
    assert len(cells.rows) == 2
    assert "4 of 180 rows" in _table_html(Report().mislabels(ds, limit=2)) and "the 2 most doubtful" in _table_html(Report().mislabels(ds, limit=2))
    clean = projector.Dataset.from_table(ds.table.set_column(1, "label", pa.array(["abc"[i * 3 // 180] for i in range(180)])), vector="emb", label="label", text="text")
    assert "no row has 70% or more of its neighbours disagreeing" in _table_html(Report().mislabels(clean))
    with pytest.raises(SchemaError, match=r"label='nope' is not a column; columns: \['emb', 'label', 'text'"):
        Report().mislabels(ds, "nope")
    unlabelled = projector.Dataset.from_table(ds.table.drop(["label", "_row_id"]), vector="emb", text="text")
    with pytest.raises(SchemaError, match=r"needs a label column and the dataset has none; name one with label= \(projector export: --label COL\)"):
        Report().mislabels(unlabelled)


def test_digit_thumbnails_preview_each_suspect_offline():
    ds = projector.demo()
    html = _table_html(Report().mislabels(ds, limit=3))
    assert html.count('<img src="data:image/png;base64,') == 3  # inlined: the report opens offline


def test_save_html_and_export_put_the_table_under_the_map(tmp_path, capsys):
    ds = blobs()
    page = save_html(ds, tmp_path / "r.html", "pca", mislabels=True).read_text(encoding="utf-8")
    assert "projector-mislabels" in page and "<img src=x" not in page and "</script><script>alert" not in page
    ds.to_parquet(tmp_path / "blobs.parquet")
    out = tmp_path / "e.html"
    assert main(["export", str(tmp_path / "blobs.parquet"), "-o", str(out), "--method", "pca", "--mislabels"]) == 0
    assert "Likely mislabels of label" in out.read_text(encoding="utf-8")
    assert main(["export", str(tmp_path / "blobs.parquet"), "-o", str(tmp_path / "e.png"), "--mislabels"]) == 2
    assert "--mislabels adds a table to an HTML report" in capsys.readouterr().err


def test_export_outlines_each_top_category_with_contours_by(tmp_path, capsys):
    out = tmp_path / "map.svg"
    assert main(["export", "-o", str(out), "--method", "pca", "--contours-by", "label"]) == 0
    svg = out.read_text(encoding="utf-8")
    colours = set(re.findall(r'<polyline[^>]*stroke="(#[0-9a-f]{6})"', svg))
    assert {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"} <= colours  # the legend's first five colours
    assert main(["export", "-o", str(tmp_path / "bad.svg"), "--method", "pca", "--contours-by", "lable"]) == 2
    assert "no column 'lable'" in capsys.readouterr().err
    assert main(["export", "-o", str(tmp_path / "m.svg"), "--method", "pca", "--overlays", "labels", "--contours-by", "label"]) == 2
    assert "--contours-by draws contours" in capsys.readouterr().err
