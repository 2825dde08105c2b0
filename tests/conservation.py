"""Accounts every run must balance (used by several test modules)."""

import numpy as np


def assert_people_conserved(city_frame) -> None:
    """start + births + arrivals = end + deaths + departures, in every city and month."""
    cf = city_frame.sort_values(["city", "month"])
    for city, g in cf.groupby("city"):
        pop = g["population"].to_numpy()
        d = g.iloc[1:]
        expected = pop[:-1] + d["births"].to_numpy() - d["deaths"].to_numpy() + d["in_migrants"].to_numpy() \
            - d["out_migrants"].to_numpy()
        assert np.array_equal(pop[1:], expected), city
