"""The browser page: watch and steer one run of the model.

Serve it with ``migrants viz [SCENARIO]`` or ``solara run viz/app.py``
(``MIGRANTS_VIZ_SCENARIO`` names the scenario to open with; default: baseline).

Layout
------
* App bar: the title and the English / 中文 toggle.
* Sidebar: the scenario or teaching preset (choosing one loads it at once),
  then Mesa's SolaraViz cards: Step / Play / Pause / Reset, play speed, and the
  model parameters (seed, persons per agent, the levers), which a Reset applies.
* Main area: the month, the lesson (teaching presets), the map, the city
  details and the charts (viz/components.py).

Each browser session (each tab) builds its own model: the model is created in
the ``Page`` component, not at import, and Solara keeps state per session.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `solara run viz/app.py` puts viz/ on the path, not the repo
    sys.path.insert(0, str(ROOT))

import solara  # noqa: E402
from mesa.visualization import SolaraViz  # noqa: E402

from migrants.viz_cli import cdn_cache_only  # noqa: E402

cdn_cache_only()  # the asset proxy serves the local cache only, never fetches

from viz.components import Dashboard, LanguageToggle, PresetPicker  # noqa: E402
from viz.i18n import lang, t  # noqa: E402
from viz.presets import SCALE_CHOICES, VizModel, config_value, default_preset, levers_for  # noqa: E402

PLAY_INTERVAL_MS = 50  # pause between months while playing (Mesa's slider changes it)


def model_params(model: VizModel, language: str) -> dict:
    """SolaraViz's model_params for a model: its preset (fixed), seed, scale and levers at their current values."""
    scales = list(SCALE_CHOICES)
    if str(model.scale) not in scales:
        scales = sorted(set(scales) | {str(model.scale)}, key=int)
    params: dict = {
        "preset": model.preset,  # fixed here; the preset picker loads another
        "seed": {"type": "InputText", "value": "", "label": t("seed_hint", language)},
        "scale": {"type": "Select", "value": str(model.scale), "values": scales, "label": t("scale_label", language)},
    }
    for lv in levers_for(model.preset):
        v = model.lever_values.get(lv.ref, config_value(model.config, lv.ref))
        if lv.is_policy:
            params[lv.key] = {"type": "Checkbox", "value": bool(v), "label": lv.label(language)}
        else:
            # Mesa's sliders show no number: the label carries the value of the run on the page
            params[lv.key] = {"type": "SliderFloat", "value": v, "min": min(lv.min, v), "max": max(lv.max, v),
                              "step": lv.step, "label": f"{lv.label(language)} ({v:g})"}
    return params


@solara.component
def Session(initial: VizModel, register):
    """One loaded preset: SolaraViz's controls and the dashboard share one reactive model."""
    model = solara.use_reactive(initial)
    register(model)
    language = lang.value
    # labels show the values of the model on the page, so they follow a Reset
    params = solara.use_memo(lambda: model_params(model.value, language), [model.value, language])

    def retire_on_unmount():
        # a Play thread of this SolaraViz may still be looping: a retired model stops it
        return lambda: model.value.retire()

    solara.use_effect(retire_on_unmount, [])
    SolaraViz(model, components=[], model_params=params, name=t("title", language), play_interval=PLAY_INTERVAL_MS)
    with solara.Sidebar():  # below Mesa's controls: moved levers wait for a Reset
        solara.Info(t("reset_hint", language), dense=True, classes=["migrants-reset-hint"])
    Dashboard(model)


@solara.component
def Page():
    preset, set_preset = solara.use_state(default_preset())
    loads, set_loads = solara.use_state(0)
    switching, set_switching = solara.use_state(False)
    current = solara.use_ref(None)
    initial = solara.use_memo(lambda: VizModel(preset=preset), [preset, loads])

    def pick(key: str) -> None:
        if current.current is not None:
            current.current.value.retire()
        set_preset(key)
        set_loads(lambda n: n + 1)
        set_switching(True)

    def register(reactive_model) -> None:
        current.current = reactive_model

    # Loading a preset takes two renders: one without the old Session, then the new one.
    # SolaraViz's controls live in the sidebar (a portal of the app layout); rendered in
    # place of the old ones they would keep the old ones' state (the previous preset,
    # scale and lever values, which a Reset would then apply).
    solara.use_effect(lambda: set_switching(False) if switching else None, [switching])

    with solara.AppBar():
        LanguageToggle()
    with solara.Sidebar():
        PresetPicker(preset, pick)
    if switching:
        solara.Text("…", classes=["migrants-loading"])
    else:
        Session(initial, register).key(f"session-{preset}-{loads}")
