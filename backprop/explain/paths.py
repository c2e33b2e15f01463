"""``explain``: a gradient as a sum over chain-rule paths of products of local partials.

"To calculate d loss / d any parameter, start from the loss and travel backwards to the
parameter, multiplying the partial derivatives as you go" (lecture 000); where several paths
lead to the parameter, add them (the multivariable chain rule, 002). Each edge's partial comes
from the engine's own rule for that op, so the sum over paths is the gradient ``backward``
computes.

>>> import backprop as bp
>>> x = bp.tensor(3.0, name="x", dtype=bp.float64)
>>> w = bp.tensor(0.5, requires_grad=True, name="w", dtype=bp.float64)
>>> h = w * x; h.name = "h"
>>> L = h * h; L.name = "L"
>>> e = bp.explain(L, w)
>>> len(e.paths), float(e.total)          # L = (w x)^2: two edges from L to h (fan-out)
(1, 9.0)
>>> [edge.value for edge in e.paths[0].edges]
[3.0, 3.0]
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..tensor import Tensor
from . import fmt
from .graph import Graph, Node

_arr = fmt.arr
_shape = fmt.shape


def _rule(formula: str) -> str:
    """The right-hand side of an edge's rule (each folded op's, multiplied): ``x1`` from
    ``d(w1 * x1)/dw1 = x1``."""
    if formula.startswith("["):
        parts = [p.strip("[] ") for p in formula.split("] x [")]
        return " x ".join(_factor(p.rsplit(" = ", 1)[-1]) for p in parts)
    return _factor(formula.rsplit(" = ", 1)[-1])


def _factor(rule: str) -> str:
    """A rule as one factor of a product: ``(1 - tanh(s)^2)``, so that ``x 1 - tanh(s)^2 x``
    never reads as ``1 - (tanh(s)^2 x ...)``; ``2 * (yhat - y)`` and ``x1`` stay bare."""
    top = fmt._top_level_ops(rule)
    return f"({rule})" if top & {"+", "-"} else rule


@dataclass
class Edge:
    """One edge of a path: ``d child / d parent``, its rule in words and its value here."""

    child: str
    parent: str
    formula: str
    child_shape: tuple
    parent_shape: tuple
    value: float | np.ndarray | None  # the local partial (Jacobian) when small enough to show
    matrix_form: str | None = None

    def __str__(self) -> str:
        head = f"{fmt.d(self.child, self.parent)} = {self.formula}"
        if self.value is not None:
            value = fmt.jac(self.value, self.child_shape, self.parent_shape)
            if _rule(self.formula) != value:  # not "= 1 = 1"
                head += f" = {value}"
        if self.child_shape != () or self.parent_shape != ():
            head += (
                f"   ({self.child}: {_shape(self.child_shape)}, "
                f"{self.parent}: {_shape(self.parent_shape)})"
            )
        if self.matrix_form:
            head += f"\n        matrix form: {self.matrix_form}"
        return head


@dataclass
class Path:
    """A chain from the output to ``wrt``; ``product`` is its share of the gradient."""

    edges: list[Edge]
    product: np.ndarray

    @property
    def nodes(self) -> list[str]:
        return [self.edges[0].child] + [e.parent for e in self.edges] if self.edges else []

    def __str__(self) -> str:
        return " -> ".join(self.nodes)


@dataclass
class Explanation:
    """What ``explain`` returns: the paths, their products, and their sum ``total``."""

    output: str
    wrt: str
    wrt_shape: tuple
    view: str
    n_paths: int
    paths: list[Path]
    total: np.ndarray
    backward_total: np.ndarray  # the same gradient from one backward sweep of the engine's rules
    groups: list[str] = field(default_factory=list)  # when paths are too many to list

    @property
    def matches_backward(self) -> bool:
        return bool(np.allclose(self.total, self.backward_total, rtol=1e-6, atol=1e-9))

    def to_dict(self) -> dict:
        return {
            "output": self.output,
            "wrt": self.wrt,
            "n_paths": self.n_paths,
            "paths": [
                {
                    "nodes": p.nodes,
                    "edges": [
                        {
                            "child": e.child,
                            "parent": e.parent,
                            "formula": e.formula,
                            "value": None if e.value is None else np.asarray(e.value).tolist(),
                            "matrix_form": e.matrix_form,
                        }
                        for e in p.edges
                    ],
                    "product": np.asarray(p.product).tolist(),
                }
                for p in self.paths
            ],
            "groups": self.groups,
            "total": np.asarray(self.total).tolist(),
        }

    def __str__(self) -> str:
        d = fmt.d(self.output, self.wrt)
        lines = [f"{d}: {self.n_paths} chain-rule path(s) from {self.output} to {self.wrt}"]
        if self.wrt_shape != ():
            lines[0] += f" (gradient shape {_shape(self.wrt_shape)})"
        for i, p in enumerate(self.paths, 1):
            lines.append(f"path {i}: {p}")
            for e in p.edges:
                lines.append(f"    {e}")
            if all(e.value is not None and np.ndim(e.value) == 0 for e in p.edges):
                factors = " x ".join(_arr(e.value) for e in p.edges)
                rules = " x ".join(_rule(e.formula) for e in p.edges)
                lines.append(f"    product = {rules}")
                lines.append(f"            = {factors} = {_arr(p.product)}")
            else:
                lines.append(f"    product = {_arr(p.product)}")
        if self.groups:
            lines.append(
                f"{self.n_paths} paths are too many to list; grouped at the shared nodes "
                f"(each line sums the paths through that node):"
            )
            lines += [f"    {g}" for g in self.groups]
        how = "sum over paths" if self.paths else "grouped sum"
        lines.append(f"{d} = {how} = {_arr(self.total)}")
        check = "equals" if self.matches_backward else "DIFFERS FROM"
        lines.append(f"  ({check} backward's gradient {_arr(self.backward_total)})")
        if any(e.child_shape != () or e.parent_shape != () for p in self.paths for e in p.edges):
            lines.append(
                "  (gradients have the shape of their tensor; a local Jacobian d child/d parent "
                "is printed in the same denominator layout: a row per element of the parent)"
            )
        return fmt.wrap("\n".join(lines))


def _local_jacobian(G: Graph, child: Node, parent: Node, view: str, limit: int = 16):
    """The local partial d child / d parent: a number for scalars, a small Jacobian otherwise."""
    cs, ps = child.value.size, parent.value.size
    if cs * ps > limit * limit or (cs > 1 and cs != ps and cs * ps > limit):
        return None
    rows = []
    for k in range(cs):
        seed = np.zeros(child.value.shape, dtype=child.value.dtype)
        seed.flat[k] = 1
        r = G.local(child, seed, view).get(parent.index)
        rows.append(np.zeros(ps) if r is None else np.asarray(r, dtype=float).ravel())
    J = np.array(rows)  # (child size, parent size): row k is d child_k / d parent
    if J.size == 1:
        return float(J.item())
    return J


def _matrix_form(G: Graph, child: Node, parent: Node) -> str | None:
    """For a matmul edge, the lecture's matrix form ``dL/dW = delta o^T`` with shapes."""
    M = child  # the matmul, possibly behind adds folded into the edge (s = W @ o + b)
    while M.op is not None and M.op.name in ("add", "sub") and not M.op.name == "matmul":
        inner = [
            p
            for _, p in M.inputs
            if isinstance(p, Node)
            and not p.user_named
            and p.op is not None
            and p.op.name in ("matmul", "add", "sub")
        ]
        if not inner or (M is not child and M.user_named):
            return None
        M = inner[0]
    fn = M.op
    if fn is not None and getattr(fn, "name", "") == "linear":
        return _linear_form(child, M, parent)
    if fn is None or getattr(fn, "name", "") != "matmul" or len(M.inputs) != 2:
        return None
    (_, A), (_, B) = M.inputs
    if not isinstance(A, Node) or not isinstance(B, Node):
        return None
    g = fmt.d("L", child.name)
    sh = _shape(child.shape)
    if parent is A:
        return (
            f"{fmt.d('L', A.name)} = {g} {fmt.group(B.name)}^T   ({_shape(A.shape)}) = ({sh})"
            f"({_shape(B.shape[::-1])})  -- delta o^T with delta = {g}"
        )
    if parent is B:
        return (
            f"{fmt.d('L', B.name)} = {fmt.group(A.name)}^T {g}   ({_shape(B.shape)}) = "
            f"({_shape(A.shape[::-1])})({sh})  -- W^T delta"
        )
    return None


