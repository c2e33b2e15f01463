"""Memory: the extra memory one training step allocates, and what importing backprop costs."""

from __future__ import annotations

import subprocess
import sys
import tracemalloc

_IMPORT_COST = """
def rss():
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * 4096
before = rss()
import backprop
print(rss() - before)
"""


def step_peak_bytes(step) -> int:
    """Peak bytes allocated above the starting point during one step (NumPy reports to
    tracemalloc, so array buffers are counted)."""
    step()
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    step()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak - base


def import_rss_bytes() -> int:
    """Resident memory added by ``import backprop`` in a fresh interpreter."""
    from benchmarks.common import user_env

    out = subprocess.run(
        [sys.executable, "-c", _IMPORT_COST],
        env=user_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout.strip())
