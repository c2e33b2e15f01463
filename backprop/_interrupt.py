"""Ctrl-C in the ``backprop`` command: the same one line and exit status 130 at any moment.

Importing the package takes a noticeable fraction of a second (NumPy, SciPy, ...), and a
KeyboardInterrupt raised in the middle of an import would print a traceback. So when this
process *is* the ``backprop`` command (the console script, or ``python -m backprop``), the
package's ``__init__`` installs :func:`_on_sigint` before importing anything else: until
:func:`cli.main` is running it prints ``backprop <cmd>: interrupted`` and exits at once (there
is nothing to clean up yet); while ``main`` runs, it raises KeyboardInterrupt as usual, which
``main`` turns into the same line after the code it interrupted has unwound. Importing
``backprop`` as a library changes no signal handling.

This module imports only the standard library's smallest modules.
"""

from __future__ import annotations

import os
import signal
import sys

COMMANDS = ("train", "evaluate", "predict", "datasets", "example")
_raise = False


def is_command() -> bool:
    """Whether this process is the ``backprop`` command."""
    argv0 = os.path.basename(sys.argv[0]) if sys.argv else ""
    if argv0 in ("backprop", "backprop.exe", "backprop-script.py"):
        return True
    orig = getattr(sys, "orig_argv", [])
    return any(a == "-m" and b == "backprop" for a, b in zip(orig, orig[1:]))


def label(argv: list[str] | None = None) -> str:
    """``backprop <cmd>`` for the subcommand on the command line (``backprop`` without one)."""
    args = sys.argv[1:] if argv is None else argv
    cmd = next((a for a in args if not a.startswith("-")), None)
    return f"backprop {cmd}" if cmd in COMMANDS else "backprop"


def _on_sigint(signum, frame) -> None:
    if _raise:
        raise KeyboardInterrupt
    try:
        os.write(2, f"\n{label()}: interrupted\n".encode())
    finally:
        os._exit(130)


def install() -> None:
    """Take over SIGINT for the command (see the module's doc); only in the main thread."""
    try:
        signal.signal(signal.SIGINT, _on_sigint)
    except (ValueError, OSError):  # pragma: no cover - not the main thread
        pass


def raising(on: bool) -> None:
    """While ``on``, Ctrl-C raises KeyboardInterrupt (``main`` catches it)."""
    global _raise
    _raise = on


if is_command():
    install()
