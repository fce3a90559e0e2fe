"""``projector cache info|clear``: where the on-disk cache is, what it holds, and emptying it."""

from __future__ import annotations

import argparse




def _cache_info(args: argparse.Namespace) -> int:
    from projector.cache import Cache

    info = Cache().info()
    print(info.to_json() if args.json else info.to_text())
    return 0


def _cache_clear(args: argparse.Namespace) -> int:
    from projector.cache import Cache, format_bytes

    cache = Cache()
    before = cache.info().bytes
    removed = cache.clear(args.kind)
    freed = max(0, before - cache.info().bytes)
    what = f"{args.kind} entries" if args.kind else "entries"
    print(f"removed {removed:,} {what} from {cache.root}, freed {format_bytes(freed)}")
    return 0
