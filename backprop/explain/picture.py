"""``draw`` and ``to_dot``: the computational graph with values, gradients and local partials.

Each node shows its name, its value and the gradient of the output with respect to it: a
number, a short vector's numbers, a small matrix's numbers, or, for anything larger, a heatmap
labelled with its shape and range (a shape is never printed where a value belongs). Each edge
that carries a gradient is labelled with its local partial ``d child / d parent``: the rule in
the graph's names and its value. ``highlight=w`` paints the chain-rule paths from the output
to ``w`` yellow, as lecture 000 does for ``d loss / d w1``. A legend says what the colours mean.

The layout is Graphviz's ``dot`` (Debian package ``graphviz``): a layered layout with crossing
reduction that routes edges around nodes and places each edge label as a node of its own, so
labels never overlap and stay attached to their edge; its SVG keeps text as text. Without
``dot`` on the PATH, ``draw`` falls back to a matplotlib drawing of the same graph (a layered
networkx layout, text kept as text in SVG) and says so in its title.

>>> import backprop as bp, tempfile, os
>>> w = bp.tensor(0.5, requires_grad=True, name="w", dtype=bp.float64)
>>> y = (w * 3.0).tanh(); y.name = "y"
>>> print(bp.to_dot(y).splitlines()[0])
digraph backprop {
>>> out = bp.draw(y, os.path.join(tempfile.mkdtemp(), "g.svg"), highlight=w)
>>> open(out).read(5)
'<?xml'
"""

from __future__ import annotations

import html
import shutil
import subprocess
from pathlib import Path

import numpy as np

from ..tensor import Tensor
from . import fmt
from .graph import Graph, Node

YELLOW = "#f5c518"
FILL = {"param": "#dbe9ff", "input": "#eeeeee", "op": "#ffffff", "output": "#e4f5e1"}
LIT_FILL = "#fff3b0"
EDGE_TEXT = "#8a1c1c"
MAX_NUMBERS = 9  # arrays up to this many numbers are printed; larger ones become heatmaps
HEAT_CELLS = 12  # a heatmap has at most this many rows and columns (block means beyond)


def _kind(G: Graph, n: Node) -> str:
    if n is G.output:
        return "output"
    return "param" if n.is_param else ("input" if n.is_leaf else "op")


def _view(output: Tensor, detail: str, highlight, inputs=()):
    """The nodes and edges to draw, with edge labels and the highlighted edges."""
    G = Graph(output, inputs=inputs)
    view = G.resolve_detail(detail)
    target = G.node(highlight) if highlight is not None else None
    if target is not None:
        G.pinned.add(target.index)
    adj = G.adjoints() if output.requires_grad else {}
    kept = [n for n in G.nodes if G.keep(n, view)]
    edges: list[tuple[Node, Node, str]] = []  # (parent, child, label)
    for c in kept:
        if c.is_leaf:
            continue
        stack, seen = [c], {c.index}
        while stack:  # the kept nodes feeding c through folded ops (inputs included)
            n = stack.pop()
            for _, p in n.inputs:
                if not isinstance(p, Node) or p.index in seen:
                    continue
                seen.add(p.index)
                if G.keep(p, view):
                    edges.append((p, c, _edge_label(G, c, p, view)))
                else:
                    stack.append(p)
    lit: set[tuple[int, int]] = set()
    if target is not None:  # edges on some path from the output down to the target
        reach = {target.index}
        for n in kept:  # topological order: a node reaches the target if a parent does
            if any(p.index in reach for p, c, _ in edges if c is n):
                reach.add(n.index)
        lit = {(p.index, c.index) for p, c, _ in edges if p.index in reach and c.index in reach}
    return G, kept, edges, adj, lit, target


