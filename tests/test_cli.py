"""The command line: an end-to-end run, and bad input (exit 2, a clear message,
no traceback, nothing written)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]


def migrants(*args, cwd=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "migrants.cli", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=timeout)


def test_run_tiny_end_to_end(tmp_path):
    out = tmp_path / "res"
    r = migrants("run", "tiny", "--months", "3", "--seed", "5", "--out", str(out), "--set", "labour.separation_rate_month=0.02")
    assert r.returncode == 0, r.stderr
    assert "By province" in r.stdout and "Shenyang" in r.stdout
    assert "month" in r.stderr  # progress bar
    cm = pd.read_parquet(out / "city_month.parquet")
    fl = pd.read_parquet(out / "flows.parquet")
    meta = json.loads((out / "run.json").read_text())
    assert cm["month"].max() == 3 and len(cm) == 4 * 11
    assert {"origin", "destination", "movers"} <= set(fl.columns)
    assert meta["seed"] == 5 and meta["config"]["labour"]["separation_rate_month"]["value"] == 0.02
    assert meta["versions"]["mesa"].startswith("3.")
    assert {"city_month.parquet", "flows.parquet", "run.json"} <= {p.name for p in out.iterdir()}
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp files left


BAD = [
    (["run", "no_such_scenario"], "no_such_scenario"),
    (["run", "tiny", "--set", "decisions.beta_incme=1"], "beta_incme"),
    (["run", "tiny", "--set", "decisions.beta_income=abc"], "beta_income"),
    (["run", "tiny", "--set", "scale=-3"], "scale"),
    (["run", "tiny", "--months", "-1"], "--months"),
    (["run", "tiny", "--scale", "0"], "--scale"),
    (["run", "tiny", "--set", "cities=[Shenyang, Atlantis]"], "Atlantis"),
    (["run", "tiny", "--set", "nonsense"], "path=value"),
    (["run", "tiny", "--set", "start=2020-13"], "start"),
    (["run", "tiny", "--set", "labour.separation_rate_month=1.5"], "from 0 to 1"),
    (["run", "tiny", "--set", "decisions.beta_income=.nan"], "finite"),
    (["run", "tiny", "--set", "months=true"], "months"),
    (["run", "tiny", "--set", "demography.retirement_age_men=1e12"], "retirement age"),
    (["run", "tiny", "--set", "cities=[]"], "cities"),
    (["run", "tiny", "--scale", "1000000000000000"], "scale"),
]


@pytest.mark.parametrize("args, named", BAD)
def test_bad_input_exits_2_with_a_clear_message(tmp_path, args, named):
    out = tmp_path / "res"
    r = migrants(*args, "--out", str(out))
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert named in r.stderr
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout
    assert not out.exists() or not any(out.iterdir())


def write_bad_files(tmp_path):
    cities = pd.read_csv(ROOT / "configs" / "cities.csv")
    cases = {}
    neg = cities.copy()
    neg.loc[2, "pop2020"] = -5
    cases["negative population"] = (neg, "pop2020")
    miss = cities.drop(columns=["avg_wage_cny"])
    cases["missing column"] = (miss, "avg_wage_cny")
    typ = cities.copy()
    typ["house_price_cny_m2"] = typ["house_price_cny_m2"].astype(object)
    typ.loc[0, "house_price_cny_m2"] = "expensive"
    cases["wrong type"] = (typ, "house_price_cny_m2")
    out = []
    for name, (df, col) in cases.items():
        p = tmp_path / f"{name.replace(' ', '_')}.csv"
        df.to_csv(p, index=False)
        out.append((p, col))
    return out


def test_bad_data_files_exit_2(tmp_path):
    for path, col in write_bad_files(tmp_path):
        out = tmp_path / ("out_" + path.stem)
        r = migrants("run", "tiny", "--set", f"data.cities={path}", "--out", str(out))
        assert r.returncode == 2, r.stderr
        assert col in r.stderr and "Traceback" not in r.stderr
        assert not out.exists() or not any(out.iterdir())


def test_unreadable_scenario_file(tmp_path):
    p = tmp_path / "broken.yaml"
    p.write_text("name: [unclosed\n")
    r = migrants("run", str(p))
    assert r.returncode == 2 and "not valid YAML" in r.stderr and "Traceback" not in r.stderr
    d = tmp_path / "adir.yaml"
    d.mkdir()
    r = migrants("run", str(d))
    assert r.returncode == 2 and "cannot be read" in r.stderr


def test_validate_command():
    r = migrants("validate", "baseline")
    assert r.returncode == 0 and "ok" in r.stdout


def test_a_run_never_silently_replaces_an_earlier_one(tmp_path):
    out = tmp_path / "res"
    r = migrants("run", "tiny", "--months", "1", "--quiet", "--out", str(out), "--policy", "shenyang_talent_3_0",
                 "--set", "decisions.beta_income=2.5")
    assert r.returncode == 0, r.stderr
    meta = json.loads((out / "run.json").read_text())
    assert meta["run"] == "tiny+shenyang_talent_3_0"  # named for what it is
    assert meta["command"][:3] == ["migrants", "run", "tiny"] and meta["overrides"]["decisions.beta_income"] == 2.5
    before = (out / "city_month.parquet").read_bytes()
    r = migrants("run", "tiny", "--months", "2", "--quiet", "--out", str(out))
    assert r.returncode == 2 and "holds an earlier run" in r.stderr and "--force" in r.stderr
    assert (out / "city_month.parquet").read_bytes() == before
    r = migrants("run", "tiny", "--months", "2", "--quiet", "--out", str(out), "--force")
    assert r.returncode == 0 and pd.read_parquet(out / "city_month.parquet")["month"].max() == 2
    # without --out: results/<run name>, then results/<run name>-2
    for expect in ("tiny", "tiny-2"):
        r = migrants("run", "tiny", "--months", "1", "--quiet", cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        assert (tmp_path / "results" / expect / "run.json").exists()


def test_teaching_presets_run_and_unknown_scenarios_list_what_exists(tmp_path):
    r = migrants("run", "wage_gap", "--months", "1", "--quiet", "--out", str(tmp_path / "wg"))
    assert r.returncode == 0, r.stderr
    r = migrants("run", "no_such_scenario", "--months", "1")
    assert r.returncode == 2 and "baseline" in r.stderr and "wage_gap" in r.stderr
    r = migrants("--version")
    assert r.returncode == 0 and r.stdout.startswith("migrants ")
    r = migrants("run", "--help")
    assert "--quiet" in r.stdout and "<bool>" not in r.stdout.replace("--help", "").split("--quiet")[1].split("\n")[0]


def test_an_overridden_parameter_says_so_and_a_value_may_be_written_alone(tmp_path):
    from migrants.config import load_scenario

    p = load_scenario("tiny", {"decisions.beta_income": 2.5}).decisions.beta_income
    assert p.value == 2.5 and p.basis == "override" and "decisions.beta_income=2.5" in p.source
    assert "calibrated" in p.source  # what it was
    child = tmp_path / "child.yaml"
    child.write_text("extends: tiny\nname: child\ndecisions:\n  beta_income: 3.0\n")
    q = load_scenario(child).decisions.beta_income
    assert q.value == 3.0 and q.basis == "override"
    r = migrants("run", str(child), "--months", "1", "--quiet", "--out", str(tmp_path / "o"))
    assert r.returncode == 0, r.stderr
    meta = json.loads((tmp_path / "o" / "run.json").read_text())
    assert meta["config"]["decisions"]["beta_income"]["basis"] == "override"


def test_a_card_for_cities_not_simulated_warns(tmp_path):
    r = migrants("run", "tiny", "--months", "1", "--quiet", "--out", str(tmp_path / "o"),
                 "--policy", "shijiazhuang_zero_threshold_2019")
    assert r.returncode == 0, r.stderr
    assert "warning: policy card shijiazhuang_zero_threshold_2019" in r.stderr and "does nothing" in r.stderr
    meta = json.loads((tmp_path / "o" / "run.json").read_text())
    assert len(meta["warnings"]) == 1
    r = migrants("run", "tiny", "--months", "1", "--quiet", "--out", str(tmp_path / "p"))
    assert "warning" not in r.stderr  # tiny names only the cards that act in its cities


def test_a_first_run_says_it_compiles(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cold"))
    r = subprocess.run([sys.executable, "-m", "migrants.cli", "run", "tiny", "--months", "1", "--scale", "20000",
                        "--out", str(tmp_path / "a")], capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    assert r.returncode == 0 and "compiling the model's numerical kernels" in r.stderr
    r = subprocess.run([sys.executable, "-m", "migrants.cli", "run", "tiny", "--months", "1", "--scale", "20000",
                        "--out", str(tmp_path / "b")], capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    assert r.returncode == 0 and "compiling" not in r.stderr  # cached now


def test_a_runs_files_are_written_as_one_unit(tmp_path):
    from migrants.io import write_folder

    out = tmp_path / "run"
    write_folder(out, {"run.json": {"seed": 1}, "city_month.parquet": pd.DataFrame({"a": [1]})})
    bad = pd.DataFrame({"x": [1, "two", 3.0]})  # mixed types: pyarrow refuses it
    with pytest.raises(Exception):
        write_folder(out, {"run.json": {"seed": 2}, "city_month.parquet": pd.DataFrame({"a": [2]}),
                           "flows.parquet": bad})
    assert json.loads((out / "run.json").read_text()) == {"seed": 1}  # the earlier run, whole
    assert pd.read_parquet(out / "city_month.parquet")["a"].tolist() == [1]
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no staging folder left behind
    write_folder(out, {"run.json": {"seed": 3}})
    assert [p.name for p in out.iterdir()] == ["run.json"]  # replaced as a unit, nothing of the old mixed in
    r = migrants("run", "tiny", "--months", "1", "--out", str(out / "run.json" / "x"))
    assert r.returncode == 2 and "--out" in r.stderr


def test_a_run_into_a_folder_in_use_is_refused(tmp_path):
    from migrants.io import FolderLock

    out = tmp_path / "shared"
    with FolderLock(out):  # as a run or sweep in another process holds it
        r = migrants("run", "tiny", "--months", "1", "--quiet", "--out", str(out))
        assert r.returncode == 2 and "in use by pid" in r.stderr
    r = migrants("run", "tiny", "--months", "1", "--quiet", "--out", str(out))
    assert r.returncode == 0, r.stderr
