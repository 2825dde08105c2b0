"""What the page can run: scenarios, teaching presets with their lessons, levers, and the model class.

* ``catalogue()``: every runnable choice, teaching presets first
  (``configs/teaching/*.yaml``), then scenarios (``configs/scenarios/*.yaml``),
  then the scenario given to ``migrants viz`` (env ``MIGRANTS_VIZ_SCENARIO``).
* ``lessons()``: ``configs/teaching/lessons.yaml`` (kept apart from the preset
  files, whose schema forbids unknown fields).
* ``levers_for(preset)``: the sliders and switches: the main policy cards and
  the preset's own as switches, the talent-subsidy amounts and affordable
  housing units as sliders (when ``migrants.policies`` exists), and some of the
  scenario's behavioural parameters.
* ``VizModel``: ``MigrationModel`` as Mesa's SolaraViz rebuilds it on Reset
  (see the class for why a subclass is needed).
"""

from __future__ import annotations

import functools
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import yaml

from migrants import MigrationModel
from migrants.config import SCENARIO_DIR, TEACHING_DIR, load_scenario
from migrants.policy.cards import POLICY_DIR
from migrants.policy.policyset import PolicySet, card_key

LESSONS_FILE = TEACHING_DIR / "lessons.yaml"
ENV_SCENARIO = "MIGRANTS_VIZ_SCENARIO"
DEFAULT_PRESET = "baseline"
SCALE_CHOICES = ("100", "200", "500", "1000", "2000", "5000", "10000")


@dataclass(frozen=True)
class Preset:
    key: str  # what the page and VizModel call it
    path: Path  # the scenario file
    kind: str  # "teaching", "scenario" or "custom"
    title_en: str
    title_zh: str

    def title(self, language: str) -> str:
        return self.title_zh if language == "zh" else self.title_en


@functools.lru_cache(maxsize=1)
def lessons() -> dict:
    """The lessons, keyed by preset (empty if the file is missing)."""
    if not LESSONS_FILE.exists():
        return {}
    data = yaml.safe_load(LESSONS_FILE.read_text(encoding="utf-8")) or {}
    return {str(k): v for k, v in data.items() if isinstance(v, dict)}


def lesson_text(lesson: dict, field_: str, language: str):
    """A lesson field in ``language`` (falls back to English)."""
    v = lesson.get(field_)
    if isinstance(v, dict):
        return v.get(language) or v.get("en")
    return v


# the scenarios' names on the page (the file name where none is given here)
SCENARIO_TITLES = {
    "baseline": ("baseline (2020 census on)", "基准情景(2020年人口普查起)"),
    "history": ("history (2010 census on)", "历史回溯(2010年人口普查起)"),
    "tiny": ("tiny (quick test)", "微型(快速测试)"),
    "steady_state": ("steady state", "稳态"),
    "all_levers": ("all policy levers", "全部政策杠杆"),
    "affordable_housing_75k": ("Shenyang affordable rental housing", "沈阳保障性租赁住房"),
    "dalian_vouchers_2024": ("Dalian talent housing vouchers (2024)", "大连人才购房券(2024)"),
    "family_support": ("family support", "家庭支持政策"),
    "jobs_programmes": ("job programmes", "就业促进项目"),
    "metro_shared_employment": ("shared-employment platform (metro)", "都市圈共享用工平台"),
    "shenyang_talent_3_0": ("Shenyang talent subsidies (3.0)", "沈阳人才补贴(3.0)"),
    "zero_threshold_hukou": ("zero-threshold hukou (Liaoning)", "零门槛落户(辽宁)"),
}


def _env_scenario() -> str | None:
    v = os.environ.get(ENV_SCENARIO, "").strip()
    return v or None


