"""The vectorised decision engine agrees with the one-object-per-agent Mesa reference."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from mesa_reference import ReferenceModel, engine_inputs, params_dict, run_engine, synthetic_inputs  # noqa: E402

from migrants.config import load_scenario  # noqa: E402


def test_engine_and_mesa_reference_give_the_same_destination_shares():
    n, J = 30_000, 12
    p = load_scenario("baseline", {"decisions.rest_of_china_constant": 0.8}).decisions  # every term on
    inp = synthetic_inputs(n, J=J, seed=3)
    ref = ReferenceModel(**inp, params=params_dict(p), rng=5)
    ref.step()
    a = np.bincount(ref.destinations(), minlength=J) / n
    b = np.bincount(run_engine(engine_inputs(inp, p), 77), minlength=J) / n
    se = np.sqrt((a * (1 - a) + b * (1 - b)) / n)
    assert np.all(np.abs(a - b) <= 4.5 * se + 1e-12), np.c_[a, b]
    # and the people who move are the same kind of people: moving shares by education
    ed = inp["persons"]["education"]
    move_a = ref.destinations() != inp["persons"]["city"]
    move_b = run_engine(engine_inputs(inp, p), 78) != inp["persons"]["city"]
    for e in range(6):
        m = ed == e
        pa, pb = move_a[m].mean(), move_b[m].mean()
        assert abs(pa - pb) <= 4.5 * np.sqrt((pa * (1 - pa) + pb * (1 - pb)) / m.sum()) + 1e-12
