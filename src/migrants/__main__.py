"""``python -m migrants ...``: the command line (as the ``migrants`` console script)."""

import sys

from .cli import main

sys.exit(main())