@functools.lru_cache(maxsize=4)
def _catalogue(env_scenario: str | None) -> dict[str, Preset]:
    out: dict[str, Preset] = {}
    les = lessons()
    for p in sorted(TEACHING_DIR.glob("*.yaml")):
        if p.name == LESSONS_FILE.name:
            continue
        lesson = les.get(p.stem, {})
        out[p.stem] = Preset(
            p.stem, p, "teaching",
            "Lesson: " + (lesson_text(lesson, "title", "en") or p.stem),
            "课程：" + (lesson_text(lesson, "title", "zh") or p.stem),
        )
    # the lessons' order, not the alphabet's
    order = list(les)
    out = dict(sorted(out.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order)))
    # the baseline first, then the other scenarios (policy packages, tiny) by name
    for p in sorted(SCENARIO_DIR.glob("*.yaml"), key=lambda q: (q.stem != DEFAULT_PRESET, q.stem)):
        en, zh = SCENARIO_TITLES.get(p.stem, (p.stem, p.stem))
        out.setdefault(p.stem, Preset(p.stem, p, "scenario", f"Scenario: {en}", f"情景：{zh}"))
    if env_scenario and _known_key(out, env_scenario) is None:
        path = Path(env_scenario).resolve()
        key = f"custom:{path.stem}"
        out[key] = Preset(key, path, "custom", f"Scenario file: {path.name}", f"情景文件：{path.name}")
    return out


def _known_key(cat: dict[str, Preset], scenario: str) -> str | None:
    """The catalogue key of a scenario given by name or by the path of a file already listed."""
    if scenario in cat:
        return scenario
    path = Path(scenario).resolve()
    for key, p in cat.items():
        if p.path.resolve() == path:
            return key
    return None


def catalogue() -> dict[str, Preset]:
    return _catalogue(_env_scenario())


def default_preset() -> str:
    """The preset the page opens with: the one given to ``migrants viz``, else the baseline."""
    env = _env_scenario()
    cat = catalogue()
    if env:
        key = _known_key(cat, env)
        if key is not None:
            return key
    return DEFAULT_PRESET if DEFAULT_PRESET in cat else next(iter(cat))


# ---------------------------------------------------------------- levers
@dataclass(frozen=True)
class Lever:
    """A slider or switch on the page.

    ``ref`` says what it moves:
    * ``"decisions.beta_income"``: a scenario parameter (dotted path);
    * ``"policy:NAME"``: a policy card on or off;
    * ``"amount:talent"``: the amounts of every talent-subsidy card that is on, times this;
    * ``"amount:housing"``: the affordable rental units of the affordable-housing cards that
      are on (thousands; at the card's own figure the card's build-up schedule is kept,
      any other figure is available from the start).
    """

    ref: str
    label_en: str
    label_zh: str
    min: float = 0.0
    max: float = 1.0
    step: float = 0.1

    @property
    def kind(self) -> str:
        return {"policy": "switch", "amount": "amount"}.get(self.ref.split(":", 1)[0], "param")

    @property
    def key(self) -> str:
        """Keyword of VizModel (and key of SolaraViz's model_params)."""
        if ":" in self.ref:
            prefix, name = self.ref.split(":", 1)
            return f"{prefix}__{name}"
        return self.ref.replace(".", "__")

    @property
    def is_policy(self) -> bool:
        return self.kind == "switch"

    def label(self, language: str) -> str:
        return self.label_zh if language == "zh" else self.label_en


SCENARIO_LEVERS = (
    Lever("decisions.beta_income", "Weight of expected income", "预期收入权重", 0.0, 5.0, 0.1),
    Lever("decisions.move_cost_fixed", "Fixed cost of moving", "迁移固定成本", 0.0, 6.0, 0.1),
    Lever("decisions.move_cost_province", "Cost of crossing a province line", "跨省迁移成本", 0.0, 2.0, 0.1),
    Lever("labour.separation_rate_month", "Monthly job-loss rate", "每月失业率(离职率)", 0.0, 0.05, 0.001),
    Lever("decisions.migrant_school_access", "Migrants' children in public school", "随迁子女入读公办学校比例", 0.0, 1.0, 0.05),
    Lever("decisions.hukou_value", "Value of local hukou", "本地户籍价值", 0.0, 1.5, 0.05),
    Lever("decisions.childcare_places_per_1000", "Childcare places per 1,000 residents", "每千人托位数", 0.0, 20.0, 0.5),
)

