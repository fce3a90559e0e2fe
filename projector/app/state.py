"""One browser session's view state: parameters with defaults, bounds and docs.

Views read and write these; nothing here renders or computes. The parts worth sharing (map,
colour-by, focused point, small selections, search) are mirrored in the page URL by
:data:`URL_PARAMETERS`, so a copied link reopens the same view.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import param

__all__ = ["ViewState", "URL_PARAMETERS", "URL_SELECTION_LIMIT"]

# state parameter -> query-string name
URL_PARAMETERS = {
    "map_key": "map",
    "color_by": "color",
    "focused": "focus",
    "url_selection": "sel",
    "search_query": "q",
    "search_column": "qcol",
    "search_regex": "regex",
    "search_meaning": "meaning",
    "search_k": "qk",
    "neighbor_k": "k",
    "neighbor_metric": "metric",
    "pca_x": "pcx",
    "pca_y": "pcy",
    "labels": "labels",
    "contours": "contours",
    "contours_by": "contours_by",
}
URL_SELECTION_LIMIT = 200  # larger selections are not written into links


class ViewState(param.Parameterized):
    """What one session is looking at. Rows are positions in the dataset table (0..N-1)."""

    map_key = param.String(default="", doc="the map shown (a key of DataStore.map_keys)")
    pca_x = param.Integer(default=1, bounds=(1, 10), doc="principal component on the x axis (PCA maps)")
    pca_y = param.Integer(default=2, bounds=(1, 10), doc="principal component on the y axis (PCA maps)")
    color_by = param.String(default="", doc="column the points are coloured by ('' for one colour)")
    max_categories = param.Integer(default=20, bounds=(1, 256), doc="categories with their own colour; the rest fold into 'other'")
    size_by = param.String(default="", doc="numeric column the point size follows ('' for one size)")
    point_size = param.Number(default=5.0, bounds=(1.0, 30.0), doc="point size in pixels")
    hover_columns = param.List(default=[], item_type=str, doc="columns the hover card lists (none chosen: the first few)")
    opacity = param.Number(default=0.8, bounds=(0.05, 1.0), doc="point opacity")
    selection = param.Array(default=np.zeros(0, dtype=np.int64), doc="selected rows; the rest of the map is greyed")
    url_selection = param.String(default="", doc="the selection as it appears in the URL (comma-separated rows)")
    isolate = param.Boolean(default=False, doc="draw only the selected points")
    labels = param.Boolean(default=True, doc="cluster labels over UMAP and t-SNE maps")
    contours = param.Boolean(default=True, doc="density contours over UMAP and t-SNE maps")
    contours_by = param.String(default="", doc="label column whose top categories get their own contours ('': all points together)")
    cluster_params = param.Dict(default={}, doc="cluster parameters other than the defaults (ClusterParams fields); {}: the defaults")
    focused = param.Integer(default=None, allow_None=True, doc="the row whose card and neighbours are shown")
    neighbor_k = param.Integer(default=10, bounds=(1, 200), doc="neighbours listed for the focused row")
    neighbor_metric = param.Selector(default="cosine", objects=["cosine", "l2"], doc="distance in the original space")
    search_column = param.String(default="", doc="text column searched")
    search_query = param.String(default="", doc="text to find (substring, case-insensitive)")
    search_regex = param.Boolean(default=False, doc="treat the query as a regular expression")
    search_meaning = param.Boolean(default=False, doc="search by meaning: the rows whose embeddings are nearest the query's")
    search_k = param.Integer(default=20, bounds=(1, URL_SELECTION_LIMIT), doc="rows a search by meaning selects, best first")
    filters = param.Dict(default={}, doc="column -> allowed categories, or (low, high) for numbers")
    message = param.String(default="", doc="the last error or note for the user")
    quality_version = param.Integer(default=0, doc="bumped when a quality score of the shown map arrives")
    num_rows = param.Integer(default=None, allow_None=True, doc="rows in the dataset: rows from a link outside 0..num_rows-1 are dropped")

    def select(self, rows: Any) -> None:
        """Set the selection (any iterable of rows), keeping the URL copy in step."""
        array = np.asarray(list(rows) if not isinstance(rows, np.ndarray) else rows, dtype=np.int64)
        if array.size > 1 and not (array[1:] > array[:-1]).all():  # box and lasso rows come sorted already
            array = np.unique(array)
        text = ",".join(map(str, array.tolist())) if array.size <= URL_SELECTION_LIMIT else ""
        with param.parameterized.batch_call_watchers(self):
            self.selection = array
            self.url_selection = text

    def clear_selection(self) -> None:
        with param.parameterized.batch_call_watchers(self):
            self.selection = np.zeros(0, dtype=np.int64)
            self.url_selection = ""
            self.isolate = False

    def apply_link(self, values: dict[str, Any]) -> None:
        """Apply the values a link carries (``{parameter: text}``), converting each to its
        parameter's type; one bad value is skipped with a note, the rest still apply."""
        skipped = []
        for name, raw in values.items():
            try:
                self.param.update({name: _from_text(self.param[name], raw)})
            except (ValueError, TypeError):
                skipped.append(name)
        if skipped:
            self.message = f"ignored what the link says about {', '.join(skipped)}"

    @param.depends("url_selection", watch=True)
    def _selection_from_url(self) -> None:
        if not self.url_selection:
            return
        try:
            rows = np.asarray([int(part) for part in self.url_selection.split(",") if part], dtype=np.int64)
        except ValueError:
            self.message = f"ignored the selection in the link: {self.url_selection[:40]!r} is not a list of rows"
            return
        if self.num_rows is not None:
            rows = rows[(rows >= 0) & (rows < self.num_rows)]
        if not np.array_equal(rows, self.selection):
            self.selection = np.unique(rows)


def _from_text(parameter: param.Parameter, raw: Any) -> Any:
    """A query-string value as ``parameter`` takes it (Panel hands over JSON-decoded values:
    ``sel=7`` arrives as the number 7)."""
    if not isinstance(raw, str):
        return str(raw) if isinstance(parameter, param.String) and isinstance(raw, (int, float)) else raw
    if isinstance(parameter, param.Boolean):
        if raw.lower() in ("true", "1", "yes"):
            return True
        if raw.lower() in ("false", "0", "no", ""):
            return False
        raise ValueError(raw)
    if isinstance(parameter, param.Integer):
        return None if raw in ("", "null", "None") and parameter.allow_None else int(raw)
    if isinstance(parameter, param.Number):
        return float(raw)
    return raw
