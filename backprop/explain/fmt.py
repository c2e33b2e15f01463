"""One formatting module for everything the explainer prints: numbers, arrays, shapes,
Jacobians, node labels and line wrapping for a 100-column terminal.

Conventions, said once: a gradient ``dL/dX`` has the shape of ``X`` (the lectures'
*denominator layout*, 003); a local Jacobian ``d child / d parent`` is printed in the same
layout, one row per element of the parent and one column per element of the child, so that
``dL/dparent = (d child / d parent) @ dL/dchild``.

>>> num(0.000606178), arr([1.5, 0.2]), shape((3, 4)), shape(())
('0.000606178', '[1.5, 0.2]', '3x4', 'scalar')
>>> wrap("a = " + " + ".join(["x"] * 60), width=40).splitlines()[1].startswith("      ")
True
"""

from __future__ import annotations

import re
import textwrap

import numpy as np

WIDTH = 100  # the terminal width every text output fits


def num(x, digits: int = 6) -> str:
    """A number with ``digits`` significant digits (``-0`` printed as ``0``)."""
    v = float(np.asarray(x).item())
    s = f"{v:.{digits}g}"
    return "0" if s == "-0" else s


def arr(a, digits: int = 4, max_items: int = 12) -> str:
    """A number, a short vector ``[1.5, 0.2]``, a small matrix ``[[..], [..]]``, or, for
    anything larger, its shape and range (never its shape alone, as if it were a value)."""
    a = np.asarray(a)
    if a.size == 1:
        return num(a, digits + 2)
    if a.size <= max_items and a.ndim <= 2:
        if a.ndim == 1:
            return "[" + ", ".join(num(v, digits) for v in a) + "]"
        return "[" + ", ".join(arr(r, digits, max_items) for r in a) + "]"
    return (
        f"<{shape(a.shape)} tensor, min {num(a.min(), 3)}, max {num(a.max(), 3)}, "
        f"mean {num(a.mean(), 3)}>"
    )


def shape(s: tuple) -> str:
    return "scalar" if tuple(s) == () else "x".join(str(d) for d in s)


def jac(J, cshape: tuple, pshape: tuple) -> str:
    """A local partial ``d child / d parent``: a number, ``diag(...)`` for elementwise ops, or a
    Jacobian in denominator layout (rows: the parent's elements, columns: the child's).

    ``J`` is given as the explainer computes it: row ``k`` is ``d child_k / d parent``."""
    J = np.asarray(J)
    if J.ndim == 0 or J.size == 1:
        return num(J)
    if tuple(cshape) == tuple(pshape) and J.shape[0] == J.shape[1]:
        if np.all(J == np.diag(np.diag(J))):
            return f"diag({arr(np.diag(J).reshape(pshape))})"
    if J.shape[0] == 1:  # a scalar child: the gradient has the parent's shape
        return arr(J.reshape(pshape))
    return f"{J.shape[1]}x{J.shape[0]} Jacobian {arr(J.T)}"


def section(title: str, width: int = 72) -> str:
    """A heading line: ``== title ====...`` (``width`` columns, or longer for a long title)."""
    return f"\n== {title} " + "=" * max(0, width - 2 - len(title))


def wrap(text: str, width: int = WIDTH, indent: int = 6) -> str:
    """Wrap every line of ``text`` to ``width`` columns; continuation lines are indented by
    ``indent`` more than the line they continue. Nothing is cut."""
    out = []
    for line in text.splitlines() or [""]:
        if len(line) <= width:
            out.append(line)
            continue
        lead = len(line) - len(line.lstrip(" "))
        out += textwrap.wrap(
            line.strip(),
            width=width,
            initial_indent=" " * lead,
            subsequent_indent=" " * (lead + indent),
            break_long_words=True,
            break_on_hyphens=False,
        )
    return "\n".join(out)


# -- expressions for nodes the user did not name ---------------------------------------------

_SYMBOLS = re.compile(r"(?<![A-Za-z0-9_'])(d?)([absABCYp]|s_i|s)(?![A-Za-z0-9_(])")
_SIMPLE = re.compile(r"^[A-Za-z0-9_.\[\]#]+$|^-?[0-9.e+-]+$|^\w+\(.*\)$")


def template(fn) -> str | None:
    """The expression an op computes, read off its first formula (``d(a+b)/da`` -> ``a+b``)."""
    formulas = getattr(fn, "formulas", ())
    if not formulas or not formulas[0]:
        return None
    m = re.match(r"\s*d\s*(.+?)\s*/\s*d", formulas[0])
    if not m:
        return None
    t = re.sub(r"(?<=[\w)])(?:_j|\[j\])$", "", m.group(1).strip())  # cumsum(s)_j: cumsum(s)
    if t.startswith("(") and t.endswith(")") and _balanced(t[1:-1]):
        t = t[1:-1]
    return t


def _balanced(t: str) -> bool:
    depth = 0
    for ch in t:
        depth += ch == "("
        depth -= ch == ")"
        if depth < 0:
            return False
    return depth == 0


def _top_level_ops(expr: str) -> set[str]:
    """The binary operators of ``expr`` outside any parentheses (``a * (b + c)`` -> ``{*}``)."""
    ops, depth = set(), 0
    for i, ch in enumerate(expr):
        depth += ch in "(["
        depth -= ch in ")]"
        if depth == 0 and ch in "+-*/@^" and 0 < i < len(expr) - 1 and expr[i - 1] == " ":
            ops.add(ch)
    return ops