# The main policy levers, shown as switches for every scenario (others: when the scenario uses them).
MAIN_CARDS = ("shenyang_talent_3_0", "dalian_vouchers_2024", "shenyang_affordable_housing_75k",
              "metro_shared_employment", "zero_threshold_hukou")
POLICY_LABELS = {
    "shenyang_talent_3_0": ("Shenyang talent subsidies (3.0)", "沈阳人才补贴(3.0)"),
    "dalian_vouchers_2024": ("Dalian talent housing vouchers (2024)", "大连人才购房券(2024)"),
    "shenyang_affordable_housing_75k": ("Shenyang affordable rental housing", "沈阳保障性租赁住房"),
    "metro_shared_employment": ("Shared-employment platform (metro)", "都市圈共享用工平台"),
    "zero_threshold_hukou": ("Zero-threshold hukou (Liaoning)", "零门槛落户(辽宁)"),
    "shenyang_rent_subsidy_2016": ("Shenyang graduate rent subsidy (2016)", "沈阳毕业生租房补贴(2016)"),
    "shenyang_graduate_hukou_2018": ("Shenyang graduate hukou (2018)", "沈阳毕业生落户(2018)"),
    "tianjin_haihe_talent_2018": ("Tianjin Haihe talent plan (2018)", "天津海河英才计划(2018)"),
    "shijiazhuang_zero_threshold_2019": ("Shijiazhuang zero-threshold hukou (2019)", "石家庄零门槛落户(2019)"),
    "liaoning_assisted_reproduction": ("Liaoning assisted reproduction", "辽宁辅助生殖支持"),
    "liaoning_industrial_clusters": ("Liaoning industrial clusters", "辽宁产业集群"),
    "liaoning_minimum_wage_review": ("Liaoning minimum wage review", "辽宁最低工资调整"),
    "liaoning_wage_arrears_clearing": ("Liaoning wage arrears clearing", "辽宁清理拖欠工资"),
    "shenyang_campus_job_fairs": ("Shenyang campus job fairs", "沈阳校园招聘会"),
    "shenyang_childcare_2025": ("Shenyang childcare (2025)", "沈阳托育服务(2025)"),
    "shenyang_third_child_allowance": ("Shenyang third-child allowance", "沈阳三孩育儿补贴"),
}
AMOUNT_LEVERS = (
    Lever("amount:talent", "Talent subsidy amounts (× the cards')", "人才补贴金额(倍数)", 0.0, 3.0, 0.25),
    Lever("amount:housing", "Affordable rental units (thousands)", "保障性租赁住房(千套)", 0.0, 200.0, 5.0),
)


def available_cards() -> list[str]:
    if not POLICY_DIR.is_dir():
        return []
    return sorted(p.stem for p in POLICY_DIR.glob("*.yaml"))


def _card_name(reference: str) -> str:
    return card_key(reference)


def _load_card(reference: str):
    from migrants.policies import load_card

    return load_card(reference)


@functools.lru_cache(maxsize=64)
def preset_scenario(preset: str):
    """The preset's scenario as written (no levers applied)."""
    return load_scenario(catalogue()[preset].path)


def policy_levers(preset: str | None = None) -> tuple[Lever, ...]:
    """Switches for the main policy cards and the preset's own, then the amount sliders."""
    cards = available_cards()
    if not cards:
        return ()
    names = [c for c in MAIN_CARDS if c in cards]
    if preset and preset in catalogue():
        for ref in preset_scenario(preset).policies:
            n = _card_name(ref)
            if n in cards and n not in names:
                names.append(n)
    out = []
    for n in names:
        en, zh = POLICY_LABELS.get(n, (n.replace("_", " ").capitalize(), n))
        out.append(Lever(f"policy:{n}", "Policy: " + en, "政策：" + zh))
    levers = {c.lever for c in (_load_card(n) for n in names)}
    if "talent_subsidy" in levers:
        out.append(AMOUNT_LEVERS[0])
    if "affordable_housing" in levers:
        out.append(AMOUNT_LEVERS[1])
    return tuple(out)