def _edge_label(G: Graph, c: Node, p: Node, view: str) -> str:
    """The local partial: ``rule = value`` for scalars, the rule (or the Jacobian's layout)
    for tensors. Whole, never cut: long rules are wrapped by the caller."""
    if not (p.tensor.requires_grad and c.tensor.requires_grad):
        return ""
    rule = G.edge_formula(c, p, view)
    rhs = rule.split(" = ", 1)[1] if rule.count(" = ") == 1 and " x " not in rule else ""
    if c.value.size == 1 and p.value.size == 1:
        r = G.local(c, np.ones_like(c.value), view).get(p.index)
        value = fmt.num(r, 4) if r is not None else "0"
        return f"{rhs} = {value}" if rhs and rhs != value and len(rhs) <= 30 else value
    if rhs and len(rhs) <= 40:
        return rhs
    return f"{fmt.d(c.name, p.name)}: {p.value.size}x{c.value.size} Jacobian"


# -- node labels as Graphviz HTML tables ---------------------------------------------------------


def _esc(s: str) -> str:
    return html.escape(s, quote=True)


def _color(v: float, m: float) -> str:
    if not np.isfinite(v) or m == 0:
        return "#ffffff"
    t = max(-1.0, min(1.0, v / m))
    c = int(round(255 * (1 - abs(t))))
    return f"#ff{c:02x}{c:02x}" if t >= 0 else f"#{c:02x}{c:02x}ff"


