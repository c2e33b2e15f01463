"""The computational graph as the explainer sees it: named nodes, edges, and the engine's rules.

Every local partial the explainer shows comes from the op's own ``backward`` (a vector-Jacobian
product) and its ``formulas`` text, so an explanation agrees with ``Tensor.backward`` by
construction. Two views of the same graph:

* ``"ops"``: one node per tensor the engine made; a tensor the user did not name is called by
  the expression it computes (``(yhat - y)^2``), abbreviated when long
  (``v0 * tanh(...) + c``), and an unnamed output ``L``;
* ``"named"``: only tensors the user named (``name=``), leaves and the output; the unnamed ops
  between two such nodes are folded into one edge whose partial is their chain-rule product.
  Naming the lecture's quantities (``z0``, ``a0``, ...) gives the lecture's graph.

>>> import backprop as bp
>>> w = bp.tensor(2.0, requires_grad=True, name="w")
>>> g = Graph((w * 3.0).tanh())
>>> [n.name for n in g.nodes]
['w', 'w * 3', 'L']
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ..autograd import _FREED, toposort, unbroadcast
from ..custom import CustomNode
from ..tensor import Tensor
from . import fmt


def revive(fn, recorded, where: str):
    """A node whose rule can run: ``fn`` itself, or, when ``backward()`` has freed the buffers
    it saved, a fresh copy whose forward is re-run on its inputs' values (the parents' arrays
    are still there; only what the rule saved is gone). The engine is not touched: it frees
    buffers as before, and only the explainer pays for recomputing them.

    ``Function.replay`` re-runs the op: ``apply`` kept its non-array arguments (an exponent,
    dims, a target) in ``params``; a custom op's ctx re-runs the user's ``forward``. If the
    inputs changed since the forward pass (an optimizer step updated a weight in place), the
    recomputed output differs from ``recorded``, the output kept in the graph, and an
    explanation would mix two states:
    that is refused.
    """
    if fn.saved is not _FREED:
        return fn
    hint = "Explain before any optimizer step, or keep a copy of the inputs."
    try:
        fresh, out = fn.replay()
    except Exception as e:  # an op whose forward cannot be replayed
        raise RuntimeError(
            f"{where}: the buffers saved by op '{fn.name}' were freed by backward() and could "
            f"not be recomputed ({type(e).__name__}: {e}). Explain before calling backward(), "
            f"or pass retain_graph=True to it."
        ) from None
    out = np.asarray(out)
    if out.shape != np.shape(recorded) or not np.allclose(
        out, recorded, rtol=1e-6, atol=1e-12, equal_nan=True
    ):
        raise RuntimeError(
            f"{where}: op '{fn.name}' no longer gives the output recorded in the forward pass: "
            f"its inputs were changed in place after backward() (an optimizer step?). {hint}"
        )
    return fresh


@dataclass(eq=False)
class Node:
    """One tensor of the graph: its name, value, the op that made it and its inputs."""

    index: int
    tensor: Tensor
    name: str
    user_named: bool
    op: object | None  # the engine's Function node, None for a leaf
    inputs: list = field(default_factory=list)  # (position, Node or constant)
    is_input: bool = False  # a leaf the caller marked as data (x), not a parameter (w)

    @property
    def value(self) -> np.ndarray:
        return np.asarray(self.tensor._data)

    @property
    def shape(self) -> tuple:
        return tuple(self.tensor.shape)

    @property
    def is_leaf(self) -> bool:
        return self.op is None

    @property
    def is_param(self) -> bool:
        return self.op is None and bool(self.tensor.requires_grad) and not self.is_input

    @property
    def op_name(self) -> str:
        return getattr(self.op, "name", "leaf") if self.op is not None else "leaf"


def _einsum_rule(fn, child: Node, names: list[str], k: int) -> str:
    """einsum's rule for input ``k`` with its own equation: for ``einsum(ij,j->i, W, x)``,
    ``dL/dW = einsum(i,j->ij, dL/dy, x)`` (the gradient's subscripts are the input's)."""
    from ..ops.products import _parse

    params = getattr(fn, "params", ())
    eq = params[-1] if params and isinstance(params[-1], str) else None
    shapes = [p.value.shape if isinstance(p, Node) else np.shape(p) for _, p in child.inputs]
    if eq is None:
        return f"d einsum/d({names[k]})"
    terms, out = _parse(eq, shapes)
    others = [j for j in range(len(terms)) if j != k]
    spec = ",".join([out] + [terms[j] for j in others]) + "->" + terms[k]
    args = ", ".join([fmt.d("L", child.name)] + [names[j] for j in others])
    whole = f"einsum({eq}, {', '.join(names)})"
    gk = fmt.d("L", names[k])
    return f"d {whole}/{fmt.dname(names[k])}: {gk} = einsum({spec}, {args})"


def _fmt_const(c) -> str:
    if c is None:  # an optional input left out (a conv or linear layer without bias)
        return "None"
    if isinstance(c, Tensor):
        c = c._data
    a = np.asarray(c)
    if a.dtype.kind not in "biufc":  # None (clamp without a max), a string
        return str(c)
    return fmt.num(a) if a.size == 1 else f"const[{fmt.shape(a.shape)}]"


AUTO_OPS_MAX = 40  # detail="auto" without named intermediates: the "ops" view up to this many

# elementwise nonlinearities: their inputs and outputs are the nodes of the "layers" view
ACTIVATIONS = {
    "sigmoid",
    "tanh",
    "relu",
    "gelu",
    "softplus",
    "elu",
    "leaky_relu",
    "prelu",
    "exp",
    "log",
    "erf",
    "softmax",
    "log_softmax",
    "silu",
    "selu",
    "celu",
    "hardtanh",
    "abs",
}

WEIGHTING = {"mul", "matmul", "linear"}  # ops that weight a layer's output by a parameter

LABEL_MAX = 56  # a longer expression is abbreviated, its outermost operators kept
ELIDED = "..."  # what stands for a subexpression left out of an abbreviation


def _custom(fn) -> bool:
    """Whether ``fn`` is the node of a user's ``bp.autograd.Function`` subclass."""
    return isinstance(fn, CustomNode)


