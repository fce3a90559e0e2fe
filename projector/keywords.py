"""Names for clusters, in words their own members use.

From a text column: class-based TF-IDF (each cluster's texts as one document, weighed against
all texts; English stop words dropped), top terms joined by `` · ``. From a label column: the
majority value and its share (``"7 · 96%"``). A term is only ever taken from the cluster's own
members' texts, so a label never names what the cluster does not contain. Labels are plain
text: each surface escapes them for its sink.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["keyword_labels", "majority_labels", "SEPARATOR"]

SEPARATOR = " · "


def keyword_labels(
    labels: np.ndarray, texts: Sequence[str | None], *, terms: int = 3, max_features: int = 20_000, sample: int = 50_000
) -> list[str]:
    """One label per cluster ``0..labels.max()``: its top ``terms`` c-TF-IDF terms.

    Past ``sample`` rows, the texts of a seeded random sample are counted (every cluster keeps
    at least 200 members, or all it has): counting is the time at a million rows, and the
    words still come from each cluster's own members.

    ``labels`` is (N,) with -1 for rows in no cluster (their texts count as background only).
    A cluster whose texts hold no word past the stop words gets ``"cluster <id>"``.
    """
    from sklearn.feature_extraction.text import CountVectorizer

    labels = np.asarray(labels)
    count = int(labels.max()) + 1 if len(labels) else 0
    if count == 0:
        return []
    rows = _sample(labels, sample)
    labels = labels[rows]
    docs = ["" if texts[i] is None else str(texts[i]) for i in rows.tolist()]
    vectorizer = CountVectorizer(stop_words="english", max_features=max_features, token_pattern=r"(?u)\b[^\W\d_][\w]+\b")
    try:
        counts = vectorizer.fit_transform(docs)
    except ValueError:  # no word at all past the stop words
        return [f"cluster {c}" for c in range(count)]
    vocabulary = vectorizer.get_feature_names_out()
    import scipy.sparse as sp

    inside = labels >= 0
    membership = sp.csr_matrix((np.ones(int(inside.sum())), (labels[inside], np.flatnonzero(inside))), shape=(count, len(docs)))
    per_cluster = (membership @ counts).tocsr().astype(np.float64)  # (clusters, terms) counts from members only
    term_freq = per_cluster.multiply(1.0 / np.maximum(per_cluster.sum(axis=1), 1.0)).tocsr()
    total = np.asarray(counts.sum(axis=0)).ravel()
    words_per_cluster = float(counts.sum()) / count
    idf = np.log1p(words_per_cluster / np.maximum(total, 1.0))
    scores = term_freq.multiply(idf).tocsr()
    out = []
    for c in range(count):
        row = scores.getrow(c)
        if row.nnz == 0:
            out.append(f"cluster {c}")
            continue
        top = row.indices[np.argsort(-row.data, kind="stable")[:terms]]
        out.append(SEPARATOR.join(str(vocabulary[i]) for i in top))
    return out


def _sample(labels: np.ndarray, size: int) -> np.ndarray:
    """Row positions, ascending: all rows up to ``size``, else a random share of each cluster
    (at least 200 of it) and of the rows in none."""
    n = len(labels)
    if n <= size:
        return np.arange(n)
    order = np.random.default_rng(0).permutation(n)
    order = order[np.argsort(labels[order], kind="stable")]  # shuffled within each cluster
    groups, starts, counts = np.unique(labels[order], return_index=True, return_counts=True)
    rank = np.arange(n) - np.repeat(starts, counts)
    cap = np.repeat(np.maximum(200, (counts * (size / n)).astype(np.int64)), counts)
    return np.sort(order[rank < cap])


def majority_labels(labels: np.ndarray, values: Sequence[object]) -> list[str]:
    """One label per cluster: its most common value and that value's share, ``"7 · 96%"``."""
    labels = np.asarray(labels)
    count = int(labels.max()) + 1 if len(labels) else 0
    keys = np.asarray(["" if v is None else str(v) for v in values], dtype=object)
    out = []
    for c in range(count):
        members = keys[labels == c]
        if len(members) == 0:
            out.append(f"cluster {c}")
            continue
        names, counts = np.unique(members.astype(str), return_counts=True)
        best = int(np.argmax(counts))
        out.append(f"{names[best]}{SEPARATOR}{counts[best] / len(members):.0%}")
    return out
