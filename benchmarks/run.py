"""Run every benchmark, print the tables and the targets' ratios, optionally write the docs.

    python -m benchmarks.run                      # print
    python -m benchmarks.run --write docs/performance.md
    python -m benchmarks.run --quick              # fewer repetitions

Peers that are not installed are skipped (they are the ``bench`` extra, never a dependency).
"""

from __future__ import annotations

from benchmarks.common import reexec_without_blas_overrides

reexec_without_blas_overrides()  # before NumPy loads: the BLAS reads its variables once

import argparse  # noqa: E402
import datetime  # noqa: E402
import importlib.metadata as md  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

from benchmarks import chain, common, memory, micrograd_demo, mlp  # noqa: E402

START, END = "<!-- bench:start -->", "<!-- bench:end -->"
LARGE, SMALL = ((784, 512, 256, 10), 128), ((64, 32, 10), 32)


def _build(contenders, *args):
    built, skipped = {}, []
    for name, make in contenders.items():
        try:
            built[name] = make(*args)
        except ImportError as e:
            skipped.append(f"{name} ({e.name or e})")
    return built, skipped


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


class Report:
    def __init__(self):
        self.lines: list[str] = []
        self.targets: list[tuple[str, float, float, str]] = []  # (what, ratio, limit, vs)

    def out(self, line: str = "") -> None:
        print(line, flush=True)
        self.lines.append(line)

    def target(self, what: str, ratio: float, limit: float, note: str = "") -> None:
        self.targets.append((what, ratio, limit, note))


def bench_mlp(rep: Report, sizes, batch, steps, reps) -> dict:
    built, skipped = _build(mlp.CONTENDERS, sizes, batch)
    res = common.interleaved(built, steps, reps)
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


def bench_chain(rep: Report, reps: int) -> dict:
    out = {}
    for shape, label in (((16,), "16-element tensor"), ((), "scalar (0-d)")):
        built, skipped = _build(chain.CONTENDERS, shape)
        for run in built.values():
            run()
        times = {k: [] for k in built}
        for _ in range(reps):
            for k, run in built.items():
                times[k].append(run())
        rep.out(f"### Per-op overhead, chain of {chain.N_OPS} ops on a {label}: us per op")
        rep.out()
        rep.out("| contender | forward | backward | total | vs PyTorch |")
        rep.out("| --- | --- | --- | --- | --- |")
        med = {}
        for k, ts in times.items():
            f = statistics.median(t[0] for t in ts) / chain.N_OPS * 1e6
            b = [t[1] for t in ts if t[1] is not None]
            b = statistics.median(b) / chain.N_OPS * 1e6 if b else None
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


def bench_micrograd(rep: Report, reps: int) -> dict:
    built, skipped = _build(micrograd_demo.CONTENDERS)
    # Each timing starts from a clean heap: micrograd's graph is made of reference cycles
    # (closures) that only the cyclic collector frees, and left uncollected they would be
    # collected inside the next contender's timing. "one step" is the measure (about
    # 0.76 s for micrograd); "steady state" also charges each contender for collecting its own
    # garbage, as a training loop does.
    once = common.interleaved(built, 1, reps, warmup=1, collect="clean")
    steady = common.interleaved(built, 3, reps, warmup=0, collect="own")
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
    hand = memory.step_peak_bytes(mlp.make_numpy(sizes, batch))
    ours = memory.step_peak_bytes(mlp.make_backprop(sizes, batch))
    comp = memory.step_peak_bytes(mlp.make_backprop_compiled(sizes, batch))
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
    rep.out(
        f"| extra memory of one step, backprop compiled | {comp * mb:.2f} | {comp / hand:.2f}x |"
    )
    rep.out(f"| resident memory added by `import backprop` | {imp * mb:.1f} | |")
    rep.out()
    return {"hand": hand, "ours": ours, "import": imp}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", metavar="PATH", help="replace the generated block of this file")
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = ap.parse_args(argv)
    reps = 5 if args.quick else 11

    try:  # the same thread count for PyTorch as the BLAS has
        import torch
        from threadpoolctl import threadpool_info

        blas_threads = max(i["num_threads"] for i in threadpool_info())
        torch.set_num_threads(blas_threads)
    except ImportError:
        torch = None

    rep = Report()
    t0 = time.time()
    rep.out(
        f"Measured {datetime.date.today()} by `python -m benchmarks.run`, on {_cpu()}, "
        f"{os.cpu_count()} cores, {platform.system()} {platform.release()}."
    )
    rep.out()
    rep.out(_versions() + ".")
    rep.out()
    rep.out("```")
    rep.out(common.blas_info())
    if torch is not None:
        rep.out(f"torch threads={torch.get_num_threads()}")
    rep.out("```")
    rep.out()
    big = bench_mlp(rep, *LARGE, steps=10, reps=reps)
    small = bench_mlp(rep, *SMALL, steps=300, reps=reps)
    ch = bench_chain(rep, reps)
    mg = bench_micrograd(rep, max(3, reps // 3))
    mem = bench_memory(rep)

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
            "MLP 64-32-10: backprop eager / PyTorch eager", bp_small / small["PyTorch eager"], 0.7
        )
    rep.target(
        "MLP 64-32-10: backprop compiled / hand-written NumPy",
        small["backprop compiled"] / small["hand-written NumPy"],
        1.0,
    )
    if "scikit-learn MLP" in small:
        rep.target(
            "MLP 64-32-10: backprop compiled / scikit-learn",
            small["backprop compiled"] / small["scikit-learn MLP"],
            1.0,
        )
    f, b, tot = ch[(16,)]["backprop"]
    rep.target(
        "per-op overhead, 16 elements: fwd+bwd us/op (limit 5 us)",
        tot / 5.0,
        1.0,
        f"{tot:.2f} us/op",
    )
    if "PyTorch eager" in ch[(16,)]:
        rep.target(
            "per-op overhead, 16 elements: backprop / PyTorch eager",
            tot / ch[(16,)]["PyTorch eager"][2],
            0.5,
        )
    if "micrograd" in mg:
        ours, theirs = mg["backprop (0-d tensors)"], mg["micrograd"]
        rep.target("micrograd demo, one step: backprop / micrograd", ours[0] / theirs[0], 1.0)
        rep.target("micrograd demo, steady state: backprop / micrograd", ours[1] / theirs[1], 1.0)
    rep.target(
        "memory of one large-MLP step: backprop / hand-written NumPy",
        mem["ours"] / mem["hand"],
        1.2,
    )
    rep.target(
        "import backprop: resident MB / 80 MB",
        mem["import"] / 2**20 / 80,
        1.0,
        f"{mem['import'] / 2**20:.1f} MB",
    )

    rep.out("### Targets")
    rep.out()
    rep.out("| target | ratio | limit | met |")
    rep.out("| --- | --- | --- | --- |")
    for what, ratio, limit, note in rep.targets:
        extra = f" ({note})" if note else ""
        rep.out(
            f"| {what}{extra} | {ratio:.2f} | {limit:.2f} | {'yes' if ratio <= limit else 'NO'} |"
        )
    rep.out()
    rep.out(f"(whole run: {time.time() - t0:.0f} s)")

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