def _exponent(m) -> str:
    """``^(2 - 1)`` as ``^1`` would read, worked out: nothing, ``^2``, ``^(-0.5)``."""
    e = float(m.group(1)) - 1
    if e == 1:
        return ""
    return f"^{fmt.num(e)}" if e > 0 else f"^({fmt.num(e)})"


_CHAINS = ({"add", "sub"}, {"mul", "div"})


def _chained(fn, p: Tensor, k: int) -> bool:
    """Whether input ``k`` of ``fn`` continues a chain of one operator precedence, as the
    ``a + b`` in ``a + b + c``: such a chain counts as one level of an abbreviation."""
    if k != 0 or p._ctx is None or p.name:
        return False
    return any(fn.name in c and p._ctx.name in c for c in _CHAINS)


class _Namer:
    """The names of tensors the user did not name: the expression each computes in its
    inputs' names (``(yhat - y)^2``). An expression longer than ``LABEL_MAX`` is abbreviated
    and stays an expression: its longest operands are shown to fewer levels, the rest
    written ``...``, so the outermost operators (and the named leaves next to them) stay
    (``v0 * tanh(...) + v1 * tanh(...) + c``). Never an automatic name such as ``add_19``."""

    def __init__(self):
        self.names: dict[int, str] = {}  # id(tensor) -> its name
        self.fixed: set[int] = set()  # tensors whose name is not an expression (leaves, user's)
        self._forms: dict[tuple[int, int], str] = {}

    @staticmethod
    def expr(fn, ins: list[str]) -> str:
        params = getattr(fn, "params", ())
        if fn.name == "einsum" and params and isinstance(params[-1], str):
            return f"einsum({params[-1]}, {', '.join(ins)})"  # its equation: einsum(ij->j, x)
        if not _custom(fn):
            p = getattr(fn, "p", None)
            e = fmt.expression(fn, ins, p if isinstance(p, (int, float)) else None)
            if e is not None:
                return e
        return f"{fn.name}({', '.join(ins)})"  # a custom op, or one without a formula

    def form(self, t: Tensor, depth: int) -> str:
        """``t`` written to ``depth`` levels of ops below it (``...`` beyond), or its name
        where that is shorter."""
        if id(t) in self.fixed or depth < 0:
            return self.names[id(t)]
        key = (id(t), depth)
        if key not in self._forms:
            if depth == 0:  # a call keeps its name: tanh(...)
                f = self._call(t) or ELIDED
            else:
                fn = t._ctx
                ins = [
                    self.form(p, depth if _chained(fn, p, k) else depth - 1)
                    if isinstance(p, Tensor)
                    else _fmt_const(p)
                    for k, p in enumerate(fn.parents)
                ]
                f = self.expr(t._ctx, ins)
            name = self.names.get(id(t))
            self._forms[key] = name if name is not None and len(name) <= len(f) else f
        return self._forms[key]

    def _call(self, t: Tensor) -> str | None:
        fn = t._ctx
        if len(fn.parents) != 1:
            return None
        f = self.expr(fn, [ELIDED])
        return f if re.fullmatch(r"[A-Za-z_][\w.]*\(\.\.\.\)", f) else None

    def label(self, t: Tensor, taken) -> str:
        fn = t._ctx
        if fn is None:
            self.fixed.add(id(t))
            if t._data.size == 1 and not t.requires_grad:
                return fmt.num(t._data)
            if t._data.size == 1:  # a parameter the user did not name: its value
                return f"leaf({fmt.num(t._data)})"
            return (
                f"leaf[{fmt.shape(t.shape)}]"
                if t.requires_grad
                else (f"const[{fmt.shape(t.shape)}]")
            )
        ins = [self.names[id(p)] if isinstance(p, Tensor) else _fmt_const(p) for p in fn.parents]
        e = self.expr(fn, ins)
        depth = 7
        while len(e) > LABEL_MAX and depth > 1:  # operands to fewer levels, the rest "..."
            depth -= 1
            e = min(e, self.form(t, depth), key=len)
        if e in taken:  # an abbreviation two tensors share: show more of this one
            for d in range(depth + 1, depth + 8):
                f = self.form(t, d)
                if f not in taken and len(f) <= 2 * LABEL_MAX:
                    return f
        return e


