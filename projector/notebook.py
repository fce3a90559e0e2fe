"""Maps in Jupyter: the app's views over one dataset, with the selection readable and settable.

    view = projector.show(ds, projection=umap)   # displays the interactive map
    view.selection                                # the selected rows, as an Arrow table
    view.selection.to_pandas()                    # ... or pandas
    view.select([3, 14, 15])                      # select from Python; the map follows

A :class:`~projector.dataset.Dataset` or :class:`~projector.projection.Projection` left at the
end of a cell displays the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

import numpy as np

if TYPE_CHECKING:
    import pyarrow as pa

    from projector.dataset import Dataset
    from projector.projection import Projection

__all__ = ["MapView", "show"]


class MapView:
    """One interactive map of a dataset in a notebook (the app's session, without a server).

    Args:
        dataset: the data.
        projection: the map to show first; None shows the data as is when D <= 3, else PCA.
        color_by: the column points are coloured by (default: the first label column).
    """

    def __init__(self, dataset: "Dataset", projection: "Projection | None" = None, *, color_by: str | None = None) -> None:
        from projector.app.shell import Session, initial_state
        from projector.app.store import DataStore

        store = DataStore(dataset, name="notebook")
        entry = store.add_projection(projection, "computed") if projection is not None else None
        if entry is None and not store.map_keys:
            entry = store.project("pca")
        state = initial_state(store)
        if entry is not None:
            state.map_key = entry.key
        if color_by is not None:
            if color_by not in dataset.column_names:
                from projector.errors import SchemaError

                raise SchemaError(f"color_by={color_by!r}: no such column; columns: {dataset.column_names}")
            state.color_by = color_by
        self.store = store
        self.session = Session(store, state)

    @property
    def rows(self) -> np.ndarray:
        """Positions of the selected rows in the dataset table."""
        return self.session.state.selection.copy()

    @property
    def selection(self) -> "pa.Table":
        """The selected rows (every column but embeddings and raw media); ``.to_pandas()`` for pandas."""
        return self.store.rows_table(self.session.state.selection)

    @selection.setter
    def selection(self, rows: Iterable[int]) -> None:
        self.select(rows)

    def select(self, rows: Iterable[int]) -> None:
        """Select rows by position (0..N-1); the map greys the rest and the table follows."""
        array = np.asarray(list(rows), dtype=np.int64)
        n = self.store.num_rows
        if array.size and (array.min() < 0 or array.max() >= n):
            from projector.errors import ProjectorError

            bad = int(array[(array < 0) | (array >= n)][0])
            raise ProjectorError(f"row {bad} is outside 0..{n - 1}")
        self.session.state.select(array)

    def focus(self, row: int) -> None:
        """Show ``row``'s sample card and its nearest neighbours in the original space."""
        self.session.state.focused = int(row)

    def panel(self):
        """The Panel layout, e.g. to put into a larger dashboard."""
        return self.session.panel

    def _repr_mimebundle_(self, include=None, exclude=None):
        import panel as pn

        pn.extension(inline=True)  # no CDN: notebook outputs work offline too
        return self.session.panel._repr_mimebundle_(include, exclude)

    def __repr__(self) -> str:
        return f"<MapView {self.store.num_rows:,} rows, map {self.session.state.map_key!r}, {self.session.state.selection.size:,} selected>"


def show(dataset: Any, projection: "Projection | None" = None, *, color_by: str | None = None) -> MapView:
    """An interactive map of ``dataset`` (anything :func:`projector.load` takes) for notebooks."""
    from projector.dataset import Dataset

    if not isinstance(dataset, Dataset):
        import projector

        dataset = projector.load(dataset)
    return MapView(dataset, projection, color_by=color_by)
