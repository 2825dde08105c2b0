"""Where a simulated month's time goes, by submodel.  Run:

    PYTHONPATH=src .venv/bin/python benchmarks/bench_month.py                 # default scale, profile table
    PYTHONPATH=src .venv/bin/python benchmarks/bench_month.py --full          # and scale=1 for a few months
    PYTHONPATH=src .venv/bin/python benchmarks/bench_month.py --compare OLD/src   # old vs new, interleaved

Each run is a child process (1 numba thread unless ``--threads``): it builds the model, runs
``--months`` months of ``--scenario`` and times every submodel of ``MigrationModel.step`` by
wrapping the functions the month calls (the kernels of ``demography``, ``labour``,
``decisions``, ``housing``, the census, the policy engine's hooks, compaction and the record).
A wrapper's time is its own (the time of wrapped functions it calls is counted under their
names), and ``other`` is what is left of the month: the Python of ``step`` itself.  Wrappers
that name a function an older version of the model does not have are skipped, so the same
script profiles the code before and after a change (``--compare``: the children alternate
between the two source trees, so a busy machine slows both alike).

The table gives ms per month (the mean over the run's months; median over ``--repeats`` runs
with min-max) and the share of the month.  ``--full`` adds one run at scale = 1 (about 77 M
agents, ~3 GB of columns): initialisation, peak memory per agent, the month in seconds and in
passes over the columns at the copy bandwidth (a 1 GiB numpy copy, median of 5).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"

#: (module, attribute, label): the functions of a month, as ``model.step`` calls them
WRAP = (
    ("demography", "age_one_year", "ageing (January)"),
    ("demography", "retire", "retire"),
    ("demography", "deaths_and_births", "deaths and births"),
    ("demography", "deaths_births_headcount", "deaths, births and headcount"),
    ("demography", "cohort_deaths", "cohort deaths"),
    ("demography", "graduate_cohort", "graduates (July)"),
    ("labour", "update_jobs", "labour demand"),
    ("labour", "separate", "separate"),
    ("labour", "select_seekers", "select seekers"),
    ("labour", "separate_and_select_seekers", "separate, select seekers"),
    ("labour", "assign_jobs", "assign jobs"),
    ("decisions", "select_considerers", "select considerers"),
    ("decisions", "select_considerers_and_returners", "select considerers, returners"),
    ("decisions", "stay_factors", "stay factors"),
    ("decisions", "choose_destinations", "choose destinations"),
    ("decisions", "select_returners", "select returners"),
    ("decisions", "apply_moves", "apply moves"),
    ("demography", "transfer_children", "transfer children"),
    ("housing", "buy_homes", "buy homes"),
)
#: methods of the model and of its policy engine
MODEL_METHODS = (("_school_leavers", "school leavers (September)"), ("_outsiders", "outsiders"),
                 ("_set_vital_rates", "vital rates (January)"))
POLICY_METHODS = (
    ("decision_terms", "policy: decision terms"),
    ("search", "policy: search"),
    ("settle_hukou", "policy: hukou settlement"),
    ("subsidy_purchases", "policy: subsidy purchases"),
    ("subsidised_housing", "policy: subsidised housing"),
    ("pay", "policy: pay"),
    ("end_commutes_of_movers", "policy: commutes"),
    ("end_commutes_of_the_departed", "policy: commutes"),
    ("end_commutes_of_job_losers", "policy: commutes"),
)


class Timer:
    """Own time per label: a wrapper's elapsed time less that of the wrappers it calls."""

    def __init__(self):
        self.own: dict[str, float] = {}
        self.stack: list[float] = []

    def wrap(self, f, label):
        def timed(*a, **k):
            self.stack.append(0.0)
            t0 = time.perf_counter()
            try:
                return f(*a, **k)
            finally:
                dt = time.perf_counter() - t0
                inner = self.stack.pop()
                self.own[label] = self.own.get(label, 0.0) + dt - inner
                if self.stack:
                    self.stack[-1] += dt
        timed._timed = f
        return timed


