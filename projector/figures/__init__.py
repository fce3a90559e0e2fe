"""Figures: the Bokeh models that the app and the reports both show.

The map figure that the app's map and a report's map are both built from
(:mod:`~projector.figures.map_base`), its WebGL points or raster layer
(:mod:`~projector.figures.raster`), hover records over the document for notebooks
(:mod:`~projector.figures.hover`), the maps' JavaScript (:mod:`~projector.figures.scripts`), the
report's map and compare blocks (:mod:`~projector.figures.map_block`, built from
:mod:`~projector.figures.points`, :mod:`~projector.figures.map_figure` and
:mod:`~projector.figures.panels`; :class:`~projector.figures.options.MapOptions` says what one
shows), and the cluster labels and density contours over a map
(:mod:`~projector.figures.overlays`, styled by :mod:`~projector.figures.overlay_style`, which the
image export follows too). They stand on the explore layer and import nothing from the app or the report.
"""
