"""The JavaScript of the maps, read from ``projector/figures/assets``.

Every interaction of a report map is one of these scripts, and the app's map reads the same
folder: the hover card (``card.js``) is one file, so a point's card looks the same on a page,
in a notebook and in a file. The app's page template (``index.html``) stays with the app.
"""

from __future__ import annotations

from importlib import resources

__all__ = ["script"]


def script(name: str) -> str:
    """The text of ``assets/<name>`` of this package (``card.js``, ``hover.js``, ...)."""
    return resources.files("projector.figures").joinpath(f"assets/{name}").read_text(encoding="utf-8")
