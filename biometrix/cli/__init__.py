"""The ``biometrix`` command line: one module per command group (decisions, database, access, admin, apps);
this module runs a command and builds the parser from them."""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from biometrix.cli.common import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_REFER,
    EXIT_REJECT,
    PROG,
    CommandUnavailable,
    Handler,
    _print_json,
    display_available,
    parent_parsers,
)
from biometrix.core.errors import BiometrixError

__all__ = ["EXIT_ERROR", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_REFER", "EXIT_REJECT", "PROG", "CommandUnavailable",
           "build_parser", "display_available", "main"]

log = logging.getLogger(__name__)

# --- entry point ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the process exit code (0 ok, 1 verify rejected, 2 error, 3 verify referred to a
    supervisor, 130 interrupted). With no command at all it opens the desktop app when a display is available.

    Every error is one line on stderr; with ``--json`` it is also a JSON object on stdout, ``{"error": ...,
    "exit": N}``. A command that may create the database (enroll, db migrate, operator add, demo) and fails
    leaves no database where there was none before it (``service.discard_unused_database``)."""
    raw = list(sys.argv[1:] if argv is None else argv)
    if raw and raw[0] == "--selftest":  # the installation check (packaging/check.sh runs it in the bundle too)
        from biometrix.selftest import main as selftest_main

        return selftest_main(raw)
    parser = build_parser()
    as_json = "--json" in raw
    usage = io.StringIO()
    try:
        with contextlib.redirect_stderr(usage) if as_json else contextlib.nullcontext():
            args = parser.parse_args(raw)
            if getattr(args, "handler", None) is None and not hasattr(args, "group_parser") and display_available():
                args = parser.parse_args([*raw, "gui"])  # plain ``biometrix``: the app (issue 5)
    except SystemExit as exit_:  # argparse: --help (0) or a usage error (2, message already printed)
        code = exit_.code if isinstance(exit_.code, int) else EXIT_ERROR
        sys.stderr.write(usage.getvalue())
        if as_json and code != EXIT_OK:
            lines = usage.getvalue().strip().splitlines()
            _print_json({"error": lines[-1].split(": error: ", 1)[-1] if lines else "usage error", "exit": code})
        return code
    as_json = bool(getattr(args, "json", as_json))
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None and not hasattr(args, "group_parser"):  # plain ``biometrix`` where no window can open
        parser.print_usage(sys.stderr)
        return _fail(f"no display found (DISPLAY / WAYLAND_DISPLAY unset): '{PROG} gui' needs one; give a command, "
                     f"see '{PROG} --help'", as_json=as_json)
    if handler is None:  # a command group without its subcommand, e.g. ``biometrix db``
        parser_for = getattr(args, "group_parser", parser)
        parser_for.print_usage(sys.stderr)
        return _fail("a command is required", as_json=as_json, prog=parser_for.prog)
    verbosity = getattr(args, "verbose", 0)
    if verbosity < 2:
        # OpenCV writes its own warnings straight to fd 2 (e.g. "PNG input buffer is incomplete" for a
        # truncated file) next to our one-line error; it reads this before cv2 is first imported.
        os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    new_db = _database_it_may_create(args)
    with _logging_to_stderr(verbosity):
        code = _run(handler, args, as_json=as_json)
        if code != EXIT_OK and new_db is not None and new_db.exists():
            from biometrix.service import discard_unused_database

            if discard_unused_database(new_db):
                log.info("the command failed: removed the database it had created at %s", new_db)
    return code


def _run(handler: Handler, args: argparse.Namespace, *, as_json: bool) -> int:
    """The command's exit code; a BiometrixError, an OSError or ^C is its one-line error."""
    try:
        return handler(args)
    except BiometrixError as err:
        return _fail(str(err) or type(err).__name__, as_json=as_json)
    except BrokenPipeError:  # stdout closed early (``biometrix identify ... | head -1``)
        _silence_stdout()
        return EXIT_ERROR
    except OSError as err:  # the database folder or a file the store touches: permissions, disk full
        return _fail(_os_error_message(err), as_json=as_json)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        if as_json:
            _print_json({"error": "interrupted", "exit": EXIT_INTERRUPTED})
        return EXIT_INTERRUPTED


def _database_it_may_create(args: argparse.Namespace) -> Path | None:
    """The database path of a command that may create it (``creates_db``), when no file is there yet."""
    if not getattr(args, "creates_db", False):
        return None
    from biometrix.store.location import resolve_db_path

    try:
        path = resolve_db_path(getattr(args, "db", None)).path
    except BiometrixError:  # the command itself says what is wrong with the path
        return None
    return None if path.exists() else path


def _fail(message: str, *, as_json: bool = False, prog: str = PROG) -> int:
    """Print the error as one line on stderr (and, with ``--json``, as a JSON object on stdout); exit 2."""
    one_line = " ".join(message.split())
    print(f"{prog}: error: {one_line}", file=sys.stderr)
    if as_json:
        _print_json({"error": one_line, "exit": EXIT_ERROR})
    return EXIT_ERROR


def _os_error_message(err: OSError) -> str:
    reason = err.strerror or str(err) or type(err).__name__
    return f"{err.filename}: {reason}" if err.filename else reason


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at devnull so the interpreter's final flush stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout without a file descriptor (captured in tests): nothing to silence
        pass


@contextmanager
def _logging_to_stderr(verbosity: int) -> Iterator[None]:
    """WARNING from everything by default; ``-v`` shows biometrix INFO, ``-vv`` DEBUG. Undone on exit."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    ours = logging.getLogger("biometrix")
    old_root_level, old_level = root.level, ours.level
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    ours.setLevel(logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(old_root_level)
        ours.setLevel(old_level)


def build_parser() -> argparse.ArgumentParser:
    """The full parser; each leaf command sets ``handler``."""
    from biometrix.cli import access, admin, apps, database, decisions, server

    parents: dict[str, Any] = parent_parsers()
    verbose = parents["verbose"]
    parser = argparse.ArgumentParser(prog=PROG, description="Biometric signature and face enrollment and verification.",
                                     parents=[verbose],
                                     epilog=f"Without a command, '{PROG}' opens the desktop app (as '{PROG} gui') when "
                                            f"a display is available. '{PROG} --selftest [--no-gui] [--cpu]' checks "
                                            "the installation: every model runs, a scratch database enrolls and "
                                            "verifies, the windows open; exit 0 when all pass.")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    decisions.add_commands(commands, parents)
    database.add_commands(commands, parents)
    opener = _opener
    access.add_commands(commands, parents, opener)
    admin.add_commands(commands, parents, opener)
    apps.add_commands(commands, parents)
    server.add_commands(commands, parents)
    return parser


def _opener(args: argparse.Namespace, create: bool = False) -> Any:
    from biometrix.cli.common import _open

    return _open(args, create=create)
