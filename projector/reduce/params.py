"""One typed parameter object per method, with defaults, bounds and a one-line doc per field.

Constraints are declared on the fields (``param(...)``), not scattered through the code; the
validator, the CLI's ``--param`` parsing and the docs all read them. Unknown names are errors.
"""

from __future__ import annotations

import difflib
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any, ClassVar, Mapping

from projector.errors import ParameterError, ProjectorError
from projector.validation import one_of

__all__ = ["ParameterError", "MethodParams", "PCAParams", "UMAPParams", "TSNEParams", "CustomParams", "PARAMS", "param", "describe_params"]


def param(default: Any, doc: str, *, low: float | None = None, high: float | None = None, choices: tuple = (), nullable: bool = False):
    """A declared parameter: default, one-line doc, and its bounds or choices."""
    return field(default=default, metadata={"doc": doc, "low": low, "high": high, "choices": choices, "nullable": nullable})


@dataclass(frozen=True)
class MethodParams:
    """Base of the per-method parameter objects: validates every field on creation."""

    method: ClassVar[str] = ""

    def __post_init__(self) -> None:
        for f in fields(self):
            _check(self.method, f.name, getattr(self, f.name), f.metadata, f.default)

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> "MethodParams":
        """Build from user options (strings from the CLI are converted); unknown names are errors."""
        known = {f.name: f for f in fields(cls)}
        values = {}
        for name, value in options.items():
            if name not in known:
                close = difflib.get_close_matches(name, list(known), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ParameterError(
                    f"{cls.method}: unknown parameter {name!r}{hint} Parameters: {', '.join(known)}"
                )
            values[name] = _convert(value, known[name].default) if isinstance(value, str) else value
        return cls(**values)

    def replace(self, **changes: Any) -> "MethodParams":
        return type(self)(**{**asdict(self), **changes})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PCAParams(MethodParams):
    method: ClassVar[str] = "pca"
    dims: int = param(2, "number of principal components to keep", low=1)
    seed: int = param(0, "unused by exact PCA; kept so every method takes a seed", low=0)


@dataclass(frozen=True)
class NeighborMapParams(MethodParams):
    """What every neighbour-graph method (UMAP, t-SNE) takes."""

    dims: int = param(2, "dimensions of the map", choices=(2, 3))
    metric: str = param("cosine", "distance in the original space", choices=("cosine", "l2", "ip"))
    pca_dims: int | None = param(100, "PCA components to search neighbours in when D > 100 (None: never)", low=2, high=1000, nullable=True)
    seed: int = param(0, "random seed: the same seed gives the same map on the same device", low=0)


@dataclass(frozen=True)
class UMAPParams(NeighborMapParams):
    method: ClassVar[str] = "umap"
    n_neighbors: int = param(15, "neighbours per point in the graph: larger keeps more global structure", low=2, high=200)
    min_dist: float = param(0.1, "how tightly points may pack in the map", low=0.0, high=3.0)
    spread: float = param(1.0, "scale of the embedded points, with min_dist", low=0.01, high=10.0)
    n_epochs: int | None = param(None, "optimisation epochs (default: 500 up to 10,000 points, else 200)", low=1, high=10_000, nullable=True)
    learning_rate: float = param(1.0, "initial step size of the layout optimisation", low=1e-4, high=100.0)
    negative_sample_rate: int = param(5, "negative samples per positive edge", low=1, high=100)
    init: str = param("spectral", "initial layout", choices=("spectral", "pca", "random"))
    backend: str = param("auto", "'torch' (projector's own, CPU or GPU), 'umap-learn', or 'auto' (torch when installed)", choices=("auto", "torch", "umap-learn"))


@dataclass(frozen=True)
class TSNEParams(NeighborMapParams):
    method: ClassVar[str] = "tsne"
    perplexity: float = param(30.0, "effective number of neighbours each point attends to", low=1.0, high=500.0)
    learning_rate: float | str = param("auto", "step size; 'auto' is N / early_exaggeration", low=1e-3, high=1e6)
    n_iter: int = param(500, "iterations after the early exaggeration phase", low=0, high=100_000)
    early_exaggeration: float = param(12.0, "attraction multiplier during the early phase", low=1.0, high=100.0)
    early_exaggeration_iter: int = param(250, "iterations of the early exaggeration phase", low=0, high=10_000)
    init: str = param("pca", "initial layout", choices=("pca", "random"))
    backend: str = param("auto", "'openTSNE' (CPU, FFT gradients), 'torch' (exact gradients, for GPUs), or 'auto' (torch on CUDA)", choices=("auto", "openTSNE", "torch"))


@dataclass(frozen=True)
class CustomParams(MethodParams):
    """Custom axes (:mod:`projector.reduce.custom_axes`): the ends of the two axes, each
    checked on creation, an error naming the bad end."""

    method: ClassVar[str] = "custom"
    x: tuple | None = param(None, "x axis ends (A, B): each a text query, {'column': C, 'value': V}, or a list of row positions", nullable=True)
    y: tuple | None = param(None, "y axis ends (C, D) like x; None: the top principal component of what x leaves", nullable=True)
    metric: str = param("cosine", "cosine: rows and ends scaled to unit length first; l2: the vectors as they are", choices=("cosine", "l2"))
    model: str | None = param(None, "the text model for text ends (default: the one recorded with the column)", nullable=True)

    def __post_init__(self) -> None:
        from projector.reduce.custom_axes import check_axis

        _check(self.method, "metric", self.metric, {"choices": ("cosine", "l2")}, "cosine")
        if self.model is not None and not isinstance(self.model, str):
            object.__setattr__(self, "model", str(self.model))  # a Path, kept as text for provenance
        for axis in ("x", "y"):
            ends = getattr(self, axis)
            if ends is not None:
                object.__setattr__(self, axis, check_axis(axis, ends))


PARAMS: dict[str, type[MethodParams]] = {"pca": PCAParams, "umap": UMAPParams, "tsne": TSNEParams, "custom": CustomParams}


def describe_params(method: str) -> list[dict[str, Any]]:
    """The declared parameters of ``method`` as data: name, default, doc, bounds."""
    return [
        {"name": f.name, "default": f.default if f.default is not MISSING else None, **f.metadata}
        for f in fields(PARAMS[method])
    ]


def _check(method: str, name: str, value: Any, meta: Mapping[str, Any], default: Any) -> None:
    where = f"{method}: {name}={value!r}"
    if value is None:
        if meta.get("nullable"):
            return
        raise ParameterError(f"{where} must be set; the default is {default!r}")
    choices = meta.get("choices") or ()
    if isinstance(value, str):
        if choices and value not in choices:
            raise ParameterError(f"{where} must be one of {one_of(choices)}; the default is {default!r}")
        if not choices and not (isinstance(default, str) and value == default):
            raise ParameterError(f"{where} must be a number; the default is {default!r}")
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParameterError(f"{where} must be a number; the default is {default!r}")
    if isinstance(default, int) and not isinstance(default, bool) and not float(value).is_integer():
        raise ParameterError(f"{where} must be a whole number; the default is {default!r}")
    if choices and value not in choices:
        raise ParameterError(f"{where} must be one of {one_of(choices)}; the default is {default!r}")
    low, high = meta.get("low"), meta.get("high")
    if (low is not None and value < low) or (high is not None and value > high):
        span = f"[{low if low is not None else '-inf'}, {high if high is not None else 'inf'}]"
        raise ParameterError(f"{where} must be in {span}; the default is {default!r}")


def _convert(text: str, default: Any) -> Any:
    """A CLI string as the type its default suggests ('none' for optional numbers)."""
    lowered = text.strip().lower()
    if lowered in ("none", "null"):
        return None
    for kind in (int, float):
        try:
            value = kind(text)
        except ValueError:
            continue
        if kind is float and isinstance(default, int) and value.is_integer():
            return int(value)
        return value
    return text
