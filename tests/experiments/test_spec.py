"""Spec errors are clear: exit code 2, `error: ...` naming the field and the value, no traceback."""

from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

from migrants.cli import app
from migrants.errors import ConfigError
from migrants.experiments.plan import make_plan
from migrants.experiments.spec import load_spec

from .conftest import ROOT, TINY, migrants_cli, tiny_dict, write_spec

runner = CliRunner()


def sweep_cli(*args):
    return runner.invoke(app, ["sweep", *map(str, args)])


def check_error(res, *needles):
    assert res.exit_code == 2, (res.exit_code, res.output)
    err = res.stderr
    assert err.startswith("error: "), err
    assert "Traceback" not in res.output
    for n in needles:
        assert n in err, (n, err)


def factors(*fs):
    return list(fs)


@pytest.mark.parametrize("changes, needles", [
    ({"replicates": 0}, ["`replicates`", "0", "greater than or equal to 1"]),
    ({"replicatez": 3}, ["`replicatez`", "not a known field"]),
    ({"seed": "abc"}, ["`seed`", "'abc'"]),
    ({"factors": []}, ["`factors`", "at least 1"]),
    ({"factors": factors({"path": "decisions.beta_income", "levels": [1], "bounds": [0, 1]})},
     ["factors.0", "exactly one of `levels`"]),
    ({"factors": factors({"path": "decisions.beta_income", "bounds": [2, 1]})}, ["factors.0.bounds", "low < high"]),
    ({"factors": factors({"path": "decisions.beta_income", "levels": [1, 1]})}, ["factors.0.levels", "repeat"]),
    ({"factors": factors({"path": "decisions.beta_income", "levels": [float("nan"), 1.0]})},
     ["factors.0.levels", "finite"]),
    ({"factors": factors({"path": "decisions.beta_income", "bounds": [0, float("inf")]})},
     ["factors.0.bounds", "finite"]),
    ({"factors": factors({"path": "decisions.beta_income", "levels": [1, 2]},
                         {"path": "labour.beta_income", "levels": [1, 2]})}, ["beta_income", "repeat"]),
    ({"factors": factors({"path": "decisions.beta_income", "levels": [1], "name": "run_id"})}, ["run_id"]),
    ({"factors": factors({"path": "decisions.beta_income", "bounds": [1, 2]})}, ["full factorial needs `levels`"]),
    ({"factors": factors({"path": "seed", "levels": [1, 2]})}, ["factors.0.path", "root `seed`"]),
    ({"overrides": {"seed": 3}}, ["`overrides`", "root `seed`"]),
    ({"design": {"type": "sobol", "samples": 100}}, ["design", "100", "power of 2"]),
    ({"design": {"type": "lhs"}}, ["design", "needs `samples`"]),
    ({"design": {"type": "halton", "samples": 8}}, ["design.type", "'halton'"]),
    ({"outputs": {"kpis": ["population_total", "happiness"]}}, ["outputs.kpis", "happiness"]),
    ({"outputs": {"granularity": "weekly"}}, ["outputs.granularity", "'weekly'"]),
    ({"factors": factors({"card": "talent", "levels": [False, 2]})}, ["card factor `talent`", "level 2"]),
    ({"factors": factors({"path": "policies.talent.living.months", "levels": ["a,b"]})}, ["living.months", "'a,b'"]),
])
def test_schema_errors_name_field_and_value(tmp_path, changes, needles):
    spec = write_spec(tmp_path, **changes)
    with pytest.raises(ConfigError) as e:
        make_plan(spec)
    for n in needles:
        assert n in str(e.value), (n, str(e.value))
    assert str(e.value).startswith(f"spec {spec}")
    check_error(sweep_cli(spec, "--out", tmp_path / "out"), *needles)
    assert not (tmp_path / "out").exists()  # nothing written for a bad spec


