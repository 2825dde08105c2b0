"""The browser page of migrants: a Solara app built on Mesa's SolaraViz.

Run it with ``migrants viz [SCENARIO]`` or ``solara run viz/app.py``.

Modules
-------
app         the page (``Page``): per-session model, SolaraViz controls, the dashboard
components  Solara components: map, city details, charts, lesson, pickers
specs       pure functions: the map's and charts' Vega-Lite specs and their data
vega_view   an incremental Vega-Lite view (Vue): data appended, not re-embedded
presets     scenarios and teaching presets, their lessons, the levers, VizModel
i18n        English and Chinese labels
"""
