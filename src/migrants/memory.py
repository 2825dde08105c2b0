"""A hard memory cap for a command: its process (and every worker it starts) gets at most so
much address space, so an input that asks for too much ends in MemoryError, then exit 2 with
one line, instead of the kernel's OOM killer or a swapping machine.

The cap is ``RLIMIT_AS`` (address space), soft limit only: the kernel refuses any mapping
beyond it, and child processes (loky, Dask local workers) inherit it, each with its own.
It works with numba's threading layer: measured on 2 cores (numba 0.68, cached kernels),
``migrants run tiny --months 2`` peaks at 2.0 GB of address space uncapped (0.3 GB resident:
the allocators reserve what they may), runs under a cap of 0.8 GB, and needs 1.2 GB when it
compiles its kernels; below about 0.7 GB LLVM aborts or a shared library fails to load, which
no handler can turn into one line, hence ``MIN_LIMIT``.

``MIGRANTS_MAX_MEMORY`` sets it (``8G``, ``2000M``, bytes, or ``none``); by default it is the
machine's physical memory, at least ``DEFAULT_FLOOR``.  The console command applies it
(``migrants.cli.main`` without arguments); an in-process caller applies it with ``cap``.
"""

from __future__ import annotations

import os
import re
import resource

from .errors import ConfigError, clip

ENV = "MIGRANTS_MAX_MEMORY"
#: the smallest cap a command can work under (see the module docstring), bytes
MIN_LIMIT = int(1.5 * 2 ** 30)
#: the default cap is the physical memory, but never less than this
DEFAULT_FLOOR = 4 * 2 ** 30
_UNITS = {"": 1, "K": 2 ** 10, "M": 2 ** 20, "G": 2 ** 30, "T": 2 ** 40}


def parse_size(text: str) -> int | None:
    """``8G``, ``1.5g``, ``2000M``, ``2147483648`` -> bytes; ``none``/``off``/``unlimited`` -> None.
    ConfigError (naming ``MIGRANTS_MAX_MEMORY``) for anything else or below ``MIN_LIMIT``."""
    t = str(text).strip()
    if t.lower() in ("none", "off", "unlimited"):
        return None
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?", t, flags=re.IGNORECASE)
    if not m:
        raise ConfigError(f"{ENV} {clip(text)}: expected a size such as 8G or 2000M (K, M, G, T: powers of "
                          "1024), or none")
    n = int(float(m.group(1)) * _UNITS[m.group(2).upper()])
    if n < MIN_LIMIT:
        raise ConfigError(f"{ENV} {clip(text)}: expected at least {size_text(MIN_LIMIT)} (a run needs about "
                          "1.2G of address space), or none")
    return n


def size_text(n: int | None) -> str:
    if n is None:
        return "none"
    for unit in ("T", "G", "M", "K"):
        if n >= _UNITS[unit]:
            return f"{n / _UNITS[unit]:.3g}{unit}"
    return str(n)


def physical_memory() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def configured_limit() -> int | None:
    """The cap ``MIGRANTS_MAX_MEMORY`` asks for, or the default (physical memory, >= 4G)."""
    text = os.environ.get(ENV)
    if text is None or not text.strip():
        return max(physical_memory(), DEFAULT_FLOOR)
    return parse_size(text)


def current_limit() -> int | None:
    """This process's soft address-space limit (None: unlimited)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    return None if soft == resource.RLIM_INFINITY else soft


def cap(limit: int | None) -> int | None:
    """Lower this process's soft ``RLIMIT_AS`` to ``limit`` (never raise it, never touch the hard
    limit, so a caller may lift it again); returns the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if limit is not None and (soft == resource.RLIM_INFINITY or limit < soft):
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    return current_limit()


def out_of_memory(what: str = "the command") -> str:
    """The one line a MemoryError becomes."""
    limit = current_limit()
    held = f"the limit of {size_text(limit)} ({ENV})" if limit is not None else "the memory there is"
    return (f"out of memory: {what} asked for more than {held}; expected less input (a larger --scale, "
            f"fewer cities or months), or a higher {ENV}")
