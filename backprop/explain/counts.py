"""``summary``: the counts lecture 001's classwork asks for, for any graph.

1. the gradient's dimension (how many scalar parameters);
2. how many local partials one backward pass computes (one per edge that carries a gradient);
3. and 4. which partials multiply into ``dL/dw`` for each parameter ``w``;
5. chain length per parameter, and whether weights nearer the input have longer chains
   (computed, not assumed).

>>> import backprop as bp
>>> w1 = bp.tensor(0.5, requires_grad=True, name="w1")
>>> w2 = bp.tensor(2.0, requires_grad=True, name="w2")
>>> h = w1 * 3.0; h.name = "h"
>>> g = h * w2; g.name = "g"
>>> s = bp.summary(g)
>>> s.gradient_dimension, s.n_local_partials, s.chain_length
(2, 3, {'w1': 2, 'w2': 1})
>>> s.partials["w1"]
['dg/dh * dh/dw1']
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..tensor import Tensor
from . import fmt
from .graph import Graph
from .paths import explain


@dataclass
class Summary:
    output: str
    view: str
    parameters: dict[str, tuple]  # name -> shape
    gradient_dimension: int
    n_local_partials: int  # edges of the view that carry a gradient
    local_partials: list[str]
    partials: dict[str, list[str]]  # parameter -> one product of partials per path
    n_paths: dict[str, int]
    chain_length: dict[str, int]  # the longest chain from the output to the parameter
    chain_verdict: str = ""  # question 5, answered from the numbers above
    inputs: list[str] = field(default_factory=list)  # leaves marked as inputs (not counted)

    def to_dict(self) -> dict:
        return {
            "output": self.output,
            "view": self.view,
            "parameters": {k: list(v) for k, v in self.parameters.items()},
            "gradient_dimension": self.gradient_dimension,
            "n_local_partials": self.n_local_partials,
            "local_partials": self.local_partials,
            "partials": self.partials,
            "n_paths": self.n_paths,
            "chain_length": self.chain_length,
            "chain_verdict": self.chain_verdict,
            "inputs": self.inputs,
        }

    def __str__(self) -> str:
        names = ", ".join(f"{k} ({fmt.shape(v)})" for k, v in self.parameters.items())
        lines = [
            f"Counted in the {self.view!r} view: {VIEWS.get(self.view, '')}",
            f"1. gradient dimension: {self.gradient_dimension} = the number of scalar "
            f"parameters ({names})",
        ]
        if self.inputs:
            lines.append(
                f"   not counted: {', '.join(self.inputs)} (inputs; their gradients are not "
                f"part of the parameters' gradient)"
            )
        lines += [
            f"2. local partials one backward pass computes: {self.n_local_partials}, one per "
            f"edge that carries a gradient:",
            "   " + ", ".join(self.local_partials),
            "3./4. the partials that multiply into each gradient (one product per chain-rule "
            "path, added):",
        ]
        for w, ps in self.partials.items():
            shown = " + ".join(ps) if ps else f"({self.n_paths[w]} paths; see bp.explain)"
            lines.append(f"   {fmt.d(self.output, w)} = {shown}")
        order = sorted(self.chain_length.items(), key=lambda kv: -kv[1])
        lines.append(
            "5. chain length (edges from the output): " + ", ".join(f"{w}: {n}" for w, n in order)
        )
        lines.append("   " + self.chain_verdict)
        return fmt.wrap("\n".join(lines))


VIEWS = {
    "layers": "one node per activation's input and output, the prediction and the loss "
    "(found from the graph's structure, whatever the tensors are named); the ops between them "
    "are folded into one edge each.",
    "named": "the tensors you named; unnamed ops between them are folded into one edge each.",
    "ops": "every op the engine recorded is a node.",
}


def _verdict(depth: dict[str, int], length: dict[str, int]) -> str:
    """Whether parameters nearer the input have longer chains, computed from the graph:
    ``depth`` is how many steps from the output the parameter's first consumer is."""
    if len(set(depth.values())) < 2:
        return "every parameter is equally far from the output, so no chain is longer"
    pairs = [(p, q) for p in depth for q in depth if depth[p] > depth[q]]  # p nearer the input
    longer = [(p, q) for p, q in pairs if length[p] > length[q]]
    if len(longer) == len(pairs):
        return (
            "parameters nearer the input have longer chains of partials (every parameter "
            "farther from the output has a longer chain)"
        )
    bad = next((p, q) for p, q in pairs if length[p] <= length[q])
    return (
        f"chain length does not grow with distance from the output everywhere: {bad[0]} is "
        f"farther from the output than {bad[1]} but its chain is not longer "
        f"({length[bad[0]]} vs {length[bad[1]]})"
    )


def summary(output: Tensor, detail: str = "layers", max_paths: int = 64, inputs=()) -> Summary:
    """Count the graph's parameters, edges and chains (see the module docstring).

    ``detail="layers"`` (the default) counts in a view found from the graph's structure, so
    the answers do not depend on which tensors were named; ``"named"`` and ``"ops"`` as in
    ``explain``. ``inputs``: leaves that want a gradient (``dL/dx``) but are data, not
    parameters; they are left out of the gradient's dimension.
    """
    G = Graph(output, inputs=inputs)
    view = G.resolve_detail(detail)
    kept = [n for n in G.nodes if G.keep(n, view) and n.tensor.requires_grad]
    edges = []
    for c in kept:
        if not c.is_leaf:
            edges += [fmt.d(c.name, p.name) for p in G.view_parents(c, view)]
    params = G.params()
    partials: dict[str, list[str]] = {}
    n_paths: dict[str, int] = {}
    length: dict[str, int] = {}
    for w in params:
        e = explain(output, w.tensor, detail=view, max_paths=max_paths, inputs=inputs)
        n_paths[w.name] = e.n_paths
        partials[w.name] = [" * ".join(fmt.d(x.child, x.parent) for x in p.edges) for p in e.paths]
        length[w.name] = max((len(p.edges) for p in e.paths), default=_depth(G, w, view))
    depth = {w.name: _first_use(G, w, view) for w in params}
    return Summary(
        output=G.output.name,
        view=view,
        parameters={w.name: w.shape for w in params},
        gradient_dimension=sum(int(w.value.size) for w in params),
        n_local_partials=len(edges),
        local_partials=edges,
        partials=partials,
        n_paths=n_paths,
        chain_length=length,
        chain_verdict=_verdict(depth, length),
        inputs=[n.name for n in G.nodes if n.is_input],
    )


def _first_use(G: Graph, w, view: str) -> int:
    """How far from the output (the shortest chain, in view edges) ``w`` is used."""
    kept = [n for n in G.nodes if G.keep(n, view) and n.tensor.requires_grad]
    dist = {G.output.index: 0}
    for n in reversed(kept):
        if n.index not in dist or n.is_leaf:
            continue
        for p in G.view_parents(n, view):
            dist[p.index] = min(dist.get(p.index, 1 << 30), dist[n.index] + 1)
    return dist.get(w.index, 0)


def _depth(G: Graph, w, view: str) -> int:
    """The longest chain from the output to ``w`` (used when paths are too many to list)."""
    kept = [n for n in G.nodes if G.keep(n, view) and n.tensor.requires_grad]
    depth = {w.index: 0}
    for n in kept:
        if n.is_leaf:
            continue
        ds = [depth[p.index] for p in G.view_parents(n, view) if p.index in depth]
        if ds:
            depth[n.index] = 1 + max(ds)
    return depth.get(G.output.index, 0)