def _array_rows(a, title: str, colour: str) -> str:
    """A labelled row of numbers, a small number grid, or a heatmap with shape and range."""
    a = np.asarray(a, dtype=np.float64)
    head = (
        f'<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="9" COLOR="{colour}">{_esc(title)}</FONT></TD></TR>'
    )
    if a.size == 1:
        return head + f"<TR><TD>{_esc(fmt.num(a, 5))}</TD></TR>"
    m = a.reshape(1, -1) if a.ndim < 2 else a.reshape(-1, a.shape[-1])
    if a.size <= MAX_NUMBERS:
        cells = "".join(
            "<TR>" + "".join(f"<TD BORDER='1'>{_esc(fmt.num(v, 3))}</TD>" for v in row) + "</TR>"
            for row in m
        )
        inner = f'<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="2">{cells}</TABLE>'
        return head + f"<TR><TD>{inner}</TD></TR>"
    bh, bw = -(-m.shape[0] // HEAT_CELLS), -(-m.shape[1] // HEAT_CELLS)
    rows, cols = -(-m.shape[0] // bh), -(-m.shape[1] // bw)
    pad = np.full((rows * bh, cols * bw), np.nan)
    pad[: m.shape[0], : m.shape[1]] = m
    with np.errstate(all="ignore"):
        blocks = np.nanmean(pad.reshape(rows, bh, cols, bw), axis=(1, 3))
    finite = np.isfinite(blocks)
    big = float(np.abs(blocks[finite]).max()) if finite.any() else 0.0  # contrast of the means
    size = 10 if cols <= 8 else 7
    cells = "".join(
        "<TR>"
        + "".join(
            f'<TD BGCOLOR="{_color(v, big)}" WIDTH="{size}" HEIGHT="{size}" FIXEDSIZE="TRUE"></TD>'
            for v in row
        )
        + "</TR>"
        for row in blocks
    )
    heat = f'<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0">{cells}</TABLE>'
    pooled = "" if bh == bw == 1 else f", {bh}x{bw} block means"
    lo, hi = fmt.num(a.min(), 3), fmt.num(a.max(), 3)
    caption = f"{fmt.shape(a.shape)} heatmap{pooled}<BR/>min {lo}, max {hi}"
    box = (  # a fixed cell: Graphviz would otherwise spread the heatmap's columns apart
        f'FIXEDSIZE="TRUE" WIDTH="{cols * size + 8}" HEIGHT="{rows * size + 8}" BORDER="1" '
        'CELLPADDING="2"'
    )
    return (
        head
        + f"<TR><TD {box}>{heat}</TD></TR>"
        + f'<TR><TD><FONT POINT-SIZE="8">{caption}</FONT></TD></TR>'
    )


def _shape_tag(shape: tuple) -> str:
    """A node's shape beside its name, never readable as its value: ``shape 4``, ``shape 2x3``."""
    return f"shape {fmt.shape(shape)}"


def _node_label(G: Graph, n: Node, adj: dict) -> str:
    shape = (
        ""
        if n.shape == ()
        else f'  <FONT POINT-SIZE="9" COLOR="#555555">{_shape_tag(n.shape)}</FONT>'
    )
    rows = [f"<TR><TD><B>{_esc(n.name)}</B>{shape}</TD></TR>"]
    rows.append(_array_rows(n.value, "value", "#333333"))
    if n.index in adj:
        rows.append(_array_rows(adj[n.index], f"grad {fmt.d(G.output.name, n.name)}", EDGE_TEXT))
    return f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="1">{"".join(rows)}</TABLE>>'


def _wrap_label(s: str, width: int = 28) -> str:
    import textwrap

    return "\\n".join(textwrap.wrap(s, width, break_on_hyphens=False)) or s


_LEGEND_ROWS = [
    (FILL["param"], "parameter"),
    (FILL["input"], "input or constant (data, not a parameter)"),
    (FILL["op"], "result of an op"),
    (FILL["output"], "output (the loss)"),
    (YELLOW, "chain-rule path to the highlighted tensor"),
    (None, f'<FONT COLOR="{EDGE_TEXT}">edge label: local partial d child / d parent</FONT>'),
    (None, "dashed edge: carries no gradient"),
    ("#0000ff", "heatmap: blue negative, white 0, red positive"),
    (None, "gradients dL/dX have the shape of X (denominator layout)"),
]


def _legend() -> str:
    rows = ['<TR><TD COLSPAN="2" ALIGN="LEFT"><B>legend</B></TD></TR>']
    for colour, text in _LEGEND_ROWS:
        swatch = f'<TD BGCOLOR="{colour}" BORDER="1" WIDTH="14"></TD>' if colour else "<TD></TD>"
        rows.append(f'<TR>{swatch}<TD ALIGN="LEFT">{text}</TD></TR>')
    table = '<TABLE BORDER="1" CELLBORDER="0" CELLSPACING="2" COLOR="#999999">'
    return f"<{table}{''.join(rows)}</TABLE>>"


def to_dot(
    output: Tensor, highlight=None, detail: str = "auto", title: str | None = None, inputs=()
) -> str:
    """Graphviz source for the graph (``dot -Tpng``), inputs on the left, with a legend.

    >>> import backprop as bp
    >>> x = bp.tensor(1.0, requires_grad=True, name="x")
    >>> y = x * x; y.name = "y"
    >>> 'label=<<TABLE' in bp.to_dot(y) and "-> n1" in bp.to_dot(y)
    True
    """
    G, kept, edges, adj, lit, target = _view(output, detail, highlight, inputs)
    heading = title or f"computational graph of {G.output.name}"
    if target is not None:
        heading += f" (yellow: chain-rule paths to {target.name})"
    out = [
        "digraph backprop {",
        "  rankdir=LR; nodesep=0.35; ranksep=0.6; splines=true;",
        f'  label="{_esc(heading)}"; labelloc=t; fontname="Helvetica"; fontsize=14;',
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10,'
        ' margin="0.05,0.03"];',
        f'  edge [fontname="Helvetica", fontsize=9, fontcolor="{EDGE_TEXT}", color="#888888"];',
    ]
    on_path = {i for e in lit for i in e}
    for n in kept:
        fill = LIT_FILL if n.index in on_path else FILL[_kind(G, n)]
        out.append(f'  n{n.index} [label={_node_label(G, n, adj)}, fillcolor="{fill}"];')
    for p, c, label in edges:
        attrs = []
        if label:
            attrs.append(f'label="{_wrap_label(label)}", decorate=true')
        else:
            attrs.append('style=dashed, color="#bbbbbb"')
        if (p.index, c.index) in lit:
            attrs += [f'color="{YELLOW}"', "penwidth=4"]
        out.append(f"  n{p.index} -> n{c.index} [{', '.join(attrs)}];")
    out.append(f'  legend [shape=plaintext, style="", label={_legend()}];')
    out.append("}")
    return "\n".join(out)


def draw(
    output: Tensor,
    path: str | Path = "graph.png",
    highlight=None,
    detail: str = "auto",
    title: str | None = None,
    inputs=(),
) -> str:
    """Draw the graph to ``path`` (``.png`` or ``.svg``); returns the path written.

    ``highlight``: a tensor (or node name) whose chain-rule paths from the output are painted
    yellow. ``detail`` as in ``explain``. ``inputs``: leaves that ask for a gradient
    (``dL/dx``) but are data, drawn as inputs, not parameters. Works before or after
    ``backward()``.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".png", ".svg"):
        raise ValueError(f"draw writes .png or .svg files, not {path.suffix!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    dot = shutil.which("dot")
    if dot is None:
        return _draw_matplotlib(output, path, highlight, detail, title, inputs)
    source = to_dot(output, highlight=highlight, detail=detail, title=title, inputs=inputs)
    args = [dot, f"-T{suffix[1:]}", "-o", str(path)]
    if suffix == ".png":
        args.insert(1, "-Gdpi=110")
    done = subprocess.run(args, input=source, text=True, capture_output=True)
    if done.returncode != 0:
        raise RuntimeError(f"draw: Graphviz dot failed: {done.stderr.strip()}")
    return str(path)


def _draw_matplotlib(output, path: Path, highlight, detail: str, title, inputs=()) -> str:
    """Without Graphviz: a layered networkx layout drawn by matplotlib (text stays text)."""
    import matplotlib
    import networkx as nx
    from matplotlib.figure import Figure  # no pyplot: no global state, no display needed

    G, kept, edges, adj, lit, target = _view(output, detail, highlight, inputs)
    D = nx.DiGraph()
    D.add_nodes_from(n.index for n in kept)
    D.add_edges_from((p.index, c.index) for p, c, _ in edges)
    for layer, gen in enumerate(nx.topological_generations(D)):
        for i in gen:
            D.nodes[i]["layer"] = layer
    pos = nx.multipartite_layout(D, subset_key="layer", scale=1.0)
    n_layers = 1 + max((D.nodes[i]["layer"] for i in D.nodes), default=0)
    widest = max(sum(1 for i in D.nodes if D.nodes[i]["layer"] == k) for k in range(n_layers))
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        fig = Figure(figsize=(min(3.0 + 3.2 * n_layers, 40), min(2.5 + 1.6 * widest, 40)))
        ax = fig.add_subplot()
        on_path = {i for e in lit for i in e}
        for p, c, label in edges:
            (x0, y0), (x1, y1) = pos[p.index], pos[c.index]
            lit_e = (p.index, c.index) in lit
            ax.annotate(
                "",
                (x1, y1),
                (x0, y0),
                arrowprops=dict(
                    arrowstyle="-|>",
                    color=YELLOW if lit_e else "#999999",
                    lw=4 if lit_e else 1,
                    ls="-" if label else "--",
                    shrinkA=28,
                    shrinkB=28,
                ),
            )
            if label:
                ax.text(
                    x0 + 0.65 * (x1 - x0),
                    y0 + 0.65 * (y1 - y0),
                    label,
                    fontsize=7,
                    color=EDGE_TEXT,
                    ha="center",
                    va="center",
                    bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="#e5c7c7"),
                )
        for n in kept:
            x, y = pos[n.index]
            text = [n.name, f"value {fmt.arr(n.value, 3, 6)}"]
            if n.index in adj:
                text.append(f"grad {fmt.arr(adj[n.index], 3, 6)}")
            fill = LIT_FILL if n.index in on_path else FILL[_kind(G, n)]
            ax.text(
                x,
                y,
                "\n".join(text),
                fontsize=7,
                ha="center",
                va="center",
                bbox=dict(boxstyle="round,pad=0.4", fc=fill, ec="#333333"),
            )
        heading = (title or f"computational graph of {G.output.name}") + (
            " (Graphviz dot not found: simple layout; apt-get install graphviz)"
        )
        ax.set_title(heading, fontsize=10)
        ax.axis("off")
        fig.savefig(path, format=path.suffix[1:].lower(), bbox_inches="tight", dpi=110)
    return str(path)
