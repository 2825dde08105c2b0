"""Generated hostile and ordinary inputs for the command line, and the rule every one must meet.

Used by ``tests/test_fuzz.py`` (a few hundred inputs, in CI) and ``scripts/fuzz.py`` (as many as
asked, with a tally).  Each input is a scenario override, a policy card, a sweep spec or a data
file, mutated from the shipped ones; the command runs in this process (``migrants.cli.main``) at
the ``tiny`` scenario's scale, a month or two.  The rule:

* exit 0, and the outputs are sane: every number finite, no negative count, unemployment and
  other rates in [0, 1]; or
* exit 2, one line on stderr (``error: ...``), and nothing written to ``--out``;
* never a traceback, never another exit code, never longer than ``HANG_S``.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import signal
import tempfile
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from hypothesis import strategies as st

from migrants.cli import main
from migrants.config import iter_params, load_scenario

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
TINY_SPEC = ROOT / "experiments" / "tiny.yaml"
HANG_S = 120  # no input may keep a command longer than this (a hang bound, not a timing test)
#: the fuzzed commands run under a memory cap this much above what the process held before them
#: (a tiny run needs about 1 GB of address space; see migrants.memory)
FUZZ_HEADROOM = 3 * 2 ** 30

TINY = load_scenario("tiny")
PARAM_PATHS = [p for p, _ in iter_params(TINY)]
PARAM_VALUES = {p: prm.value for p, prm in iter_params(TINY)}
CITIES = list(TINY.cities)
ALL_CITIES = list(pd.read_csv(CONFIGS / "cities.csv")["name_en"])
CARDS = sorted((CONFIGS / "policies").glob("*.yaml"))

#: count columns of city_month.parquet (never negative) and its rates (0 to 1)
RATES = ("unemployment_rate",)
SIGNED = ("net_migration", "month")


# ------------------------------------------------------------------ values
def yaml_text(v) -> str:
    """A value as ``--set`` text (YAML)."""
    if isinstance(v, float):
        if math.isnan(v):
            return ".nan"
        if math.isinf(v):
            return ".inf" if v > 0 else "-.inf"
        return repr(v)
    if isinstance(v, str):
        return v
    return yaml.safe_dump(v, default_flow_style=True).strip().removesuffix("...").strip()


HOSTILE = st.sampled_from([
    float("nan"), float("inf"), float("-inf"), -1, -0.5, 0, 1e308, -1e308, 1e15, 2 ** 63, 10 ** 30,
    "9" * 5000, "abc", "", "null", "true", "[]", "{}", "[1, 2]", "{a: 1}", "&a [*a]", "[" * 300 + "]" * 300,
    "\x00", "é" * 50, "../../etc/passwd", "/dev/zero", "1e99999",
])


def near(default: float):
    """Values around a default: most valid, some out of range."""
    return st.one_of(
        st.sampled_from([0.0, 0.5, 0.9, 1.0, 1.1, 2.0, 10.0, -1.0]).map(lambda f: default * f),
        st.floats(min_value=0, max_value=1),
        st.floats(allow_nan=True, allow_infinity=True),
    )


@st.composite
def scenario_case(draw):
    """``run tiny --months m`` with 1-3 ``--set`` overrides."""
    sets = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["param", "param", "param", "top", "data"]))
        if kind == "param":
            path = draw(st.sampled_from(PARAM_PATHS))
            value = draw(st.one_of(near(PARAM_VALUES[path]), HOSTILE))
        elif kind == "top":
            path, value = draw(st.sampled_from([
                ("seed", st.one_of(st.integers(0, 2 ** 32), HOSTILE)),
                ("scale", st.one_of(st.sampled_from([500, 1000, 2000, 50_000, 1_000_000, 10_000_001]), HOSTILE)),
                ("cities", st.one_of(st.lists(st.sampled_from(ALL_CITIES + ["Atlantis"]), min_size=0, max_size=4),
                                     HOSTILE)),
                ("start", st.one_of(st.sampled_from(["2020-11", "2015-01", "2021-12", "2020-13", "1900-01",
                                                     "9999-12", "2020-1"]), HOSTILE)),
                ("census", st.sampled_from([2010, 2020, 2000, "x"])),
                ("time_varying_inputs", st.sampled_from([True, False, "maybe", 2])),
                ("policies", st.one_of(st.lists(st.sampled_from([c.stem for c in CARDS] + ["nope"]), max_size=3),
                                       HOSTILE)),
            ]).flatmap(lambda pv: st.tuples(st.just(pv[0]), pv[1])))
        else:
            path = draw(st.sampled_from(["data.cities", "data.provinces", "data.transport_links",
                                         "data.rest_of_china", "data.history", "data.census_cities"]))
            value = draw(st.sampled_from(["history", "/dev/null", "nope.csv", "cities.csv", "rest_of_china.yaml",
                                          "null", "/", "scenarios/tiny.yaml"]))
        sets.append(f"{path}={yaml_text(value)}")
    months = draw(st.one_of(st.integers(0, 2).map(str), st.sampled_from(["-1", "abc", "1.5", "1201", "9" * 40])))
    return ["run", "tiny", "--months", months, *sum((["--set", s] for s in sets), [])]


def leaves(d, prefix=()):
    if isinstance(d, dict):
        for k, v in d.items():
            yield from leaves(v, (*prefix, k))
    elif isinstance(d, list):
        for i, v in enumerate(d):
            yield from leaves(v, (*prefix, i))
    else:
        yield prefix, d


def set_leaf(d, path, value):
    node = d
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value


@st.composite
def card_case(draw):
    """``run tiny --months m --policy CARD`` with one field of a shipped card replaced (it starts at once)."""
    src = draw(st.sampled_from(CARDS))
    card = yaml.safe_load(src.read_text())
    if "start" in card:
        card["start"] = "2020-12"
    spots = [p for p, _ in leaves(card) if p and p[0] not in ("description", "source", "notes")]
    for _ in range(draw(st.integers(1, 2))):
        numeric = [p for p, v in leaves(card) if p in spots and isinstance(v, (int, float)) and not isinstance(v, bool)
                   and math.isfinite(v)]
        if numeric and draw(st.integers(0, 3)):  # mostly a number of the card, near its value
            path = draw(st.sampled_from(numeric))
            new = draw(st.one_of(near(float(dict(leaves(card))[path])), near(float(dict(leaves(card))[path])),
                                 HOSTILE))
        else:
            path = draw(st.sampled_from(spots))
            new = draw(st.one_of(HOSTILE, st.sampled_from([None, [], {}, "2020-12", "Shenyang", True])))
        set_leaf(card, path, new)
    return {"card": card, "name": src.stem, "months": draw(st.integers(1, 2))}


@st.composite
def spec_case(draw):
    """``sweep SPEC`` for the tiny spec (1 month, 1 replicate, no baseline arm) with a field replaced."""
    spec = yaml.safe_load(TINY_SPEC.read_text())
    spec.update(months=1, replicates=1, baseline=None)
    choice = draw(st.sampled_from(["replicates", "seed", "design", "levels", "bounds", "path", "kpis", "name",
                                   "overrides", "months", "scale", "card", "ensemble"]))
    f0 = spec["factors"][0]
    if choice == "replicates":
        spec["replicates"] = draw(st.one_of(st.integers(-2, 2), st.sampled_from([10 ** 9, 2 ** 63]), HOSTILE))
    elif choice == "seed":
        spec["seed"] = draw(st.one_of(st.integers(-1, 2 ** 70), HOSTILE))
    elif choice == "design":
        spec["design"] = {"type": draw(st.sampled_from(["factorial", "lhs", "sobol", "morris", "x"])),
                          "samples": draw(st.one_of(st.sampled_from([1, 2, 3, 4, 2 ** 40, 0, -1]), HOSTILE))}
        if spec["design"]["type"] != "factorial":
            for f in spec["factors"]:
                f.pop("levels")
                f["bounds"] = [1.0, 3.0]
    elif choice == "levels":
        f0["levels"] = draw(st.one_of(st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                                                         st.integers(-5, 5)), max_size=3), HOSTILE))
    elif choice == "bounds":
        f0.pop("levels")
        f0["bounds"] = draw(st.one_of(st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=3),
                                      HOSTILE))
        f0["n_levels"] = draw(st.sampled_from([2, 3, 10 ** 9, 1, "x"]))
    elif choice == "path":
        f0["path"] = draw(st.one_of(st.sampled_from(PARAM_PATHS + ["months", "seed", "decisions.nope",
                                                                   "policies.x.y", "a..b"]), HOSTILE))
    elif choice == "kpis":
        spec["outputs"]["kpis"] = draw(st.one_of(st.lists(st.sampled_from(
            ["population_total", "nope", "population@Shenyang", "population@Atlantis", "graduates"]),
            max_size=3), HOSTILE))
    elif choice == "name":
        spec["name"] = draw(st.one_of(st.sampled_from(["ok_name", "../x", "/abs", "..", "a b", "x" * 101]), HOSTILE))
    elif choice == "overrides":
        path = draw(st.sampled_from(PARAM_PATHS + ["nope.x", "seed", "months"]))
        spec["overrides"] = {path: draw(st.one_of(near(PARAM_VALUES.get(path, 1.0)), HOSTILE))}
    elif choice == "months":
        spec["months"] = draw(st.one_of(st.integers(-1, 2), st.sampled_from([1201, 10 ** 12]), HOSTILE))
    elif choice == "scale":
        spec["scale"] = draw(st.one_of(st.sampled_from([1000, 5000, 10 ** 9]), HOSTILE))  # 1 is a full-scale run: legal, minutes long
    elif choice == "card":
        spec["factors"][1] = {"card": draw(st.one_of(st.sampled_from([c.stem for c in CARDS] + ["nope"]), HOSTILE)),
                              "levels": draw(st.sampled_from([[False, True], [True], [1, 2], [{"x": 1}],
                                                              [{"start": "2020-12"}]]))}
    else:
        spec["ensemble"] = draw(st.sampled_from([0, -1, 10 ** 6, "x"]))
    return spec


@st.composite
def data_case(draw):
    """``run tiny --months 1`` with one cell of cities.csv, provinces.csv or transport_links.csv replaced."""
    which = draw(st.sampled_from(["cities", "cities", "provinces", "transport_links"]))
    df = pd.read_csv(CONFIGS / f"{which}.csv", dtype=str, keep_default_na=False)
    how = draw(st.sampled_from(["cell", "cell", "cell", "drop_column", "duplicate_row", "drop_row"]))
    if how == "cell":
        col = draw(st.sampled_from([c for c in df.columns if c not in ("source", "sources")]))
        row = draw(st.integers(0, len(df) - 1))
        old = df.loc[row, col]
        try:
            num = float(old)
        except ValueError:
            num = None
        value = draw(st.one_of(near(num).map(repr) if num is not None and math.isfinite(num) else HOSTILE.map(str),
                               HOSTILE.map(str)))
        df.loc[row, col] = str(value)[:6000]
    elif how == "drop_column":
        df = df.drop(columns=[draw(st.sampled_from(list(df.columns)))])
    elif how == "duplicate_row":
        df = pd.concat([df, df.iloc[[draw(st.integers(0, len(df) - 1))]]], ignore_index=True)
    else:
        df = df.drop(index=draw(st.integers(0, len(df) - 1))).reset_index(drop=True)
    return {"which": which, "table": df}


# ------------------------------------------------------------------ running and judging
def vm_size() -> int:
    """This process's address space now, bytes (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    raise OSError("no VmSize in /proc/self/status")


