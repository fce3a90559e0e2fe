"""The exceptions and warnings projector raises.

Every error a user can cause derives from :class:`ProjectorError`, so the CLI turns all of
them into a one-line message and exit code 2 in one place. Messages name the file, column or
row at fault and say what to do about it.

The tree, and which errors are also a built-in one (so code written for scikit-learn or the
standard library catches them without knowing projector)::

    ProjectorError
    ├── LoadError                                a source cannot be read
    │   ├── FormatError                          not the format its name claims, truncated, empty
    │   └── EmptyDatasetError                    no rows
    ├── SchemaError              + ValueError    columns or roles do not fit together
    │   ├── VectorError          + ValueError    ragged, missing or non-finite embedding values
    │   └── RowCountError        + ValueError    metadata rows do not line up with embedding rows
    ├── TooFewRowsError          + ValueError    fewer than four rows to project
    ├── ParameterError           + ValueError    a parameter outside its constraint
    ├── UnsafeInputError                         refused for safety: a pickle, a path leaving its root
    └── MissingDependencyError   + ImportError   an optional library is not installed
    ProjectorWarning (a UserWarning)

Why ValueError: each of these says a value the caller passed is wrong (a column, an array, a
parameter), which is what ``ValueError`` means in Python and what scikit-learn raises, so
``except ValueError`` works as it does there. Load errors are not: the value (a path) may be
fine and the file wrong. MissingDependencyError is an ImportError so that the usual ``try:
import x / except ImportError`` fallbacks keep working. Inside projector, an ``except ValueError`` around a call that can
raise one of these must let a :class:`ProjectorError` through first (``except ProjectorError:
raise``) or keep the call out of its ``try``.
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


class SchemaError(ProjectorError, ValueError):
    """Columns or roles do not fit together (duplicate names, unknown column, bad id); also a
    ValueError, like every error about a value the caller passed."""


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
