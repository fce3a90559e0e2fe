"""The on-disk cache for projections, kNN graphs and embeddings.

An entry is keyed by what it was computed from: the content hash of the embedding (dtype, shape
and bytes), the kind of result, its parameters and the library versions that made it::

    from projector.cache import Cache, cache_key, content_hash

    key = cache_key("knn", content_hash(matrix), {"k": 15, "metric": "cosine"}, {"faiss-cpu": "1.9.0"})
    cache = Cache()                      # $PROJECTOR_CACHE_DIR, else the platform cache folder
    hit = cache.get(key)                 # a CacheEntry, or None
    if hit is None:
        cache.put(key, {"indices": idx, "distances": dist}, {"k": 15, "metric": "cosine"})

Embeddings of texts or images (kind ``"embedding"``) are keyed by :func:`values_hash` of the
inputs instead, with the model's revision in the parameters.

The package is split by job: keys and the content hash (:mod:`projector.cache._keys`), the file
format of one entry (:mod:`projector.cache._format`) and the folder of entries
(:mod:`projector.cache._folder`); import the names from ``projector.cache``.
"""

from __future__ import annotations

from projector.cache._folder import CACHE_DIR_ENV, Cache, CacheInfo, KindUsage, default_root, format_bytes
from projector.cache._format import FORMAT_VERSION, CacheEntry
from projector.cache._keys import CacheKeyError, cache_key, content_hash, values_hash

__all__ = [
    "Cache",
    "CacheEntry",
    "CacheKeyError",
    "CacheInfo",
    "KindUsage",
    "cache_key",
    "content_hash",
    "values_hash",
    "CACHE_DIR_ENV",
    "FORMAT_VERSION",
]
