"""Errors a user can fix: bad scenario, option or data file.

The command line turns a :class:`ConfigError` into a one-line message and
exit code 2, with no traceback; everything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import errno
import re
from contextlib import contextmanager

#: longest message a ConfigError carries (a longer one is cut, saying so)
MAX_MESSAGE = 800
#: longest quoted value in a message (``clip``)
MAX_QUOTED = 80


def clip(value, limit: int = MAX_QUOTED) -> str:
    """``repr(value)`` cut to ``limit`` characters (``'aaaa...' (5000 characters)``), so that no
    message quotes a whole spec, an expanded YAML alias or a 5000-digit number."""
    try:
        text = repr(value) if not isinstance(value, str) or len(value) <= 4 * limit else repr(value[:4 * limit])
    except (ValueError, RecursionError):  # an int too long to print, a structure too deep
        text = f"<{type(value).__name__}>"
    if len(text) <= limit:
        return text
    n = len(value) if isinstance(value, (str, list, dict, tuple)) else len(text)
    unit = "characters" if isinstance(value, str) else "items" if isinstance(value, (list, dict, tuple)) else "characters"
    return f"{text[:limit - 3]}... ({n:,} {unit})"


def one_line(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` on one line (runs of whitespace, newlines included, become one space), at most ``limit``."""
    text = re.sub(r"\s+", " ", str(text)).strip()
    return text if len(text) <= limit else text[:limit - 20].rstrip() + " ... (message cut)"


class ConfigError(Exception):
    """A scenario, policy card, sweep spec, option or data file is not usable.

    The message names the file or option, the field, the bad value and what was
    expected, so the user can fix it without reading code.  It is always one line
    of at most ``MAX_MESSAGE`` characters.
    """

    def __init__(self, message: str = ""):
        super().__init__(one_line(message))


class DiskFull(ConfigError):
    """A write failed for want of space (ENOSPC, EDQUOT); the file it was writing was removed."""


#: errors that reading input may raise for input no check foresaw (a loader's last line of defence)
LOAD_ERRORS = (TypeError, ValueError, OSError, RecursionError, OverflowError, KeyError, IndexError, MemoryError)


def describe(exc: BaseException) -> str:
    """An exception as ``Type: message`` on one line, quoted input cut."""
    if isinstance(exc, RecursionError):
        return "RecursionError: nested too deeply"
    if isinstance(exc, MemoryError):
        from .memory import ENV, current_limit, size_text

        limit = current_limit()
        return ("MemoryError: the input asks for more memory than " +
                (f"the limit of {size_text(limit)} ({ENV})" if limit is not None else "there is"))
    msg = str(exc)
    if len(msg) > 2 * MAX_QUOTED:
        msg = msg[:2 * MAX_QUOTED] + f"... ({len(msg):,} characters)"
    return one_line(f"{type(exc).__name__}: {msg}")


@contextmanager
def loading(what: str):
    """Reading input (``with loading("scenario tiny"): ...``): an unforeseen TypeError, ValueError,
    OSError, RecursionError ... becomes a ConfigError naming ``what``, so a user sees one line and
    exit 2 instead of a traceback.  Use it around loading only, never around the simulation."""
    try:
        yield
    except ConfigError:
        raise
    except OSError as e:
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            raise ConfigError(f"{what}: the disk is full ({e.filename or 'no file named'})") from None
        raise ConfigError(f"{what}: cannot be read ({describe(e)})") from None
    except MemoryError:  # a cap (migrants.memory) or the machine refused it: say which, not "not usable"
        from .memory import out_of_memory

        raise ConfigError(out_of_memory(what)) from None
    except LOAD_ERRORS as e:
        raise ConfigError(f"{what}: not usable ({describe(e)})") from None


def click_exceptions(name: str) -> tuple:
    """The exception class ``name`` of click and of the click that typer vendors (``typer._click``),
    whichever are installed (typer 0.2x uses its own copy)."""
    import importlib

    out = []
    for mod in ("typer._click.exceptions", "click.exceptions"):
        try:
            cls = getattr(importlib.import_module(mod), name, None)
        except ImportError:
            continue
        if cls is not None:
            out.append(cls)
    return tuple(out)


def _expected(param) -> str:
    t = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    kind = getattr(getattr(param, "type", None), "name", None) or str(t)
    for key, text in (("bool", "true or false"), ("int", "a whole number"), ("float", "a number"),
                      ("Path", "a path"), ("str", "text")):
        if key in str(kind) or (isinstance(t, type) and t.__name__ == key):
            return text
    return "a valid value"


def usage_message(e, args: list[str]) -> str:
    """A click usage error on one line, naming the option and the value given
    (``--months 'abc': expected a whole number (see: migrants run --help)``)."""
    ctx = getattr(e, "ctx", None)
    hint = f" (see: {ctx.command_path} --help)" if ctx is not None else ""
    param = getattr(e, "param", None)
    missing = isinstance(e, click_exceptions("MissingParameter"))
    if isinstance(e, click_exceptions("BadParameter")) and param is not None and not missing:
        opts = list(getattr(param, "opts", []) or []) + list(getattr(param, "secondary_opts", []) or [])
        is_option = getattr(param, "param_type_name", "") == "option"
        name = opts[0] if opts and is_option else (getattr(param, "human_readable_name", None) or "argument")
        value = None
        for i, a in enumerate(args):
            if a in opts and i + 1 < len(args):
                value = args[i + 1]
            for o in opts:
                if a.startswith(o + "="):
                    value = a.split("=", 1)[1]
        got = f" {clip(value)}" if value is not None else ""
        return one_line(f"{name}{got}: expected {_expected(param)} ({one_line(e.message, 200)}){hint}")
    return one_line(f"{e.format_message()}{hint}")
