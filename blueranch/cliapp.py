"""The base of every ``blueranch`` command: one line and one exit code for every failure a user can cause or meet.

Every group in :data:`blueranch.cli.GROUPS` is a :class:`Group`, so every command below it is a
:class:`Command` (click builds subcommands with the group's ``command_class``). When a command raises, the
exception becomes one line on stderr (``Error: ...``, naming what and where) and an exit code:

- **2**, usage and input errors: a bad option (click's own), a file that cannot be read, is not UTF-8, is too
  big or too deep or has a key twice (:class:`blueranch.loader.LoadError`), a value that breaks a contract or a
  typed config (:class:`~blueranch.contracts.errors.ContractError`, pydantic's ``ValidationError``, any
  ``ValueError`` such as a URL of the wrong scheme).
- **1**, runtime failures: an unreachable or refusing broker or database (``InfluxError``, ``ConnectionError``),
  a port in use, a full disk, anything unexpected (worded as an internal error).

``--debug`` (on every command and on ``blueranch`` itself; or ``BLUERANCH_DEBUG=1``) prints the traceback
as well. A command that prints its own messages and calls ``sys.exit`` is left alone.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import traceback

import click
from pydantic import ValidationError

from blueranch.contracts.errors import ContractError, from_pydantic

EXIT_RUNTIME = 1
EXIT_USAGE = 2

#: OSError numbers that mean "the path you gave is wrong": an input error (exit 2), not a runtime failure.
_PATH_ERRNOS = frozenset(
    {errno.ENOENT, errno.EACCES, errno.EPERM, errno.EISDIR, errno.ENOTDIR, errno.ENAMETOOLONG, errno.ELOOP}
)
_MAX_LINE = 2000
_DEBUG_KEY = "blueranch.debug"


class Failure(click.ClickException):
    """A failure turned into one line and an exit code (click prints ``Error: <message>``)."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


def one_line(text: str, limit: int = _MAX_LINE) -> str:
    """``text`` on one line, at most ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def describe(exc: BaseException) -> tuple[int, str]:
    """The exit code and the one line that say what ``exc`` means to the user."""
    if isinstance(exc, ValidationError):
        return EXIT_USAGE, str(from_pydantic("input", exc))
    if isinstance(exc, ContractError | UnicodeError):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, RecursionError):
        return EXIT_USAGE, "the input nests too deeply to be read"
    if isinstance(exc, ValueError):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, OSError):
        return _os_error(exc)
    if isinstance(exc, sqlite3.Error):
        return EXIT_RUNTIME, f"SQLite: {exc}"
    if isinstance(exc, MemoryError):
        return EXIT_RUNTIME, "out of memory"
    name = type(exc).__name__
    if any(c.__name__ == "InfluxError" for c in type(exc).__mro__) or isinstance(exc, ConnectionError | TimeoutError):
        return EXIT_RUNTIME, str(exc)
    return EXIT_RUNTIME, f"internal error: {name}: {exc} (run with --debug for the traceback, and report it)"


def _os_error(exc: OSError) -> tuple[int, str]:
    where = " -> ".join(str(f) for f in (exc.filename, exc.filename2) if f is not None)
    text = exc.strerror or str(exc)
    if where:
        text = f"{where}: {text}"
    if exc.errno == errno.EADDRINUSE:
        return EXIT_RUNTIME, f"{text} (another process listens on that port: choose another or stop it)"
    if exc.errno == errno.ENOSPC:
        return EXIT_RUNTIME, f"{text} (the disk is full)"
    if exc.errno in _PATH_ERRNOS and where:
        return EXIT_USAGE, text
    return EXIT_RUNTIME, text


def debug_enabled(ctx: click.Context | None) -> bool:
    if os.environ.get("BLUERANCH_DEBUG", "") not in ("", "0"):
        return True
    return bool(ctx is not None and ctx.meta.get(_DEBUG_KEY))


def _set_debug(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.meta[_DEBUG_KEY] = True


def debug_option() -> click.Option:
    return click.Option(
        ["--debug"],
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_set_debug,
        help="On a failure, print the Python traceback too.",
    )


def _guarded(ctx: click.Context, invoke):
    try:
        return invoke(ctx)
    except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
        raise
    except Exception as exc:
        code, message = describe(exc)
        if debug_enabled(ctx):
            traceback.print_exception(exc)
        raise Failure(one_line(message), code) from exc


class Command(click.Command):
    """A command whose failures are one line and an exit code (module docstring)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.params.append(debug_option())

    def invoke(self, ctx: click.Context):
        return _guarded(ctx, super().invoke)


class Group(click.Group):
    """A group of :class:`Command` (and of :class:`Group`), itself guarded the same way."""

    command_class = Command
    group_class = type  # subgroups are of this class too

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.params.append(debug_option())

    def invoke(self, ctx: click.Context):
        return _guarded(ctx, super().invoke)
