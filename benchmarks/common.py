"""What every benchmark shares: the user's environment, one process per contender, medians.

Each contender of each workload runs in a fresh Python process (``benchmarks.worker``), started
with the environment the user has, so what it measures is what a user's script gets: its own
BLAS threads, nobody else's. Rounds alternate: round 1 runs every contender once, in turn, then
round 2, and so on, so a slow spell of the machine (other work, a frequency change) hits all of
them alike. A contender's figure is the median over all its timing blocks of all rounds.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# The one change to the user's environment. Some build machines set these so that old OpenBLAS
# builds pick a safe kernel; a current OpenBLAS then picks a slower kernel than it would on this
# CPU (for NumPy and for every peer that uses OpenBLAS alike). They are a property of the build
# machine, not of a user's setup, so the worker processes run without them. Nothing else is set:
# no thread counts, no OPENBLAS_THREAD_TIMEOUT.
BLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def user_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in BLAS_OVERRIDES}


def unset_overrides() -> list[str]:
    return [k for k in BLAS_OVERRIDES if k in os.environ]


def in_process(kind: str, name: str, **args) -> dict:
    """Run one contender in a fresh process; its JSON report."""
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.worker", kind, name, json.dumps(args)],
        cwd=ROOT,
        env=user_env(),
        capture_output=True,
        text=True,
    )
    if out.returncode:
        raise RuntimeError(f"{kind} / {name} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def extract_backprop(rev: str, into: str) -> str | None:
    """The ``backprop`` package as it was at git revision ``rev``, unpacked under ``into``
    (for a before/after in one run); None when this is not a git checkout holding ``rev``."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", rev, "backprop"], cwd=ROOT, capture_output=True
    )
    if archive.returncode:
        return None
    subprocess.run(["tar", "-x", "-C", into], input=archive.stdout, check=True)
    return into


def pools_str(report: dict) -> str:
    """The BLAS/OpenMP libraries a contender ran with: kernel and threads (threadpoolctl)."""
    parts = []
    for p in report.get("pools", []):
        kernel = f" {p['kernel']}" if p.get("kernel") else ""
        parts.append(f"{p['api']}{kernel} x{p['threads']} ({p['lib']})")
    if "torch_threads" in report:
        parts.append(f"torch x{report['torch_threads']}")
    return "; ".join(parts) or "-"


@dataclass
class Result:
    name: str
    times: list[float] = field(default_factory=list)  # one per timing block, all rounds
    pools: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def min(self) -> float:
        return min(self.times)

    @property
    def max(self) -> float:
        return max(self.times)


def rounds(
    kind: str,
    names: list[str],
    n_rounds: int,
    keys: tuple[str, ...] = ("times",),
    before: tuple[str, str, str] | None = None,
    **args,
) -> tuple[dict[str, dict[str, Result]], list[str]]:
    """``n_rounds`` alternating rounds of every contender, each in its own process. Returns,
    for each of ``keys`` (the lists of seconds the worker reports), the results by contender,
    and the contenders skipped (their library is not installed). ``before``: (label, contender,
    path) adds contender ``label``, ``contender`` run with the older backprop found at
    ``path``."""
    runs = [(n, n, {}) for n in names]
    if before:
        label, contender, path = before
        names = [*names, label]
        runs.append((label, contender, {"backprop_from": path}))
    results = {k: {n: Result(n) for n in names} for k in keys}
    skipped: dict[str, str] = {}
    for _ in range(n_rounds):
        for n, contender, extra in runs:
            if n in skipped:
                continue
            rep = in_process(kind, contender, **args, **extra)
            if "skipped" in rep:
                skipped[n] = rep["skipped"]
                continue
            for k in keys:
                results[k][n].times += rep[k] or []
                results[k][n].pools = pools_str(rep)
    for k in keys:
        for n in skipped:
            del results[k][n]
        for n in [n for n, r in results[k].items() if not r.times]:
            del results[k][n]
    return results, [f"{n} ({lib})" for n, lib in skipped.items()]


def fmt_ms(r: Result) -> str:
    return f"{r.median * 1e3:.3f} ({r.min * 1e3:.3f}-{r.max * 1e3:.3f})"
