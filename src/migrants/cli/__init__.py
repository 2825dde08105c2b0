"""Command line: ``migrants run | validate | backtest | calibrate | compare | sweep | report | viz``.

One Typer app (``base.app``); each module adds its commands with ``@app.command()``; the
work is done by the library (``migrants.runs``, ``compare``, ``backtest``, ``calibration``,
``experiments``, ``viz_cli``), which a Python user calls the same way.  Bad input (scenario,
option, data file) ends with a one-line ``error:`` message and exit code 2, without a
traceback, and leaves nothing half-written.
"""

from .base import app, fail, main  # noqa: F401
from . import backtest, calibrate, compare, run, sweep, validate, viz  # noqa: F401,E402  (each adds its commands)

__all__ = ["app", "fail", "main"]
