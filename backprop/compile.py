"""A compiled training step: trace one forward and backward once, then replay it as a flat list.

An eager step spends most of its time for small networks on bookkeeping: a ``Tensor`` per op,
the topological sort, the checks in ``Function.apply``. When the shapes are fixed and the graph
is the same every step, all of that can be done once. ``compile(fn)`` runs ``fn`` eagerly twice
while recording every op node (``Function.apply``), checks that the two recordings are the same
graph, and from then on replays the recording: each node's own ``forward`` on the arrays of
this call, then each node's own ``backward`` in the order the eager traversal uses, summing
gradients with the engine's own ``_accumulate``. No derivative rule is written twice, so the
replay computes the same numbers as the eager step, bit for bit.

Ops that can write into a given array (``Function.out``, e.g. ``Linear``) get a buffer
allocated once at compile time; the others allocate as in eager mode.

It falls back to the eager step, with a warning that says why, when the arguments' shapes or
dtypes change, or when the two recordings differ (a data-dependent branch, a random op such as
dropout drawing a new mask, or a value computed outside the ops from an argument).

>>> import numpy as np
>>> import backprop as bp
>>> w = bp.tensor(np.ones((2, 3)), requires_grad=True)
>>> def loss_fn(x):
...     return (x @ w.T).tanh().sum()
>>> step = bp.compile(loss_fn)
>>> for _ in range(3):  # traced, checked, then replayed
...     w.grad = None
...     loss = step(bp.tensor(np.full((4, 3), 0.1)))
>>> round(loss.item(), 6), w.grad.shape
(2.330501, (2, 3))
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from . import autograd
from .autograd import Function, _accumulate, backward_order
from .tensor import Tensor

__all__ = ["compile", "CompiledStep", "CompileWarning"]


class CompileWarning(UserWarning):
    """The compiled step ran eagerly instead (the message says why)."""


class _Node:
    __slots__ = ("cls", "srcs", "params", "out", "out_slot", "tensor", "fn")

    def __init__(self, cls, srcs, params, tensor):
        self.cls, self.srcs, self.params, self.tensor = cls, srcs, params, tensor
        self.out_slot = -1
        self.out = None
        self.fn = None


class _Recorder:
    """Wraps ``Function.apply`` while a step is traced: every node, its inputs and its output."""

    def __init__(self):
        self.nodes: list[_Node] = []

    def __enter__(self):
        original = Function.__dict__["apply"].__func__
        nodes = self.nodes

        def apply(cls, inputs, *params):
            t = original(cls, inputs, *params)
            nodes.append(_Node(cls, tuple(inputs), params, t))
            return t

        self._original = Function.__dict__["apply"]
        Function.apply = classmethod(apply)
        return self

    def __exit__(self, *exc):
        Function.apply = self._original
        return False


def _signature(args: tuple) -> tuple:
    sig = []
    for a in args:
        d = a._data if isinstance(a, Tensor) else a
        if isinstance(d, np.ndarray):
            sig.append(("array", d.shape, d.dtype.str, isinstance(a, Tensor)))
        else:
            sig.append(("value", type(d).__name__, repr(d)))
    return tuple(sig)


def _same(a, b) -> bool:
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return a is b
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    try:
        return bool(a == b)
    except Exception:  # values that cannot be compared are taken as different
        return False


class _Plan:
    """One recording, resolved into slots: what each node reads and where it writes."""

    def __init__(self, nodes: list[_Node], args: tuple, root: Tensor, extras=()):
        self.nodes = nodes
        self.root = root
        arg_ids = {}
        for i, a in enumerate(args):
            arg_ids[id(a)] = i
            if isinstance(a, Tensor):
                arg_ids.setdefault(id(a._data), i)
        self.n_args = len(args)
        produced: dict[int, int] = {}
        self.leaves: list[tuple[int, Tensor]] = []  # (slot, tensor): read .data every call
        self.consts: list[tuple[int, Any]] = []  # (slot, value): fixed values
        self.keys: list[tuple] = []  # what the graph reads, to compare two recordings
        leaf_slots: dict[int, int] = {}
        slot = self.n_args
        for node in nodes:
            srcs, key = [], []
            for x in node.srcs:
                if id(x) in produced:
                    srcs.append(produced[id(x)])
                    key.append(("node", produced[id(x)]))
                elif id(x) in arg_ids:
                    srcs.append(arg_ids[id(x)])
                    key.append(("arg", arg_ids[id(x)]))
                elif isinstance(x, Tensor) and x.requires_grad:
                    if id(x) not in leaf_slots:
                        leaf_slots[id(x)] = slot
                        self.leaves.append((slot, x))
                        slot += 1
                    srcs.append(leaf_slots[id(x)])
                    key.append(("leaf", x))
                else:
                    value = x._data if isinstance(x, Tensor) else x
                    self.consts.append((slot, value))
                    srcs.append(slot)
                    key.append(("const", value))
                    slot += 1
            params = tuple(_map_args(p, arg_ids, args) for p in node.params)
            node.srcs, node.params = tuple(srcs), params
            node.out_slot = slot
            produced[id(node.tensor)] = slot
            slot += 1
            self.keys.append((node.cls, tuple(key), params))
        self.n_slots = slot
        if id(root) not in produced:
            raise _Dynamic("the function's result was not made by an op of this step")
        self.root_slot = produced[id(root)]
        if any(id(e) not in produced for e in extras):
            raise _Dynamic("an extra result of the function was not made by an op of this step")
        self.extra_slots = [produced[id(e)] for e in extras]
        self._check_no_copied_args(args)

    def _check_no_copied_args(self, args) -> None:
        """A constant equal to an argument is almost surely a copy of it: replay would freeze it."""
        arrays = [a._data if isinstance(a, Tensor) else a for a in args]
        for _, value in self.consts:
            if not isinstance(value, np.ndarray) or value.size < 2:
                continue
            for i, a in enumerate(arrays):
                if isinstance(a, np.ndarray) and a.shape == value.shape and _same(a, value):
                    raise _Dynamic(
                        f"argument {i} reaches the ops as a copy (converted outside the ops?), "
                        f"which a replay would freeze; pass it in the dtype the ops use"
                    )

    def matches(self, other: _Plan) -> str | None:
        """None when both recordings are the same graph, else what differs."""
        if len(self.keys) != len(other.keys):
            return f"the number of ops changed ({len(self.keys)} then {len(other.keys)})"
        for k, (a, b) in enumerate(zip(self.keys, other.keys)):
            if a[0] is not b[0]:
                return f"op {k} changed from '{a[0].name}' to '{b[0].name}'"
            if not _same(a[2], b[2]):
                return f"the parameters of op {k} ('{a[0].name}') changed"
            for (kind_a, va), (kind_b, vb) in zip(a[1], b[1]):
                if kind_a != kind_b or not _same(va, vb):
                    return (
                        f"an input of op {k} ('{a[0].name}') changed between two calls (a "
                        f"random op such as dropout, or a value computed outside the ops?)"
                    )
        return None


def _map_args(p, arg_ids: dict, args: tuple):
    """Params that are an argument's array are read from the argument at replay time."""
    if isinstance(p, np.ndarray) and id(p) in arg_ids:
        return _ArgRef(arg_ids[id(p)])
    if isinstance(p, tuple) and any(isinstance(q, np.ndarray) and id(q) in arg_ids for q in p):
        return tuple(_map_args(q, arg_ids, args) for q in p)
    return p


