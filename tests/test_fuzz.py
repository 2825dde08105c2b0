"""Property-based fuzzing of the command line's inputs (hypothesis; see tests/fuzz_cases.py).

Every generated scenario override, policy card, sweep spec and data file must give exit 0 with
sane outputs, or exit 2 with one line and nothing written; never a traceback or a hang.  The CI
share is kept small (in-process calls at the ``tiny`` scale); ``scripts/fuzz.py`` runs longer.
"""

from __future__ import annotations

import os
import resource

import pytest
from hypothesis import HealthCheck, given, settings

from fuzz_cases import STRATEGIES, Outcome, run_case, tally

#: examples per input kind in CI (MIGRANTS_FUZZ_EXAMPLES to change it)
EXAMPLES = {"scenario": 80, "card": 60, "spec": 40, "data": 60}
SEEN: list[Outcome] = []


def examples(kind: str) -> int:
    return int(os.environ.get("MIGRANTS_FUZZ_EXAMPLES", EXAMPLES[kind]))


def fuzz(kind: str):
    @settings(max_examples=examples(kind), deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(STRATEGIES[kind])
    def check(case):
        o = run_case(kind, case)
        SEEN.append(o)
        assert o.verdict != "mishandled", f"{o.detail}\n  args: {o.args}"

    return check


@pytest.mark.parametrize("kind", list(STRATEGIES))
def test_generated_inputs_exit_0_sane_or_2_with_one_line(kind):
    fuzz(kind)()


def test_the_fuzzing_stayed_bounded_and_exercised_both_outcomes():
    """Run after the others (file order): the generated inputs reached both outcomes, and this
    process's memory stayed bounded (peak resident set, kB on Linux)."""
    t = tally(SEEN)
    print("fuzz tally:", t)
    for kind, row in t.items():
        if row["exit0"] + row["exit2"]:
            assert row["exit2"] > 0, (kind, row)  # hostile input was generated and refused
    assert sum(r["exit0"] for r in t.values()) > 0  # and ordinary input ran
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss < 6_000_000
