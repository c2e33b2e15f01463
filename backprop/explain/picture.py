"""``draw`` and ``to_dot``: the computational graph with values, gradients and local partials.

Each node shows its value and the gradient of the output with respect to it; each edge shows
its local partial. ``highlight=w`` paints the chain-rule paths from the output to ``w`` yellow,
as lecture 000 does for ``d loss / d w1``. The layout comes from networkx (topological
generations placed as columns by ``multipartite_layout``); drawing is matplotlib's Agg backend,
so PNG and SVG need no system package. ``to_dot`` gives Graphviz source for those who have it.

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

from pathlib import Path

import numpy as np

from ..tensor import Tensor
from .graph import Graph, Node

YELLOW = "#f5c518"


def _short(a, digits: int = 4) -> str:
    a = np.asarray(a)
    if a.size == 1:
        return f"{a.item():.{digits}g}"
    if a.size <= 3 and a.ndim == 1:  # short vectors fit a node's box; the rest by shape
        return "[" + ", ".join(f"{v:.3g}" for v in a.ravel()) + "]"
    return "x".join(map(str, a.shape))


def _view(output: Tensor, detail: str, highlight):
    """The nodes and edges to draw, with edge partials and the highlighted edges."""
    G = Graph(output)
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
                    label = ""
                    if p.tensor.requires_grad and c.tensor.requires_grad:
                        if c.value.size == 1 and p.value.size == 1:
                            r = G.local(c, np.ones_like(c.value), view).get(p.index)
                            label = _short(r) if r is not None else ""
                        else:
                            label = G.edge_formula(c, p, view).split(" = ")[-1][:24]
                    edges.append((p, c, label))
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


def _label(n: Node, adj: dict) -> str:
    lines = [n.name, f"= {_short(n.value)}"]
    if n.index in adj:
        lines.append(f"grad {_short(adj[n.index])}")
    return "\n".join(lines)


def to_dot(output: Tensor, highlight=None, detail: str = "auto") -> str:
    """Graphviz source for the graph (render with ``dot -Tpng``), inputs on the left.

    >>> import backprop as bp
    >>> x = bp.tensor(1.0, requires_grad=True, name="x")
    >>> y = x * x; y.name = "y"
    >>> '"x" -> "y"' in bp.to_dot(y)
    True
    """
    _, kept, edges, adj, lit, target = _view(output, detail, highlight)
    out = ["digraph backprop {", "  rankdir=LR;", '  node [shape=box, fontname="Helvetica"];']
    for n in kept:
        style = (
            ', style=filled, fillcolor="#fff3b0"'
            if target is not None and any(n.index in e for e in lit)
            else ""
        )
        label = _label(n, adj).replace("\n", "\\n").replace('"', "'")
        out.append(f'  "{n.name}" [label="{label}"{style}];')
    for p, c, label in edges:
        attrs = [f'label="{label}"'] if label else []
        if (p.index, c.index) in lit:
            attrs += [f'color="{YELLOW}"', "penwidth=3"]
        out.append(
            f'  "{p.name}" -> "{c.name}"' + (f" [{', '.join(attrs)}]" if attrs else "") + ";"
        )
    out.append("}")
    return "\n".join(out)


def draw(
    output: Tensor,
    path: str | Path = "graph.png",
    highlight=None,
    detail: str = "auto",
    title: str | None = None,
) -> str:
    """Draw the graph to ``path`` (``.png`` or ``.svg``); returns the path written.

    ``highlight``: a tensor (or node name) whose chain-rule paths from the output are painted
    yellow. ``detail`` as in ``explain``.
    """
    import networkx as nx
    from matplotlib.figure import Figure  # no pyplot: no global state, no display needed

    path = Path(path)
    if path.suffix.lower() not in (".png", ".svg"):
        raise ValueError(f"draw writes .png or .svg files, not {path.suffix!r}")
    _, kept, edges, adj, lit, target = _view(output, detail, highlight)
    D = nx.DiGraph()
    for n in kept:
        D.add_node(n.index)
    for p, c, _ in edges:
        D.add_edge(p.index, c.index)
    for layer, gen in enumerate(nx.topological_generations(D)):
        for i in gen:
            D.nodes[i]["layer"] = layer
    pos = nx.multipartite_layout(D, subset_key="layer", scale=1.0)
    n_layers = 1 + max((D.nodes[i]["layer"] for i in D.nodes), default=0)
    widest = max(sum(1 for i in D.nodes if D.nodes[i]["layer"] == k) for k in range(n_layers))
    fig = Figure(figsize=(min(3.0 + 2.2 * n_layers, 40), min(2.5 + 1.3 * widest, 40)))
    ax = fig.add_subplot()
    on_path = {i for e in lit for i in e}
    colors = [
        "#fff3b0"
        if n.index in on_path
        else ("#dbe9ff" if n.is_param else ("#eeeeee" if n.is_leaf else "#ffffff"))
        for n in kept
    ]
    nx.draw_networkx_edges(
        D,
        pos,
        ax=ax,
        edgelist=[(p.index, c.index) for p, c, _ in edges],
        edge_color="#999999",
        arrows=True,
        arrowsize=12,
        node_size=2600,
    )
    if lit:
        nx.draw_networkx_edges(
            D,
            pos,
            ax=ax,
            edgelist=sorted(lit),
            edge_color=YELLOW,
            width=5,
            arrows=True,
            arrowsize=14,
            node_size=2600,
        )
    nx.draw_networkx_nodes(
        D, pos, ax=ax, node_color=colors, edgecolors="#333333", node_size=2600, node_shape="s"
    )
    nx.draw_networkx_labels(
        D, pos, ax=ax, labels={n.index: _label(n, adj) for n in kept}, font_size=7
    )
    labels = {(p.index, c.index): lab for p, c, lab in edges if lab}
    nx.draw_networkx_edge_labels(
        D, pos, ax=ax, edge_labels=labels, font_size=7, font_color="#8a1c1c", label_pos=0.5
    )
    heading = title or f"computational graph of {kept[-1].name if kept else ''}"
    if target is not None:
        heading += f"  (yellow: chain-rule paths to {target.name})"
    ax.set_title(heading, fontsize=10)
    ax.axis("off")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format=path.suffix[1:].lower(), bbox_inches="tight", dpi=110)
    return str(path)
