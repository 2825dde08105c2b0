"""Compile every numba kernel of the model once and cache it (``python -m migrants.warm``; the
set-up runs it), so that no first run after set-up waits tens of seconds for compilation.

It runs the ``tiny`` cities for 14 months (a July graduation, a September school year, a
January ageing) with every policy card of ``all_levers`` in force from the first month, at a
coarse scale: each kernel meets the argument types it meets in any run.
"""

from __future__ import annotations

import sys
import time


def warm(quiet: bool = False) -> float:
    """Compile (or load from the cache) every kernel; returns the seconds it took."""
    from .config import load_scenario
    from .model import MigrationModel
    from .policy.policyset import PolicySet

    t0 = time.perf_counter()
    cards = PolicySet.parse(load_scenario("all_levers").policies)
    for key in cards.keys:
        cards = cards.with_fields(key, {"start": "2020-12"})
    for scenario, policies in (("tiny", []), ("tiny", cards.refs)):
        MigrationModel(scenario=scenario, rng=1, overrides={"scale": 20000, "policies": policies}).run(14)
    if not quiet:
        print(f"migrants: the model's kernels are compiled and cached ({time.perf_counter() - t0:.0f} s)",
              file=sys.stderr)
    return time.perf_counter() - t0


if __name__ == "__main__":
    warm()
