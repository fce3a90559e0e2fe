"""Side-bar controls: which map, computing a new one, and how points are drawn.

Widgets only write :class:`ViewState` or start a :class:`~projector.explore.jobs.Job` on the
store; the job runs on a worker thread and this view polls it from the session's own
periodic callback, so the page stays responsive and other sessions are never blocked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import panel as pn

from projector.explore.html import bullet_list
from projector.app.views._events import Poller
from projector.app.views._params import spec_widgets
from projector.app.views._text import set_text, text_pane
from projector.app.views.custom_axes import AxisEndsForm
from projector.explore.maps import QUALITY_PREFIX
from projector.errors import ProjectorError
from projector.validation import method_name, method_options

if TYPE_CHECKING:
    from projector.explore.jobs import Job
    from projector.app.state import ViewState
    from projector.explore.store import DataStore

__all__ = ["MapControls", "StyleControls", "parameter_widgets"]

METHODS = method_options(("umap", "tsne", "pca", "custom"))  # display name -> method, the slow ones first
# parameters the page does not offer: the map is 2-D, and backends are chosen automatically
_HIDDEN_PARAMS = {"dims", "backend", "pca_dims", "n_epochs", "spread", "negative_sample_rate"}
_POLL_MS = 250
_REFRESH_MS = 2000


def parameter_widgets(method: str) -> list[pn.widgets.Widget]:
    """One widget per declared parameter of ``method``, with its bounds and doc as a tooltip."""
    from projector.reduce.params import describe_params

    return spec_widgets(describe_params(method), _HIDDEN_PARAMS)


class MapControls:
    """Pick a map; compute a new one with a progress bar and a cancel button."""

    def __init__(self, store: "DataStore", state: "ViewState") -> None:
        self.store = store
        self.state = state
        self.job: "Job | None" = None
        self.maps = pn.widgets.Select(label="Map", options=store.map_keys, value=state.map_key or None, sizing_mode="stretch_width")
        self.maps.param.watch(lambda event: setattr(state, "map_key", event.new or ""), "value")
        state.param.watch(self._show_map_key, ["map_key"])
        self.axes = pn.Row(
            pn.widgets.IntInput.from_param(state.param.pca_x, label="x: PC", width=90),
            pn.widgets.IntInput.from_param(state.param.pca_y, label="y: PC", width=90),
            visible=False,
        )
        self.about = pn.pane.HTML("", sizing_mode="stretch_width")
        self.method = pn.widgets.RadioButtonGroup(label="Method", options=list(METHODS), value=method_name("umap"), color="default")
        self.column = pn.widgets.Select(label="Embedding", options=list(store.dataset.roles.vectors), sizing_mode="stretch_width")
        # the parameter form is built when first opened: most maps use the defaults, and its
        # ~10 widgets were a tenth of what every new page cost the server
        self.tune = pn.widgets.Toggle(label="Parameters", value=False, sizing_mode="stretch_width")
        self.params = pn.Column(_placeholder(), sizing_mode="stretch_width", visible=False)
        self._params_for = ""  # the method whose form self.params holds
        self._ends: AxisEndsForm | None = None  # custom axes' four ends, built when first chosen
        self.compute = pn.widgets.Button(label="Compute map", color="primary", sizing_mode="stretch_width")
        self.cancel = pn.widgets.Button(label="Cancel", color="warning", visible=False, sizing_mode="stretch_width")
        self.progress = pn.indicators.Progress(label="progress", value=-1, max=100, visible=False, sizing_mode="stretch_width", height=14)
        self.status = text_pane(sizing_mode="stretch_width", styles={"font-size": "12px"})
        self.method.param.watch(self._show_params, "value")
        self.tune.param.watch(self._show_params, "value")
        self.compute.on_click(self._start)
        self.cancel.on_click(self._cancel)
        self._poller = Poller(self.poll, _POLL_MS)
        self._known_maps = store.map_keys
        self._quality: "Job | None" = None  # the score of the axes shown, while it is computed
        self._scoring = False  # nothing is scored before the page has painted
        self._auto_handled = store.auto_job if store.auto_job is not None and store.auto_job.finished else None
        self.background = text_pane(sizing_mode="stretch_width", styles={"font-size": "12px", "color": "#555"})
        Poller(self._refresh_maps, _REFRESH_MS).start()  # maps computed in other sessions appear here
        state.param.watch(self._describe, ["pca_x", "pca_y"])
        self._show_params()
        self._describe()
        self.panel = pn.Column(
            self.maps, self.axes, self.about, self.background,
            pn.layout.Divider(),
            pn.pane.Markdown("**New map**", margin=(0, 5)),
            self.method, self.column, self.tune, self.params, self.compute, self.progress, self.cancel, self.status,
            sizing_mode="stretch_width",
        )

    def _refresh_maps(self) -> None:
        keys = self.store.map_keys
        if keys != self._known_maps:
            self._known_maps = keys
            self.maps.options = keys
        if self._quality is not None:
            self._describe()
        self._follow_auto_map()

    def after_paint(self) -> None:
        """The page has painted: start what waits for it (this map's quality, the background map)."""
        self._scoring = True
        self.store.start_auto_map()
        self._describe()
        self._follow_auto_map()

    def _follow_auto_map(self) -> None:
        """Show the map computed after the first paint: progress while it runs, then switch to
        it, unless this page's user picked another map meanwhile."""
        job = self.store.auto_job
        if job is None or job is self._auto_handled:
            set_text(self.background, "")
            return
        if not job.finished:
            set_text(self.background, f"{job.describe()} (computing in the background; the page stays usable)")
            return
        self._auto_handled = job
        entry = job.result
        if job.state != "done" or entry is None:
            set_text(self.background, job.describe())
            return
        set_text(self.background, "")
        self.maps.options = self.store.map_keys
        untouched = (self.state.pca_x, self.state.pca_y) == (1, 2)
        if self.state.map_key == self.store.first_map and untouched:
            self.state.map_key = entry.key
            self.state.message = f"{entry.key} is ready: showing it now ({self.store.first_map} stays in the Map list)"
        else:
            self.state.message = f"{entry.key} is ready: pick it in the Map list"

    def _show_map_key(self, *_) -> None:
        self.maps.options = self.store.map_keys
        if self.state.map_key in self.maps.options:
            self.maps.value = self.state.map_key
        self._describe()

    def _describe(self, *_) -> None:
        key = self.state.map_key
        if not key or key not in self.store.map_keys:
            self.about.object = ""
            self.axes.visible = False
            return
        entry = self.store.map(key)
        self.axes.visible = entry.method == "pca" and entry.dims > 2
        if self.axes.visible:
            for widget in self.axes:
                widget.end = entry.dims
        job = self.store.quality_job(entry, entry.drawn_axes(self.state.pca_x, self.state.pca_y), start=self._scoring)
        quality = job.result if job is not None and job.state == "done" else None
        scored = entry.projection is not None and entry.method != "identity"
        arrived = self._quality is not None and self._quality is job and job.finished
        self._quality = job if job is not None and not job.finished else None
        self.about.object = bullet_list(entry.describe(quality, _pending(job) if scored else ""))
        if arrived:
            self.state.quality_version += 1  # the quality colour-by can now be drawn

    def _show_params(self, *_) -> None:
        """Show (building it if needed) or hide the chosen method's parameter form."""
        method = METHODS[self.method.value]
        self.tune.visible = method != "custom"
        if method == "custom":  # its form is the four ends, always shown
            if self._params_for != method:
                self._ends = self._ends or AxisEndsForm(self.store)
                self.params.objects, self._params_for = [self._ends.panel], method
            self.params.visible = True
            return
        if self.tune.value and self._params_for != method:
            self.params.objects = parameter_widgets(method)
            self._params_for = method
        elif not self.tune.value and self._params_for != method:
            self.params.objects, self._params_for = [_placeholder()], ""  # a stale form must not feed options()
        self.params.visible = self.tune.value

    def options(self) -> dict[str, Any]:
        """The parameters typed into the form (validated by the method's parameter class)."""
        from projector.reduce.params import PARAMS

        method = METHODS[self.method.value]
        if method == "custom":
            return self._ends.options() if self._ends is not None else {}
        values = {widget.label: widget.value for widget in self.params.objects} if self._params_for == method else {}
        params = PARAMS[method].from_options(values)  # raises a ParameterError naming the field
        return {name: value for name, value in params.to_dict().items() if name in values}

    def _start(self, *_) -> None:
        if self.job is not None and not self.job.finished:
            return
        try:
            options = self.options()
        except ProjectorError as exc:
            set_text(self.status, str(exc))
            return
        self.job = self.store.start_projection(METHODS[self.method.value], self.column.value, options)
        self.compute.disabled = True
        self.cancel.visible = True
        self.progress.visible = True
        self.progress.value = -1
        set_text(self.status, self.job.describe())
        self._poller.start()

    def _cancel(self, *_) -> None:
        if self.job is not None:
            self.job.cancel()

    def poll(self) -> None:
        """Show the job's progress; when it ends, show the new map (or why it did not come)."""
        job = self.job
        if job is None:
            return
        set_text(self.status, job.describe())
        self.progress.value = -1 if job.fraction is None else int(job.fraction * 100)
        if not job.finished:
            return
        self._poller.stop()
        self.compute.disabled = False
        self.cancel.visible = False
        self.progress.visible = False
        entry = job.result
        if job.state == "done" and entry is not None:
            self.maps.options = self.store.map_keys
            self.state.map_key = entry.key
        elif job.state == "done":
            set_text(self.status, f"{job.title}: too few rows to project")


class StyleControls:
    """Colour-by, size-by, point size and opacity."""

    def __init__(self, store: "DataStore", state: "ViewState", more_colors: "Callable[[], list[str]] | None" = None) -> None:
        self.store = store
        self.state = state
        self.more_colors = more_colors or list  # colour-by names of the shown map (its clusters, once found)
        colors = ["", *store.rows.color_columns()]
        self.color = pn.widgets.Select(label="Colour by", options=_labelled(colors), value=state.color_by, sizing_mode="stretch_width")
        self.color.param.watch(lambda event: setattr(state, "color_by", event.new or ""), "value")
        state.param.watch(self._sync_color, ["color_by", "map_key"])
        self.refresh = self._sync_color  # other views call it when they add colour-by columns
        self.categories = pn.widgets.IntInput.from_param(state.param.max_categories, label="Categories shown", sizing_mode="stretch_width")
        sizes = ["", *store.rows.numeric_columns()]
        self.size = pn.widgets.Select(label="Size by", options=_labelled(sizes), value=state.size_by, sizing_mode="stretch_width")
        self.size.param.watch(lambda event: setattr(state, "size_by", event.new or ""), "value")
        # a native <select multiple>: options are text, never HTML
        self.hover = pn.widgets.MultiSelect(label="Hover shows", options=store.rows.display_columns(), size=4, sizing_mode="stretch_width")
        self.hover.param.watch(lambda event: setattr(state, "hover_columns", list(event.new)), "value")
        self.panel = pn.Column(
            self.color,
            self.categories,
            self.size,
            self.hover,
            pn.widgets.FloatSlider.from_param(state.param.point_size, label="Point size", sizing_mode="stretch_width"),
            pn.widgets.FloatSlider.from_param(state.param.opacity, label="Opacity", sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )
        self._sync_color()

    def _sync_color(self, *_) -> None:
        options = ["", *self.store.rows.color_columns(), *self.store.comparison_columns(), *self.more_colors()]
        key = self.state.map_key
        if key and key in self.store.map_keys:
            entry = self.store.map(key)
            if entry.projection is not None and entry.method != "identity":
                options.append(f"{QUALITY_PREFIX}{key}")  # one colour until the score arrives
        if self.state.color_by in options:  # both at once: new options without the old value reset the menu to none
            self.color.param.update(options=_labelled(options), value=self.state.color_by)
        else:
            self.color.options = _labelled(options)


def _pending(job: "Job | None") -> str:
    """Where the quality of the shown axes stands, while it is not there."""
    if job is None:
        return "quality: scored in the background once the map has painted"
    if not job.finished:
        share = f" {job.fraction:.0%}" if job.fraction is not None else ""
        return f"quality: computing in the background ({job.stage or 'waiting'}{share})"
    return "" if job.state == "done" else f"quality: {job.describe()}"


def _placeholder() -> pn.Spacer:
    """What an unbuilt form holds (Bokeh warns about an empty layout)."""
    return pn.Spacer(height=0)


def _labelled(names: list[str]) -> dict[str, str]:
    return {("(none)" if name == "" else name): name for name in names}