def instrument(model, timer: Timer) -> None:
    import importlib

    import migrants.model as mm

    for mod, attr, label in WRAP:
        m = importlib.import_module(f"migrants.{mod}")
        if hasattr(m, attr) and not hasattr(getattr(m, attr), "_timed"):
            setattr(m, attr, timer.wrap(getattr(m, attr), label))
    census = getattr(mm.take_census, "_timed", mm.take_census)

    def take_census(P, month, C, wage_factor=None, wage_floor=None):
        label = "census (month end, with wages)" if wage_factor is not None else "census (mid-month)"
        return timer.wrap(census, label)(P, month, C, wage_factor=wage_factor, wage_floor=wage_floor)

    take_census._timed = census
    mm.take_census = take_census
    for attr, label in MODEL_METHODS:
        if hasattr(model, attr):
            setattr(model, attr, timer.wrap(getattr(model, attr), label))
    for attr, label in POLICY_METHODS:
        if hasattr(model.policy, attr):
            setattr(model.policy, attr, timer.wrap(getattr(model.policy, attr), label))
    model.people.compact = timer.wrap(model.people.compact, "compact")
    model.recorder.record = timer.wrap(model.recorder.record, "record")
    model._update_city_agents = timer.wrap(model._update_city_agents, "record")


def copy_bandwidth(repeats: int = 5) -> float:
    """Bytes a second of a 1 GiB numpy copy (median of ``repeats``)."""
    a = np.ones(2**30 // 8)
    b = np.empty_like(a)
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        np.copyto(b, a)
        ts.append(time.perf_counter() - t)
    del a, b
    return 2**30 / float(np.median(ts))


def child(scenario: str, scale: int | None, months: int, profile: bool, warm: int) -> dict:
    import resource

    t0 = time.perf_counter()
    from migrants import MigrationModel  # noqa: F401  (import time is not the model's)

    t_import = time.perf_counter() - t0
    if warm:  # kernels loaded from numba's cache before timing (14 months of tiny: January, July, September)
        MigrationModel(scenario="tiny", rng=1).run(warm)
    t1 = time.perf_counter()
    m = MigrationModel(scenario=scenario, scale=scale, rng=1)
    init_s = time.perf_counter() - t1
    timer = Timer()
    if profile:
        instrument(m, timer)
    steps = []
    for _ in range(months):
        t = time.perf_counter()
        m.step()
        steps.append(time.perf_counter() - t)
    own = {k: v / months for k, v in timer.own.items()}
    own["other"] = sum(steps) / months - sum(own.values())
    import numba

    return {"import_s": t_import, "init_s": init_s, "model_s": sum(steps), "month_s": steps, "own": own,
            "agents": int(m.people.n), "column_bytes": int(sum(a[: m.people.n].nbytes for a in m.people._cols.values())),
            "peak_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            "threads": numba.get_num_threads()}


def run_child(src: Path, args, scale, months, profile=True, warm=14) -> dict:
    env = dict(os.environ, PYTHONPATH=str(src), NUMBA_NUM_THREADS=str(args.threads))
    cmd = [sys.executable, __file__, "--child", args.scenario, str(scale if scale is not None else 0), str(months),
           "1" if profile else "0", str(warm)]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode:
        sys.exit(f"child failed ({src}):\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def med(xs):
    xs = np.asarray(xs, float)
    return float(np.median(xs)), float(xs.min()), float(xs.max())


def table(runs_by_tree: dict[str, list[dict]]) -> str:
    """The profile: ms a month per label (median, min-max over runs) and share, one column per tree."""
    names = list(runs_by_tree)
    labels = []
    for runs in runs_by_tree.values():
        for r in runs:
            labels += [k for k in r["own"] if k not in labels]
    first = runs_by_tree[names[0]]
    labels.sort(key=lambda k: -np.median([r["own"].get(k, 0.0) for r in first]) if k != "other" else 1e9)
    w = max(len(k) for k in labels + ["month"]) + 1
    head = f"{'submodel':<{w}}" + "".join(f" | {n[:30]:>30}" for n in names)
    lines = [head, "-" * len(head)]
    totals = {n: [sum(r["own"].values()) for r in runs] for n, runs in runs_by_tree.items()}
    for k in labels + ["month"]:
        row = f"{k:<{w}}"
        for n, runs in runs_by_tree.items():
            xs = totals[n] if k == "month" else [r["own"].get(k, 0.0) for r in runs]
            m_, lo, hi = med([x * 1e3 for x in xs])
            share = m_ / (np.median(totals[n]) * 1e3) * 100
            row += f" | {m_:7.2f} ms ({lo:6.2f}-{hi:6.2f}) {share:4.0f}%"
        lines.append(row)
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", default="baseline")
    ap.add_argument("--months", type=int, default=120)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--compare", type=Path, help="another source tree (its src folder): old vs new, interleaved")
    ap.add_argument("--no-profile", action="store_true", help="time the months without the wrappers")
    ap.add_argument("--full", action="store_true", help="also a run at scale = 1 (needs ~8 GB)")
    ap.add_argument("--full-months", type=int, default=3)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        scen, scale, months, prof, warm = a.child
        print(json.dumps(child(scen, int(scale) or None, int(months), prof == "1", int(warm))))
        return
    trees = {"new: " + str(SRC): SRC}
    if a.compare:
        trees = {"old: " + str(a.compare): a.compare.resolve(), **trees}
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; {a.threads} numba thread(s); "
          f"{a.scenario}, default scale, {a.months} months, {a.repeats} runs per tree")
    runs = {n: [] for n in trees}
    for _ in range(a.repeats):
        for n, src in trees.items():  # interleaved: old, new, old, new, ...
            runs[n].append(run_child(src, a, None, a.months, profile=not a.no_profile))
    print(table(runs))
    for n, rs in runs.items():
        ms = med([r["model_s"] for r in rs])
        print(f"{n}: {a.months} months model time {ms[0]:.2f} s ({ms[1]:.2f}-{ms[2]:.2f}); "
              f"init {med([r['init_s'] for r in rs])[0]:.2f} s; {rs[0]['agents']:,} agents")
    if a.compare:
        names = list(runs)
        ratio = [o["model_s"] / n_["model_s"] for o, n_ in zip(runs[names[0]], runs[names[1]])]
        r = med(ratio)
        print(f"speed-up old/new (pairs of the same round): {r[0]:.2f}x ({r[1]:.2f}-{r[2]:.2f})")
    out = {"default": runs}
    if a.full:
        bw = copy_bandwidth()
        full = {}
        for n, src in trees.items():
            r = run_child(src, a, 1, a.full_months, profile=True, warm=0)
            full[n] = r
            pass_s = r["column_bytes"] / bw
            month = med(r["month_s"])
            print(f"\n{n}: scale=1, {r['agents']:,} agents, columns {r['column_bytes'] / 2**30:.2f} GiB "
                  f"({r['column_bytes'] / r['agents']:.1f} B/agent)")
            print(f"  copy bandwidth {bw / 2**30:.2f} GiB/s (1 GiB numpy copy, median of 5): a pass over the "
                  f"columns {pass_s:.2f} s")
            print(f"  initialisation {r['init_s']:.1f} s; peak RSS {r['peak_bytes'] / 2**30:.2f} GiB = "
                  f"{r['peak_bytes'] / r['agents']:.1f} B/agent")
            print(f"  month {month[0]:.2f} s ({month[1]:.2f}-{month[2]:.2f}) = {month[0] / pass_s:.1f} passes")
            print(table({n: [{"own": r["own"]}]}))
        out["full"] = full
        out["copy_bandwidth"] = bw
    if a.json:
        a.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
