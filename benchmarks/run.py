"""Run every benchmark, print the tables and the targets' ratios, optionally write the docs.

    python -m benchmarks.run                      # print
    python -m benchmarks.run --write docs/performance.md
    python -m benchmarks.run --quick              # fewer rounds

Every contender of every workload runs in its own fresh process, in the user's environment
(``benchmarks.common``), in alternating rounds. Peers that are not installed are skipped (they
are the ``bench`` extra, never a dependency).
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata as md
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import chain, common, memory, micrograd_demo, mlp, train_loop

START, END = "<!-- bench:start -->", "<!-- bench:end -->"
LARGE, SMALL = ((784, 512, 256, 10), 128), ((64, 32, 10), 32)

# The figures of the run before issue 8's changes (docs/performance.md of 2026-11-25, one
# process): the "no regression" targets allow 10% on the timings (the machine is shared).
BEFORE = {"step_memory": 0.83, "import_mb": 41.9, "micrograd_once": 0.53, "micrograd_steady": 0.45}


def _versions() -> str:
    names = ["numpy", "torch", "scikit-learn", "autograd", "mygrad", "micrograd", "jax"]
    got = []
    for n in names:
        try:
            got.append(f"{n} {md.version(n)}")
        except md.PackageNotFoundError:
            got.append(f"{n} (not installed)")
    return f"Python {platform.python_version()}, backprop {md.version('backprop')}, " + ", ".join(
        got
    )


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _load() -> str:
    try:
        one, five, _ = os.getloadavg()
        return f"load average {one:.2f} (1 min), {five:.2f} (5 min)"
    except OSError:
        return "load average unknown"


class Report:
    def __init__(self):
        self.lines: list[str] = []
        self.targets: list[tuple[str, float, float, str]] = []  # (what, ratio, limit, note)
        self.pools: dict[str, str] = {}  # contender -> the BLAS and threads it ran with

    def out(self, line: str = "") -> None:
        print(line, flush=True)
        self.lines.append(line)

    def target(self, what: str, ratio: float, limit: float, note: str = "") -> None:
        self.targets.append((what, ratio, limit, note))

    def ran_with(self, results: dict) -> None:
        for name, r in results.items():
            self.pools.setdefault(name, r.pools)


def bench_mlp(rep: Report, sizes, batch, steps, n_rounds, before=None) -> dict:
    old = (f"backprop eager, before ({before[0]})", "backprop eager", before[1]) if before else None
    got, skipped = common.rounds(
        "mlp",
        list(mlp.CONTENDERS),
        n_rounds,
        before=old,
        sizes=sizes,
        batch=batch,
        steps=steps,
        blocks=5,
    )
    res = got["times"]
    rep.ran_with(res)
    floor, hand = res["GEMM-only floor"].median, res["hand-written NumPy"].median
    torch_t = res["PyTorch eager"].median if "PyTorch eager" in res else None
    name = "-".join(map(str, sizes))
    rep.out(f"### MLP {name}, ReLU, batch {batch}: ms per training step")
    rep.out()
    rep.out("| contender | median (min-max) ms | vs GEMM floor | vs NumPy | vs PyTorch |")
    rep.out("| --- | --- | --- | --- | --- |")
    for r in res.values():
        vs_t = f"{r.median / torch_t:.2f}x" if torch_t else "-"
        rep.out(
            f"| {r.name} | {common.fmt_ms(r)} | {r.median / floor:.2f}x | "
            f"{r.median / hand:.2f}x | {vs_t} |"
        )
    if skipped:
        rep.out(f"\nnot installed: {', '.join(skipped)}")
    rep.out()
    return {k: r.median for k, r in res.items()}


def bench_chain(rep: Report, n_rounds: int) -> dict:
    out = {}
    for shape, label in (((16,), "16-element tensor"), ((), "scalar (0-d)")):
        got, skipped = common.rounds(
            "chain", list(chain.CONTENDERS), n_rounds, ("fwd", "bwd"), shape=shape, blocks=15
        )
        fwd, bwd = got["fwd"], got["bwd"]
        rep.ran_with(fwd)
        rep.out(f"### Per-op overhead, chain of {chain.N_OPS} ops on a {label}: us per op")
        rep.out()
        rep.out("| contender | forward | backward | total | vs PyTorch |")
        rep.out("| --- | --- | --- | --- | --- |")
        med = {}
        for k, r in fwd.items():
            f = r.median * 1e6
            b = bwd[k].median * 1e6 if k in bwd else None
            med[k] = (f, b, f + (b or 0))
        torch_total = med.get("PyTorch eager", (0, 0, None))[2]
        for k, (f, b, tot) in med.items():
            bs = f"{b:.2f}" if b is not None else "(in total)"
            vs = f"{tot / torch_total:.2f}x" if torch_total else "-"
            rep.out(f"| {k} | {f:.2f} | {bs} | {tot:.2f} | {vs} |")
        if skipped:
            rep.out(f"\nnot installed: {', '.join(skipped)}")
        rep.out()
        out[shape] = med
    return out


def bench_micrograd(rep: Report, n_rounds: int) -> dict:
    names = list(micrograd_demo.CONTENDERS)
    got, skipped = common.rounds("micrograd", names, n_rounds, ("once", "steady"), blocks=1)
    once, steady = got["once"], got["steady"]
    # Each timing starts from a clean heap: micrograd's graph is made of reference cycles
    # (closures) that only the cyclic collector frees. "one step" is the measure;
    # "steady state" also charges each contender for collecting its own garbage.
    rep.out(
        "### micrograd's demo: MLP(2, [16, 16, 1]) on 100 points from scalars, "
        "forward + backward (s per step)"
    )
    rep.out()
    rep.out(
        "| contender | one step, clean heap: median (min-max) s | steady state, own "
        "garbage collected: median (min-max) s |"
    )
    rep.out("| --- | --- | --- |")
    for name in once:
        a, b = once[name], steady[name]
        rep.out(
            f"| {name} | {a.median:.3f} ({a.min:.3f}-{a.max:.3f}) | "
            f"{b.median:.3f} ({b.min:.3f}-{b.max:.3f}) |"
        )
    if skipped:
        rep.out(f"\nnot installed: {', '.join(skipped)}")
    rep.out()
    return {k: (once[k].median, steady[k].median) for k in once}


def bench_memory(rep: Report) -> dict:
    sizes, batch = LARGE
    hand = common.in_process("memory", "hand-written NumPy", sizes=sizes, batch=batch)["bytes"]
    ours = common.in_process("memory", "backprop eager", sizes=sizes, batch=batch)["bytes"]
    imp = memory.import_rss_bytes()
    mb = 1 / 2**20
    rep.out("### Memory")
    rep.out()
    rep.out("| measure | MB | vs hand-written NumPy |")
    rep.out("| --- | --- | --- |")
    rep.out(
        f"| extra memory of one step, hand-written NumPy (784-512-256-10) | {hand * mb:.2f} "
        f"| 1.00x |"
    )
    rep.out(f"| extra memory of one step, backprop eager | {ours * mb:.2f} | {ours / hand:.2f}x |")
    rep.out(f"| resident memory added by `import backprop` | {imp * mb:.1f} | |")
    rep.out()
    return {"hand": hand, "ours": ours, "import": imp}


def bench_train(rep: Report, n_rounds: int) -> dict | None:
    names = list(train_loop.CONTENDERS)
    with tempfile.TemporaryDirectory(prefix="backprop-bench-") as tmp:
        data = str(train_loop.make_data(Path(tmp) / "mnist-shaped"))
        got, skipped = common.rounds(
            "train",
            names,
            n_rounds,
            ("epoch_seconds",),
            data=data,
            tmp=tmp,
            epochs=train_loop.EPOCHS,
        )
    res = got["epoch_seconds"]
    rep.ran_with(res)
    t = train_loop
    rep.out(
        f"### The main job: `backprop train` on MNIST-shaped IDX files ({t.N_TRAIN} training "
        f"images, {t.VAL_FRACTION:.0%} for validation), 784-{'-'.join(map(str, t.HIDDEN))}-10 "
        f"ReLU, SGD lr {t.LR}, batch {t.BATCH}: seconds per epoch (training + validation)"
    )
    rep.out()
    torch_t = res["PyTorch, the same loop"].median if "PyTorch, the same loop" in res else None
    rep.out("| contender | median (min-max) s per epoch | vs PyTorch |")
    rep.out("| --- | --- | --- |")
    for r in res.values():
        vs = f"{r.median / torch_t:.2f}x" if torch_t else "-"
        rep.out(f"| {r.name} | {r.median:.3f} ({r.min:.3f}-{r.max:.3f}) | {vs} |")
    if skipped:
        rep.out(f"\nnot installed: {', '.join(skipped)}")
    rep.out()
    return {k: r.median for k, r in res.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", metavar="PATH", help="replace the generated block of this file")
    ap.add_argument("--quick", action="store_true", help="fewer rounds")
    ap.add_argument(
        "--before",
        metavar="REV",
        help="also time the MLP steps with backprop as it was at this git revision",
    )
    args = ap.parse_args(argv)
    n_rounds = 2 if args.quick else 3

    rep = Report()
    t0 = time.time()
    load_before = _load()
    rep.out(
        f"Measured {datetime.date.today()} by `python -m benchmarks.run`, on {_cpu()}, "
        f"{os.cpu_count()} cores, {platform.system()} {platform.release()}; "
        f"{load_before} at the start."
    )
    rep.out()
    rep.out(_versions() + ".")
    rep.out()
    unset = common.unset_overrides()
    rep.out(
        "Each contender in its own process, the user's environment"
        + (f" less {', '.join(unset)} (see above)" if unset else "")
        + f"; {n_rounds} alternating rounds; medians of all timing blocks."
    )
    rep.out()
    old_tree = tempfile.TemporaryDirectory(prefix="backprop-before-")
    before = None
    if args.before:
        path = common.extract_backprop(args.before, old_tree.name)
        before = (args.before, path) if path else None
        if not path:
            rep.out(f"(no revision {args.before} in this checkout: no before row)\n")
    big = bench_mlp(rep, *LARGE, steps=20, n_rounds=n_rounds, before=before)
    small = bench_mlp(rep, *SMALL, steps=500, n_rounds=n_rounds, before=before)
    old_tree.cleanup()
    ch = bench_chain(rep, n_rounds)
    tr = bench_train(rep, 2)
    mg = bench_micrograd(rep, 2)
    mem = bench_memory(rep)

    rep.out("### The BLAS kernel and threads each contender ran with (threadpoolctl)")
    rep.out()
    rep.out("| contender | libraries: kernel x threads |")
    rep.out("| --- | --- |")
    for name, pools in rep.pools.items():
        rep.out(f"| {name} | {pools} |")
    rep.out()

    bp_big, bp_small = big["backprop eager"], small["backprop eager"]
    if "PyTorch eager" in big:
        rep.target(
            "MLP 784-512-256-10: backprop eager / PyTorch eager", bp_big / big["PyTorch eager"], 0.9
        )
    rep.target(
        "MLP 784-512-256-10: backprop eager / GEMM-only floor",
        bp_big / big["GEMM-only floor"],
        1.25,
    )
    if "PyTorch eager" in small:
        rep.target(
            "MLP 64-32-10: backprop eager / PyTorch eager", bp_small / small["PyTorch eager"], 0.5
        )
    _, _, tot = ch[(16,)]["backprop"]
    if "PyTorch eager" in ch[(16,)]:
        rep.target(
            "per-op overhead, 16 elements: backprop / PyTorch eager",
            tot / ch[(16,)]["PyTorch eager"][2],
            0.75,
            f"{tot:.2f} us/op",
        )
    if tr and "PyTorch, the same loop" in tr:
        rep.target(
            "backprop train, seconds per epoch / PyTorch's loop (no limit set: reported)",
            tr["backprop train"] / tr["PyTorch, the same loop"],
            float("inf"),
        )
    if "micrograd" in mg:
        ours, theirs = mg["backprop (0-d tensors)"], mg["micrograd"]
        rep.target(
            f"micrograd demo, one step: backprop / micrograd (before: {BEFORE['micrograd_once']})",
            ours[0] / theirs[0],
            BEFORE["micrograd_once"] * 1.1,
        )
        rep.target(
            "micrograd demo, steady state: backprop / micrograd "
            f"(before: {BEFORE['micrograd_steady']})",
            ours[1] / theirs[1],
            BEFORE["micrograd_steady"] * 1.1,
        )
    rep.target(
        "memory of one large-MLP step: backprop / hand-written NumPy "
        f"(before: {BEFORE['step_memory']})",
        mem["ours"] / mem["hand"],
        BEFORE["step_memory"] * 1.02,
    )
    rep.target(
        f"import backprop: resident MB / {BEFORE['import_mb']} MB (before)",
        mem["import"] / 2**20 / BEFORE["import_mb"],
        1.02,
        f"{mem['import'] / 2**20:.1f} MB",
    )

    rep.out("### Targets")
    rep.out()
    rep.out("| target | ratio | limit | met |")
    rep.out("| --- | --- | --- | --- |")
    for what, ratio, limit, note in rep.targets:
        extra = f" ({note})" if note else ""
        lim = f"{limit:.2f}" if limit != float("inf") else "-"
        met = "-" if limit == float("inf") else "yes" if ratio <= limit else "NO"
        rep.out(f"| {what}{extra} | {ratio:.2f} | {lim} | {met} |")
    rep.out()
    rep.out(f"(whole run: {time.time() - t0:.0f} s; {_load()} at the end)")

    if args.write:
        _write(args.write, rep.lines)
        print(f"wrote {args.write}", file=sys.stderr)
    return 0


def _write(path: str, lines: list[str]) -> None:
    block = START + "\n" + "\n".join(lines) + "\n" + END
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        text = "# Performance\n\n" + START + "\n" + END + "\n"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    with open(path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    sys.exit(main())
