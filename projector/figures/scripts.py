"""The JavaScript of the report's maps, read from the packages' asset folders.

Every interaction of a report map is one of these scripts; the hover card (``card.js``) is the
app's own, so a point's card looks the same on a page and in a file.
"""

from __future__ import annotations

from importlib import resources

__all__ = ["script"]


def script(name: str) -> str:
    """A script of the report; ``card.js`` (the hover card) is the app's own."""
    package = "projector.app" if name == "card.js" else "projector.report"
    return resources.files(package).joinpath(f"assets/{name}").read_text(encoding="utf-8")
