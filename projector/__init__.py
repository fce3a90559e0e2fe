"""projector: see your embedding space.

Load embeddings and the samples behind them into a :class:`Dataset`, then project, explore and
report on them::

    import projector
    ds = projector.load("eval_run.parquet")      # or a DataFrame, an array, a folder ...
    ds.info()

Importing this package is cheap: the heavy libraries (umap, faiss, panel, torch) load only
when a function that needs them runs.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from projector._version import __version__
from projector.errors import *  # noqa: F403  (the error tree; its names are listed once, in errors.__all__)
from projector import errors as _errors

if TYPE_CHECKING:
    from projector.comparison import Comparison, compare
    from projector.dataset import Dataset
    from projector.evaluation import Metrics, metrics
    from projector.loaders import demo, load
    from projector.notebook import MapView, show
    from projector.report import Report
    from projector.runlog import log
    from projector.schema import Roles

__all__ = [
    "__version__",
    "Dataset",
    "Roles",
    "load",
    "demo",
    "metrics",
    "Metrics",
    "compare",
    "Comparison",
    "log",
    "Report",
    "show",
    "MapView",
]
__all__ += _errors.__all__

# Public names served lazily, so `import projector` pulls in neither pyarrow nor numpy.
_LAZY = {
    "Dataset": "projector.dataset",
    "Roles": "projector.schema",
    "load": "projector.loaders",
    "demo": "projector.loaders",
    "metrics": "projector.evaluation",
    "Metrics": "projector.evaluation",
    "compare": "projector.comparison",
    "Comparison": "projector.comparison",
    "log": "projector.runlog",
    "Report": "projector.report",
    "show": "projector.notebook",
    "MapView": "projector.notebook",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'projector' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