class Hang(Exception):
    pass


@contextlib.contextmanager
def hang_bound(seconds: int):
    def alarm(signum, frame):
        raise Hang(f"longer than {seconds} s")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@dataclass
class Outcome:
    kind: str  # scenario, card, spec, data
    verdict: str  # exit0, exit2, mishandled
    detail: str = ""
    args: list = field(default_factory=list)
    input: str = ""  # the generated card, spec or table (cut), to reproduce a mishandled one


def invoke(args: list[str]) -> tuple[object, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            with hang_bound(HANG_S):
                code = main([str(a) for a in args])
        except Hang as e:
            code = f"hang ({e})"
        except SystemExit as e:
            code = e.code
        except BaseException:  # noqa: BLE001 - exactly what must never happen
            code = "traceback"
            err.write(traceback.format_exc())
    return code, out.getvalue(), err.getvalue()


def written(out: Path) -> list[str]:
    """Files under ``out`` and stray siblings of it (its lock file included)."""
    found = [str(p) for p in out.rglob("*")] if out.exists() else []
    found += [str(p) for p in out.parent.glob(f".{out.name}*")]
    return found + ([str(out)] if out.exists() and not found else [])


def insane_frame(df: pd.DataFrame, what: str, allow_nan: tuple = ()) -> str | None:
    """Why a result table is not sane (None: it is)."""
    for c in df.columns:
        if not pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]):
            continue
        v = df[c].to_numpy(float)
        if c not in allow_nan and not np.isfinite(v).all():
            return f"{what}: column {c} has {int((~np.isfinite(v)).sum())} NaN or infinite values"
        v = v[np.isfinite(v)]
        if c.endswith(RATES) or c.endswith("_rate") or c.endswith("_share") or "rate_" in c:
            if ((v < -1e-9) | (v > 1 + 1e-9)).any():
                return f"{what}: column {c} outside [0, 1] ({v.min()} to {v.max()})"
        elif not c.startswith(SIGNED) and "net_" not in c and "change" not in c and (v < -1e-6).any():
            return f"{what}: column {c} negative ({v.min()})"
    return None


