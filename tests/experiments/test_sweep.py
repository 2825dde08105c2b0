"""End-to-end sweeps of experiments/tiny.yaml: same results on any backend, SIGKILL + --resume,
failing runs isolated, resume refuses another spec, the report."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time

import pandas as pd
import pytest
from typer.testing import CliRunner

from migrants.cli import app
from migrants.experiments import run_sweep
from migrants.experiments.store import TIMING_COLUMNS

from .conftest import MIGRANTS, ROOT, TINY, migrants_cli, write_spec

runner = CliRunner()


def read_summary(out) -> pd.DataFrame:
    return pd.read_parquet(out / "summary.parquet").sort_values("run_id").reset_index(drop=True)


def read_runs(out) -> pd.DataFrame:
    df = pd.read_parquet(out / "runs").drop(columns=list(TIMING_COLUMNS))
    return df.sort_values(["run_id", "month"]).reset_index(drop=True)


def assert_same_results(a, b):
    pd.testing.assert_frame_equal(read_summary(a), read_summary(b), check_exact=True)
    pd.testing.assert_frame_equal(read_runs(a), read_runs(b), check_exact=True)


def test_reference_sweep_outputs(reference_sweep):
    s = read_summary(reference_sweep)
    assert len(s) == 10 and s["run_id"].is_unique
    assert (s["month"] == 12).all()
    # common random numbers: replicate r has the same seed in every arm
    assert s.groupby("replicate")["seed"].nunique().eq(1).all()
    assert s["seed"].nunique() == 2
    assert (s["population_total"] > 0).all() and s["population_shenyang_metro"].lt(s["population_total"]).all()
    errors = pd.read_parquet(reference_sweep / "errors.parquet")
    assert errors.empty and "traceback" in errors.columns
    m = json.loads((reference_sweep / "manifest.json").read_text())
    assert m["status"] == "complete" and m["root_seed"] == 20240601 and len(m["design"]["points"]) == 4
    assert m["spec"]["name"] == "tiny" and len(m["spec_hash"]) == 64


def test_jobs_2_and_dask_give_identical_results(reference_sweep, tmp_path):
    r = migrants_cli("sweep", TINY, "--jobs", "2", "--out", tmp_path / "loky2")
    assert r.returncode == 0, r.stderr
    assert "10 of 10 runs finished" in r.stderr and "failed=0" in r.stderr  # the progress bar
    assert_same_results(reference_sweep, tmp_path / "loky2")
    workers = pd.read_parquet(tmp_path / "loky2" / "runs")["worker"].nunique()
    assert workers == 2  # really ran in two processes

    res = run_sweep(TINY, tmp_path / "dask", jobs=2, backend="dask", progress=False, echo=None)
    assert res.finished == 10 and res.failed == 0
    assert_same_results(reference_sweep, tmp_path / "dask")
    # from Python, the summary comes back as the DataFrame the command line writes
    cli_summary = read_summary(tmp_path / "loky2").drop(columns=["worker"], errors="ignore")
    pd.testing.assert_frame_equal(res.summary.drop(columns=["worker"], errors="ignore").reset_index(drop=True),
                                  cli_summary.reset_index(drop=True), check_like=True)
    assert json.loads((tmp_path / "dask" / "manifest.json").read_text())["backend"] == "dask"


def test_duckdb_reads_a_sweeps_runs_as_the_docs_show(reference_sweep):
    import duckdb

    con = duckdb.connect()
    runs = con.execute(f"SELECT * FROM '{reference_sweep}/runs/*.parquet'").df()
    via_pandas = pd.read_parquet(reference_sweep / "runs")
    assert len(runs) == len(via_pandas) > 0 and set(runs["run_id"]) == set(via_pandas["run_id"])
    best = con.execute(f"SELECT arm, avg(population_total) AS residents FROM '{reference_sweep}/summary.parquet' "
                       "GROUP BY arm ORDER BY residents DESC").df()
    s = read_summary(reference_sweep)
    assert best["residents"].iloc[0] == pytest.approx(s.groupby("arm")["population_total"].mean().max())


def test_sigkill_then_resume(reference_sweep, tmp_path):
    out = tmp_path / "killed"
    proc = subprocess.Popen([str(MIGRANTS), "sweep", str(TINY), "--jobs", "1", "--threads-per-run", "1",
                             "--out", str(out), "--quiet"],
                            cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 180
    runs = out / "runs"
    while not (runs.exists() and any(runs.glob("*.parquet"))):
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "no run finished in time"
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = {p.name: p.stat().st_mtime_ns for p in runs.glob("*.parquet")}
    assert 1 <= len(before) < 10, before
    assert json.loads((out / "manifest.json").read_text())["status"] == "running"
    assert not (out / "summary.parquet").exists()

    r = migrants_cli("sweep", TINY, "--jobs", "2", "--out", out, "--resume")
    assert r.returncode == 0, r.stderr
    assert f"{len(before)} of 10 runs already done, {10 - len(before)} to run" in r.stderr
    after = {p.name: p.stat().st_mtime_ns for p in runs.glob("*.parquet")}
    assert len(after) == 10
    assert all(after[k] == v for k, v in before.items())  # finished runs were not redone
    assert not list(out.rglob("*.tmp"))
    s = read_summary(out)
    assert s["run_id"].is_unique and len(s) == 10
    assert_same_results(reference_sweep, out)
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "complete" and m["resumed"] == 1 and m["last_session"]["ran"] == 10 - len(before)


def test_failing_run_is_recorded_and_the_sweep_goes_on(tmp_path):
    """A level the scenario schema accepts but the model rejects (an unknown city) fails its runs only."""
    spec = write_spec(tmp_path, months=3, replicates=1, baseline=None, factors=[
        {"path": "cities", "levels": [["Shenyang", "Dalian", "Beijing"], ["Shenyang", "Atlantis"]],
         "labels": ["three", "atlantis"]},
        {"path": "decisions.beta_income", "levels": [1.0, 2.0]}],
        outputs={"kpis": ["population_by_province", "population_total", "graduate_retention"],
                 "granularity": "monthly"},
        analysis={"population_kpi": "population_total", "spend_kpi": None})
    out = tmp_path / "out"
    res = run_sweep(spec, out, jobs=1, progress=False, echo=None)
    assert (res.total, res.finished, res.failed) == (4, 2, 2)
    err = pd.read_parquet(out / "errors.parquet")
    assert list(err["run_id"]) == ["p0002-r00", "p0003-r00"]
    assert (err["error_type"] == "ConfigError").all() and err["error"].str.contains("Atlantis").all()
    assert err["traceback"].str.contains("Traceback").all() and err["traceback"].str.contains("MigrationModel").all()
    assert list(err["cities"]) == ['["Shenyang", "Atlantis"]'] * 2  # which level failed
    s = read_summary(out)
    assert list(s["run_id"]) == ["p0000-r00", "p0001-r00"] and (s["month"] == 3).all()
    assert s["population_jilin"].isna().all() and s["population_liaoning"].gt(0).all()
    rows = pd.read_parquet(out / "runs" / "p0000-r00.parquet")
    assert list(rows["month"]) == [1, 2, 3]  # monthly granularity
    assert json.loads((out / "manifest.json").read_text())["status"] == "incomplete"

    # resume retries the failed runs only; they fail again, recorded once each; exit code 1
    r = runner.invoke(app, ["sweep", str(spec), "--out", str(out), "--resume", "--quiet"])
    assert r.exit_code == 1, r.output
    err2 = pd.read_parquet(out / "errors.parquet")
    assert list(err2["run_id"]) == ["p0002-r00", "p0003-r00"]
    pd.testing.assert_frame_equal(read_summary(out), s)


def test_resume_repairs_a_damaged_sweep_folder(reference_sweep, tmp_path):
    """A truncated run file, a run file without rows and an unreadable errors.parquet do not
    count as done: --resume moves them to damaged/, runs those runs again, and ends where an
    uninterrupted sweep ends."""
    out = tmp_path / "damaged"
    shutil.copytree(reference_sweep, out)
    (out / "runs" / "p0001-r00.parquet").write_bytes(b"PAR1 cut short")
    empty = pd.read_parquet(out / "runs" / "p0002-r01.parquet").iloc[0:0]
    empty.to_parquet(out / "runs" / "p0002-r01.parquet", index=False)
    (out / "errors.parquet").write_bytes(b"not parquet")
    res = run_sweep(TINY, out, resume=True, progress=False, echo=None)
    assert res.ran == 2 and res.failed == 0 and res.finished == 10
    assert sorted(p.name for p in (out / "damaged").iterdir()) == ["errors.parquet", "p0001-r00.parquet",
                                                                   "p0002-r01.parquet"]
    assert len(res.warnings) == 3 and all("moved to damaged/" in w for w in res.warnings)
    assert_same_results(reference_sweep, out)
    # a manifest that is not one, and runs/ replaced by a file, are refused with a message
    (out / "manifest.json").write_text("[]")
    r = runner.invoke(app, ["sweep", str(TINY), "--out", str(out), "--resume"])
    assert r.exit_code == 2 and "not a sweep manifest" in r.stderr and "Traceback" not in r.output
    other = tmp_path / "runsfile"
    shutil.copytree(reference_sweep, other)
    shutil.rmtree(other / "runs")
    (other / "runs").write_text("oops")
    r = runner.invoke(app, ["sweep", str(TINY), "--out", str(other), "--resume"])
    assert r.exit_code == 2 and "`runs` is a file" in r.stderr


def test_one_command_per_sweep_folder(tmp_path):
    out = tmp_path / "busy"
    first = subprocess.Popen([str(MIGRANTS), "sweep", str(TINY), "--out", str(out), "--jobs", "1", "--quiet"],
                             cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        lock = tmp_path / ".busy.lock"
        deadline = time.monotonic() + 60
        while not (lock.exists() and lock.read_text().startswith("pid")):
            assert time.monotonic() < deadline and first.poll() is None
            time.sleep(0.1)
        r = migrants_cli("sweep", TINY, "--out", out, "--resume", "--quiet")
        assert r.returncode == 2 and "in use by pid" in r.stderr
    finally:
        first.kill()
        first.wait(timeout=30)
    from migrants.experiments.report import load_sweep

    assert json.loads((out / "manifest.json").read_text())["status"] == "running"  # killed before it could say so
    assert load_sweep(out)[0]["status"] == "interrupted"  # ... but no live command holds the folder
    r = migrants_cli("sweep", TINY, "--out", out, "--resume", "--quiet")  # the kill released the lock
    assert r.returncode == 0, r.stderr


def test_resume_refuses_another_spec(reference_sweep, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(reference_sweep, out)
    changed = write_spec(tmp_path, replicates=3)
    r = runner.invoke(app, ["sweep", str(changed), "--out", str(out), "--resume"])
    assert r.exit_code == 2
    assert r.stderr.startswith("error: --resume") and "spec differs" in r.stderr and "replicates" in r.stderr
    assert "Traceback" not in r.output
    r = runner.invoke(app, ["sweep", str(TINY), "--out", str(out)])
    assert r.exit_code == 2 and "already holds a sweep" in r.stderr and "--resume" in r.stderr
    # the same spec again: nothing to run, nothing changes
    same = write_spec(tmp_path, "same.yaml", description="words do not matter")
    res = run_sweep(same, out, resume=True, progress=False, echo=None)
    assert res.ran == 0 and res.finished == 10
    assert_same_results(reference_sweep, out)


def test_report(reference_sweep, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(reference_sweep, out)
    r = runner.invoke(app, ["report", str(out)])
    assert r.exit_code == 0, r.output
    page = out / "report" / "index.html"
    html = page.read_text()
    assert "Answers" in html and html.count("data:image/png;base64,") >= 3
    # tiny.yaml varies behaviour only: uncertainties, not choices, so nothing is ranked or costed
    assert "No lever combinations to rank" in html and "Most residents" not in html
    assert not (out / "report" / "tables" / "rankings.csv").exists() and not (out / "report" / "levers.parquet").exists()
    assert "http://" not in html and "https://" not in html  # self-contained
    for name in ("arms", "contrasts", "main_effects", "interactions"):
        csv = pd.read_csv(out / "report" / "tables" / f"{name}.csv")
        pq = pd.read_parquet(out / "report" / "tables" / f"{name}.parquet")
        assert len(csv) == len(pq) > 0
    arms = pd.read_parquet(out / "report" / "tables" / "arms.parquet")
    s = read_summary(out)
    m = s[s.arm == "scenario_default"]["population_total"].mean()
    assert arms.set_index(["arm", "kpi"]).loc[("scenario_default", "population_total"), "mean"] == pytest.approx(m)
    assert {p.name for p in (out / "report").glob("*.png")} >= {"arms.png", "contrasts.png", "main_effects.png"}
    # partial results: the summary is rebuilt from runs/, the page says how many runs it uses
    for rid in ("p0003-r00", "p0003-r01"):
        (out / "runs" / f"{rid}.parquet").unlink()
    r = runner.invoke(app, ["report", str(out), "--out", str(tmp_path / "partial")])
    assert r.exit_code == 0, r.output
    assert "8 of 10 runs finished" in (tmp_path / "partial" / "index.html").read_text()
    assert len(pd.read_parquet(out / "summary.parquet")) == 8


def test_levers_across_uncertainties_with_any_kpi_end_to_end(tmp_path):
    """A card (a lever) crossed with an uncertain income elasticity; KPIs for Shenyang by name."""
    spec = write_spec(tmp_path, factors=[{"name": "housing", "card": "shenyang_affordable_housing_75k",
                                          "levels": [False, {"units": 75000}], "labels": ["none", "75k"]},
                                         {"path": "decisions.beta_income", "levels": [2.0, 4.0]}],
                      baseline=None, months=6, scale=5000,
                      outputs={"kpis": ["population@Shenyang", "subsidy_spend_cny@Shenyang", "population_shenyang_metro",
                                        "graduate_retention@province:Liaoning"], "granularity": "final"},
                      analysis={"population_kpi": "population@Shenyang", "spend_kpi": "subsidy_spend_cny@Shenyang"})
    out = tmp_path / "levers"
    r = migrants_cli("sweep", spec, "--jobs", "2", "--out", out)
    assert r.returncode == 0, r.stderr
    s = read_summary(out)
    assert {"population@Shenyang", "subsidy_spend_cny@Shenyang", "graduate_retention@province:Liaoning"} <= set(s.columns)
    r = migrants_cli("report", out)
    assert r.returncode == 0, r.stderr
    lv = pd.read_parquet(out / "report" / "levers.parquet")
    assert list(lv["levers"]) == ["housing=none", "housing=75k"]  # lever rows only
    assert lv["samples"].tolist() == [2, 2] and lv["runs"].tolist() == [4, 4]
    for col in ("population@Shenyang_mean", "population@Shenyang_worst", "population@Shenyang_regret_max",
                "subsidy_spend_cny@Shenyang_ci_low"):
        assert col in lv.columns
    assert (lv["subsidy_spend_cny@Shenyang_mean"] > 0).tolist() == [False, True]
    rk = pd.read_parquet(out / "report" / "tables" / "rankings.parquet").set_index("kpi")
    assert rk.loc["subsidy_spend_cny@Shenyang", "best_arm"] == "housing=none"
    assert rk.loc["subsidy_spend_cny@Shenyang", "direction"] == "lower"
    fr = pd.read_parquet(out / "report" / "tables" / "frontier.parquet")
    assert fr["arm"].tolist() == ["housing=75k"] and fr["reference"].tolist() == ["housing=none"]


def test_sampled_design_sweep_and_report(tmp_path):
    """A small Latin hypercube without baseline: scatter plots, binned main effects, level frontier."""
    spec = write_spec(tmp_path, months=2, replicates=1, baseline=None,
                      factors=[{"path": "decisions.beta_income", "bounds": [1.0, 2.0]},
                               {"path": "decisions.consider_base_month", "bounds": [0.01, 0.04],
                                "distribution": "loguniform"}],
                      design={"type": "lhs", "samples": 8},
                      outputs={"kpis": ["population_shenyang_metro", "subsidy_spend_cny"]})
    res = run_sweep(spec, tmp_path / "out", progress=False, echo=None)
    assert res.finished == 8
    s = read_summary(tmp_path / "out")
    assert s["beta_income"].between(1, 2).all() and s["consider_base_month"].between(0.01, 0.04).all()
    assert s["beta_income"].nunique() == 8
    page = runner.invoke(app, ["report", str(tmp_path / "out")])
    assert page.exit_code == 0, page.output
    me = pd.read_csv(tmp_path / "out" / "report" / "tables" / "main_effects.csv")
    assert me.groupby(["factor", "kpi"]).size().max() == 4  # quartile bins