class Graph:
    """The tensors reachable from ``output``, inputs before outputs, with readable names."""

    def __init__(self, output: Tensor, inputs=()):
        if not isinstance(output, Tensor):
            raise TypeError(f"expected a Tensor, got {type(output).__name__}")
        self.output_tensor = output
        order = toposort(output, include_leaves=True)
        self.nodes: list[Node] = []
        self._by_id: dict[int, Node] = {}
        used: dict[str, int] = {}
        namer = _Namer()
        labels = namer.names
        for i, t in enumerate(order):
            user = bool(t.name)
            name = t.name if user else namer.label(t, used)
            if user:
                namer.fixed.add(id(t))
            if t is output and not user:
                name = "L"  # the lectures' name for the loss, shorter than its expression
            if name in used:  # two tensors share a name: keep both readable and distinct
                used[name] += 1
                name = f"{name}#{used[name]}" if user else f"{name} #{used[name]}"
            else:
                used[name] = 1
            labels[id(t)] = name
            node = Node(i, t, name, user, t._ctx)
            self.nodes.append(node)
            self._by_id[id(t)] = node
        for node in self.nodes:
            if node.op is not None:
                node.inputs = [
                    (k, self._by_id[id(p)] if isinstance(p, Tensor) else p)
                    for k, p in enumerate(node.op.parents)
                ]
        self.output = self._by_id[id(output)]
        for x in inputs:  # data that wants a gradient (dL/dx) but is no parameter
            self.node(x).is_input = True
        self.pinned: set[int] = set()  # nodes kept in the named view although unnamed
        self._layers: set[int] | None = None
        self._revived: dict[int, object] = {}  # node index -> a node whose rule can run

    def node(self, t) -> Node:
        """The node of a tensor, or of a name."""
        if isinstance(t, Node):
            return t
        if isinstance(t, str):
            for n in self.nodes:
                if n.name == t:
                    return n
            raise KeyError(f"no node named {t!r}; names: {[n.name for n in self.nodes]}")
        try:
            return self._by_id[id(t)]
        except KeyError:
            raise ValueError("this tensor is not in the graph of the output") from None

    def params(self) -> list[Node]:
        return [n for n in self.nodes if n.is_param]

    def children(self) -> dict[int, list[tuple[Node, int]]]:
        """For each node index, the (child, input position) pairs that consume it."""
        out: dict[int, list[tuple[Node, int]]] = {n.index: [] for n in self.nodes}
        for n in self.nodes:
            for k, p in n.inputs:
                if isinstance(p, Node):
                    out[p.index].append((n, k))
        return out

    def needs_grad(self, n: Node) -> bool:
        return bool(n.tensor.requires_grad)

    # -- the engine's rules ---------------------------------------------------------------
    def vjp(self, child: Node, g) -> list:
        """The child op's rule: for each input, ``g`` times that edge's local partial."""
        fn = self._revived.get(child.index)
        if fn is None:
            fn = revive(child.op, child.tensor._data, f"explain: node '{child.name}'")
            self._revived[child.index] = fn
        out = fn.backward(g)
        res = []
        for (_k, p), r in zip(child.inputs, out):
            if r is None or not isinstance(p, Node) or not p.tensor.requires_grad:
                res.append(None)
                continue
            r = np.asarray(r)
            if r.shape != p.shape:
                r = unbroadcast(r, p.shape)
            res.append(r)
        return res

    def formula(self, child: Node, k: int) -> str:
        """The op's rule for input ``k`` in words, with the inputs' names put in."""
        fn = child.op
        formulas = getattr(fn, "formulas", ())
        if _custom(fn):  # the user's op: its class name, and the user's formula when given
            if formulas:
                return f"{fn.name}: {formulas[k] if k < len(formulas) else formulas[0]}"
            names = ", ".join(
                p.name if isinstance(p, Node) else _fmt_const(p) for _, p in child.inputs
            )
            return (
                f"{fn.name}'({names})"
                if len(child.inputs) == 1
                else (f"{fn.name}'_{k + 1}({names})")
            )
        if k < len(formulas) and formulas[k]:
            text = formulas[k]
        elif len(formulas) == 1:  # one rule for every input (cat, stack): its input i is k
            text = formulas[0]
        else:
            text = f"d {fn.name}/d(input {k})"
        names = [p.name if isinstance(p, Node) else _fmt_const(p) for _, p in child.inputs]
        sub = {"Y": child.name}
        if names:
            sub.update(a=names[0], s=names[0], A=names[0], s_i=names[0])
        if len(names) > 1:
            sub.update(b=names[1], B=names[1])
        if len(names) > 2:
            sub.update(C=names[2])
        if isinstance(getattr(fn, "p", None), (int, float)):  # a constant exponent
            sub["p"] = fmt.num(fn.p)
        if k < len(names):
            sub["s_i"] = names[k]
        sub[fmt.ALL] = ", ".join(names)
        if fn.name == "einsum":
            return _einsum_rule(fn, child, names, k)

        if fn.name not in ("cat", "stack"):  # s_i: the input's element i, not input i
            text = fmt.elements(text)
            sub.pop("s_i", None)
        text = fmt.substitute(fmt.spaced(text), sub)
        return re.sub(r"\^\((-?[0-9.]+(?:e-?[0-9]+)?) - 1\)", _exponent, text)

    def adjoints(self) -> dict[int, np.ndarray]:
        """d output / d node for every node that needs a gradient, by the engine's rules."""
        grads: dict[int, np.ndarray] = {self.output.index: np.ones_like(self.output.value)}
        for n in reversed(self.nodes):
            g = grads.get(n.index)
            if g is None or n.op is None:
                continue
            for (_k, p), r in zip(n.inputs, self.vjp(n, g)):
                if r is not None:
                    grads[p.index] = grads[p.index] + r if p.index in grads else r
        return grads

    # -- the named view --------------------------------------------------------------------
    def keep(self, n: Node, detail: str) -> bool:
        """Whether node ``n`` is a node of the view (else it is folded into an edge)."""
        if detail == "ops" or n.is_leaf or n is self.output or n.index in self.pinned:
            return True
        if detail == "layers":
            return n.index in self.layer_nodes()
        return n.user_named

    def layer_nodes(self) -> set[int]:
        """The ``"layers"`` view, found from the graph's structure and not from names: every
        activation's input and output (a pre-activation ``z`` and its ``a``), every result
        that a parameter multiplies (a layer's output), and the prediction the loss is
        computed from (where the chain of single-input steps from the
        output meets a node of several gradient-carrying inputs). Lecture 001's 2-2-1 network
        gives its z0, a0, z1, a1, a2 and L, however its tensors are named."""
        if self._layers is not None:
            return self._layers
        keep: set[int] = set()
        for n in self.nodes:
            grad_in = [p for _, p in n.inputs if isinstance(p, Node) and p.tensor.requires_grad]
            if n.op is not None and len(n.inputs) == 1 and n.op_name in ACTIVATIONS:
                keep.add(n.index)
                keep.update(p.index for p in grad_in if not p.is_leaf)
            if n.op_name in WEIGHTING and any(p.is_param for p in grad_in):
                # a layer's output, multiplied by the next layer's weight (001's h in h w2)
                keep.update(p.index for p in grad_in if not p.is_leaf)
        n = self.output
        while True:  # down the loss's own chain (L = 1/2 (y - a2)^2) to the prediction
            grad_in = [p for _, p in n.inputs if isinstance(p, Node) and p.tensor.requires_grad]
            if n is not self.output and len(grad_in) != 1:
                keep.add(n.index)
                break
            if len(grad_in) != 1 or grad_in[0].is_leaf:
                break
            n = grad_in[0]
        self._layers = keep
        return keep

    def resolve_detail(self, detail: str) -> str:
        if detail not in ("auto", "named", "ops", "layers"):
            raise ValueError(f"detail must be 'auto', 'named', 'layers' or 'ops', not {detail!r}")
        if detail != "auto":
            return detail
        named_inner = any(
            n.user_named and not n.is_leaf and n is not self.output for n in self.nodes
        )
        if named_inner:
            return "named"
        # nothing named between leaves and output: every op, unless there are so many that a
        # picture or a trace of them is unreadable (a scalar MLP built op by op); then the
        # layers (activations, weighted results, prediction, loss) found from the structure
        n_ops = sum(1 for n in self.nodes if n.op is not None)
        return "layers" if n_ops > AUTO_OPS_MAX and self.layer_nodes() else "ops"

    def local(self, child: Node, g, detail: str) -> dict[int, np.ndarray]:
        """Send ``g`` from ``child`` to the view's parents of ``child``: per parent index, its
        contribution (``g`` times the folded edge's local partial, by the engine's rules)."""
        pending: dict[int, np.ndarray] = {child.index: g}
        out: dict[int, np.ndarray] = {}
        for n in reversed(self.nodes[: child.index + 1]):
            if n.index not in pending:
                continue
            gn = pending.pop(n.index)
            if n is not child and self.keep(n, detail):
                out[n.index] = out[n.index] + gn if n.index in out else gn
                continue
            for (_k, p), r in zip(n.inputs, self.vjp(n, gn)):
                if r is not None:
                    pending[p.index] = pending[p.index] + r if p.index in pending else r
        return out

    def edge_formula(self, child: Node, parent: Node, detail: str, limit: int = 4) -> str:
        """The view edge's partial in words: the op rules along each folded route, multiplied,
        and the routes added (the chain rule inside the edge)."""
        routes: list[list[str]] = []
        stack: list[tuple[Node, list[str]]] = [(child, [])]
        while stack and len(routes) <= limit:
            n, chain = stack.pop()
            for k, p in n.inputs:
                if not isinstance(p, Node) or not p.tensor.requires_grad:
                    continue
                c = chain + [self.formula(n, k)]
                if p is parent:
                    routes.append(c)
                elif not self.keep(p, detail):
                    stack.append((p, c))
        if len(routes) > limit:
            return f"sum over {len(routes)}+ routes through unnamed ops"
        if len(routes) == 1 and len(routes[0]) == 1 and not child.user_named:
            # one op, whose name is already its expression: ``d(x^2)/dx = 2 * x``, not
            # ``d(x^2)/dx = d(x^2)/dx = 2 * x``
            lhs, eq, rhs = routes[0][0].partition(" = ")
            if eq and lhs.startswith("d") and ":" not in lhs:
                return rhs
        texts = [" x ".join(r) if len(r) == 1 else " x ".join(f"[{f}]" for f in r) for r in routes]
        return " + ".join(texts) if len(texts) < 2 else " + ".join(f"({t})" for t in texts)

    def view_parents(self, child: Node, detail: str) -> list[Node]:
        """The view's parents of ``child``: nodes that need a gradient, reached through folded
        ops only."""
        found: list[Node] = []
        stack = [child]
        seen = {child.index}
        while stack:
            n = stack.pop()
            for _, p in n.inputs:
                if not isinstance(p, Node) or p.index in seen or not p.tensor.requires_grad:
                    continue
                seen.add(p.index)
                if self.keep(p, detail):
                    found.append(p)
                else:
                    stack.append(p)
        return sorted(found, key=lambda p: -p.index)
