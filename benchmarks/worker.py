"""One contender of one workload, timed in this process, reported as one JSON line.

``benchmarks.run`` starts a fresh ``python -m benchmarks.worker KIND CONTENDER ARGS`` for every
contender of every round, so no contender runs next to another's threads, memory or garbage.
The report also says which BLAS kernel and how many threads the contender actually ran with
(threadpoolctl, read after the timing, when every library the contender uses is loaded).

    python -m benchmarks.worker mlp "backprop eager" '{"sizes": [64, 32, 10], "batch": 32}'
"""

from __future__ import annotations

import gc
import json
import sys
import time


def _pools() -> list[dict]:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    return [
        {
            "api": i.get("internal_api"),
            "kernel": i.get("architecture"),
            "threads": i.get("num_threads"),
            "lib": i.get("filepath", "").rsplit("/", 1)[-1],
            "version": i.get("version"),
        }
        for i in threadpool_info()
    ]


def _per_step(fn, steps: int, collect: str | None = None) -> float:
    """Seconds per call. ``collect``: "clean" starts from a collected heap; "own" also times
    collecting the garbage the calls made (a training loop's steady state)."""
    if collect:
        gc.collect()
    t0 = time.perf_counter()
    for _ in range(steps):
        fn()
    if collect == "own":
        gc.collect()
    return (time.perf_counter() - t0) / steps


def mlp(name: str, sizes, batch: int, steps: int, blocks: int) -> dict:
    from benchmarks import mlp as m

    step = m.CONTENDERS[name](tuple(sizes), batch)
    for _ in range(2):
        step()
    # at most ``steps`` per block, fewer when a step is slow (a loaded machine): about 50 ms
    steps = max(1, min(steps, int(0.05 / max(_per_step(step, 1), 1e-9))))
    return {"times": [_per_step(step, steps) for _ in range(blocks)]}


def chain(name: str, shape, blocks: int) -> dict:
    from benchmarks import chain as c

    run = c.CONTENDERS[name](tuple(shape))
    run()
    fwd, bwd = [], []
    for _ in range(blocks):
        f, b = run()
        fwd.append(f / c.N_OPS)
        if b is not None:
            bwd.append(b / c.N_OPS)
    return {"fwd": fwd, "bwd": bwd or None}


def micrograd(name: str, blocks: int) -> dict:
    from benchmarks import micrograd_demo as d

    step = d.CONTENDERS[name]()
    step()
    once = [_per_step(step, 1, collect="clean") for _ in range(blocks)]
    steady = [_per_step(step, 2, collect="own")]  # one figure: two steps and their garbage
    return {"once": once, "steady": steady}


def memory(name: str, sizes, batch: int) -> dict:
    from benchmarks import memory as mem
    from benchmarks import mlp as m

    return {"bytes": mem.step_peak_bytes(m.CONTENDERS[name](tuple(sizes), batch))}


def train(name: str, data: str, tmp: str, epochs: int) -> dict:
    import tempfile

    from benchmarks import train_loop

    run_dir = tempfile.mkdtemp(dir=tmp) + "/run"  # a new run each time, not a resume
    seconds = train_loop.CONTENDERS[name](data, run_dir, epochs)
    return {"epoch_seconds": seconds[1:]}  # the first epoch warms the caches up


KINDS = {"mlp": mlp, "chain": chain, "micrograd": micrograd, "memory": memory, "train": train}


def main(argv: list[str]) -> int:
    kind, name, args = argv[0], argv[1], json.loads(argv[2]) if len(argv) > 2 else {}
    old = args.pop("backprop_from", None)
    if old:  # an older backprop (benchmarks.run --before): its package ahead of this one
        sys.path.insert(0, old)
    try:
        out = KINDS[kind](name, **args)
    except ImportError as e:
        out = {"skipped": str(e.name or e)}
    out["pools"] = _pools()
    if "torch" in sys.modules:
        out["torch_threads"] = sys.modules["torch"].get_num_threads()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