def _linear_form(child: Node, layer: Node, parent: Node) -> str | None:
    """The fused layer ``y = x W^T + b`` (a batch of rows, PyTorch's layout): the lecture's
    ``G = delta o^T`` summed over the batch, ``W^T delta`` per row, and the bias's row sum."""
    (_, X), (_, W), (_, b) = layer.inputs
    g = fmt.d("L", child.name)
    sh = _shape(child.shape)
    if parent is W and isinstance(X, Node):
        return (
            f"{fmt.d('L', W.name)} = ({g})^T {fmt.group(X.name)}   ({_shape(W.shape)}) = "
            f"({_shape(child.shape[::-1])})({_shape(X.shape)})  -- G = delta o^T, summed over "
            f"the batch's rows"
        )
    if parent is X and isinstance(W, Node):
        return (
            f"{fmt.d('L', X.name)} = {g} {fmt.group(W.name)}   ({_shape(X.shape)}) = "
            f"({sh})({_shape(W.shape)})"
            f"  -- W^T delta for each row"
        )
    if parent is b:
        return f"{fmt.d('L', b.name)} = sum over rows of {g}   ({_shape(b.shape)})  -- delta"
    return None


def explain(
    output: Tensor, wrt: Tensor | str, detail: str = "auto", max_paths: int = 64, inputs=()
) -> Explanation:
    """The gradient of scalar ``output`` with respect to ``wrt`` as a sum over chain-rule paths.

    ``detail``: ``"named"`` shows only named tensors (unnamed ops between them are folded into
    one edge), ``"ops"`` every op, ``"auto"`` the named view if any intermediate is named,
    else every op (the ``"layers"`` view past 40 ops).
    Beyond ``max_paths`` paths, the paths are counted and grouped at the shared nodes instead.
    It works before or after ``backward()`` (what backward freed is recomputed from the
    inputs), but not after an optimizer step changed the weights in place.

    >>> import backprop as bp
    >>> w = bp.tensor(2.0, requires_grad=True, name="w", dtype=bp.float64)
    >>> y = w * w + w                      # fan-out: w feeds three edges
    >>> e = bp.explain(y, w, detail="ops")
    >>> e.n_paths, float(e.total)          # d(w*w)/dw = 2w (two parallel edges, one edge here) + 1
    (2, 5.0)
    """
    G = Graph(output, inputs=inputs)
    if output._data.size != 1:
        raise ValueError(f"explain needs a scalar output; this one has shape {output.shape}")
    target = G.node(wrt)
    if not target.tensor.requires_grad:
        raise ValueError(f"'{target.name}' does not require grad: no path carries a gradient")
    view = G.resolve_detail(detail)
    G.pinned.add(target.index)
    kept = [n for n in G.nodes if G.keep(n, view) and n.tensor.requires_grad]
    parents = {n.index: G.view_parents(n, view) for n in kept if not n.is_leaf}
    count = {n.index: 0 for n in kept}
    count[target.index] = 1
    for n in kept:  # topological order: parents first
        if n is not target and n.index in parents:
            count[n.index] = sum(count[p.index] for p in parents[n.index])
    n_paths = count[G.output.index]
    adjoint = G.adjoints().get(target.index, np.zeros_like(target.value))

    paths: list[Path] = []
    groups: list[str] = []
    if n_paths == 0:
        total = np.zeros_like(target.value)
    elif n_paths <= max_paths:
        stack: list[list[Node]] = [[G.output]]
        routes: list[list[Node]] = []
        while stack:
            route = stack.pop()
            last = route[-1]
            if last is target:
                routes.append(route)
                continue
            for p in reversed(parents.get(last.index, [])):
                if count[p.index]:
                    stack.append(route + [p])
        total = np.zeros_like(target.value, dtype=np.float64)
        for route in routes:
            g = np.ones_like(G.output.value)
            edges = []
            for c, p in zip(route, route[1:]):
                g = G.local(c, g, view)[p.index]
                edges.append(
                    Edge(
                        c.name,
                        p.name,
                        G.edge_formula(c, p, view),
                        c.shape,
                        p.shape,
                        _local_jacobian(G, c, p, view),
                        _matrix_form(G, c, p),
                    )
                )
            paths.append(Path(edges, np.asarray(g)))
            total = total + g
    else:
        adj = G.adjoints()
        for n in reversed(kept):
            if not count[n.index] or n is G.output:
                continue
            users = [c for c in kept if n in parents.get(c.index, []) and c.index in adj]
            o = G.output.name
            terms = " + ".join(f"{fmt.d(o, c.name)} * {fmt.d(c.name, n.name)}" for c in users)
            groups.append(
                f"{fmt.d(o, n.name)} = {terms} = {_arr(adj[n.index])}   "
                f"({count[n.index]} path(s) from here to {target.name})"
            )
        total = adjoint
    return Explanation(
        output=G.output.name,
        wrt=target.name,
        wrt_shape=target.shape,
        view=view,
        n_paths=n_paths,
        paths=paths,
        total=np.asarray(total).reshape(target.shape),
        backward_total=np.asarray(adjoint),
        groups=groups,
    )
