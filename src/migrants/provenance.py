"""What produced a result: the versions of the code and of the libraries it ran on."""

from __future__ import annotations

import platform
import subprocess
from pathlib import Path


def versions() -> dict:
    """Versions of migrants (and its git commit, if run from a checkout), Python and the
    numerical libraries, as written into run.json, sweep manifests and fit.json."""
    import mesa
    import numba
    import numpy
    import pandas

    from . import __version__

    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                                cwd=Path(__file__).parent).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {"migrants": __version__, "git_commit": commit, "python": platform.python_version(),
            "numpy": numpy.__version__, "pandas": pandas.__version__, "mesa": mesa.__version__,
            "numba": numba.__version__}


def code_version() -> dict:
    """The code's identity alone (a sweep or calibration resumed on other code is told so)."""
    v = versions()
    return {"migrants": v["migrants"], "git_commit": v["git_commit"]}