def judge_outputs(args: list[str], out: Path) -> str | None:
    if args[0] == "run":
        for name, allow in (("city_month.parquet", ()), ("flows.parquet", ()),
                            ("policy_month.parquet", ("mean_wait_months",))):
            p = out / name
            if not p.exists():
                return f"exit 0 without {name}"
            why = insane_frame(pd.read_parquet(p), name, allow)
            if why:
                return why
        if not (out / "run.json").exists():
            return "exit 0 without run.json"
        return None
    summary = out / "summary.parquet"
    if not summary.exists():
        return "exit 0 without summary.parquet"
    s = pd.read_parquet(summary)
    m = json.loads((out / "manifest.json").read_text())
    if len(s) != len(m["runs"]):
        return f"exit 0 with {len(s)} of {len(m['runs'])} runs"
    kpis = s[[c for c in m["kpi_columns"] if c in s.columns]]
    return insane_frame(kpis, "summary.parquet", allow_nan=("graduate_retention",))


def judge(kind: str, args: list[str], out: Path) -> Outcome:
    code, stdout, stderr = invoke(args)
    if "Traceback" in stderr or "Traceback" in stdout or code == "traceback":
        last = [x for x in stderr.strip().splitlines() if x.strip()][-1:] or ["?"]
        return Outcome(kind, "mishandled", f"traceback: {last[0][:300]}", args)
    if code == 0:
        why = judge_outputs(args, out)
        return Outcome(kind, "mishandled" if why else "exit0", why or "", args)
    if code == 2:
        lines = [x for x in stderr.splitlines() if x.strip()]
        if len(lines) != 1 or not lines[0].startswith("error: "):
            return Outcome(kind, "mishandled", f"exit 2 with {len(lines)} lines: {stderr[:300]!r}", args)
        if len(lines[0]) > 900:
            return Outcome(kind, "mishandled", f"exit 2 with a {len(lines[0])}-character line", args)
        left = written(out)
        if left:
            return Outcome(kind, "mishandled", f"exit 2 but wrote {left[:3]}", args)
        return Outcome(kind, "exit2", lines[0][:200], args)
    return Outcome(kind, "mishandled", f"exit {code}: {stderr.strip()[-300:]!r}", args)


