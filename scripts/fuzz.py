"""Fuzz the command line's inputs for longer than CI does, and tally the outcomes.

    PYTHONPATH=src .venv/bin/python scripts/fuzz.py [--examples N] [--kinds scenario,card,spec,data] [--seed S]

Generates N inputs of each kind (tests/fuzz_cases.py: scenario overrides, policy cards, sweep
specs, data files), runs each through ``migrants.cli.main`` in this process and prints how many
exited 0 with sane outputs, how many 2 with one line and nothing written, and every mishandled
one (a traceback, another exit code, an insane output, a message of several lines, a file
written).  The inputs run under a memory cap (``--max-memory``, default ``FUZZ_HEADROOM`` above
what this process holds at the start; migrants.memory), checked after every input.  Exit code 1
if any was mishandled.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, given, settings  # noqa: E402

from migrants import memory  # noqa: E402
from tests.fuzz_cases import FUZZ_HEADROOM, STRATEGIES, run_case, tally, vm_size  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=300, help="inputs of each kind")
    ap.add_argument("--kinds", default=",".join(STRATEGIES), help="comma-separated: " + ", ".join(STRATEGIES))
    ap.add_argument("--seed", type=int, default=None, help="hypothesis seed (default: random)")
    ap.add_argument("--json", type=Path, default=None, help="write the tally and the mishandled inputs here")
    ap.add_argument("--max-memory", default=None, help="address-space cap, e.g. 6G (default: 3G above this "
                    "process's at the start)")
    a = ap.parse_args()
    limit = memory.cap(memory.parse_size(a.max_memory) if a.max_memory else vm_size() + FUZZ_HEADROOM)
    print(f"memory cap {memory.size_text(limit)} (RLIMIT_AS)", flush=True)
    seen, t0 = [], time.monotonic()
    for kind in a.kinds.split(","):
        @settings(max_examples=a.examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(STRATEGIES[kind])
        def run(case):
            o = run_case(kind, case)
            seen.append(o)
            assert memory.current_limit() == limit, "a command changed the memory cap"
            if o.verdict == "mishandled":
                print(f"MISHANDLED {kind}: {o.detail}\n    {o.args}", flush=True)

        if a.seed is not None:
            run = __import__("hypothesis").seed(a.seed)(run)
        run()
        print(f"{kind}: {tally(seen)[kind]}  ({time.monotonic() - t0:.0f} s)", flush=True)
    t = tally(seen)
    bad = [o for o in seen if o.verdict == "mishandled"]
    print(json.dumps({"inputs": len(seen), "tally": t, "mishandled": len(bad), "memory_cap": limit,
                      "seconds": round(time.monotonic() - t0)}, indent=1))
    if a.json:
        a.json.write_text(json.dumps({"tally": t, "mishandled": [o.__dict__ for o in bad]}, indent=1, default=str))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
