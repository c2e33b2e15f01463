"""User-defined ops in PyTorch's form, and ``autograd.grad``.

A subclass of ``bp.autograd.Function`` whose ``forward`` is a static method is a custom op,
written as in PyTorch:

>>> import backprop as bp
>>> class Cube(bp.autograd.Function):
...     formulas = ("d x^3/dx = 3 x^2",)
...
...     @staticmethod
...     def forward(ctx, x):
...         ctx.save_for_backward(x)
...         return x * x * x
...
...     @staticmethod
...     def backward(ctx, g):
...         (x,) = ctx.saved_tensors
...         return g * 3 * x * x
>>> x = bp.tensor([1.0, 2.0], requires_grad=True)
>>> Cube.apply(x).sum().backward()
>>> x.grad
tensor([ 3., 12.])

``apply`` runs ``forward`` without recording (its ops are the op's inside), and records one
node of the engine's kind (``CustomNode``) per output: the same traversal, explainer, tracer
and picture as the built-in ops. The node is the ``ctx``: it holds what ``save_for_backward``
kept, ``needs_input_grad`` and any attribute the user sets.
"""

from __future__ import annotations

import copy

import numpy as np

from . import autograd as _ag
from .autograd import _FREED, Function, _run, _seed, _to_leaf, mode
from .tensor import Tensor


class CustomNode(Function):
    """The graph node and the ``ctx`` of one call of a user's op (one output)."""

    def __init__(self, op: type, args: tuple, kwargs: dict | None = None):
        self.op = op
        self.kwargs = kwargs or {}
        self.name = op.__name__
        self.formulas = tuple(getattr(op, "formulas", ()))
        self.parents = args
        self.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        self.saved = None
        self._saved_versions: tuple = ()
        self._non_diff: set = set()
        self.outputs = 1
        self.index = 0
        self.ctx = self

    # -- PyTorch's ctx API ---------------------------------------------------------------
    def save_for_backward(self, *tensors) -> None:
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(
                    f"save_for_backward: only tensors (or None) can be saved, got "
                    f"{type(t).__name__}; keep other values as attributes of ctx"
                )
        self._tensors = tensors
        self.saved = True  # the engine marks it freed after backward (unless retain_graph)
        self._saved_versions = tuple(_ag._version(t) for t in tensors)

    @property
    def saved_tensors(self) -> tuple:
        if self.saved is _FREED:
            self.check_saved("saved_tensors")
        saved = getattr(self, "_tensors", ())
        for t, v in zip(saved, self._saved_versions):
            if t is not None and _ag._version(t) != v:
                raise _ag.InplaceError(
                    f"one of the variables needed for gradient computation has been modified "
                    f"by an inplace operation: a tensor of shape {tuple(t.shape)} saved by "
                    f"'{self.name}' is at version {_ag._version(t)}; expected version {v}"
                )
        return saved

    def mark_non_differentiable(self, *tensors) -> None:
        self._non_diff.update(id(t) for t in tensors)

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize = bool(value)

    def mark_dirty(self, *tensors) -> None:  # in-place forward: nothing to track here
        pass

    def replay(self):
        """A fresh ctx with the user's ``forward`` re-run on the same arguments (what
        ``backward()`` freed is saved again), and this node's output; for the explainer."""
        fresh = copy.copy(self)
        fresh.ctx = fresh
        fresh.saved = None
        with _ag.no_grad():
            out = self.op.forward(fresh, *self.parents, **self.kwargs)
        outs = out if isinstance(out, tuple) else (out,)
        fresh.output_arrays = [o._data if isinstance(o, Tensor) else None for o in outs]
        o = outs[self.index]
        return fresh, o._data if isinstance(o, Tensor) else np.asarray(o)

    # -- the engine's side ---------------------------------------------------------------
    def backward(self, g):
        ctx = self.ctx
        if ctx.outputs == 1:
            grads_out = (Tensor._wrap(g),)
        else:  # the gradient of this output; the others' contributions come via their nodes
            grads_out = tuple(
                Tensor._wrap(g if k == self.index else np.zeros_like(a))
                for k, a in enumerate(ctx.output_arrays)
            )
        with _ag.no_grad():
            result = ctx.op.backward(ctx, *grads_out)
        if not isinstance(result, tuple):
            result = (result,)
        n = len(self.parents)
        if len(result) < n or any(r is not None for r in result[n:]):
            raise RuntimeError(
                f"{self.name}.backward returned {len(result)} gradient(s); expected {n}, "
                f"one (or None) per argument of forward"
            )
        out = []
        for i, (p, r) in enumerate(zip(self.parents, result)):
            if r is None or not isinstance(p, Tensor):
                out.append(None)
                continue
            arr = r._data if isinstance(r, Tensor) else np.asarray(r)
            if arr.shape != p.shape and np.broadcast_shapes(arr.shape, p.shape) != arr.shape:
                raise RuntimeError(
                    f"{self.name}.backward returned a gradient of shape {tuple(arr.shape)} for "
                    f"argument {i}, which has shape {tuple(p.shape)}"
                )
            # the rule may return a buffer it keeps (a saved tensor, the incoming gradient):
            # the engine accumulates in place into what it owns, so it gets its own copy
            out.append(arr.copy())
        return tuple(out)


def install(cls: type) -> None:
    """Give a PyTorch-style ``Function`` subclass its ``apply(*args, **kwargs)``."""
    cls.apply = classmethod(_apply)


