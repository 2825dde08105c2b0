"""Design generators give the right number of points within bounds; seeds give common random numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migrants.experiments.design import build_design, expected_points, factor_levels, from_unit
from migrants.experiments.seeds import BASELINE_POINT, run_seed
from migrants.experiments.spec import Factor, load_spec

from .conftest import tiny_dict

CONT = [
    {"path": "decisions.beta_income", "bounds": [1.0, 2.0]},
    {"path": "decisions.consider_base_month", "bounds": [0.005, 0.05], "distribution": "loguniform"},
    {"path": "months", "bounds": [6, 18], "distribution": "integer"},
    {"path": "decisions.hukou_value", "levels": [0.0, 0.3, 0.6]},
]


def spec_with(design, factors=CONT):
    spec, _ = load_spec({**tiny_dict(), "factors": factors, "design": design, "baseline": None})
    return spec


def in_bounds(spec, design):
    for values in design.values:
        for f in spec.factors:
            v = values[f.name]
            if f.levels is not None:
                assert v in f.levels
            else:
                lo, hi = f.bounds
                assert lo <= v <= hi, (f.name, v)
                if f.distribution == "integer":
                    assert isinstance(v, int)


@pytest.mark.parametrize("design, n", [
    ({"type": "lhs", "samples": 37}, 37),
    ({"type": "sobol", "samples": 16}, 16 * (4 + 2)),
    ({"type": "sobol", "samples": 8, "second_order": True}, 8 * (2 * 4 + 2)),
    ({"type": "morris", "samples": 5, "levels": 4}, 5 * (4 + 1)),
])
def test_sampled_designs_count_and_bounds(design, n):
    spec = spec_with(design)
    d = build_design(spec)
    assert len(d) == n == expected_points(spec)
    assert d.unit.shape == (n, 4) and (d.unit >= 0).all() and (d.unit <= 1).all()
    in_bounds(spec, d)
    again = build_design(spec)  # deterministic given the spec
    assert again.values == d.values


def test_lhs_is_a_latin_hypercube():
    spec = spec_with({"type": "lhs", "samples": 20})
    d = build_design(spec)
    strata = np.floor(d.unit * 20).astype(int)
    for j in range(d.unit.shape[1]):  # one point in each of the 20 strata of every factor
        assert sorted(strata[:, j]) == list(range(20))


def test_factorial_levels_and_order():
    spec = spec_with({"type": "factorial"}, factors=[
        {"path": "decisions.beta_income", "levels": [1.0, 2.0, 3.0]},
        {"card": "platform"},
        {"path": "decisions.move_cost_fixed", "bounds": [2.0, 4.0], "n_levels": 3},
        {"path": "months", "bounds": [1, 1000], "distribution": "loguniform", "n_levels": 4},
    ])
    d = build_design(spec)
    assert len(d) == 3 * 2 * 3 * 4 == expected_points(spec)
    assert d.unit is None
    assert [v["move_cost_fixed"] for v in d.values[:3]] == [2.0, 2.0, 2.0]  # first factor slowest
    assert sorted({v["move_cost_fixed"] for v in d.values}) == [2.0, 3.0, 4.0]
    assert sorted({v["months"] for v in d.values}) == pytest.approx([1, 10, 100, 1000])
    assert {v["platform"] for v in d.values} == {False, True}
    assert len({tuple(sorted(v.items())) for v in d.values}) == len(d)  # all distinct


@settings(max_examples=200, deadline=None)
@given(u=st.floats(0, 1), lo=st.floats(-1e6, 1e6), width=st.floats(1e-3, 1e6),
       dist=st.sampled_from(["uniform", "loguniform", "integer"]))
def test_from_unit_stays_in_bounds(u, lo, width, dist):
    if dist == "loguniform":
        lo = abs(lo) + 1e-3
    if dist == "integer":
        lo, width = float(math.floor(lo)), float(max(1, math.floor(width)))
    f = Factor(path="decisions.beta_income", bounds=[lo, lo + width], distribution=dist)
    v = from_unit(f, u)
    assert lo <= v <= lo + width or math.isclose(v, lo + width) or math.isclose(v, lo)


def test_levels_from_unit_cover_all_levels():
    f = Factor(path="x", levels=["a", "b", "c"])
    got = [from_unit(f, u) for u in np.linspace(0, 1, 31)]
    assert set(got) == {"a", "b", "c"} and got[0] == "a" and got[-1] == "c"
    assert factor_levels(f) == ["a", "b", "c"]


def test_seeds_common_random_numbers():
    a = [run_seed(42, p, r) for p in (BASELINE_POINT, 0, 5) for r in range(3)]
    by_rep = {}
    for s in a:
        by_rep.setdefault(s.spawn_key, set()).add(s.seed)
    assert all(len(v) == 1 for v in by_rep.values())  # same replicate, same stream, whatever the point
    assert len({s.seed for s in a}) == 3  # different replicates differ
    # the stream is SeedSequence(root).spawn(R)[r], recorded as entropy + spawn key
    kids = np.random.SeedSequence(42).spawn(3)
    for r, kid in enumerate(kids):
        s = run_seed(42, 7, r)
        assert s.entropy == 42 and s.spawn_key == (r,)
        assert (s.sequence().generate_state(4) == kid.generate_state(4)).all()
        assert s.seed == int(kid.generate_state(1, np.uint64)[0]) >> 1
        assert 0 <= s.seed < 2**63


def test_seeds_independent_streams():
    s = [run_seed(42, p, r, common_random_numbers=False) for p in (BASELINE_POINT, 0, 1) for r in range(2)]
    assert len({x.seed for x in s}) == 6
    nested = np.random.SeedSequence(42).spawn(3)[2].spawn(2)[1]  # slot 2 = design point 1
    assert run_seed(42, 1, 1, False).seed == int(nested.generate_state(1, np.uint64)[0]) >> 1
