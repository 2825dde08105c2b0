"""Shared fixtures: a small model run once per test session."""

import pytest

from migrants import MigrationModel


@pytest.fixture(scope="session")
def tiny_run():
    """The ``tiny`` preset run for 14 months (covers a July graduation, a
    September school year and a January ageing)."""
    m = MigrationModel(scenario="tiny", rng=7)
    m.run(14)
    return m
