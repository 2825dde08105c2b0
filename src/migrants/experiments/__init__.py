"""Experiment runner: parallel, reproducible, resumable sweeps (``migrants sweep`` / ``migrants report``).

One concern per module:

* ``spec``: the YAML schema of a sweep and its errors;
* ``design``: full factorial, Latin hypercube, Sobol (Saltelli) and Morris designs;
* ``seeds``: one ``SeedSequence`` stream per run, common random numbers across arms;
* ``plan``: from a spec to the list of runs and their overrides;
* ``kpis``: the KPIs of one run; ``worker``: what a worker does for one run;
* ``backends``: joblib over loky, Dask or Ray; ``store``: the result folder;
* ``runner``: ``run_sweep``; ``analysis``: statistics; ``report``: plots, HTML and tables.
"""

from .runner import SweepOutcome, run_sweep
from .spec import Spec, load_spec

__all__ = ["run_sweep", "SweepOutcome", "Spec", "load_spec"]
