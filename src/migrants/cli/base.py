"""The ``migrants`` Typer app, its one ``fail``, and the checks of the options every command shares."""

from __future__ import annotations

import sys

import typer

from ..errors import ConfigError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, rich_markup_mode=None,
                  help="Agent-based simulation of labour migration in Northeast China.")


def _version(value: bool) -> None:
    if value:
        from .. import __version__
        from ..provenance import versions

        v = versions()
        typer.echo(f"migrants {__version__} (git {(v['git_commit'] or 'unknown')[:10]}; python {v['python']}, "
                   f"mesa {v['mesa']}, numba {v['numba']})")
        raise typer.Exit(0)


@app.callback()
def _main(version: bool = typer.Option(False, "--version", is_eager=True, callback=_version, metavar="",
                                       help="Show the version and exit.")) -> None:
    """Agent-based simulation of labour migration in Northeast China."""


def fail(message: str) -> None:
    """End the command: ``error: message`` on stderr, exit code 2."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def parse_sets(sets: list[str] | None) -> dict:
    """``--set path=value`` options as a dict of dotted-path overrides."""
    from ..config import parse_override

    return dict(parse_override(s) for s in (sets or []))


#: option -> (smallest value, what it counts): the same rule in every command
#: runs one command may plan (the same bound as a sweep's, ``experiments.plan.MAX_RUNS``): a larger
#: count would allocate its tables before the first run
MAX_COUNT = 100_000

COUNTS = {  # option: (floor, ceiling or None, what)
    "--months": (1, None, "a whole number of months"),
    "--scale": (1, None, "a whole number of persons per agent"),
    "--seed": (0, None, "a non-negative whole number"),
    "--seeds": (1, MAX_COUNT, "a whole number of replicates"),
    "--jobs": (1, None, "a whole number of parallel runs"),
    "--threads": (1, None, "a whole number of threads"),
    "--threads-per-run": (1, None, "a whole number of threads"),
    "--replicates": (1, MAX_COUNT, "a whole number of replicates"),
    "--ensemble": (1, MAX_COUNT, "a whole number of parameter draws"),
}


def check_counts(**values) -> None:
    """Refuse a count option outside its bounds (``COUNTS``); keyword names are the options without
    the dashes, with ``_`` for ``-`` (``threads_per_run=...``).  None means not given."""
    for key, value in values.items():
        option = "--" + key.replace("_", "-")
        floor, ceiling, what = COUNTS[option]
        if value is not None and value < floor:
            fail(f"{option} {value}: expected {what} >= {floor}")
        if value is not None and ceiling is not None and value > ceiling:
            fail(f"{option} {value}: expected {what} from {floor} to {ceiling:,}")


def main(argv: list[str] | None = None) -> int:
    """Console entry point: the exit code (2 on bad input, also for usage errors, each one line)."""
    from ..errors import click_exceptions, one_line, usage_message

    from .. import memory

    args = sys.argv[1:] if argv is None else list(argv)
    try:
        if argv is None:  # this process is the command: cap its memory (an in-process caller: memory.cap)
            memory.cap(memory.configured_limit())
        code = app(args=args, standalone_mode=False)
    except MemoryError:  # the cap (or the machine) refused an allocation; what was written is cleaned up
        typer.echo(f"error: {memory.out_of_memory('migrants ' + (args[0] if args else ''))}", err=True)
        return 2
    except click_exceptions("NoArgsIsHelpError") as e:
        e.show()
        return 2
    except click_exceptions("UsageError") as e:  # `--months abc`: one line naming the option and the value
        typer.echo(f"error: {usage_message(e, args)}", err=True)
        return 2
    except click_exceptions("ClickException") as e:
        typer.echo(f"error: {one_line(e.format_message())}", err=True)
        return e.exit_code
    except click_exceptions("Abort"):
        typer.echo("Aborted!", err=True)
        return 1
    except ConfigError as e:  # raised outside a command's own handler
        typer.echo(f"error: {e}", err=True)
        return 2
    return code if isinstance(code, int) else 0
