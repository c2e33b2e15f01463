"""Failure never hangs: an error on one rank ends every rank within seconds.

A rank that dies with an exception while the others wait for it in a collective would leave
them waiting forever. So once a process group exists, an exception that nothing catches
prints its traceback (naming the rank) and calls ``MPI_Abort``, which ends every process of
the job with a non-zero status. The ``backprop`` command does the same for the errors it
reports in one line (``cli.main``) and for Ctrl-C, which ``mpiexec`` passes to every rank.
A rank killed outright (``kill -9``, out of memory) is noticed by the launcher: MPICH's
``mpiexec`` and Slurm's ``srun`` then end the other ranks themselves.
"""

from __future__ import annotations

import sys
import traceback

_previous = None


def _excepthook(kind, value, tb) -> None:
    from . import group

    try:
        print(
            f"backprop: rank {group.get_rank()} of {group.get_world_size()} failed; "
            "ending every rank (MPI_Abort)",
            file=sys.stderr,
        )
        traceback.print_exception(kind, value, tb, file=sys.stderr)
    finally:
        group.abort(130 if issubclass(kind, KeyboardInterrupt) else 1)


def install() -> None:
    global _previous
    if sys.excepthook is not _excepthook:
        _previous, sys.excepthook = sys.excepthook, _excepthook


def uninstall() -> None:
    global _previous
    if sys.excepthook is _excepthook:
        sys.excepthook, _previous = _previous or sys.__excepthook__, None
