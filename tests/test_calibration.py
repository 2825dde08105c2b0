"""`migrants calibrate`: history matching with emulators, end to end, resume, recovery, bad specs."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from migrants.backtest import model_values
from migrants.calibration import fit_targets, load_spec
from migrants.config import CONFIG_DIR
from migrants.model import MigrationModel

MIGRANTS = [str(Path(sys.executable).with_name("migrants"))]
ROOT = Path(__file__).resolve().parents[1]
TINY = ["Shenyang", "Anshan", "Fushun", "Benxi", "Fuxin", "Liaoyang", "Tieling", "Dalian", "Changchun", "Harbin",
        "Beijing"]


def small_spec(tmp_path, **changes) -> Path:
    spec = {
        "name": "small", "scenario": "history", "seed": 7, "replicates": 1,
        "overrides": {"scale": 20000, "cities": TINY},
        "free": [{"path": "decisions.consider_base_month", "bounds": [0.004, 0.02], "log": True},
                 {"path": "decisions.rest_of_china_return_month", "bounds": [0.003, 0.02], "log": True}],
        "targets": [{"kind": "city", "target": "population", "sd_pct": 3.0}],
        "method": {"waves": 2, "points_per_wave": 6, "candidates": 2000, "posterior_draws": 1000, "leaders": 2,
                   "leader_seeds": 1, "polish_steps": 2, "polish_seeds": 1},
    }
    spec.update(changes)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def calibrate(*args, timeout=300):
    return subprocess.run(MIGRANTS + ["calibrate", *map(str, args), "--quiet"], capture_output=True, text=True,
                          timeout=timeout)


def test_calibrate_tiny_end_to_end(tmp_path):
    out = tmp_path / "cal"
    r = subprocess.run(MIGRANTS + ["calibrate", str(ROOT / "experiments" / "calibrate_tiny.yaml"), "--jobs", "2",
                                   "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    post = pd.read_parquet(out / "posterior.parquet")
    spec = load_spec(ROOT / "experiments" / "calibrate_tiny.yaml")
    names = [f.path for f in spec.free]
    assert list(post.columns) == names + ["weight", "distance"]
    assert post["weight"].sum() == pytest.approx(1.0) and (post["weight"] >= 0).all()
    for f in spec.free:  # draws stay inside the prior's bounds
        assert post[f.path].between(*f.bounds).all()
    fit = json.loads((out / "fit.json").read_text())
    # every wave's points, the posterior's most likely draw simulated as a check, the leaders rerun,
    # the polish's points with its common seeds and its end point with fresh seeds
    M = spec.method
    pol = fit["polish"]
    assert fit["runs"]["total"] == (M.waves * M.points_per_wave + spec.replicates + M.leaders * M.leader_seeds
                                    + pol["evaluations"] * M.polish_seeds + M.leader_seeds)
    assert fit["posterior_mode_check"]["wave"] == M.waves + 1
    lead = {r["run_id"]: r for r in fit["leaders"]}
    best_leader = min(r["distance_mean"] for r in lead.values())
    assert len(lead) == M.leaders and pol["distance_leader"] == best_leader
    assert pol["iterations"] <= M.polish_steps and pol["evaluations"] >= 1
    if pol["adopted"]:  # the polish replaces the leader only if better on fresh seeds
        assert fit["best_run"]["distance"] == pol["distance_fresh_seeds"] < best_leader
        assert [fit["best_run"][n] for n in names] == pol["x"]
    else:
        assert fit["best_run"]["run_id"] in lead and fit["best_run"]["distance"] == best_leader
    assert all(r["seeds"] == M.leader_seeds + 1 for r in lead.values())
    assert fit["targets"]["n"] > 11 and set(fit["estimate"]) == set(names)
    for e in fit["estimate"].values():
        assert e["q05"] <= e["q50"] <= e["q95"]
    for png in ("posterior.png", "fit.png", "waves.png"):
        assert (out / png).stat().st_size > 5000


def test_resume_after_sigkill_gives_the_same_posterior_whatever_the_jobs(tmp_path):
    spec = small_spec(tmp_path)
    a = tmp_path / "a"
    r = calibrate(spec, "--out", a, "--jobs", "1")
    assert r.returncode == 0, r.stderr
    b = tmp_path / "b"
    p = subprocess.Popen(MIGRANTS + ["calibrate", str(spec), "--out", str(b), "--jobs", "2", "--quiet"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    t0 = time.time()
    while time.time() - t0 < 120 and len(list((b / "runs").glob("w*.parquet"))) < 4:
        time.sleep(0.05)
    import os

    os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    assert not (b / "posterior.parquet").exists()
    r = calibrate(spec, "--out", b, "--jobs", "1")
    assert r.returncode == 2 and "--resume" in r.stderr  # a finished folder is never overwritten silently
    r = calibrate(spec, "--out", b, "--jobs", "2", "--resume")
    assert r.returncode == 0, r.stderr
    pd.testing.assert_frame_equal(pd.read_parquet(a / "posterior.parquet"), pd.read_parquet(b / "posterior.parquet"))
    runs = lambda d: pd.read_parquet(d / "runs").drop(columns="model_s").sort_values("run_id")  # noqa: E731
    pd.testing.assert_frame_equal(runs(a).reset_index(drop=True), runs(b).reset_index(drop=True))


def test_the_polish_descends_to_the_least_squares_point():
    """polish_estimate on errors linear in the unit cube, r(u) = A (u - u*): the descent ends at u*
    (a noiseless check of the wiring: bounds, the forward-difference Jacobian, the estimate)."""
    from migrants.calibration import from_unit, load_spec, polish_estimate, to_unit

    spec = load_spec(ROOT / "experiments" / "calibrate_tiny.yaml")
    spec.method.polish_steps, spec.method.polish_step = 20, 0.01
    u_star = np.array([0.3, 0.7, 0.55])
    A = np.random.default_rng(1).normal(size=(12, 3))
    asked = []

    def evaluate(xs, label):
        asked.append(len(xs))
        return (to_unit(spec, xs) - u_star[None, :]) @ A.T

    res = polish_estimate(spec, from_unit(spec, np.array([0.6, 0.2, 0.9])), evaluate)
    assert np.allclose(to_unit(spec, np.array(res["x"])), u_star, atol=1e-6)
    assert res["distance_common_seeds"] < 1e-6 < res["distance_start"]
    assert 3 in asked  # a Jacobian's d points are asked for at once (run in parallel)


def test_recovers_known_parameters_of_a_synthetic_record(tmp_path):
    """Simulate the tiny cities from 2010 with known values, take the run's figures as the record,
    calibrate: the known values lie inside the posterior's 90% intervals."""
    truth = {"decisions.consider_base_month": 0.009, "decisions.rest_of_china_return_month": 0.008}
    # the 11 cities' 2020 levels: close to independent given the parameters (a province's year-end
    # series is ten nearly collinear figures, which an independent-error likelihood would over-count)
    spec_path = small_spec(tmp_path, targets_dir=str(tmp_path / "targets"),
                           targets=[{"kind": "city", "target": "population", "sd_pct": 2.0}],
                           method={"waves": 3, "points_per_wave": 10, "candidates": 4000, "posterior_draws": 2000})
    shutil.copytree(CONFIG_DIR / "targets", tmp_path / "targets")
    spec = load_spec(spec_path)
    targets, _, cities, p2010 = fit_targets(spec)
    m = MigrationModel(scenario="history", rng=99, overrides={**spec.overrides, **truth}).run()
    synthetic = model_values(targets, m.city_frame(), cities, p2010)
    for kind in ("city", "province"):
        path = tmp_path / "targets" / f"{kind}.csv"
        df = pd.read_csv(path)
        for (entity, date, target), v in zip(targets[["entity", "date", "target"]].itertuples(index=False),
                                             synthetic):
            sel = (df.entity == entity) & (df.date == date) & (df.target == target)
            df.loc[sel, "observed"] = round(float(v))
        df.to_csv(path, index=False)
    out = tmp_path / "cal"
    r = calibrate(spec_path, "--out", out, "--jobs", "2")
    assert r.returncode == 0, r.stderr
    est = json.loads((out / "fit.json").read_text())["estimate"]
    for name, value in truth.items():
        assert est[name]["q05"] <= value <= est[name]["q95"], (name, value, est[name])