class _ArgRef:
    __slots__ = ("index",)

    def __init__(self, index: int):
        self.index = index

    def __eq__(self, other):
        return isinstance(other, _ArgRef) and other.index == self.index

    def __hash__(self):
        return hash(self.index)


class _Dynamic(Exception):
    pass


class CompiledStep:
    """``fn`` (returning a scalar loss) traced once and replayed; see ``backprop.compile``."""

    def __init__(self, fn: Callable[..., Tensor]):
        self.fn = fn
        self.signature: tuple | None = None
        self.plan: _Plan | None = None
        self._first: _Plan | None = None
        self.eager_reason: str | None = None  # set when the step stays eager for good
        self.replays = 0

    def __call__(self, *args) -> Tensor:
        if self.plan is not None and self._fast_match(args):
            self.replays += 1
            return self._replay(args)
        sig = _signature(args)
        if self.eager_reason is not None:
            return self._eager(args)
        if self.plan is not None:
            if sig == self.signature:
                self.replays += 1
                return self._replay(args)
            self._warn(
                f"the arguments changed from {_describe(self.signature)} to {_describe(sig)} "
                f"since the step was traced; this call runs eagerly"
            )
            return self._eager(args)
        return self._trace(args, sig)

    # -- tracing ----------------------------------------------------------------------------
    def _trace(self, args, sig) -> Tensor:
        with _Recorder() as rec:
            result = self.fn(*args)
        loss, extras = self._split(result)
        try:
            plan = _Plan(rec.nodes, args, loss, extras)
        except _Dynamic as e:
            return self._give_up(str(e), result)
        loss.backward()
        done = _detached(result)
        if self._first is None or sig != self.signature:
            self._first, self.signature = plan, sig
            return done
        why = self._first.matches(plan)
        self._first = None
        if why is not None:
            self.eager_reason = why
            self._warn(f"the graph is dynamic: {why}; running eagerly from now on")
            return done
        self._build(plan)
        return done

    def _split(self, result):
        """``fn`` returns the loss, or a tuple ``(loss, *outputs)`` (e.g. the logits)."""
        self.returns_tuple = isinstance(result, tuple)
        loss, *extras = result if self.returns_tuple else (result,)
        self._check_loss(loss)
        return loss, extras

    def _check_loss(self, loss) -> None:
        if not isinstance(loss, Tensor) or not loss.requires_grad or loss._data.size != 1:
            raise TypeError(
                "compile: the function must return a scalar tensor that requires grad (the "
                "loss); got "
                + (f"shape {loss.shape}" if isinstance(loss, Tensor) else type(loss).__name__)
            )

    def _give_up(self, why: str, result):
        self.eager_reason = why
        self._warn(f"the graph is dynamic: {why}; running eagerly from now on")
        self._split(result)[0].backward()
        return _detached(result)

    def _warn(self, message: str) -> None:
        warnings.warn(f"backprop.compile: {message}", CompileWarning, stacklevel=3)

    def _eager(self, args) -> Tensor:
        result = self.fn(*args)
        self._split(result)[0].backward()
        return _detached(result)

    def _build(self, plan: _Plan) -> None:
        """Freeze the recording into the lists the replay walks."""
        self.plan = plan
        self.env: list[Any] = [None] * plan.n_slots
        for slot, value in plan.consts:
            self.env[slot] = value
        self.has_arg_params = any(
            isinstance(p, _ArgRef)
            or (isinstance(p, tuple) and any(isinstance(q, _ArgRef) for q in p))
            for n in plan.nodes
            for p in n.params
        )
        for node in plan.nodes:
            node.fn = fn = node.cls.__new__(node.cls)
            t = node.tensor
            if t._ctx is not None:
                fn.parents = t._ctx.parents  # the recorded inputs: needs_grad reads them
            returned = node.tensor is plan.root or node.out_slot in plan.extra_slots
            if getattr(node.cls, "out", False) is None and not returned:
                fn.out = np.empty_like(t._data)  # a buffer of its own, reused every call
        # The eager traversal's order, fixed: the tensors of the recording are the keys.
        order = backward_order(plan.root)
        by_tensor = {id(n.tensor): n for n in plan.nodes}
        self._seed = np.ones_like(plan.root._data)  # d loss / d loss, the same every call
        self._seed.flags.writeable = False  # so that nothing accumulates into it
        self.backward_order = []
        for t in order:
            fn = by_tensor[id(t)].fn
            edges = [
                (i, p)
                for i, p in enumerate(fn.parents)
                if isinstance(p, Tensor) and p.requires_grad
            ]  # fixed for the recording
            self.backward_order.append((t, fn, edges))
        # The recording's arrays are no longer needed; keep only their shapes and dtypes.
        for node in plan.nodes:
            t = node.tensor
            t._data = np.broadcast_to(np.zeros((), t._data.dtype), t._data.shape)
            if t._ctx is not None:
                t._ctx.saved = None
        for node in plan.nodes:
            node.tensor = None if node.tensor is not plan.root else node.tensor

    # -- replay -----------------------------------------------------------------------------
    def _fast_match(self, args) -> bool:
        """The common case checked cheaply: tensors of the traced shapes and dtypes."""
        sig = self.signature
        if len(args) != len(sig):
            return False
        for a, s in zip(args, sig):
            if type(a) is not Tensor or s[0] != "array" or not s[3]:
                return False
            d = a._data
            if type(d) is not np.ndarray or d.shape != s[1] or d.dtype.str != s[2]:
                return False
        return True

    def _replay(self, args) -> Tensor:
        plan, env = self.plan, self.env
        for i, a in enumerate(args):
            env[i] = a._data if isinstance(a, Tensor) else a
        for slot, leaf in plan.leaves:
            env[slot] = leaf._data
        resolve = self.has_arg_params
        for node in plan.nodes:
            params = _resolve(node.params, env) if resolve else node.params
            out = node.fn.forward(*[env[s] for s in node.srcs], *params)
            env[node.out_slot] = out if type(out) is np.ndarray else np.asarray(out)
        loss = env[plan.root_slot]
        self._backward(loss)
        if self.returns_tuple:
            return (Tensor._wrap(loss), *(Tensor._wrap(env[s]) for s in plan.extra_slots))
        return Tensor._wrap(loss)

    def _backward(self, loss) -> None:
        """``autograd.backward`` over the fixed order, with the same accumulation."""
        grads = {id(self.plan.root): self._seed}
        fresh: set[int] = set()
        anomaly = autograd.mode.anomaly
        for t, fn, edges in self.backward_order:
            g = grads.pop(id(t), None)
            if g is None:
                continue
            pgrads = fn.backward(g)
            fn.saved = None  # released as soon as the rule has used it
            for i, p in edges:
                r = pgrads[i]
                if r is None:
                    continue
                if anomaly:
                    autograd._check_finite(fn, type(fn), [p._data], r, "backward", "gradient")
                _accumulate(p, r, r is not g and getattr(r, "base", None) is None, grads, fresh)


