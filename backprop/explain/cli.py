"""The ``backprop example`` subcommand: the lectures' worked examples from the command line.

backprop example --list
backprop example linear-000 --out pictures/
backprop example shared-2221-004 --json
backprop example chain-001 --html chain.html
"""

from __future__ import annotations

import argparse
import json
import sys

from . import examples, fmt


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``example`` on an argparse subparsers object."""
    p = subparsers.add_parser(
        "example", help="run a worked example of the lectures (forward, backward, update)"
    )
    p.add_argument("name", nargs="?", help="the example's name (see --list)")
    p.add_argument("--list", action="store_true", help="list the examples and their lectures")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--out", default=None, help="write the graph pictures (PNG) into this folder")
    p.add_argument(
        "--html", default=None, metavar="FILE", help="write the interactive explorer to FILE"
    )
    p.add_argument(
        "--kink",
        choices=("pytorch", "lecture"),
        default="pytorch",
        help="the derivative at exactly 0 of a kinked activation in the references: PyTorch's "
        "(the engine's) or the lectures' x >= 0 branch",
    )
    p.set_defaults(func=main)
    return p


def _v(a) -> str:
    if isinstance(a, bool):
        return "yes" if a else "no"
    return fmt.arr(a, max_items=64)


_section = fmt.section


def _given(v) -> str:
    """A given: text as it is, numbers (and lists of them) by ``fmt``, a dict item by item."""
    if isinstance(v, str):
        return v
    if isinstance(v, dict):
        return "; ".join(f"{k}: {_given(x)}" for k, x in v.items())
    try:
        return _v(v)
    except (TypeError, ValueError):
        return str(v)


def render(res: dict) -> str:
    """The example as text: givens, forward values, backward steps, gradient, update."""
    out = [f"{res['name']}  ({res['lecture']})  {res['title']}"]
    if "kink" in res:
        out.append(f"  at a kink (a pre-activation of exactly 0): {res['kink']}'s convention")
    if "givens" in res:
        out.append(_section("givens"))
        out += [f"  {k}: {_given(v)}" for k, v in res["givens"].items()]
    if "forward" in res:
        out.append(_section("forward values"))
        out += [f"  {k} = {_v(v)}" for k, v in res["forward"].items()]
    if "trace" in res:
        out.append(_section("backward pass, step by step"))
        out.append(res["trace"].table())
    if "explanation" in res:
        out.append(_section("one gradient as a sum over chain-rule paths"))
        out.append(str(res["explanation"]))
    if "textbook" in res:
        out.append(_section("003's delta recursion (pure NumPy reference)"))
        out.append(res["textbook"]["text"])
        diff = res["textbook"]["max_abs_difference_vs_engine"]
        out.append(f"  max |G(l) - engine gradient| = {fmt.num(diff, 3)}")
    if "gradient" in res:
        out.append(_section("gradient"))
        out += [f"  dL/d{k} = {_v(v)}" for k, v in res["gradient"].items()]
        for k, v in res.get("closed_form", {}).items():
            out.append(f"  closed form {k} = {_v(v)}")
        for k, v in res.get("input_gradients", {}).items():
            out.append(f"  {k} = {_v(v)}")
        if res.get("backward_disagrees"):
            out.append(f"  WARNING: Tensor.backward() disagrees for {res['backward_disagrees']}")
    if "update" in res:
        out.append(_section(f"update (learning rate {res['lr']})"))
        out += [f"  {k} = {_v(v)}" for k, v in res["update"].items()]
    for key in ("sgd_step", "minibatch_sgd_step"):
        if key in res:
            out.append(_section(key.replace("_", " ")))
            out += [f"  {k} = {_v(v)}" for k, v in res[key].items()]
    if "answers" in res:
        out.append(_section("classwork answers (001)"))
        out += [f"  {k}: {v}" for k, v in res["answers"].items()]
    if "layer_gradient_norms" in res:
        out.append(_section("per-layer gradient norms ||dL/dW(l)||"))
        for act, ns in res["layer_gradient_norms"].items():
            out.append(f"  {act:8s} " + " ".join(fmt.num(n, 3) for n in ns))
    if "kinks" in res:
        out.append(_section(f"exactly-zero pre-activations, kink={res.get('kink')!r}"))
        for act, row in res["kinks"].items():
            cells = "; ".join(
                f"{k} = {_v(v)}" for k, v in row.items() if not k.startswith("dL/dW1")
            )
            out.append(f"  {act}: {cells}")
            out += [f"      {k} = {_v(v)}" for k, v in row.items() if k.startswith("dL/dW1")]
    if "check" in res:
        out.append(_section("the lecture's printed numbers, checked"))
        out.append(str(res["check"]))
    if res.get("discrepancies"):
        out.append(_section("discrepancies (quantity: printed -> computed)"))
        for d in res["discrepancies"]:
            comp = d["computed"]
            comp = fmt.num(comp) if isinstance(comp, float) else comp
            out.append(f"  {d['quantity']}: {d['printed']} -> {comp}")
            out.append(f"      line: {d['line']}")
            if d.get("why") and d["why"] != "formula":
                out.append(f"      why:  {d['why']}")
    for n in res.get("notes", []):
        out.append(f"note: {n}")
    if res.get("picture"):
        out.append(f"\npicture: {res['picture']}")
    if res.get("explorer"):
        out.append(f"explorer: {res['explorer']} (open it in a browser)")
    return fmt.wrap("\n".join(out))


def main(args: argparse.Namespace) -> int:
    if args.list or not args.name:
        rows = examples.names()
        if args.json:
            print(json.dumps([{"name": n, "lecture": f, "title": t} for n, f, t in rows], indent=2))
        else:
            for n, f, t in rows:
                print(fmt.wrap(f"{n:18s} {f:28s} {t}", indent=48))
        return 0
    if args.out is not None:
        from pathlib import Path

        out = Path(args.out)
        if out.exists() and not out.is_dir():
            print(f"backprop example: error: --out {out} is a file; give a folder", file=sys.stderr)
            return 2
    try:
        res = examples.run(args.name, out_dir=args.out, kink=args.kink)
    except KeyError as e:
        print(f"backprop example: error: {e.args[0]}", file=sys.stderr)
        return 2
    if args.html:
        from .explore import explore

        res["explorer"] = explore(
            res["_graph"],
            args.html,
            title=f"{res['name']}: {res['title']}",
            inputs=res.get("_inputs", ()),
        )
    if args.json:
        print(json.dumps(examples.to_jsonable(res), indent=2))
    else:
        print(render(res))
    return 0
