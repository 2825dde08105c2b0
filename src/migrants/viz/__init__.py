"""The browser page of migrants: a Solara app on Mesa's model frame.

Run it with ``migrants viz [SCENARIO]`` (or ``solara run migrants.viz.app``).
Part of the package: an installed wheel serves it from any folder.

Modules
-------
app         the page (``Page``): per-session model, the page's own controls and levers, the dashboard
components  Solara components: map, city details, charts, lesson, pickers
geo         the map: boundaries (migrants/geodata), projection, label layout, SVG, monthly layer
svg_map     the map's view (Vue): static SVG once, fills, arcs and legend each month
specs       pure functions: the charts' Vega-Lite specs and their data, the city details
vega_view   an incremental Vega-Lite view (Vue): data appended, not re-embedded
presets     scenarios and teaching presets, their lessons, the levers, VizModel
i18n        English and Chinese labels
"""
