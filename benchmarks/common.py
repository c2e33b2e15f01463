"""What every benchmark shares: a fair BLAS environment, interleaved timing, medians.

Timing is interleaved: each repetition runs every contender once, in turn, so a slow spell of
the machine (another process, a frequency change) hits all of them alike. A contender's figure
is the median over repetitions of its per-step time; min and max are kept for the table.
"""

from __future__ import annotations

import gc
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

# Some machines set these so that old OpenBLAS builds pick a safe kernel; they slow a current
# NumPy (and the peers that use OpenBLAS) down. The benchmark process runs without them, for
# every contender alike; tests and CI keep whatever the machine sets.
BLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


# OpenBLAS's worker threads spin for about 0.1 s after each call before they sleep; in a process
# that alternates NumPy with PyTorch (MKL and OpenMP threads of its own) they take the cores from
# PyTorch's threads and triple its time. 2**4 cycles makes them sleep at once. Set for the
# benchmark process only, where every contender shares it.
THREAD_TIMEOUT = ("OPENBLAS_THREAD_TIMEOUT", "4")


def reexec_without_blas_overrides() -> None:
    """Restart this process without the OpenBLAS overrides (before NumPy is imported)."""
    if "numpy" in sys.modules or os.environ.get("BACKPROP_BENCH_CHILD"):
        return
    env = {k: v for k, v in os.environ.items() if k not in BLAS_OVERRIDES}
    env["BACKPROP_BENCH_UNSET"] = ",".join(k for k in BLAS_OVERRIDES if k in os.environ)
    env.setdefault(*THREAD_TIMEOUT)
    env["BACKPROP_BENCH_CHILD"] = "1"
    os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], env)


def blas_info() -> str:
    """One line per BLAS/OpenMP library loaded: which kernel and how many threads."""
    from threadpoolctl import threadpool_info

    lines = []
    for info in threadpool_info():
        lines.append(
            f"{info.get('internal_api')} {info.get('version')} "
            f"kernel={info.get('architecture', '-')} threads={info.get('num_threads')} "
            f"({os.path.basename(info.get('filepath', ''))})"
        )
    unset = os.environ.get("BACKPROP_BENCH_UNSET")
    if unset:
        lines.append(f"unset for this run (all contenders alike): {unset}")
    if os.environ.get(THREAD_TIMEOUT[0]):
        lines.append(f"{THREAD_TIMEOUT[0]}={os.environ[THREAD_TIMEOUT[0]]} (idle threads sleep)")
    return "\n".join(lines)


@dataclass
class Result:
    name: str
    times: list[float] = field(default_factory=list)  # seconds per step, one per repetition
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def min(self) -> float:
        return min(self.times)

    @property
    def max(self) -> float:
        return max(self.times)


def per_step(fn: Callable[[], object], steps: int, collect: str | None = None) -> float:
    """Seconds per call of ``fn``.

    ``collect="clean"``: the heap starts clean (an untimed ``gc.collect()``), so no garbage of
    another contender is collected inside this timing. ``collect="own"``: the same, and the
    timing ends with a timed ``gc.collect()``, so the contender also pays for collecting the
    garbage it made itself (its steady-state cost in a training loop).
    """
    if collect:
        gc.collect()
    t0 = time.perf_counter()
    for _ in range(steps):
        fn()
    if collect == "own":
        gc.collect()
    return (time.perf_counter() - t0) / steps


def interleaved(
    contenders: dict[str, Callable[[], object]],
    steps: int,
    reps: int,
    warmup: int = 2,
    pause: float = 0.0,
    collect: str | None = None,
) -> dict[str, Result]:
    """Time each contender ``reps`` times, in turn, ``steps`` calls per timing.

    ``pause`` (seconds) is slept before each timing. Multithreaded BLAS libraries keep their
    worker threads spinning for a while after a call (OpenBLAS about 0.1 s); without a pause
    those spinning threads of one library steal the cores from the next contender's threads.
    """
    results = {name: Result(name) for name in contenders}
    for fn in contenders.values():
        for _ in range(warmup):
            fn()
    for _ in range(reps):
        for name, fn in contenders.items():
            if pause:
                time.sleep(pause)
            results[name].times.append(per_step(fn, steps, collect))
    return results


def fmt_ms(r: Result) -> str:
    return f"{r.median * 1e3:.3f} ({r.min * 1e3:.3f}-{r.max * 1e3:.3f})"


def fmt_us(r: Result) -> str:
    return f"{r.median * 1e6:.2f} ({r.min * 1e6:.2f}-{r.max * 1e6:.2f})"
