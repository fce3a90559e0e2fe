"""Self-contained HTML reports: one file with every script, datum and thumbnail inlined.

A report opens offline, from disk or as a CI artifact, with no server and no network request,
and stays interactive (hover, colour-by, selection table, neighbours on click) through Bokeh's
JavaScript alone::

    report = projector.Report(title="Eval run 42")
    report.markdown("## Embeddings of the validation set")
    report.map(ds, projection=umap, color_by=["label", "loss"])
    report.metrics({"k-NN accuracy": 0.91, "trustworthiness": 0.97})
    report.mislabels(ds, "label")  # the likely mislabels, most doubtful first
    report.save("report.html")

``Dataset.save_html`` and ``projector export PATH -o report.html`` write a one-map report
(``mislabels=True`` / ``--mislabels`` add the table of likely mislabels under the map).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from projector.report.document import Report, save_html

if TYPE_CHECKING:  # pragma: no cover
    pass

__all__ = ["Report", "save_html"]
