"""The page of one browser session: a fresh :class:`ViewState` and views over a shared store.

This module only lays views out and wires the URL; each view owns its own widgets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence
from urllib.parse import quote

import panel as pn

from projector.explore.html import bullet_list, escape
from projector.explore.links import InlineLinks, Links, row_endpoint
from projector.app.state import URL_PARAMETERS, ViewState
from projector.app.views.card import CardView
from projector.app.views.clusters import ClusterView
from projector.app.views._events import JobWatch
from projector.app.views.compare import CompareView
from projector.app.views.controls import MapControls, StyleControls
from projector.app.views.legend import LegendView
from projector.app.views.overlays import OverlayView
from projector.app.views.map import WEBGL_MAX_POINTS, MapView
from projector.app.views.neighbors import NeighborsView
from projector.app.views.place import PlaceView
from projector.app.views.search import FilterView, SearchView
from projector.app.views.selection import SelectionView
from projector.app.views.suspects import SuspectsView

if TYPE_CHECKING:
    from projector.explore.store import DataStore

__all__ = ["Session", "build_page", "error_page", "initial_state", "LazyTabs"]

SIDEBAR_WIDTH = 300
_NOTE_STYLE = {"background": "#fff4e5", "padding": "6px 10px", "border-radius": "4px", "font-size": "13px"}


def initial_state(store: "DataStore") -> ViewState:
    """Defaults for a new session: the first map, coloured by the first label column."""
    roles = store.dataset.roles
    keys = store.map_keys
    first = keys[0] if keys else ""
    auto = store.auto_job
    if auto is not None and auto.state == "done" and auto.result is not None:
        first = auto.result.key  # the background map is ready: later pages open on it
    state = ViewState(map_key=first, num_rows=store.num_rows)
    if roles.labels:
        state.color_by = roles.labels[0]
    return state


class Session:
    """All views of one page over ``store``; the page is :attr:`panel`.

    ``inline=True`` is for pages without the app's HTTP routes (notebook outputs): pictures and
    sound are ``data:`` URLs and hover records travel over the Bokeh document.
    """

    def __init__(
        self, store: "DataStore", state: ViewState | None = None, *, webgl_max_points: int = WEBGL_MAX_POINTS,
        others: Sequence[str] = (), inline: bool = False,
    ) -> None:
        self.store = store
        self.others = tuple(name for name in others if name != store.name)
        self.state = state if state is not None else initial_state(store)
        self.links = InlineLinks(store) if inline else Links(store)
        self.comm_hover = None
        if inline:
            from projector.figures.hover import CommHover

            self.comm_hover = CommHover(self.links)
        self.map = MapView(store, self.state, row_endpoint=row_endpoint(store), webgl_max_points=webgl_max_points, comm_hover=self.comm_hover)
        self.legend = LegendView(self.map)
        self.overlays = OverlayView(store, self.state, self.map)
        self.map_controls = MapControls(store, self.state)
        self.style = StyleControls(store, self.state, more_colors=self.overlays.color_columns)
        self.search = SearchView(store, self.state)
        pn.state.onload(self.search.after_paint)  # a link's search runs again once the page shows
        self.filters = FilterView(store, self.state)
        self.selection = SelectionView(store, self.state, self.links, extra_columns=self.overlays.export_columns)
        self.neighbors = NeighborsView(store, self.state, self.map, self.links)
        self.card = CardView(store, self.state, self.links)
        self.place = PlaceView(store, self.state, self.map, clusters=lambda: self.overlays.result)  # rows of another file, placed on this page only
        self.message = pn.pane.HTML("", visible=False, sizing_mode="stretch_width", styles=_NOTE_STYLE)
        self.state.param.watch(self._show_message, ["message"])
        self.header = pn.pane.HTML(self._header(), sizing_mode="stretch_width", styles={"font-size": "14px"})
        self.state.param.watch(lambda *_: setattr(self.header, "object", self._header()), ["filters", "isolate", "map_key"])
        # the first paint waits for nothing the user did not ask for: scores and the background
        # map start once the page has loaded (at once outside a server)
        pn.state.onload(self.map_controls.after_paint)
        pn.state.onload(self.overlays.after_paint)
        self.clusters = ClusterView(store, self.state, self.overlays)
        pn.state.onload(self.clusters.after_paint)
        self.overlays.on_clusters(self._clustered)
        sidebar = pn.Column(
            self.map_controls.panel,
            pn.layout.Divider(),
            pn.pane.Markdown("**Style**", margin=(0, 5)),
            self.style.panel,
            self.overlays.toggles,
            pn.layout.Divider(),
            pn.pane.Markdown("**Search**", margin=(0, 5)),
            self.search.panel,
            pn.pane.Markdown("**Filters**", margin=(0, 5), visible=self.filters.panel.visible),
            self.filters.panel,
            pn.layout.Divider(),
            pn.pane.Markdown("**Add rows from a file**", margin=(0, 5)),
            self.place.panel,
            width=SIDEBAR_WIDTH,
            scroll=True,
        )
        tabs = [("Selection", self.selection.panel), ("Neighbours", self.neighbors.panel), ("Sample", self.card.panel), ("Clusters", self.clusters.panel)]
        self.suspects = None
        if store.suspects.labels:  # likely mislabels, listed once found (label columns of two values or more)
            self.suspects = SuspectsView(store, self.state)
            pn.state.onload(self.suspects.after_paint)
            tabs.append(("Mislabels", self.suspects.panel))
        self.compare = None
        if len(store.dataset.roles.vectors) > 1:
            self.compare = CompareView(store, self.state, on_done=self._compared)
            tabs.append(("Compare", self.compare.panel))
        self.details = LazyTabs(tabs)
        self.state.param.watch(self._focused, ["focused"])
        self.notes = pn.pane.HTML(bullet_list(store.dataset.notes), sizing_mode="stretch_width", visible=bool(store.dataset.notes))
        self._media_watch = JobWatch(lambda job: self._show_notes())
        if store.media_check is not None:
            self._media_watch.watch(store.media_check)
        self.panel = pn.Column(
            self.header,
            self.notes,
            self.message,
            pn.Row(
                sidebar,
                pn.Column(pn.Row(self.map.panel, self.legend.panel, height=560, sizing_mode="stretch_width"), self.details.tabs, sizing_mode="stretch_width"),
                sizing_mode="stretch_width",
            ),
            sizing_mode="stretch_width",
        )

    def _show_notes(self) -> None:
        """The loader's notes and, once checked, how many media show as placeholders."""
        lines = [*self.store.dataset.notes, *self.store.media.notes()]
        self.notes.object = bullet_list(lines)
        self.notes.visible = bool(lines)

    def _header(self) -> str:
        store = self.store
        n = store.num_rows
        drawn = n if self.map.visible is None else int(self.map.visible.sum())
        kind = "a raster image" if self.map.mode == "raster" else "WebGL points"
        how = f"{drawn:,} of {n:,} points drawn as {kind}" if drawn != n else f"{n:,} points, all drawn as {kind}"
        if self.map.outside:
            how += f"; {self.map.outside:,} far points lie outside the first view (reset shows every point)"
        switch = ""
        if self.others:  # datasets served together (e.g. each set and step of a run directory)
            links = " ".join(f'<a class="projector-dataset-link" href="./{quote(name)}">{escape(name)}</a>' for name in self.others)
            switch = f'<div class="projector-switch" style="font-size:12px">also served: {links}</div>'
        return (
            f'<div class="projector-header"><b>projector</b> · {escape(store.name)} · '
            f'<span class="projector-drawn">{how}</span> · '
            f'<span style="color:#777">{escape(store.dataset.source or "")}</span>{switch}</div>'
        )

    def _focused(self, *_) -> None:
        """A focused row fills its neighbour list and its sample card: both reach the page now."""
        self.details.fill(1, 2)
        if self.details.titles[self.details.tabs.active] != "Mislabels":  # a pick from that list keeps it open
            self.details.tabs.active = 1

    def _compared(self, column: str) -> None:
        """A comparison finished: colour the main map by its per-row overlap."""
        self.style.refresh()
        self.state.color_by = column

    def _clustered(self, result) -> None:
        """The shown map's clusters changed: a map coloured by clusters takes the new ones
        (before the colour-by menu drops the old name, which would reset it), and the menu
        offers them."""
        self.place.redraw()  # placed rows' hover names the new clusters
        if self.state.color_by in self.store.clusterings.names():
            if result is not None and result.column != self.state.color_by:
                self.state.color_by = result.column
            else:
                self.state.param.trigger("color_by")
        self.style.refresh()

    def _show_message(self, *_) -> None:
        self.message.object = f'<div class="projector-message">{escape(self.state.message)}</div>'
        self.message.visible = bool(self.state.message)

    def sync_url(self) -> None:
        """Mirror the shareable parts of the state in the page URL (server sessions only)."""
        location = pn.state.location
        if location is None:
            return
        # Panel's own conversion leaves "7" a string, and one failed value drops them all
        link = {name: location.query_params[key] for name, key in URL_PARAMETERS.items() if key in location.query_params}
        location.sync(self.state, URL_PARAMETERS, on_error=lambda mapped: None)
        self.state.apply_link(link)
        self._check_url_state()

    def _check_url_state(self) -> None:
        state, store = self.state, self.store
        if state.map_key and state.map_key not in store.map_keys:
            state.message = f"the link names a map that is not computed here ({state.map_key}); showing {store.map_keys[0]}"
            state.map_key = store.map_keys[0] if store.map_keys else ""
        if state.focused is not None and not 0 <= state.focused < store.num_rows:
            state.focused = None
        rows = state.selection
        if rows.size and (rows.min() < 0 or rows.max() >= store.num_rows):
            state.select(rows[(rows >= 0) & (rows < store.num_rows)])


