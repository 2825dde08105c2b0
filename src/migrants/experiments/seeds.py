"""Random streams of a sweep: one root seed, one ``SeedSequence`` per run.

With common random numbers (the default), replicate ``r`` of every design
point, and of the baseline arm, uses the same stream,
``SeedSequence(root).spawn(R)[r]`` (spawn key ``(r,)``): arms then differ only
by what the factors change, which makes policy-minus-baseline contrasts much
sharper.  Without them, each (slot, replicate) has its own stream
``SeedSequence(root).spawn(P + 1)[slot].spawn(R)[r]`` (spawn key
``(slot, r)``, slot 0 = baseline arm, slot p + 1 = design point p).

The model takes an integer seed (``MigrationModel(rng=...)``); it is the first
64-bit word of the stream's state, shifted to 63 bits so that it is a
non-negative int64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BASELINE_POINT = -1


@dataclass(frozen=True)
class RunSeed:
    seed: int  # integer passed to the model as rng=
    entropy: int  # the root entropy
    spawn_key: tuple[int, ...]

    @property
    def spawn_key_text(self) -> str:
        return ",".join(str(k) for k in self.spawn_key)

    def sequence(self) -> np.random.SeedSequence:
        return np.random.SeedSequence(self.entropy, spawn_key=self.spawn_key)


def run_seed(root_seed: int, point: int, replicate: int, common_random_numbers: bool = True) -> RunSeed:
    """The stream of one run (``point`` = BASELINE_POINT for the baseline arm)."""
    key = (replicate,) if common_random_numbers else (point + 1, replicate)
    ss = np.random.SeedSequence(root_seed, spawn_key=key)
    seed = int(ss.generate_state(1, dtype=np.uint64)[0]) >> 1
    return RunSeed(seed=seed, entropy=int(ss.entropy), spawn_key=tuple(int(k) for k in ss.spawn_key))