@pytest.mark.parametrize("change, message", [
    ({"free": [{"path": "decisions.no_such_thing", "bounds": [0.1, 1.0]}]}, "decisions.no_such_thing"),
    ({"free": [{"path": "decisions.beta_income", "bounds": [1.0, 1.0]}]}, "lower < upper"),
    ({"free": [{"path": "decisions.beta_income", "bounds": [0.0, 2.0], "log": True}]}, "lower bound > 0"),
    ({"targets": [{"kind": "city", "target": "population", "sd_pct": -1}]}, "sd_pct"),
    ({"method": {"waves": 0}}, "waves"),
])
def test_bad_spec_exits_2_naming_the_field_and_writes_nothing(tmp_path, change, message):
    spec = small_spec(tmp_path, **change)
    out = tmp_path / "out"
    r = calibrate(spec, "--out", out)
    assert r.returncode == 2, r.stderr
    assert message in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()


def test_bad_target_row_exits_2_and_writes_nothing(tmp_path):
    shutil.copytree(CONFIG_DIR / "targets", tmp_path / "targets")
    df = pd.read_csv(tmp_path / "targets" / "city.csv", dtype=str)
    df.loc[3, "observed"] = "lots"
    df.to_csv(tmp_path / "targets" / "city.csv", index=False)
    spec = small_spec(tmp_path, targets_dir=str(tmp_path / "targets"))
    out = tmp_path / "out"
    r = calibrate(spec, "--out", out)
    assert r.returncode == 2 and "city.csv: line 5, column `observed`: 'lots'" in r.stderr, r.stderr
    assert not out.exists()