class LazyTabs:
    """Tabs whose hidden panels reach the browser when first opened or :meth:`fill` is called,
    not with the page: a new page is mostly widgets for the server to build and send. Filled panels
    stay, so what they show is still in the page after switching back (Panel's ``dynamic`` tabs
    unload them, and fetch a stylesheet from a CDN)."""

    def __init__(self, tabs: Sequence[tuple[str, pn.viewable.Viewable]]) -> None:
        self.titles = [title for title, _ in tabs]
        self.panels = [panel for _, panel in tabs]
        self.tabs = pn.Tabs(
            *[(title, panel if i == 0 else pn.Spacer(height=0)) for i, (title, panel) in enumerate(tabs)],
            sizing_mode="stretch_width",
        )
        self.tabs.param.watch(lambda event: self.fill(event.new), "active")

    def filled(self, i: int) -> bool:
        return self.tabs[i] is self.panels[i]

    def fill(self, *indices: int) -> None:
        for i in indices:
            if not self.filled(i):
                self.tabs[i] = (self.titles[i], self.panels[i])


def build_page(store: "DataStore", others: Sequence[str] = ()) -> pn.viewable.Viewable:
    """A new session's page (called by the server once per browser tab); ``others`` names the
    datasets served beside it, linked from the header."""
    session = Session(store, others=others)
    session.sync_url()
    return session.panel


def error_page(name: str, message: str) -> pn.viewable.Viewable:
    """What a dataset that failed to load shows instead of its map."""
    return pn.Column(
        pn.pane.HTML(f"<h2>projector · {escape(name)}</h2>"),
        pn.pane.HTML(f'<div class="projector-error"><b>This dataset could not be loaded.</b><br>{escape(message)}</div>', styles={**_NOTE_STYLE, "background": "#fdecea"}),
        pn.pane.HTML("<p>Fix the input and restart <code>projector serve</code>; the other datasets keep being served.</p>"),
    )
