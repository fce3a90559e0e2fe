"""The four ends of a custom-axes map, as the side bar's "custom axes" method asks for them.

Each end is typed as text: ``column=value`` (a category of the data, its rows' centroid) or
anything else (a query embedded by the column's model). The map itself is computed like any
other, by :class:`~projector.app.views.controls.MapControls` on the store's worker thread;
this form only turns the boxes into ``x=`` / ``y=`` options (:mod:`projector.reduce.custom_axes`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import panel as pn

from projector.errors import ParameterError
from projector.reduce.custom_axes import end_from_text

if TYPE_CHECKING:
    from projector.explore.store import DataStore

__all__ = ["AxisEndsForm"]

_HINT = "a query, or column=value"


class AxisEndsForm:
    """Four text boxes: x from, x to, y from, y to (y may stay empty)."""

    def __init__(self, store: "DataStore") -> None:
        self.store = store
        self.ends = {
            name: pn.widgets.TextInput(label=label, placeholder=_HINT, width=130)
            for name, label in (("x0", "x from"), ("x1", "x to"), ("y0", "y from"), ("y1", "y to"))
        }
        self.help = pn.pane.Markdown(
            "Each end: words (embedded by the data's model) or `column=value` (a category's centre). "
            "Leave y empty for the most spread left.", styles={"font-size": "11px", "color": "#555"}, margin=(0, 5),
        )
        self.panel = pn.Column(
            pn.Row(self.ends["x0"], self.ends["x1"]), pn.Row(self.ends["y0"], self.ends["y1"]), self.help,
            sizing_mode="stretch_width",
        )

    def options(self) -> dict[str, Any]:
        """``x=`` and ``y=`` for ``project("custom", ...)``; a ParameterError naming the empty box."""
        columns = self.store.dataset.column_names
        texts = {name: widget.value.strip() for name, widget in self.ends.items()}
        options: dict[str, Any] = {}
        for axis in ("x", "y"):
            first, second = texts[f"{axis}0"], texts[f"{axis}1"]
            if not first and not second and axis == "y":
                continue
            if not first or not second:
                empty = f"{axis} {'from' if not first else 'to'}"
                raise ParameterError(f"custom axes: '{empty}' is empty; give both ends of {axis} ({_HINT})" + ("" if axis == "x" else ", or neither"))
            options[axis] = (end_from_text(first, columns), end_from_text(second, columns))
        return options
