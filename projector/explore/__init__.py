"""The explore layer: everything a map view needs that is not a widget (no Panel, no Bokeh).

The app, the HTML report, the image export and the notebook all stand on this layer, so a map
looks and behaves the same in each: the maps of a dataset and their background jobs
(:mod:`~projector.explore.store`, :mod:`~projector.explore.maps`, :mod:`~projector.explore.jobs`),
the rows and their media (:mod:`~projector.explore.rows`, :mod:`~projector.explore.media_rows`),
the sample a big map draws (:mod:`~projector.explore.sampling`), colourings and palettes
(:mod:`~projector.explore.colors`), the one raster shading (:mod:`~projector.explore.shading`),
hover records and thumbnails (:mod:`~projector.explore.links`), the first view
(:mod:`~projector.explore.framing`), selection geometry (:mod:`~projector.explore.geometry`),
HTML escaping (:mod:`~projector.explore.html`), what is drawn over a map (clusters, labels,
contours: :mod:`~projector.explore.map_overlays`, :mod:`~projector.explore.clusterings`,
:mod:`~projector.explore.suspect_columns`), search by meaning (:mod:`~projector.explore.meaning`)
and rows from another file placed into a map (:mod:`~projector.explore.placing`). Importing it imports neither Panel nor Bokeh; a
test holds that.
"""