def levers_for(preset: str) -> list[Lever]:
    """The levers shown for a preset: a lesson's levers only (in its order); without a lesson, all of them."""
    all_ = {lv.ref: lv for lv in (*policy_levers(preset), *SCENARIO_LEVERS)}
    lesson = [r for r in lessons().get(preset, {}).get("levers", []) if r in all_]
    if lesson:
        return [all_[r] for r in lesson]
    return list(all_.values())


def _policy_names(policies) -> set[str]:
    return {_card_name(p) for p in policies}


def housing_units_default(policies) -> float:
    """Final units (thousands) of the affordable-housing cards in ``policies``, else of the main card."""
    refs = [p for p in policies if _load_card(p).lever == "affordable_housing"] or [
        c for c in MAIN_CARDS if c in available_cards() and _load_card(c).lever == "affordable_housing"]
    if not refs:
        return 0.0
    return round(max(_load_card(refs[0]).units.points.values()) / 1000.0, 3)


def config_value(config, ref: str):
    """Current value of a scenario parameter or policy switch in a resolved scenario."""
    if ref.startswith("policy:"):
        return ref.split(":", 1)[1] in _policy_names(config.policies)
    if ref == "amount:talent":
        return 1.0
    if ref == "amount:housing":
        return housing_units_default(config.policies)
    node = config
    for k in ref.split("."):
        node = getattr(node, k)
    return float(getattr(node, "value", node))


def policy_references(preset: str, switches: dict[str, bool], talent: float | None, housing: float | None) -> list[str]:
    """The policy card references for a preset with the page's switches and amounts applied."""
    base = preset_scenario(preset)
    ps = PolicySet.parse(base.policies)
    for name, on in switches.items():  # a switch off leaves the card out, on adds it
        ps = ps.without(name) if not on else (ps if name in ps else ps.plus([name]))
    refs = ps.refs
    from_start = lessons().get(preset, {}).get("policy_start") == "scenario"
    default_units = housing_units_default(refs)
    for ref in refs:
        card = _load_card(ref)
        extra: dict = {}
        start = getattr(card, "start", None)
        if from_start and start is not None and str(start) > base.start:  # YYYY-MM compares as text
            extra["start"] = base.start
        if card.lever == "talent_subsidy" and talent is not None and float(talent) != 1.0:
            dump = card.model_dump()
            for section in ("home_purchase", "living_subsidy"):
                by_degree = (dump.get(section) or {}).get("by_degree") or {}
                for degree, amount in by_degree.items():
                    extra[f"{section}.by_degree.{degree}"] = round(float(amount) * float(talent), 2)
        if card.lever == "affordable_housing" and housing is not None and abs(float(housing) - default_units) > 1e-9:
            extra["units"] = round(float(housing) * 1000.0)
        if extra:
            ps = ps.with_fields(card_key(ref), {k: _plain(v) for k, v in extra.items()})
    return ps.refs


def _plain(v):
    """A whole-number float as an int (``5000`` in a reference, not ``5000.0``)."""
    return int(v) if isinstance(v, float) and v.is_integer() else v


# ---------------------------------------------------------------- parsing
def parse_seed(text) -> int | None:
    """Seed box: blank = the scenario's seed; digits = that seed; any other text = a stable hash of it."""
    if text is None:
        return None
    if isinstance(text, int):
        return text
    s = str(text).strip()
    if not s:
        return None
    if s.isdigit():
        return int(s)
    return zlib.crc32(s.encode("utf-8"))


def parse_scale(value) -> int | None:
    if value in (None, "", "default"):
        return None
    try:
        v = int(value)
    except (TypeError, ValueError):
        return None
    return v if v >= 1 else None


