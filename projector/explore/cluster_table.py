"""The cluster list of a map as plain data: one row per cluster, largest first.

A row says what the page lists: the cluster's label (as the map draws it), its size, the terms
that name it (text data) and, when the dataset has a label column, its purity against that
column, the majority value and its share (``"digit 7 · 96%"``), so a user sees at once whether a
cluster is one class or a mix. Texts are plain text: the page escapes them where they are drawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

from projector.keywords import SEPARATOR

if TYPE_CHECKING:
    from projector.clusters import Clusters

__all__ = ["ClusterRow", "cluster_rows", "purity"]


@dataclass(frozen=True)
class ClusterRow:
    """One cluster of the list: its id in the ``cluster`` column, label, size, the terms of its
    label (empty when it is not named by keywords) and its purity (None without a label column)."""

    cluster: int
    label: str
    size: int
    terms: tuple[str, ...] = ()
    purity: str | None = None
    share: float | None = None  # the purity's share, 0..1, for sorting and tests


def cluster_rows(clusters: "Clusters", labels: Sequence[object] | None = None, *, keyword_named: bool = False) -> tuple[ClusterRow, ...]:
    """The rows of ``clusters``' list, by decreasing size; ``labels`` (one value per row) gives
    each its purity, and ``keyword_named`` says the names are c-TF-IDF terms (text data)."""
    sizes = clusters.sizes()
    names = list(clusters.names) or [f"cluster {c}" for c in range(clusters.count)]
    majority = purity(clusters.labels, labels) if labels is not None else None
    rows = []
    for c in np.argsort(-sizes, kind="stable").tolist():
        name = names[c] if c < len(names) else f"cluster {c}"
        value, share = majority[c] if majority is not None else (None, None)
        rows.append(ClusterRow(
            cluster=int(c), label=name, size=int(sizes[c]),
            terms=tuple(name.split(SEPARATOR)) if keyword_named else (),
            purity=f"{value}{SEPARATOR}{share:.0%}" if value is not None else None, share=share,
        ))
    return tuple(rows)


def purity(clusters: np.ndarray, labels: Sequence[object]) -> list[tuple[str | None, float | None]]:
    """Per cluster ``0..max``: its most common label (missing values count as none) and that
    label's share of the cluster's rows; ``(None, None)`` for an empty cluster. One pass over
    the rows (a count per cluster and label), so it costs the same for 10 or 1,000 clusters."""
    clusters = np.asarray(clusters)
    count = int(clusters.max()) + 1 if clusters.size else 0
    keys = np.asarray(["" if value is None else str(value) for value in labels], dtype=object)
    names, codes = np.unique(keys.astype(str), return_inverse=True)
    inside = clusters >= 0
    table = np.bincount(clusters[inside].astype(np.int64) * len(names) + codes.ravel()[inside], minlength=count * len(names))
    table = table.reshape(count, len(names))
    out: list[tuple[str | None, float | None]] = []
    for c in range(count):
        total = int(table[c].sum())
        if total == 0:
            out.append((None, None))
            continue
        best = int(np.argmax(table[c]))
        out.append((str(names[best]), float(table[c, best]) / total))
    return out
