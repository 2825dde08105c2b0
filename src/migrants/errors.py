"""Errors a user can fix: bad scenario, option or data file.

The command line turns a :class:`ConfigError` into a one-paragraph message and
exit code 2, with no traceback; everything else is a bug and keeps its traceback.
"""


class ConfigError(Exception):
    """A scenario, policy card, sweep spec, option or data file is not usable.

    The message names the file or option, the field, the bad value and what was
    expected, so the user can fix it without reading code.
    """
