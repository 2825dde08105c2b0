"""The browser page: watch and steer one run of the model.

Serve it with ``migrants viz [SCENARIO]`` or ``solara run migrants.viz.app``
(``MIGRANTS_VIZ_SCENARIO`` names the scenario to open with; default: baseline).

Layout
------
* App bar: the title and the English / 中文 toggle.
* Sidebar: the scenario or teaching preset (choosing one loads it at once);
  the page's own controls (Play / Pause, Step, Reset, speed); the levers of the
  lesson (all levers for a plain scenario), each marked while its new value
  waits for Reset; seed and scale folded away.
* Main area: the month, the map (its measure and number of flows chosen
  above it), the lesson and the city details beside it, the charts below
  (viz/components.py).

Mesa provides the model frame and the refresh signal (``update_counter`` /
``force_update``); the controls are the page's own, in both languages,
so that a class sees no internals (play interval, render interval, threads).

Each browser session (each tab) builds its own model: the model is created in
the ``Page`` component, not at import, and Solara keeps state per session.
"""

from __future__ import annotations

import threading
import time
import traceback
from pathlib import Path

import solara
import solara.server.settings
from mesa.visualization.utils import force_update

from migrants.viz_cli import cdn_cache_only

cdn_cache_only()  # the asset proxy serves the local cache only, never fetches

from migrants.viz.components import Dashboard, LanguageToggle, PresetPicker
from migrants.viz.i18n import lang, t
from migrants.viz.presets import SCALE_CHOICES, VizModel, config_value, default_preset, levers_for

# no "This website runs on Solara" badge over the page's content
solara.server.settings.theme.show_banner = False
# the page's own web font (migrants/viz/public/fonts, made by scripts/install_cjk_font.py) at /static/assets/fonts/
PUBLIC = Path(__file__).resolve().with_name("public")
if PUBLIC.is_dir() and str(PUBLIC) not in solara.server.settings.assets.extra_locations:
    solara.server.settings.assets.extra_locations.append(str(PUBLIC))  # without it (no set-up): system fonts

def _warm_up() -> None:
    """Compile the model's kernels once when the server starts (a first run after set-up compiles for tens
    of seconds), so that no visitor's first Step waits for it.  Nothing to do once numba has cached them."""
    try:
        from migrants.kernels import compiled_before

        if compiled_before():
            return
        m = VizModel(preset="tiny")
        for _ in range(2):
            m.step()
    except Exception:  # the page works without it; the first Step then compiles
        traceback.print_exc()


threading.Thread(target=_warm_up, name="migrants-warm-up", daemon=True).start()

SPEEDS = {"slow": 1000, "normal": 300, "fast": 30}  # ms between months while playing
FONT_CSS = "static/assets/fonts/noto-sans-sc.css"  # migrants/viz/public/fonts (scripts/install_cjk_font.py)

PAGE_CSS = f"""
@import url("{FONT_CSS}");
.v-application, .v-application .text-h6, .v-application .v-btn, .v-application .v-label,
.v-application input, .v-application .v-list-item-title {{
    font-family: Roboto, 'Noto Sans SC', 'Noto Sans CJK SC', sans-serif !important;
}}
.migrants-controls .v-btn {{ min-width: 0; }}
.migrants-lever {{ margin: 0 0 4px 0; }}
.migrants-lever .v-input__details {{ display: none; }}
.migrants-lever .v-selection-control {{ min-height: 30px; }}
.migrants-lever .v-input {{ margin: 0 !important; }}
.migrants-lever .migrants-lever-now {{ font-size: 0.8em; color: #555; }}
.migrants-lever.migrants-pending {{ background: #fff4d6; border-left: 3px solid #e0a800; padding-left: 4px; }}
.migrants-pending-note {{ font-size: 0.8em; color: #8a5a00; font-weight: 600; }}
.v-navigation-drawer .v-card {{ margin-bottom: 8px; }}
/* the empty placeholders of app bar and sidebar content leave no gaps above the month */
.solara-autorouter-content > .d-flex > div:empty,
.solara-autorouter-content > .d-flex > .d-flex > div:empty,
.solara-autorouter-content > .d-flex > .d-flex > .d-flex > div:empty {{ display: none; }}
"""


def lever_value(model: VizModel, lv) -> float | bool:
    return model.lever_values.get(lv.ref, config_value(model.config, lv.ref))


