"""The code's structure holds: the command line is a leaf, levers never touch the model, one way
composes policies, Python users can write a run folder, and validation builds no population."""

import ast
import json
from pathlib import Path

import pytest

from migrants.errors import ConfigError
from migrants.policy.policyset import PolicySet, card_key

SRC = Path(__file__).resolve().parents[1] / "src" / "migrants"


def imports_of(path: Path) -> set[str]:
    """Absolute module names a file imports (module level and inside functions)."""
    pkg = ".".join(path.relative_to(SRC.parent).with_suffix("").parts[:-1])
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = pkg.rsplit(".", node.level - 1)[0] if node.level else ""
            mod = f"{base}.{node.module}" if node.level and node.module else (node.module or base)
            out.add(mod)
            out |= {f"{mod}.{a.name}" for a in node.names}
    return out


def library_files():
    """Every module but the command line and ``python -m migrants`` (its entry point)."""
    return [p for p in SRC.rglob("*.py") if "cli" not in p.relative_to(SRC).parts and p.name != "__main__.py"]


def test_the_library_never_imports_the_command_line():
    bad = {str(p.relative_to(SRC)) for p in library_files()
           if any(m == "migrants.cli" or m.startswith("migrants.cli.") for m in imports_of(p))}
    assert not bad, f"library modules importing migrants.cli: {sorted(bad)}"


def test_levers_hold_no_model():
    """Lever modules read the month through MonthContext; only base.MonthContext holds the model."""
    for name in ["family", "hukou", "jobs", "platform", "talent", "units"]:
        tree = ast.parse((SRC / "policy" / f"{name}.py").read_text())
        attrs = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        assert not attrs & {"m", "_m", "e", "engine"}, (name, attrs & {"m", "_m", "e", "engine"})


def test_one_registry_of_lever_families():
    from migrants.policies import CARD_CLASSES, LEVERS
    from migrants.policy.base import Lever
    from migrants.policy.registry import FAMILIES

    assert LEVERS == tuple(FAMILIES) and set(CARD_CLASSES) == set(FAMILIES)
    for lever, fam in FAMILIES.items():
        assert issubclass(fam.lever, Lever) and fam.card.model_fields["lever"].annotation.__args__ == (lever,)


def test_policy_set_composes_cards_once_each():
    ps = PolicySet.parse(["a", "configs/policies/b.yaml[x=1]"])
    assert ps.keys == ["a", "b"] and "b" in ps and "c" not in ps
    # adding a card already there adds its overrides; a new one goes last; order is kept
    assert ps.plus(["b[y=2]", "c"]).refs == ["a", "configs/policies/b.yaml[x=1; y=2]", "c"]
    assert ps.plus(["b[x=3]"]).refs[1] == "configs/policies/b.yaml[x=3]"  # a field set again: the new value
    assert ps.without("b").refs == ["a"] and ps.without("zzz").refs == ps.refs
    assert ps.with_fields("a", {"quota": 100, "living_subsidy.months": 24}).refs[0] == \
        "a[quota=100; living_subsidy.months=24]"
    assert ps.with_fields("d", {"enabled": False}).refs[-1] == "d[enabled=false]"
    assert card_key(" x.yml ") == "x" and card_key("x[a=1]") == "x"
    with pytest.raises(ValueError):
        ps.with_fields("a", {"bad field": 1})


def test_run_policy_option_and_compare_use_the_policy_set():
    from migrants.compare import arm_spec
    from migrants.config import load_scenario

    base = list(load_scenario("tiny").policies)
    scen, ov = arm_spec("tiny", "shenyang_talent_3_0[quota=5]+dalian_vouchers_2024", {})
    assert scen == "tiny" and ov["policies"] == PolicySet.parse(base).plus(
        ["shenyang_talent_3_0[quota=5]", "dalian_vouchers_2024"]).refs


def test_write_run_from_python(tmp_path):
    from migrants import MigrationModel
    from migrants.runs import RUN_FILES, run_folder, write_run

    m = MigrationModel(scenario="tiny", rng=3, months=2).run()
    out = write_run(m, tmp_path / "r", name="mine")
    assert sorted(p.name for p in out.iterdir()) == sorted(RUN_FILES)
    meta = json.loads((out / "run.json").read_text())
    assert meta["run"] == "mine" and meta["seed"] == 3 and meta["months"] == 2 and meta["end"] == m.date
    with pytest.raises(ConfigError, match="holds an earlier run"):
        run_folder(out, "mine")
    assert run_folder(out, "mine", force=True) == out


def test_check_scenario_reads_every_input_but_builds_no_population(tmp_path, monkeypatch):
    import migrants.model as model_mod

    monkeypatch.setattr(model_mod.MigrationModel, "__init__", lambda *a, **k: pytest.fail("built a model"))
    cfg, C = model_mod.check_scenario("all_levers")
    assert cfg.name == "all_levers" and C == 31
    with pytest.raises(ConfigError, match="target"):
        model_mod.check_scenario("tiny", {"policies": ["shenyang_talent_3_0[target=Atlantis]"]})
    bad = tmp_path / "v.csv"
    bad.write_text("province,year,births_per_1000\nLiaoning,2010,x\n")
    with pytest.raises(ConfigError):
        model_mod.check_scenario("tiny", {"data.vital_rates": str(bad)})


@pytest.mark.parametrize("argv", [["run", "tiny"], ["compare", "tiny", "shenyang_talent_3_0"], ["backtest"]])
def test_count_options_are_checked_alike_in_every_command(argv):
    """One rule for --months, --scale, --jobs ... whatever the command (run once took 0 months)."""
    from typer.testing import CliRunner

    from migrants.cli import app

    runner = CliRunner()
    for opt, bad, msg in [("--scale", "0", "--scale 0: expected a whole number of persons per agent >= 1"),
                          ("--jobs", "0", "--jobs 0: expected a whole number of parallel runs >= 1")]:
        r = runner.invoke(app, [*argv, opt, bad])
        assert r.exit_code == 2 and msg in r.output, (argv, opt, r.output)
    if argv[0] != "backtest":
        r = runner.invoke(app, [*argv, "--months", "0"])
        assert r.exit_code == 2 and "--months 0: expected a whole number of months >= 1" in r.output
        # a count that would allocate its tables before the first run (the sweeps' bound)
        r = runner.invoke(app, [*argv, "--ensemble", "1000000000"])
        assert r.exit_code == 2 and "--ensemble 1000000000: expected a whole number of parameter draws from 1 " \
                                    "to 100,000" in r.output, r.output


def test_the_commands_bound_counts_as_the_sweeps_bound_runs():
    from migrants.cli.base import MAX_COUNT
    from migrants.experiments.plan import MAX_RUNS

    assert MAX_COUNT == MAX_RUNS