def _resolve(params: tuple, env: list) -> tuple:
    out = []
    for p in params:
        if isinstance(p, _ArgRef):
            p = env[p.index]
        elif isinstance(p, tuple):
            p = tuple(env[q.index] if isinstance(q, _ArgRef) else q for q in p)
        out.append(p)
    return tuple(out)


def _detached(result):
    if isinstance(result, tuple):
        return tuple(Tensor._wrap(t._data) for t in result)
    return Tensor._wrap(result._data)


def _describe(sig: tuple | None) -> str:
    if sig is None:
        return "nothing"
    parts = [f"{s[1]} {np.dtype(s[2]).name}" if s[0] == "array" else s[2] for s in sig]
    return "(" + ", ".join(str(p) for p in parts) + ")"


def compile(fn: Callable[..., Tensor]) -> CompiledStep:  # noqa: A001 - the verb users expect
    """Compile ``fn(*args) -> scalar loss`` into a step that also runs the backward pass.

    Calling the result does what ``loss = fn(*args); loss.backward()`` does -- gradients
    accumulate into the parameters' ``.grad`` -- and returns the loss (without a graph); ``fn``
    may also return ``(loss, *outputs)``, and the call then returns them all. The
    first two calls run eagerly and record the graph; later calls with arguments of the same
    shapes and dtypes replay it. Parameters are read afresh on every call, so in-place updates
    by an optimizer between calls are seen. Arguments must reach the ops as themselves
    (tensors or arrays of the dtype used), not as converted copies.
    """
    return CompiledStep(fn)