@solara.component
def Controls(model: solara.Reactive, pending: solara.Reactive, language: str):
    """Play / Pause, Step, Reset and speed: the page's own, in the page's language."""
    playing = solara.use_reactive(False)
    speed = solara.use_reactive("normal")
    error = solara.use_reactive(None)
    busy = solara.use_ref(threading.Lock())

    def do_step():
        m = model.value
        if not m.running:
            return
        with busy.current:
            m.step()
        force_update()

    def play_loop():
        try:
            while playing.value and model.value.running:
                time.sleep(SPEEDS.get(speed.value, 300) / 1000)
                if not playing.value:
                    break
                do_step()
        except Exception as e:  # shown on the page, not lost in a thread
            error.value = f"{type(e).__name__}: {e}"
            traceback.print_exc()
        finally:
            if not model.value.running:
                playing.value = False

    solara.lab.use_task(play_loop, dependencies=[playing.value], prefer_threaded=True)

    def do_reset():
        playing.value = False
        error.value = None
        m = model.value
        kwargs = {"preset": m.preset, "seed": pending.value.get("seed", ""),
                  "scale": pending.value.get("scale", str(m.scale))}
        for lv in levers_for(m.preset):
            kwargs[lv.key] = pending.value.get(lv.key, lever_value(m, lv))
        m.retire()
        with busy.current:
            model.value = VizModel(**kwargs)
        pending.value = {}
        force_update()

    running = model.value.running
    n_pending = len(pending.value)
    with solara.Card(t("controls", language), margin=0, classes=["migrants-controls"]):
        with solara.Row(gap="6px", style={"flex-wrap": "wrap"}):
            solara.Button(("❚❚ " + t("pause", language)) if playing.value else ("▶ " + t("play", language)),
                          color="primary", on_click=lambda: playing.set(not playing.value), disabled=not running,
                          classes=["migrants-play"])
            solara.Button(t("step", language), color="primary", on_click=do_step,
                          disabled=playing.value or not running, classes=["migrants-step"])
            solara.Button(t("reset", language), color="warning" if n_pending else "primary", on_click=do_reset,
                          outlined=not n_pending, classes=["migrants-reset"])
        with solara.Row(gap="4px", style={"align-items": "center"}):
            solara.Text(t("speed", language) + ":", style={"font-size": "0.9em"})
            solara.ToggleButtonsSingle(
                value=speed.value, on_value=speed.set, dense=True, classes=["migrants-speed"],
                children=[solara.Button(t(f"speed_{k}", language), value=k, text=True) for k in SPEEDS])
        if n_pending:
            solara.Text(f"{n_pending} {t('pending_n', language)}", classes=["migrants-pending-note"])
        if not running:
            solara.Text(t("finished", language), style={"font-size": "0.85em"})
        if error.value:
            solara.Error(error.value)


@solara.component
def Levers(model: VizModel, pending: solara.Reactive, language: str):
    """The levers; a moved one shows its new value as waiting for Reset, beside the value of the run on the page."""

    def set_pending(key, value, current):
        new = dict(pending.value)
        if value == current:
            new.pop(key, None)
        else:
            new[key] = value
        pending.value = new

    levers = levers_for(model.preset)
    if not levers:
        return
    with solara.Card(t("levers", language), margin=0, classes=["migrants-levers"]):
        for lv in levers:
            current = lever_value(model, lv)
            value = pending.value.get(lv.key, current)
            moved = lv.key in pending.value
            cls = ["migrants-lever"] + (["migrants-pending"] if moved else [])
            with solara.Div(classes=cls, attributes={"data-lever": lv.key}):
                if lv.is_policy:
                    solara.Checkbox(label=lv.label(language), value=bool(value),
                                    on_value=lambda v, k=lv.key, c=bool(current): set_pending(k, bool(v), c))
                    now = t("on", language) if current else t("off", language)
                else:
                    solara.SliderFloat(label=f"{lv.label(language)}: {value:g}", value=float(value),
                                       min=min(lv.min, float(current)), max=max(lv.max, float(current)), step=lv.step,
                                       on_value=lambda v, k=lv.key, c=float(current): set_pending(
                                           k, round(float(v), 6), c))
                    now = f"{float(current):g}"
                if moved:  # the run on the page keeps its value until Reset
                    solara.Text(f"{t('now', language)}: {now} · {t('pending', language)}",
                                classes=["migrants-lever-now", "migrants-pending-note"])
        with solara.Details(t("advanced", language), expand=False):
            scales = list(SCALE_CHOICES)
            if str(model.scale) not in scales:
                scales = sorted(set(scales) | {str(model.scale)}, key=int)
            solara.InputText(t("seed_hint", language), value=pending.value.get("seed", ""),
                             on_value=lambda v: set_pending("seed", v, ""), continuous_update=False)
            solara.Select(t("scale_label", language), values=scales, value=pending.value.get("scale", str(model.scale)),
                          on_value=lambda v: set_pending("scale", v, str(model.scale)))
        solara.Info(t("reset_hint", language), dense=True, classes=["migrants-reset-hint"])


@solara.component
def Session(initial: VizModel, register):
    """One loaded preset: the controls, the levers and the dashboard share one reactive model."""
    model = solara.use_reactive(initial)
    pending = solara.use_reactive({})
    register(model)
    language = lang.value

    def retire_on_unmount():
        # a Play loop of this session may still be running: a retired model stops it
        return lambda: model.value.retire()

    solara.use_effect(retire_on_unmount, [])
    with solara.Sidebar():
        Controls(model, pending, language)
        Levers(model.value, pending, language)
    Dashboard(model)


@solara.component
def Page():
    preset, set_preset = solara.use_state(default_preset())
    loads, set_loads = solara.use_state(0)
    switching, set_switching = solara.use_state(False)
    current = solara.use_ref(None)
    initial = solara.use_memo(lambda: VizModel(preset=preset), [preset, loads])
    language = lang.value

    def pick(key: str) -> None:
        if current.current is not None:
            current.current.value.retire()
        set_preset(key)
        set_loads(lambda n: n + 1)
        set_switching(True)

    def register(reactive_model) -> None:
        current.current = reactive_model

    # Loading a preset takes two renders: one without the old Session, then the new one,
    # so that no control keeps the old preset's state.
    solara.use_effect(lambda: set_switching(False) if switching else None, [switching])

    solara.Title(t("title", language))
    solara.Style(PAGE_CSS)
    with solara.AppBar():
        LanguageToggle()
    with solara.Sidebar():
        PresetPicker(preset, pick)
    if switching:
        solara.Text("…", classes=["migrants-loading"])
    else:
        Session(initial, register).key(f"session-{preset}-{loads}")