def run_case(kind: str, case) -> Outcome:
    o = _run_case(kind, case)
    if o.verdict == "mishandled" and kind != "scenario":
        text = case["table"].to_csv(index=False) if kind == "data" else yaml.safe_dump(case, allow_unicode=True)
        o.input = text[:4000]
    return o


def _run_case(kind: str, case) -> Outcome:
    with tempfile.TemporaryDirectory(prefix="migrants-fuzz-") as tmp:
        tmp = Path(tmp)
        out = tmp / "out"
        if kind == "scenario":
            args = [*case, "--quiet", "--out", str(out)]
        elif kind == "card":
            p = tmp / f"{case['name']}.yaml"
            p.write_text(yaml.safe_dump(case["card"], allow_unicode=True))
            args = ["run", "tiny", "--months", str(case["months"]), "--policy", str(p), "--quiet", "--out", str(out)]
        elif kind == "spec":
            p = tmp / "spec.yaml"
            p.write_text(yaml.safe_dump(case, allow_unicode=True))
            args = ["sweep", str(p), "--quiet", "--threads-per-run", "1", "--out", str(out)]
        else:
            p = tmp / f"{case['which']}.csv"
            case["table"].to_csv(p, index=False)
            args = ["run", "tiny", "--months", "1", "--set", f"data.{case['which']}={p}", "--quiet",
                    "--out", str(out)]
        return judge(kind, args, out)


STRATEGIES = {"scenario": scenario_case(), "card": card_case(), "spec": spec_case(), "data": data_case()}


def tally(outcomes: list[Outcome]) -> dict:
    c = Counter((o.kind, o.verdict) for o in outcomes)
    return {k: {v: c[(k, v)] for v in ("exit0", "exit2", "mishandled")} for k in STRATEGIES}


__all__ = ["FUZZ_HEADROOM", "STRATEGIES", "Outcome", "run_case", "tally", "copy", "vm_size"]