# ---------------------------------------------------------------- model
SMALL_MODEL_AGENTS = 2_000_000


def _numba_threads(n_agents: int) -> None:
    """Threads for the model's parallel kernels in the calling thread (numba's setting is per thread).

    The page runs the model on one thread unless it is very large: starting
    parallel regions costs more than they save for a teaching preset, and on a
    2-core machine the browser and the server compete for the other core
    (measured on a loaded 2-core machine: wage_gap 5 against 32 ms a month,
    baseline at scale 100 215 against 430 ms).  Env ``MIGRANTS_VIZ_NUMBA_THREADS``:
    ``auto`` (default: one thread below SMALL_MODEL_AGENTS agents, all above) or a number.
    """
    try:
        import numba
    except ImportError:  # pragma: no cover - numba is a dependency
        return
    setting = os.environ.get("MIGRANTS_VIZ_NUMBA_THREADS", "auto").strip().lower()
    if setting == "auto":
        n = 1 if n_agents < SMALL_MODEL_AGENTS else numba.config.NUMBA_NUM_THREADS
    else:
        try:
            n = int(setting)
        except ValueError:
            n = numba.config.NUMBA_NUM_THREADS
    n = max(1, min(n, numba.config.NUMBA_NUM_THREADS))
    if numba.get_num_threads() != n:
        numba.set_num_threads(n)


class VizModel(MigrationModel):
    """The model as the page builds it.

    Why a subclass: Mesa 3.5's ``Model`` has a ``scenario`` attribute of its own
    (``mesa.experimental.scenarios.Scenario``), and SolaraViz's Reset always
    passes ``scenario=<that class>(...)`` to the model's ``__init__``, which
    would replace ``MigrationModel``'s own ``scenario`` (a file name).  Here
    the scenario is called ``preset`` and Mesa's ``scenario`` is ignored.

    Keywords: ``preset`` (a key of ``catalogue()``), ``seed`` (text, see
    ``parse_seed``), ``scale`` (text or int), and one keyword per lever
    (``decisions__beta_income=1.2``, ``policy__NAME=True``).

    The model stops (``running = False``) at the scenario's last month, and
    ``retire()`` stops it for good when the page loads another one.
    """

    def __init__(self, *, preset: str | None = None, seed="", scale="", scenario=None, **levers):
        cat = catalogue()
        preset = preset or default_preset()
        if preset not in cat:
            raise ValueError(f"unknown preset {preset!r}; choose one of {list(cat)}")
        entry = cat[preset]
        overrides: dict = {}
        switches: dict[str, bool] = {}
        amounts: dict[str, float | None] = {"talent": None, "housing": None}
        for k, v in levers.items():
            if k.startswith("policy__"):
                switches[k.removeprefix("policy__")] = bool(v)
            elif k.startswith("amount__"):
                amounts[k.removeprefix("amount__")] = None if v is None else float(v)
            elif v is not None:
                overrides[k.replace("__", ".")] = v
        from_start = lessons().get(preset, {}).get("policy_start") == "scenario"
        if (switches or any(v is not None for v in amounts.values()) or from_start):
            overrides["policies"] = policy_references(preset, switches, amounts["talent"], amounts["housing"])
        super().__init__(scenario=str(entry.path), rng=parse_seed(seed), scale=parse_scale(scale), overrides=overrides)
        self.preset = preset
        self.preset_entry = entry
        self.retired = False
        # what the page shows as this run's lever settings
        self.lever_values = {lv.ref: config_value(self.config, lv.ref) for lv in levers_for(preset)}
        for name, v in amounts.items():
            if v is not None:
                self.lever_values[f"amount:{name}"] = v

    def step(self) -> None:
        if self.retired:
            self.running = False
            return
        _numba_threads(self.people.n)
        super().step()
        if self.month >= self.config.months:
            self.running = False

    def retire(self) -> None:
        """Stop this model for good (a new one replaced it on the page)."""
        self.retired = True
        self.running = False
