"""What a report map shows (:class:`MapOptions`) and the point budgets behind its defaults.

Apart from the figures so the report and the app's compare view can build options without
importing the blocks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from projector.explore.overlays import Overlays

__all__ = ["MapOptions", "INTERACTIVE_MAX_POINTS", "INLINE_THUMBNAILS"]

# Points drawn as interactive WebGL glyphs; more are drawn as an image under a stratified sample
# of this many. Software WebGL (VMs, CI) spends about 9 ms per thousand points on every pan frame
# on a quiet 2-core machine (benchmarks/bench_scatter_threshold.py), so 20,000 points keep a
# frame near 0.2 s. benchmarks/bench_report.py at 100,000 points, quiet machine: with 20,000
# interactive points export 4.4 s and first paint 2.3 s; with 50,000, 7.2 s and 3.4 s.
INTERACTIVE_MAX_POINTS = 20_000
# Rows whose thumbnails are inlined (a data URI each, about 0.5-2 kB at 32 px).
INLINE_THUMBNAILS = 10_000


@dataclass(frozen=True)
class MapOptions:
    """What one report map shows.

    Attributes:
        color_by: columns offered in the colour-by switch, the first shown first (None: the
            label columns, then numeric ones, at most eight).
        k: neighbours listed for a clicked point, from the original embedding space.
        metric: distance for those neighbours: ``"cosine"`` or ``"l2"``.
        max_points: the most interactive points; beyond, a raster of all plus a sample.
        thumbnails: the most rows with an inlined thumbnail.
        title: shown above the map.
        seed: for the stratified sample.
        column: the embedding column neighbours are searched in (default: the first).
        overlays: cluster labels and density contours drawn over the map
            (:mod:`projector.figures.overlays`); None draws none. A compare block ignores them,
            as they describe one map's coordinates.
    """

    color_by: Sequence[str] | None = None
    k: int = 10
    metric: str = "cosine"
    max_points: int = INTERACTIVE_MAX_POINTS
    thumbnails: int = INLINE_THUMBNAILS
    title: str | None = None
    seed: int = 0
    width: int = 900
    height: int = 650
    column: str | None = None
    table_columns: Sequence[str] | None = None
    extra: dict = field(default_factory=dict)
    overlays: "Overlays | None" = None