_LOOSER = {"+": set(), "-": set(), "*": {"+", "-"}, "@": {"+", "-"}, "/": {"+", "-", "*", "/"}}


def _one_call(name: str) -> bool:
    """Whether ``name`` is one call, ``f(...)``, whose parenthesis closes at the end (not
    ``f(a) - (b)``)."""
    m = re.match(r"^[\w.]+\(", name)
    if not m:
        return False
    depth = 0
    for i in range(m.end() - 1, len(name)):
        depth += name[i] == "("
        depth -= name[i] == ")"
        if depth == 0:
            return i == len(name) - 1
    return False


def group(name: str, op: str | None = None, right: bool = False) -> str:
    """``name`` in parentheses where it would be misread: ``yhat - y`` -> ``(yhat - y)``
    inside a power or a call, but ``x0 * w0`` stays bare inside a sum (``op`` is the operator
    it stands beside; ``right`` when it is the right operand)."""
    if _SIMPLE.match(name) and _balanced(name) and (not name.endswith(")") or _one_call(name)):
        return name
    top = _top_level_ops(name)
    if not top:
        return name
    if op in _LOOSER:
        looser = set(_LOOSER[op])
        if right and op in "-/":
            looser |= {"+", "-"} if op == "-" else {"+", "-", "*", "/", "@"}
        if not top & looser:
            return name
    return f"({name})"


def spaced(expr: str) -> str:
    """Binary operators with spaces around them: ``a+b`` -> ``a + b``."""
    return re.sub(r"(?<=[\w)\]])\s*([+\-@*])\s*(?=[\w(\[])", r" \1 ", expr)


def expression(fn, names: list[str], p=None) -> str | None:
    """What a node computes, in its inputs' names: ``(yhat - y)^2`` rather than ``pow_10``."""
    t = template(fn)
    if t is None:
        return None
    sub = {}
    if names:
        sub.update(a=names[0], s=names[0], A=names[0], s_i=names[0])
    if len(names) > 1:
        sub.update(b=names[1], B=names[1])
    if len(names) > 2:
        sub.update(C=names[2])
    if p is not None:
        sub["p"] = num(p)
    sub[ALL] = ", ".join(names)
    return substitute(spaced(t), sub)


ALL = "s_1..s_k"  # in a rule (cat, stack): every input, in order


def elements(text: str) -> str:
    """A one-input rule's elements written as indices of its input: ``ds_i`` -> ``ds[i]``,
    ``cumsum(s)_j`` -> ``cumsum(s)[j]``, so that ``s`` takes the input's name and the index
    stays (``dx0[i]``); in ``cat`` and ``stack`` ``s_i`` is the i-th input instead."""
    text = re.sub(r"(?<![A-Za-ce-z0-9_])(d?)s_([ijk])\b", r"\1s[\2]", text)
    return re.sub(r"(?<=\))_([ijk])\b", r"[\1]", text)


def substitute(text: str, sub: dict[str, str]) -> str:
    """Put names for an op's symbols (``a``, ``b``, ``s``...), in parentheses where compound,
    without doubling the parentheses of a call: ``tanh(s)`` -> ``tanh(w * 3)``."""

    def put(m):
        sym = m.group(2)
        if sym not in sub:
            return m.group(0)
        if m.group(1):  # d<name>: the name alone, in parentheses if not one word
            return dname(sub[sym])
        before = text[: m.start()].rstrip()
        after = text[m.end() :].lstrip()
        name = sub[sym]
        op = None
        if after[:1] in ("+", "-", "*", "/", "@"):
            op = after[0]
        if before[-1:] in ("+", "-", "*", "/", "@"):
            if name.startswith("-"):  # a - (-0.74), never a - -0.74
                return f"({name})"
            return group(name, before[-1], right=True)
        if name.startswith("-") and after[:1] == "^":  # (-a)^2, not -a^2
            return f"({name})"
        return group(name, op)

    every = sub.get(ALL)
    if every is not None:  # every input (cat(x, y)); put in last, so never substituted again
        text = text.replace(ALL, "\0")
    out = _SYMBOLS.sub(put, text)
    out = _single_parens(out)
    return out if every is None else out.replace("\0", every)


def _single_parens(text: str) -> str:
    """A call's doubled parentheses made single: ``sum((a * x))`` -> ``sum(a * x)``."""
    i = 0
    while True:
        m = re.compile(r"(?<=[A-Za-z0-9_])\(\(").search(text, i)
        if m is None:
            return text
        start, depth = m.start(), 0
        close = None
        for j in range(start, len(text)):  # the parenthesis closing the call's own
            depth += text[j] == "("
            depth -= text[j] == ")"
            if depth == 0:
                close = j
                break
        inner = text[start + 1 : close] if close else ""
        if close and inner[-1:] == ")" and inner[:1] == "(" and _balanced(inner[1:-1]):
            text = text[:start] + inner + text[close + 1 :]
        i = m.start() + 1


_NAME = re.compile(r"^[A-Za-z0-9_.#\[\]]+$")


def dname(name: str) -> str:
    """``d`` and a name, in parentheses unless the name is one word: ``dz0``,
    ``d(yhat - y)``, ``d(sigma(z))``."""
    return f"d{name}" if _NAME.match(name) else f"d({name})"


def d(num_: str, den: str) -> str:
    """``d num / d den`` with compound names in parentheses: ``dL/d(yhat - y)``."""
    return f"{dname(num_)}/{dname(den)}"
