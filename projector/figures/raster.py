"""The map's raster layer on a Bokeh figure: the shaded image of every drawn row, and hover.

The image comes from the one shading (:class:`projector.explore.shading.MapRaster`); this layer
is the Bokeh side: the image renderer, re-rendered after each pan or zoom (``RangesUpdate``) and
resize, and a one-point "pointer" source the server moves onto the hovered row (found by
:class:`~projector.explore.shading.NearestRows`), whose change draws the same hover card as the
WebGL scatter (``assets/hover.js``).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from projector.explore.shading import MAX_PIXELS, MapRaster, NearestRows, Viewport

if TYPE_CHECKING:
    from concurrent.futures import Executor

__all__ = ["RasterLayer", "inner_size", "DEFAULT_SIZE"]

DEFAULT_SIZE = (800, 500)  # plot size assumed until the browser reports it
HOVER_TOLERANCE = 10.0  # screen pixels from the pointer to the nearest row hovered
POINTER_COLOR = "#222222"


class RasterLayer:
    """Raster mode on a Bokeh ``figure``: the image of every drawn row, and hover by nearest row.

    :meth:`show` gives the layer its points (None leaves the figure to the WebGL scatter);
    :meth:`restyle` changes colours, mask, selection or opacity. Renders after browser events
    are coalesced into one per event-loop tick, using the ranges and size at that moment, so a
    burst of pans and resizes costs one render (latest wins).

    Args:
        figure: the map's figure; its ranges and inner size set the image.
        hover_js: CustomJS body drawing the card of ``cb_data.index.indices[0]``; it gets
            ``source`` (the pointer) and ``endpoint`` as arguments.
        row_endpoint: URL prefix of the row endpoint, passed to ``hover_js``.
        attached: False for a map that is never drawn as a raster: the layer then adds nothing
            to the figure and listens to nothing.
    """

    def __init__(self, figure, *, hover_js: str, row_endpoint: str, executor: "Executor | None" = None, attached: bool = True) -> None:
        from bokeh.events import RangesUpdate
        from bokeh.models import ColumnDataSource, CustomJS

        self.figure = figure
        self.source = ColumnDataSource(data=_empty_image())
        self.renderer = figure.image_rgba(image="image", x="x", y="y", dw="dw", dh="dh", source=self.source, level="image")
        self.pointer = ColumnDataSource(data={"x": np.zeros(0, np.float32), "y": np.zeros(0, np.float32), "row": np.zeros(0, np.int32)})
        self.pointer_renderer = figure.scatter("x", "y", source=self.pointer, size=12, fill_color=None, line_color=POINTER_COLOR, line_width=1.5)
        self.hover_callback = CustomJS(args={"source": self.pointer, "endpoint": row_endpoint, "query": ""}, code=hover_js)
        self.pointer.js_on_change("data", self.hover_callback)
        self.raster: MapRaster | None = None
        self.nearest: NearestRows | None = None
        self.style: dict = {}
        self.hovered: int | None = None
        self.renders = 0  # images rendered (for tests and diagnostics)
        self._pending = False
        self._listening = False
        self.executor = executor  # renders run there inside a served page, not on its event loop
        self._dirty = False
        self._in_flight = False
        self.attached = attached
        if not attached:  # a map drawn as WebGL points: nothing of this layer reaches the page
            figure.renderers = [r for r in figure.renderers if r is not self.renderer and r is not self.pointer_renderer]
            return
        figure.on_event(RangesUpdate, lambda _event: self.request_render())
        figure.on_change("inner_width", self._on_resize)
        figure.on_change("inner_height", self._on_resize)

    def _on_resize(self, attr: str, old, new) -> None:
        self.request_render()

    @property
    def active(self) -> bool:
        return self.raster is not None

    def show(
        self, x: np.ndarray | None, y: np.ndarray | None = None, *,
        raster: "MapRaster | None" = None, nearest: "NearestRows | None" = None, **style,
    ) -> None:
        """Draw the rows at ``x``, ``y`` as a raster now (None: turn raster mode off).
        ``raster`` and ``nearest``, when given, are those rows already binned and indexed
        (shared by the pages on one map); else they are built here."""
        self._point_at(None)
        if x is None:
            self.raster = self.nearest = None
            self.source.data = _empty_image()
            return
        if not self.attached:
            raise RuntimeError("this raster layer was built detached (the map is drawn as WebGL points)")
        self._listen_to_pointer()
        self.raster = raster if raster is not None else MapRaster(x, y)
        self.nearest = nearest if nearest is not None else NearestRows(self.raster.x, self.raster.y).build()
        self.style = style
        self.request_render()  # at once outside a server

    def _listen_to_pointer(self) -> None:
        # only in raster mode: the browser sends every pointer move to the server once subscribed
        from bokeh.events import MouseLeave, MouseMove

        if not self._listening:
            self._listening = True
            self.figure.on_event(MouseMove, lambda event: self.hover(event.x, event.y))
            self.figure.on_event(MouseLeave, lambda _event: self._point_at(None))

    def restyle(self, **style) -> None:
        """Change how rows are drawn (``colors``, ``visible``, ``selection``, ``opacity``,
        ``spread``: the arguments of :meth:`MapRaster.render`) and render again soon."""
        self.style.update(style)
        if "visible" in style and self.hovered is not None:
            visible = style["visible"]
            if visible is not None and not visible[self.hovered]:
                self._point_at(None)
        self.request_render()

    # -- rendering --------------------------------------------------------------------------

    def viewport(self) -> Viewport:
        """The figure's current ranges and inner size (a default size until the browser reports it)."""
        fig = self.figure
        x0, x1 = sorted((float(fig.x_range.start), float(fig.x_range.end)))
        y0, y1 = sorted((float(fig.y_range.start), float(fig.y_range.end)))
        if x1 <= x0:
            x1 = x0 + 1.0
        if y1 <= y0:
            y1 = y0 + 1.0
        width, height = inner_size(fig)
        return Viewport(x0, x1, y0, y1, width, height)

    def render(self) -> None:
        """Render the image for the current viewport and send it to the browser."""
        self._pending = False
        if self.raster is None:
            return
        view = self.viewport()
        self._apply(self.raster, view, self.raster.render(view, **self.style))

    def request_render(self) -> None:
        """Render soon: on the executor when there is one (one frame in flight at a time; the
        requests made meanwhile become one more frame of the latest view), else on the next
        tick of the session's event loop (at once outside a server)."""
        if self.raster is None:
            return
        doc = self.figure.document
        if doc is None or doc.session_context is None:
            self.render()
        elif self.executor is not None:
            self._dirty = True
            if not self._in_flight:
                from bokeh.document import without_document_lock

                self._in_flight = True
                doc.add_next_tick_callback(without_document_lock(self._render_off_loop))
        elif not self._pending:
            self._pending = True
            doc.add_next_tick_callback(self.render)

    async def _render_off_loop(self) -> None:
        import asyncio

        doc = self.figure.document
        loop = asyncio.get_running_loop()
        try:
            while self._dirty and self.raster is not None and doc is not None:
                self._dirty = False
                raster, view, style = self.raster, self.viewport(), dict(self.style)
                image = await loop.run_in_executor(self.executor, partial(raster.render, view, **style))
                doc.add_next_tick_callback(partial(self._apply, raster, view, image))
        finally:
            self._in_flight = False

    def _apply(self, raster: "MapRaster", view: Viewport, image: np.ndarray) -> None:
        """Send ``image`` of ``view`` to the browser, unless the map changed while it was drawn."""
        if raster is not self.raster:
            return  # the map changed while this frame was drawn
        self.renders += 1
        self.source.data = {"image": [image], "x": [view.x0], "y": [view.y0], "dw": [view.x1 - view.x0], "dh": [view.y1 - view.y0]}

    # -- hover ------------------------------------------------------------------------------

    def hover(self, x: float | None, y: float | None) -> int | None:
        """Move the pointer to the drawn row nearest to data position ``(x, y)``, if close."""
        if self.nearest is None or x is None or y is None:
            return None
        view = self.viewport()
        scale_x = view.width / (view.x1 - view.x0)
        scale_y = view.height / (view.y1 - view.y0)
        row = self.nearest.query(x, y, scale_x, scale_y, HOVER_TOLERANCE, visible=self.style.get("visible"))
        self._point_at(row)
        return row

    def _point_at(self, row: int | None) -> None:
        if row == self.hovered:
            return
        self.hovered = row
        if row is None or self.nearest is None:
            self.pointer.data = {"x": np.zeros(0, np.float32), "y": np.zeros(0, np.float32), "row": np.zeros(0, np.int32)}
        else:
            self.pointer.data = {"x": self.nearest.x[[row]], "y": self.nearest.y[[row]], "row": np.array([row], dtype=np.int32)}


def _empty_image() -> dict:
    return {"image": [], "x": [], "y": [], "dw": [], "dh": []}


def inner_size(figure, default: tuple[int, int] = DEFAULT_SIZE) -> tuple[int, int]:
    """The figure's inner width and height in screen pixels as the browser last reported them
    (``default`` before it has)."""
    from bokeh.core.property.descriptors import UnsetValueError

    size = []
    for name, fallback in zip(("inner_width", "inner_height"), default):
        try:
            value = getattr(figure, name)
        except UnsetValueError:
            value = None
        size.append(min(max(int(value), 1), MAX_PIXELS) if value else fallback)
    return size[0], size[1]
