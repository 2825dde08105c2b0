"""migrants: an agent-based model of labour migration in Northeast China.

>>> from migrants import MigrationModel
>>> m = MigrationModel(scenario="tiny", rng=1)
>>> m.run(3).city_frame().shape[0] == 4 * m.C
True
"""

__version__ = "0.1.0"

from .model import MigrationModel  # noqa: E402

__all__ = ["MigrationModel", "__version__"]
