"""Widgets for a typed parameter class (:mod:`projector.reduce.params`): one per declared field,
with its bounds, its choices and its one-line doc as a tooltip, so a form on the page offers
exactly what the class accepts and the class (not the widget) says what is wrong."""

from __future__ import annotations

from typing import Any, Collection, Iterable, Mapping

import panel as pn

__all__ = ["spec_widgets", "widget_values"]

AUTO = "auto"  # what an empty optional number means (the class picks it)


def spec_widgets(specs: Iterable[Mapping[str, Any]], hidden: Collection[str] = ()) -> list[pn.widgets.Widget]:
    """One widget per parameter described in ``specs`` (:func:`~projector.reduce.params.describe_params`'s
    rows: name, default, doc, low, high, choices, nullable), skipping the ``hidden`` names."""
    widgets: list[pn.widgets.Widget] = []
    for spec in specs:
        name, default = spec["name"], spec["default"]
        if name in hidden:
            continue
        common = {"label": name, "description": spec["doc"], "sizing_mode": "stretch_width"}
        if spec["choices"]:
            widgets.append(pn.widgets.Select(options=list(spec["choices"]), value=default, **common))
        elif isinstance(default, bool):
            widgets.append(pn.widgets.Checkbox(value=default, **common))
        elif isinstance(default, int) or (default is None and spec.get("nullable") and _whole(spec)):
            widgets.append(pn.widgets.IntInput(value=default, start=_bound(spec["low"]), end=_bound(spec["high"]), placeholder=AUTO, **common))
        elif isinstance(default, float):
            widgets.append(pn.widgets.FloatInput(value=default, start=spec["low"], end=spec["high"], **common))
        else:
            widgets.append(pn.widgets.TextInput(value=str(default), **common))
    return widgets


def widget_values(widgets: Iterable[pn.widgets.Widget]) -> dict[str, Any]:
    """``{parameter: value}`` as typed into widgets made by :func:`spec_widgets`."""
    return {widget.label: widget.value for widget in widgets}


def _whole(spec: Mapping[str, Any]) -> bool:
    """An optional parameter whose bounds are whole numbers takes a whole number."""
    return all(isinstance(spec.get(side), int) for side in ("low", "high"))


def _bound(value: Any) -> int | None:
    return None if value is None else int(value)