def test_holdout_leaves_the_province_out_of_the_fit(tmp_path):
    spec = load_spec(small_spec(tmp_path, targets=[{"kind": "city", "target": "population", "sd_pct": 3.0},
                                                   {"kind": "province", "target": "population", "sd_pct": 3.0}]))
    full, _, _, _ = fit_targets(spec)
    held, _, _, _ = fit_targets(spec, holdout="Liaoning")
    assert "Liaoning" in set(full.entity) and "Shenyang" in set(full.entity)
    assert not {"Liaoning", "Shenyang", "Dalian"} & set(held.entity)
    assert {"Beijing", "Harbin"} <= set(held.entity)
    assert np.isin(held.entity, full.entity).all()


def test_holdout_ties_the_provinces_own_parameter_to_the_others_mean(tmp_path):
    from migrants.calibration import holdout_ties, tied_values
    from migrants.errors import ConfigError

    free = [{"path": "decisions.consider_base_month", "bounds": [0.004, 0.02], "log": True},
            {"path": "decisions.province_amenity.Liaoning", "bounds": [-1, 1]},
            {"path": "decisions.province_amenity.Jilin", "bounds": [-1, 1]},
            {"path": "decisions.province_amenity.Heilongjiang", "bounds": [-1, 1]}]
    spec = load_spec(small_spec(tmp_path, free=free))
    kept, ties = holdout_ties(spec, "Jilin")
    assert [f.path for f in kept.free] == ["decisions.consider_base_month", "decisions.province_amenity.Liaoning",
                                           "decisions.province_amenity.Heilongjiang"]
    assert ties == {"decisions.province_amenity.Jilin": ["decisions.province_amenity.Liaoning",
                                                         "decisions.province_amenity.Heilongjiang"]}
    v = tied_values({"decisions.province_amenity.Liaoning": -0.2, "decisions.province_amenity.Heilongjiang": -0.6},
                    ties)
    assert v["decisions.province_amenity.Jilin"] == pytest.approx(-0.4)
    assert holdout_ties(spec, None) == (spec, {})
    lone = load_spec(small_spec(tmp_path, free=free[:2]))
    with pytest.raises(ConfigError, match="no free sibling"):
        holdout_ties(lone, "Liaoning")


def test_the_fitted_statistics_do_not_depend_on_scale_beyond_sampling_error():
    """The calibration runs at 1,000 persons per agent; its statistics (the 2020 levels) must be
    those of finer scales up to seed noise: the mean gap between scales 1,000 and 200 is within
    the gap between two seeds at 1,000 (plus the gap between two seeds at 200)."""
    def levels(scale, seed):
        m = MigrationModel(scenario="history", rng=seed, scale=scale)
        m.run()
        f = m.city_frame()
        return f[f["date"] == "2020-11"].set_index("city")["population"].astype(float)

    a1, a2 = levels(1000, 1), levels(1000, 2)
    b1, b2 = levels(200, 1), levels(200, 2)
    seed_gap = (np.abs(a1 / a2 - 1).mean() + np.abs(b1 / b2 - 1).mean())
    scale_gap = np.abs((a1 + a2) / (b1 + b2) - 1).mean()
    assert scale_gap < seed_gap, (scale_gap, seed_gap)
    assert scale_gap < 0.01


def test_shipping_a_calibration_rewrites_only_the_fitted_lines():
    sys.path.insert(0, str(ROOT / "scripts"))
    from ship_calibration import set_param

    text = (CONFIG_DIR / "scenarios" / "baseline.yaml").read_text()
    new = set_param(text, "decisions.province_amenity.Jilin", -0.123, "calibrated: test")
    new = set_param(new, "decisions.beta_income", 2.5, 'a "quoted" source')
    changed = [(a, b) for a, b in zip(text.split("\n"), new.split("\n")) if a != b]
    assert len(changed) == 2 and len(text.split("\n")) == len(new.split("\n"))
    data = yaml.safe_load(new)
    assert data["decisions"]["province_amenity"]["Jilin"] == {"value": -0.123, "basis": "calibrated",
                                                              "source": "calibrated: test"}
    assert data["decisions"]["beta_income"]["value"] == 2.5 and data["decisions"]["beta_income"]["basis"] == "calibrated"


def test_a_calibration_folder_takes_one_command_at_a_time(tmp_path):
    """A second calibration on a folder in use is refused at once (io.FolderLock), naming the holder."""
    from migrants.calibration import calibrate
    from migrants.errors import ConfigError
    from migrants.io import FolderLock

    out = tmp_path / "cal"
    with FolderLock(out):
        with pytest.raises(ConfigError, match="in use"):
            calibrate(ROOT / "experiments" / "calibrate_tiny.yaml", out, progress=False, echo=lambda m: None)
    assert not out.exists()