@pytest.mark.parametrize("changes, needles", [
    ({"factors": factors({"path": "decisions.beta_incom", "levels": [1.0, 2.0]})},
     ["factor `beta_incom`", "decisions.beta_incom", "beta_income"]),  # the config error lists the fields
    ({"factors": factors({"path": "decisions.beta_income", "levels": [1.0, "lots"]})},
     ["factor `beta_income`", "'lots'"]),
    ({"scenario": "no_such_scenario"}, ["`scenario`", "'no_such_scenario'"]),
    ({"overrides": {"labour.nope": 1}}, ["overrides", "labour.nope"]),
    ({"baseline": {"name": "b", "overrides": {"months": -3}}}, ["baseline.overrides", "-3"]),
    ({"analysis": {"population_kpi": "population_mars"}}, ["analysis.population_kpi", "population_mars"]),
    ({"policies": ["no_such_card"]}, ["no_such_card"]),
    ({"factors": factors({"name": "population_total", "path": "decisions.beta_income", "levels": [1.0]})},
     ["population_total", "KPI columns"]),
])
def test_scenario_level_errors_before_any_run(tmp_path, changes, needles):
    """Every factor level is checked against the scenario before the first run starts."""
    spec = write_spec(tmp_path, **changes)
    res = sweep_cli(spec, "--out", tmp_path / "out")
    check_error(res, *needles)
    assert not (tmp_path / "out" / "runs").exists()


def test_option_errors(tmp_path):
    check_error(sweep_cli(TINY, "--jobs", "0"), "--jobs 0")
    check_error(sweep_cli(TINY, "--backend", "spark"), "--backend 'spark'", "loky")
    check_error(sweep_cli(TINY, "--threads-per-run", "0"), "--threads-per-run 0")
    check_error(sweep_cli(tmp_path / "nope.yaml"), "nope.yaml", "no such file")
    check_error(sweep_cli(TINY, "--address", "tcp://127.0.0.1:1", "--out", tmp_path / "o"), "--address", "dask")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "other.txt").write_text("x")
    check_error(sweep_cli(TINY, "--out", tmp_path / "full"), "--out", "not empty")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    check_error(sweep_cli(bad), "not valid YAML")
    check_error(runner.invoke(app, ["report", str(tmp_path / "nowhere")]), "no such folder")
    check_error(runner.invoke(app, ["report", str(tmp_path)]), "manifest.json")


def test_ray_missing_is_a_clear_error(tmp_path):
    """ray is an optional extra: without it, --backend ray is a clear error, not a traceback."""
    try:
        import ray  # noqa: F401
    except ImportError:
        check_error(sweep_cli(TINY, "--backend", "ray", "--out", tmp_path / "o"), "ray is not installed",
                    "migrants[ray]")
    else:  # pragma: no cover
        pytest.skip("ray is installed")


def test_console_script_exit_2_without_traceback(tmp_path):
    spec = write_spec(tmp_path, replicates=-1)
    r = migrants_cli("sweep", spec, "--out", tmp_path / "o")
    assert r.returncode == 2
    assert r.stderr.startswith("error: spec ") and "`replicates` = -1" in r.stderr
    assert "Traceback" not in r.stderr + r.stdout


def test_shipped_specs_are_valid():
    from migrants.calibration import load_spec as load_calibration_spec

    for path in sorted((ROOT / "experiments").glob("*.yaml")):
        if path.name.startswith("calibrate_"):  # calibration specs (docs/calibration.md)
            assert load_calibration_spec(path).name == path.stem
            continue
        spec, folder = load_spec(path)
        assert spec.name == path.stem
        assert folder == path.parent
    assert tiny_dict()["months"] == 12


def test_card_levels_and_defaults():
    spec, _ = load_spec({**tiny_dict(), "factors": [{"card": "configs/policies/metro_platform.yaml"},
                                                    {"path": "policies.talent.living_subsidy.months",
                                                     "levels": [12, 36]}]})
    card, field = spec.factors
    assert card.name == "metro_platform" and card.levels == [False, True]
    assert field.name == "months"
    with pytest.raises(ConfigError, match="policies.<card>.<field>"):
        load_spec({**tiny_dict(), "factors": [{"path": "policies.talent", "levels": [1]}]})
    assert yaml.safe_load(TINY.read_text())["replicates"] == 2
