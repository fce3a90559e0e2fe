"""The exceptions and warnings projector raises.

Every error a user can cause derives from :class:`ProjectorError`, so the CLI turns all of
them into a one-line message and exit code 2 in one place. Messages name the file, column or
row at fault and say what to do about it.
"""

from __future__ import annotations

__all__ = [
    "ProjectorError",
    "LoadError",
    "FormatError",
    "EmptyDatasetError",
    "SchemaError",
    "VectorError",
    "RowCountError",
    "TooFewRowsError",
    "ParameterError",
    "UnsafeInputError",
    "MissingDependencyError",
    "ProjectorWarning",
]


class ProjectorError(Exception):
    """Root of every error projector raises on purpose."""


class LoadError(ProjectorError):
    """A source could not be read: missing, unsupported, or nothing loadable in it."""


class FormatError(LoadError):
    """A file is not the format its name claims, is truncated, or is empty."""


class EmptyDatasetError(LoadError):
    """The source holds no rows."""


class SchemaError(ProjectorError):
    """Columns or roles do not fit together (duplicate names, unknown column, bad id)."""


class VectorError(SchemaError):
    """Embedding values are unusable: ragged rows, missing or non-finite values."""


class RowCountError(SchemaError):
    """Metadata rows do not line up with embedding rows."""


class TooFewRowsError(ProjectorError, ValueError):
    """Too few rows to project: PCA, UMAP and t-SNE need at least four (also a ValueError, as
    scikit-learn raises for too few samples)."""


class ParameterError(ProjectorError, ValueError):
    """A parameter is unknown or outside its bounds (also a ValueError, as in scikit-learn)."""


class UnsafeInputError(ProjectorError):
    """Input refused for safety: a pickle payload, or a path that leaves the data root."""


class MissingDependencyError(ProjectorError, ImportError):
    """An optional library needed for this input is not installed."""


class ProjectorWarning(UserWarning):
    """Something the user should know about that did not stop the work."""