def _apply(cls, *args, **kwargs):
    node = CustomNode(cls, args, kwargs)
    with _ag.no_grad():
        out = cls.forward(node, *args, **kwargs)
    single = not isinstance(out, tuple)
    outs = (out,) if single else out
    requires = mode.grad_enabled and any(node.needs_input_grad)
    node.outputs = len(outs)
    if node.outputs > 1:  # the nodes share the saved tensors: none may free them
        node.saved = None
    node.output_arrays = [o._data if isinstance(o, Tensor) else None for o in outs]
    results = []
    for k, o in enumerate(outs):
        if not isinstance(o, Tensor):
            results.append(o)
            continue
        t = Tensor._wrap(o._data)
        if requires and id(o) not in node._non_diff and o._data.dtype.kind in "fc":
            fn = node
            if k:  # one more node per further output, sharing the ctx
                fn = CustomNode.__new__(CustomNode)
                fn.__dict__.update(node.__dict__)
                fn.saved = None
                fn.index = k
            fn.seq = _ag._next_seq()
            t.requires_grad = True
            t._ctx = fn
        results.append(t)
    return results[0] if single else tuple(results)


# ---------------------------------------------------------------------------- grad, backward


def _as_list(x) -> list:
    if x is None:
        return []
    return [x] if isinstance(x, Tensor) else list(x)


def _seeds(outputs: list, grad_outputs, where: str) -> tuple[dict, list, dict]:
    gos = _as_list(grad_outputs) if grad_outputs is not None else [None] * len(outputs)
    if len(gos) != len(outputs):
        raise RuntimeError(
            f"{where}: got {len(gos)} gradients for {len(outputs)} outputs; give one each"
        )
    grads: dict = {}
    roots: list = []
    leaves: dict = {}
    for o, go in zip(outputs, gos):
        g = _seed(o, go, where)
        target = leaves if o._ctx is None else grads
        if id(o) in target:
            target[id(o)] = (o, target[id(o)][1] + g)
        else:
            target[id(o)] = (o, g)
            if o._ctx is not None:
                roots.append(o)
    return {k: v[1] for k, v in grads.items()}, roots, leaves


def grad(
    outputs,
    inputs,
    grad_outputs=None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool | None = None,
    materialize_grads: bool = False,
    is_grads_batched: bool = False,
) -> tuple:
    """The gradients of ``outputs`` with respect to ``inputs``, returned as tensors (nothing
    is written to any ``.grad``), as ``torch.autograd.grad``.

    >>> import backprop as bp
    >>> x = bp.tensor([1.0, 2.0], requires_grad=True)
    >>> (gx,) = bp.autograd.grad((x * x).sum(), x)
    >>> gx, x.grad
    (tensor([2., 4.]), None)
    """
    if create_graph:
        raise NotImplementedError(
            "autograd.grad: create_graph=True (higher-order gradients) is not supported: "
            "backprop's derivative rules compute on arrays, not on recorded tensors"
        )
    if is_grads_batched:
        raise NotImplementedError("autograd.grad: is_grads_batched=True is not supported")
    outputs, ins = _as_list(outputs), _as_list(inputs)
    if not ins:
        raise RuntimeError("autograd.grad: inputs is empty; pass the tensors to differentiate")
    for i, t in enumerate(ins):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError(
                f"autograd.grad: input {i} does not require grad (set requires_grad=True)"
            )
    grads, roots, leaves = _seeds(outputs, grad_outputs, "autograd.grad")
    capture: dict = {id(t): [] for t in ins}

    def sink(p, r, is_fresh):
        slot = capture.get(id(p))
        if slot is None:
            return
        if slot:
            slot[0] = slot[0] + r
        else:
            slot.append(r if is_fresh else r.copy())

    for o, g in leaves.values():
        sink(o, g, False)
    if roots:
        _run(grads, roots, bool(retain_graph), sink, capture)
    result = []
    for i, t in enumerate(ins):
        slot = capture[id(t)]
        if slot:
            g = slot[0] if len(slot) == 1 else sum(slot[1:], slot[0])
            result.append(Tensor._wrap(g))
        elif materialize_grads:
            result.append(Tensor._wrap(np.zeros_like(t._data)))
        elif allow_unused:
            result.append(None)
        else:
            raise RuntimeError(
                f"autograd.grad: input {i} (shape {tuple(t.shape)}) was not used to compute "
                f"the outputs; pass allow_unused=True to get None for it"
            )
    return tuple(result)


def backward_many(tensors, grad_tensors=None, retain_graph: bool = False, inputs=None) -> None:
    """``torch.autograd.backward``: accumulate into ``.grad`` from several outputs at once;
    with ``inputs``, only into those tensors' ``.grad``."""
    grads, roots, leaves = _seeds(_as_list(tensors), grad_tensors, "backward")
    sink = _to_leaf
    retained = []
    if inputs is not None:
        wanted = {id(t) for t in _as_list(inputs)}

        def sink(p, r, is_fresh):
            if id(p) in wanted:
                _to_leaf(p, r, is_fresh)

        for t in _as_list(inputs):
            if t._ctx is not None and not t._retain:
                t._retain = True
                retained.append(t)
    for o, g in leaves.values():
        sink(o, g, False)
    try:
        if roots:
            _run(grads, roots, retain_graph, sink)
    finally:
        for t in retained:
            t._retain = False
