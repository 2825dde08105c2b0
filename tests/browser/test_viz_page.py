"""The model's page (src/migrants/viz/app.py) in headless Debian chromium.

Uses the fixtures of conftest.py: ``browser`` and ``page`` (a fresh context
whose requests to any non-loopback host are recorded and aborted).  One Solara
server serves the page for the whole module (starting one costs ~10 s); every
test opens its own browser session, hence its own model.

What is checked: the page loads with every city of the baseline on the map,
and clicking one shows its details;
Step advances the month shown; Play then Pause; moving a lever and pressing
Reset changes the model; the language toggle changes the labels; a preset
loads its lesson; two tabs do not share a run.  ``test_ms_per_month`` measures
the time from a click on Step to every map and chart drawn for the new month,
for a teaching preset and for the default scenario, and prints both.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "src" / "migrants" / "viz" / "app.py"
TEACHING = "wage_gap"
TEACHING_TITLE = "Lesson: Two cities, one wage gap: expected-wage migration"
LOAD_TIMEOUT = 120_000  # ms: the first page builds the baseline model (800k agents) and loads Vega

# the speed targets of the issue; the assertions allow a loaded 2-core machine some slack
TARGET_MS = {"teaching": 300, "default": 1000}
SLACK = float(os.environ.get("MIGRANTS_VIZ_SPEED_SLACK", "3"))


def _server_class():
    """conftest's _Server (one server for the module; conftest's fixture starts one per test)."""
    spec = importlib.util.spec_from_file_location("_viz_browser_conftest", Path(__file__).with_name("conftest.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod._Server


@pytest.fixture(scope="module")
def base_url():
    """The page served with its default scenario (the baseline)."""
    log_dir = Path(tempfile.mkdtemp(prefix="viz-page-logs-"))
    saved = os.environ.pop("MIGRANTS_VIZ_SCENARIO", None)
    srv = _server_class()(APP, None, log_dir)
    try:
        srv.wait_ready(120)
        yield srv.url
    finally:
        srv.stop()
        if saved is not None:
            os.environ["MIGRANTS_VIZ_SCENARIO"] = saved
        shutil.rmtree(log_dir, ignore_errors=True)


# ------------------------------------------------------------------ helpers
def open_page(page, url):
    errors: list[str] = []
    failed: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.set_viewport_size({"width": 1500, "height": 1100})
    page.goto(url, wait_until="load", timeout=LOAD_TIMEOUT)
    wait_drawn(page, 0, timeout=LOAD_TIMEOUT)
    return errors, failed


def month(page) -> int:
    text = page.locator(".migrants-month").inner_text()
    m = re.search(r"(\d+)", text)
    assert m, text
    return int(m.group(1))


def wait_drawn(page, m: int, timeout: float = 60_000) -> None:
    """Until the month shown is ``m`` and every map and chart has drawn month ``m``."""
    page.wait_for_function(
        """(m) => {
            const badge = document.querySelector('.migrants-month');
            const views = [...document.querySelectorAll('.migrants-view')];
            return badge && badge.textContent.match(/\\d+/)[0] === String(m)
                && views.length >= 7 && views.every(v => v.dataset.stamp === String(m));
        }""",
        arg=m,
        timeout=timeout,
    )


def svg_texts(page, name: str) -> list[str]:
    return page.eval_on_selector_all(
        f".migrants-view[data-name={name}] svg text", "els => els.map(e => e.textContent)")


def step(page) -> None:
    page.locator(".migrants-step").click()


def step_drawn(page, n: int) -> None:
    """Step ``n`` times, each time until every view has drawn the new month."""
    for _ in range(n):
        m = month(page)
        step(page)
        wait_drawn(page, m + 1)


def load_preset(page, title: str) -> None:
    """Choose a preset in the picker and wait until its model is on the page and drawn."""
    page.locator(".migrants-preset-select").click()
    page.get_by_role("option", name=title).click()
    page.locator(".migrants-settings", has_text=title).wait_for(timeout=LOAD_TIMEOUT)
    wait_drawn(page, 0)


def slider(page, label: str):
    return page.locator(".v-input", has_text=label).get_by_role("slider")


# ------------------------------------------------------------------ tests
def test_page_loads_with_every_city_on_the_map(base_url, page, network_log):
    errors, failed = open_page(page, base_url)
    from migrants import MigrationModel

    names = MigrationModel(scenario="baseline", scale=100000).names  # 31 cities and the rest of China
    shown = set(svg_texts(page, "map")) | set(svg_texts(page, "inset"))
    missing = [n for n in names if n not in shown]
    assert not missing, f"not on the map: {missing}"
    assert page.locator(".migrants-month").inner_text().startswith("Month 0 of 120")
    # clicking a city on the map shows its details
    assert page.locator(".migrants-city-name").inner_text() == "Shenyang"
    page.locator('.migrants-view[data-name=map] path.m-city[data-city="Dalian"]').click(force=True)
    page.locator(".migrants-city-name", has_text="Dalian").wait_for(timeout=30_000)
    page.wait_for_load_state("networkidle", timeout=30_000)
    assert network_log.external == [], network_log.external
    assert not failed, failed
    assert not errors, errors


def test_step_advances_the_month_shown(base_url, page):
    open_page(page, base_url)
    step(page)
    wait_drawn(page, 1)
    assert "Month 1 of 120 · 2020-12" in page.locator(".migrants-month").inner_text()
    step(page)
    wait_drawn(page, 2)
    assert "2021-01" in page.locator(".migrants-month").inner_text()


def test_play_then_pause(base_url, page):
    open_page(page, base_url)
    load_preset(page, TEACHING_TITLE)
    page.get_by_role("button", name="▶ Play").click()
    page.wait_for_function("() => +document.querySelector('.migrants-month').textContent.match(/\\d+/)[0] >= 3",
                           timeout=60_000)
    page.get_by_role("button", name="❚❚ Pause").click()
    page.get_by_role("button", name="▶ Play").wait_for(timeout=30_000)
    time.sleep(1.0)  # a month already under way when Pause was pressed still finishes
    paused_at = month(page)
    time.sleep(2.0)
    assert month(page) == paused_at, "the run went on after Pause"
    assert page.locator(".migrants-step").is_enabled()


def test_lever_and_reset_change_the_model(base_url, page):
    open_page(page, base_url)
    load_preset(page, TEACHING_TITLE)
    settings = page.locator(".migrants-settings")
    assert "Weight of expected income = 1.5" in settings.inner_text()  # the preset's own round value
    # the sidebar says that a moved lever waits for Reset
    assert "apply when you press Reset" in page.locator(".migrants-reset-hint").first.inner_text()
    step(page)
    wait_drawn(page, 1)
    thumb = slider(page, "Weight of expected income")
    thumb.focus()
    for _ in range(5):
        page.keyboard.press("ArrowLeft")  # 0.1 a press
    # the moved lever is marked as waiting for Reset
    page.locator(".migrants-lever.migrants-pending", has_text="applies on Reset").wait_for(timeout=30_000)
    page.locator(".migrants-reset").click()
    wait_drawn(page, 0)
    page.wait_for_function(
        "() => document.querySelector('.migrants-settings').textContent.includes('Weight of expected income = 1')",
        timeout=30_000)
    assert "Weight of expected income = 1 " in settings.inner_text() + " "


def test_language_toggle_changes_the_labels(base_url, page):
    open_page(page, base_url)
    assert "Shenyang" in svg_texts(page, "map")
    page.get_by_role("button", name="中文").click()
    page.locator(".migrants-month", has_text="月份").wait_for(timeout=30_000)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.migrants-view[data-name=map] svg text')].some(e => e.textContent === '沈阳')",
        timeout=30_000)
    assert "Shenyang" not in svg_texts(page, "map")
    assert page.get_by_text("城市详情").count() >= 1
    page.get_by_role("button", name="English").click()
    page.locator(".migrants-month", has_text="Month").wait_for(timeout=30_000)


def test_preset_loads_its_lesson(base_url, page):
    open_page(page, base_url)
    assert page.locator(".migrants-lesson").count() == 0  # the baseline has no lesson
    load_preset(page, TEACHING_TITLE)
    lesson = page.locator(".migrants-lesson")
    lesson.wait_for(timeout=60_000)
    assert "Two cities, one wage gap" in lesson.inner_text()
    assert "What to try" in lesson.inner_text() and "What to watch for" in lesson.inner_text()
    wait_drawn(page, 0)
    assert set(svg_texts(page, "map")) >= {"Qiqihar", "Daqing"}


def test_two_tabs_do_not_share_a_run(base_url, browser):
    a, b = browser.new_context(), browser.new_context()
    try:
        pa, pb = a.new_page(), b.new_page()
        open_page(pa, base_url)
        open_page(pb, base_url)
        step(pa)
        wait_drawn(pa, 1)
        step(pa)
        wait_drawn(pa, 2)
        assert month(pb) == 0
        step(pb)
        wait_drawn(pb, 1)
        assert month(pa) == 2
    finally:
        a.close()
        b.close()


# One Step, timed inside the page: from the click to the month shown and every view drawn
# (data-stamp is set by viz/vega_view.vue once Vega has rendered the month's data).
STEP_AND_DRAW_JS = """async (m) => {
  const button = document.querySelector('button.migrants-step');
  const drawn = () => document.querySelector('.migrants-month').textContent.match(/\\d+/)[0] === String(m)
      && [...document.querySelectorAll('.migrants-view')].every(v => v.dataset.stamp === String(m));
  const t0 = performance.now();
  button.click();
  await new Promise((resolve) => { const check = () => drawn() ? resolve() : setTimeout(check, 2); check(); });
  return performance.now() - t0;
}"""


def _ms_per_step(page, n: int) -> list[float]:
    """ms from a click on Step to every view drawn, for n months (after one warm-up step)."""
    m0 = month(page)
    step(page)  # the first step of a session also warms up the views
    wait_drawn(page, m0 + 1)
    return [page.evaluate(STEP_AND_DRAW_JS, m0 + 2 + i) for i in range(n)]


def _summary(times: list[float]) -> str:
    xs = sorted(times)
    return f"median {xs[len(xs) // 2]:.0f} ms, range {xs[0]:.0f}-{xs[-1]:.0f} ms (n={len(xs)})"


def test_ms_per_step(base_url, page, capsys):
    t0 = time.monotonic()
    open_page(page, base_url)  # a new session: its baseline model is built, then every view drawn
    first_draw = time.monotonic() - t0
    default = _ms_per_step(page, 8)
    load_preset(page, TEACHING_TITLE)
    teaching = _ms_per_step(page, 12)
    with capsys.disabled():
        print(f"\nbrowser ms per Step (click to every view drawn): baseline {_summary(default)} "
              f"(target {TARGET_MS['default']}); teaching preset {TEACHING} {_summary(teaching)} "
              f"(target {TARGET_MS['teaching']}); first full draw of a new session {first_draw:.1f} s; "
              f"load average {os.getloadavg()[0]:.1f}")
    # loose bounds only: speed is reported, not asserted tightly
    assert sorted(teaching)[len(teaching) // 2] < TARGET_MS["teaching"] * SLACK
    assert sorted(default)[len(default) // 2] < TARGET_MS["default"] * SLACK


# ------------------------------------------------------------------ the map
LABEL_BOXES_JS = """(name) => [...document.querySelectorAll(`.migrants-view[data-name=${name}] text.m-label`)].map(e => {
    const r = e.getBoundingClientRect(); return {text: e.textContent, x0: r.left, y0: r.top, x1: r.right, y1: r.bottom};
})"""
FILLS_JS = """() => Object.fromEntries([...document.querySelectorAll('.migrants-view[data-name=map] path.m-city')]
    .map(e => [e.dataset.city, e.getAttribute('fill')]))"""


def _assert_no_overlap(boxes: list[dict]) -> None:
    assert boxes
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            a, b = boxes[i], boxes[j]
            apart = a["x1"] <= b["x0"] or b["x1"] <= a["x0"] or a["y1"] <= b["y0"] or b["y1"] <= a["y0"]
            assert apart, f"labels overlap: {a} {b}"


def test_map_polygons_boundaries_labels_and_measure(base_url, page):
    open_page(page, base_url)
    from migrants import MigrationModel

    names = MigrationModel(scenario="baseline", scale=100000).names[:31]
    fills = page.evaluate(FILLS_JS)
    assert set(fills) == set(names)
    assert all(f and f.startswith("#") and f != "#d0d0d0" for f in fills.values()), fills
    for cls in ("m-coast", "m-border", "m-province-line", "m-context", "m-country"):
        n = page.locator(f".migrants-view[data-name=map] path.{cls}").count()
        assert n >= 1, cls
        d = page.locator(f".migrants-view[data-name=map] path.{cls}").first.get_attribute("d")
        assert d and len(d) > 100, cls
    for view in ("map", "inset"):
        _assert_no_overlap(page.evaluate(LABEL_BOXES_JS, view))
    step_drawn(page, 3)
    assert page.locator(".migrants-view[data-name=map] g.m-arc").count() == 10  # the default largest N
    before = page.evaluate(FILLS_JS)
    page.locator(".migrants-measure-select").click()
    page.get_by_role("option", name="Unemployment rate (%)").click()
    page.wait_for_function("() => document.querySelector('.migrants-view[data-name=map] svg').dataset.measure "
                           "=== 'unemployment'", timeout=30_000)
    after = page.evaluate(FILLS_JS)
    assert after != before and set(after) == set(before)
    assert "Unemployment rate (%)" in svg_texts(page, "map")
    page.locator(".migrants-flows-select").click()
    page.get_by_role("option", name="5", exact=True).click()
    page.wait_for_function("() => document.querySelectorAll('.migrants-view[data-name=map] g.m-arc').length === 5",
                           timeout=30_000)
    movers = [int(x) for x in page.eval_on_selector_all(".migrants-view[data-name=map] g.m-arc",
                                                         "els => els.map(e => e.dataset.movers)")]
    assert movers == sorted(movers, reverse=True)


GLYPH_JS = """async (sel) => {
    const el = document.querySelector(sel);
    const family = getComputedStyle(el).fontFamily;
    await document.fonts.load('16px "Noto Sans SC"', el.textContent);
    const ok = document.fonts.check('16px "Noto Sans SC"', el.textContent);
    // draw one character with the element's own font, and the same character with a font the machine has
    // (no CJK: the empty box); a real glyph differs from the box and from another character's glyph
    const draw = (text, font) => {
        const c = document.createElement('canvas'); c.width = 40; c.height = 40;
        const g = c.getContext('2d'); g.fillStyle = '#fff'; g.fillRect(0, 0, 40, 40);
        g.fillStyle = '#000'; g.font = font; g.textBaseline = 'middle'; g.fillText(text, 4, 20);
        return g.getImageData(0, 0, 40, 40).data;
    };
    const diff = (a, b) => { let n = 0; for (let i = 0; i < a.length; i += 4) n += (a[i] !== b[i]); return n; };
    const ink = (a) => { let n = 0; for (let i = 0; i < a.length; i += 4) n += (a[i] < 128); return n; };
    const ch0 = el.textContent.trim()[0], ch1 = el.textContent.trim()[1] || '中';
    const own0 = draw(ch0, `28px ${family}`), own1 = draw(ch1, `28px ${family}`);
    const box0 = draw(ch0, '28px monospace'), box1 = draw(ch1, '28px monospace');
    return {family, ok, vsBox: diff(own0, box0), vsOther: diff(own0, own1), boxesAlike: diff(box0, box1), ink: ink(own0)};
}"""


def test_chinese_glyphs_render_without_a_system_cjk_font(base_url, page):
    open_page(page, base_url)
    # the 中文 button in English mode
    toggle = page.evaluate(GLYPH_JS, ".migrants-lang button:last-child .v-btn__content")
    assert toggle["ok"], toggle
    assert toggle["vsBox"] > 30 and toggle["vsOther"] > 30 and toggle["ink"] > 20, toggle
    page.get_by_role("button", name="中文").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.migrants-view[data-name=map] text.m-label')].some(e => e.textContent === '沈阳')",
        timeout=30_000)
    label = page.evaluate(GLYPH_JS, '.migrants-view[data-name=map] text.m-label[data-city="Shenyang"]')
    assert "Noto Sans SC" in label["family"], label
    assert label["ok"] and label["vsBox"] > 30 and label["vsOther"] > 30, label
    month_badge = page.evaluate(GLYPH_JS, ".migrants-month")
    assert month_badge["ok"], month_badge
    for view in ("map", "inset"):
        _assert_no_overlap(page.evaluate(LABEL_BOXES_JS, view))


SHOTS = ROOT / "tests" / "browser" / "screenshots"  # git-ignored; .ci/run leaves it in the clone


def _in_view(page, selector: str, height: int) -> bool:
    r = page.locator(selector).first.bounding_box()
    return r is not None and r["y"] >= 0 and r["y"] + r["height"] <= height + 1


@pytest.mark.parametrize("language", ["en", "zh"])
def test_screenshots_and_the_classroom_fold(base_url, page, language):
    """Baseline and a lesson at 1366x768, both languages: written to tests/browser/screenshots/."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    open_page(page, base_url)
    page.set_viewport_size({"width": 1366, "height": 768})
    if language == "zh":
        page.get_by_role("button", name="中文").click()
        page.locator(".migrants-month", has_text="月份").wait_for(timeout=30_000)
    assert page.get_by_text("This website runs on Solara").count() == 0
    step_drawn(page, 2)
    page.evaluate("document.fonts.ready")
    page.screenshot(path=str(SHOTS / f"baseline-{language}.png"))
    title = TEACHING_TITLE if language == "en" else "课程：两座城市，一个工资差距：预期工资与迁移"
    if language == "zh":
        page.locator(".migrants-preset-select").click()
        page.get_by_role("option").filter(has_text="工资差").first.click()
        page.locator(".migrants-lesson").wait_for(timeout=LOAD_TIMEOUT)
        wait_drawn(page, 0)
    else:
        load_preset(page, title)
    step_drawn(page, 3)
    page.evaluate("document.fonts.ready")
    page.screenshot(path=str(SHOTS / f"{TEACHING}-{language}.png"))
    # a teacher's projector: map, month, Play/Step and the lesson's levers without scrolling
    for sel in (".migrants-view[data-name=map] svg", ".migrants-month", ".migrants-play", ".migrants-step",
                ".migrants-lever >> nth=-1"):
        assert _in_view(page, sel, 768), sel
    # the lesson's levers only
    assert page.locator(".migrants-lever").count() == 3
    # the province chart's ticks are distinct
    ticks = page.eval_on_selector_all(".migrants-view[data-name=provinces] .role-axis-label text",
                                      "els => els.map(e => e.textContent)")
    assert ticks and len(ticks) == len(set(ticks)), ticks
