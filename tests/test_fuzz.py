"""Property-based fuzzing of the command line's inputs (hypothesis; see tests/fuzz_cases.py).

Every generated scenario override, policy card, sweep spec and data file must give exit 0 with
sane outputs, or exit 2 with one line and nothing written; never a traceback or a hang; and all
under a memory cap (migrants.memory: ``FUZZ_HEADROOM`` of address space beyond what this process
held before).  The CI share is kept small (in-process calls at the ``tiny`` scale);
``scripts/fuzz.py`` runs longer, under the same cap.
"""

from __future__ import annotations

import os
import resource

import pytest
from hypothesis import HealthCheck, given, settings

from fuzz_cases import FUZZ_HEADROOM, STRATEGIES, Outcome, run_case, tally, vm_size
from migrants import memory

#: examples per input kind in CI (MIGRANTS_FUZZ_EXAMPLES to change it)
EXAMPLES = {"scenario": 60, "card": 45, "spec": 30, "data": 45}
SEEN: list[Outcome] = []
CAP: dict = {}


@pytest.fixture(scope="module", autouse=True)
def memory_cap():
    """The fuzzed commands run under a cap (lifted again after this module, for the other tests)."""
    before = resource.getrlimit(resource.RLIMIT_AS)
    CAP["limit"] = memory.cap(vm_size() + FUZZ_HEADROOM)
    yield
    resource.setrlimit(resource.RLIMIT_AS, before)


def examples(kind: str) -> int:
    return int(os.environ.get("MIGRANTS_FUZZ_EXAMPLES", EXAMPLES[kind]))


def fuzz(kind: str):
    @settings(max_examples=examples(kind), deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(STRATEGIES[kind])
    def check(case):
        o = run_case(kind, case)
        SEEN.append(o)
        assert memory.current_limit() == CAP["limit"], "a command changed the memory cap"
        assert o.verdict != "mishandled", f"{o.detail}\n  args: {o.args}"

    return check


@pytest.mark.parametrize("kind", list(STRATEGIES))
def test_generated_inputs_exit_0_sane_or_2_with_one_line(kind):
    fuzz(kind)()


def test_the_fuzzing_stayed_bounded_and_exercised_both_outcomes():
    """Run after the others (file order): the generated inputs reached both outcomes, and this
    process's memory stayed bounded: every case ran under the cap, and the peak resident set
    (kB on Linux) stayed below it."""
    t = tally(SEEN)
    print("fuzz tally:", t)
    for kind, row in t.items():
        if row["exit0"] + row["exit2"]:
            assert row["exit2"] > 0, (kind, row)  # hostile input was generated and refused
    assert sum(r["exit0"] for r in t.values()) > 0  # and ordinary input ran
    assert CAP["limit"] is not None and memory.current_limit() == CAP["limit"]
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 < CAP["limit"]
