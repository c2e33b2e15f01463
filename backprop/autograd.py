"""Graph nodes and the backward traversal.

A forward pass records, for every tensor an op produces, the op node (a ``Function``) that made
it: ``t._ctx``, which holds the op's inputs (``parents``) and what its derivative rule needs
(``saved``). ``backward`` walks these nodes from the loss in reverse topological order. At each
node it calls the op's rule to multiply the upstream gradient by the local partial of every
edge (the chain rule), and where a tensor feeds several others it sums the contributions (the
multivariable chain rule). Broadcast gradients are reduced to their input's shape here, in
``_accumulate`` and nowhere else, so no op has to think about broadcasting.

>>> import backprop as bp
>>> x = bp.tensor(3.0, requires_grad=True)
>>> y = x * x + x          # x feeds three edges: two into mul, one into add
>>> y.backward()
>>> x.grad.item()          # 2x + 1
7.0
"""

from __future__ import annotations

import copy
import itertools
import traceback
import weakref
from contextlib import ContextDecorator
from heapq import heappop, heappush
from typing import TYPE_CHECKING, Any

import numpy as np

from . import backend

if TYPE_CHECKING:
    from .tensor import Tensor

_FREED = object()  # marks a node whose saved buffers backward has released


class _Mode:
    """Global switches read on every op: plain attributes, the cheapest lookup Python has."""

    grad_enabled = True
    anomaly = False
    # the creation order (``Function.seq``) at the latest in-place write of any tensor: a node
    # created after it cannot have had an input changed since its forward pass, so backward
    # checks versions only on nodes older than this (most training loops: none)
    last_write = -1


mode = _Mode()


class AnomalyError(RuntimeError):
    """A NaN or Inf appeared inside ``detect_anomaly``."""


class OpError(RuntimeError, ValueError):
    """An op was given inputs it cannot take (shapes, dtypes); the message names the op.

    A RuntimeError, as PyTorch raises for mismatched shapes, and a ValueError, as NumPy does
    (callers written against either catch it)."""


class OpIndexError(OpError, IndexError):
    """An index or a dim out of range. An IndexError, as in PyTorch, so ``for row in t``
    stops at the end."""


class InplaceError(RuntimeError):
    """backward needs a value that an in-place op has changed since the forward pass."""


class Function:
    """One node of the computational graph: an op applied to its inputs.

    Subclasses define ``forward(*arrays, *params)`` returning the output array and saving in
    ``self.saved`` what the rule needs, and ``backward(g)`` returning, for each input, the
    upstream gradient ``g`` multiplied by that edge's local partial derivative (a
    vector-Jacobian product). ``formulas`` states each rule in words, one per input, for the
    explainer. ``backward`` returns ``g`` itself or fresh arrays, never a saved buffer.
    """

    name = "function"
    formulas: tuple[str, ...] = ()
    saved: Any = None
    created_at: list | None = None
    # Type promotion: None (the op takes its inputs as they are), or a hook from ``dtypes``
    # (``promote_args``: PyTorch's result_type; ``promote_float``: and integers become float)
    # that ``apply`` calls on the input arrays before ``forward``.
    promote = None
    # The inputs whose values the rule reads (indices; -1 is the op's own output): backward
    # refuses to run if an in-place op changed one of them since the forward pass.
    saved_inputs: tuple = ()
    versions: tuple | None = None  # the inputs' versions at forward, when any was not 0
    params: tuple = ()  # the op's non-array arguments, when it has any (replay() reruns it)
    out_version = 0  # the output's version when the rule may read it (an in-place op: after it)

    parents: tuple
    # Leave __dict__ on: ops keep their small non-array parameters (dims, shapes) as attributes.

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if isinstance(cls.__dict__.get("forward"), staticmethod):
            # PyTorch's form, ``forward(ctx, *args)`` and ``backward(ctx, *grads)`` as static
            # methods: custom.py gives the class ``apply(*args)`` and runs it as a graph node
            from .custom import install

            install(cls)

    def forward(self, *args):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, g):  # pragma: no cover - abstract
        raise NotImplementedError

    def check_saved(
        self,
        where: str,
        hint: str = "Pass retain_graph=True to that backward() call to use the graph again.",
    ) -> None:
        """Raise if a backward pass has already released what this node's rule needs."""
        if self.saved is _FREED:
            raise RuntimeError(
                f"{where}: the buffers saved by op '{self.name}' were freed by an earlier "
                f"backward(). {hint}"
            )

    def replay(self):
        """A fresh copy of this node with its forward re-run on its inputs' current values,
        and that output: what ``backward()`` freed (``saved``) is there again. Used by the
        explainer after ``backward()``; the engine itself never calls it. ``apply`` keeps the
        op's non-array arguments in ``params`` for this (one attribute, no copy)."""
        fresh = copy.copy(self)
        datas = [
            x._data if isinstance(x, Tensor) else (x.item() if isinstance(x, np.generic) else x)
            for x in self.parents
        ]
        promote = type(self).promote
        if promote is not None:
            datas = promote(datas)
        fresh.saved = None
        return fresh, fresh.forward(*datas, *self.params)

    def needs_grad(self, i: int) -> bool:
        """Whether input ``i`` is a tensor that wants a gradient (lets a rule skip work)."""
        p = self.parents[i]
        return getattr(p, "requires_grad", False)

    @classmethod
    def apply(cls, inputs: tuple, *params) -> Tensor:
        """Run the op forward on ``inputs`` (tensors or plain numbers) and record the node."""
        # NumPy scalars (np.sqrt(d) in `x / np.sqrt(d)`) become Python numbers, which NumPy
        # and PyTorch treat as weak: a float32 tensor stays float32
        datas = []
        requires = False
        bumped = False
        for x in inputs:
            if isinstance(x, Tensor):
                datas.append(x._data)
                if x.requires_grad:
                    requires = True
                if x._vc is not None:
                    bumped = True
            else:
                datas.append(x.item() if isinstance(x, np.generic) else x)
        promote = cls.promote
        if promote is not None:
            datas = promote(datas)
        fn = cls.__new__(cls)
        try:
            out = fn.forward(*datas, *params)
        except (ValueError, TypeError, IndexError) as e:
            raise _op_error(cls, datas, e) from e
        if requires and not mode.grad_enabled:
            requires = False
        t = Tensor.__new__(Tensor)
        t._data = out if type(out) is np.ndarray else _as_array(out)
        t._grad = None
        t._grad_view = None
        t.requires_grad = requires
        t.name = None
        t._retain = False
        t._vc = None
        if requires:
            fn.parents = inputs
            if params:  # what replay() needs besides the inputs (an exponent, dims)
                fn.params = params
            fn.seq = _next_seq()  # creation order: a topological order of the graph
            if bumped:  # some input was changed in place before: remember its version now
                fn.versions = tuple(_version(x) for x in inputs)
            t._ctx = fn
        else:
            t._ctx = None
        if mode.anomaly:
            fn.created_at = _user_stack()
            _check_finite(fn, cls, datas, t._data, "forward")
        return t


_next_seq = itertools.count().__next__


def _version(x) -> int:
    vc = getattr(x, "_vc", None)
    return 0 if vc is None else vc[0]


def _check_versions(fn: Function, t: Tensor) -> None:
    """Raise if an input the rule reads (or the op's output ``t``) changed in place since
    the forward pass, as PyTorch's version counter does."""
    vs = fn.versions
    for i in fn.saved_inputs:
        p = t if i < 0 else fn.parents[i]
        vc = getattr(p, "_vc", None)
        if vc is None:
            continue
        then = fn.out_version if i < 0 else 0 if vs is None else vs[i]
        if vc[0] != then:
            what = "its output" if i < 0 else f"input {i}"
            name = f" '{p.name}'" if getattr(p, "name", None) else ""
            raise InplaceError(
                f"one of the variables needed for gradient computation has been modified by "
                f"an inplace operation: {what}{name} of op '{fn.name}', a tensor of shape "
                f"{tuple(p.shape)} and dtype {p.dtype}, is at version {vc[0]}; expected "
                f"version {then} instead. Use an out-of-place op (x = x * 2 instead of "
                f"x.mul_(2)), or clone() the tensor before changing it."
            )


def _as_array(out):
    if isinstance(out, np.generic):  # NumPy returns 0-d results as scalars: the common case
        return np.asarray(out)
    if backend.is_array(out):
        return out
    return np.asarray(out)


def _shape_str(d) -> str:
    shape = getattr(d, "shape", None)
    return str(tuple(shape)) if shape is not None else type(d).__name__


def _op_error(cls, datas, e: Exception) -> OpError:
    shapes = ", ".join(_shape_str(d) for d in datas)
    kind = OpIndexError if isinstance(e, IndexError) else OpError
    return kind(f"{cls.name}: {e} (input shapes: {shapes})")


def _user_stack() -> list:
    """The call stack without backprop's own frames: where in the user's code an op was made."""
    import os

    here = os.path.dirname(os.path.abspath(__file__))
    frames = traceback.extract_stack()[:-2]
    return [f for f in frames if not os.path.abspath(f.filename).startswith(here)]


def _where(fn: Function) -> str:
    if not fn.created_at:
        return "unknown location"
    f = fn.created_at[-1]
    return f"{f.filename}:{f.lineno} in {f.name}: {f.line}"


def _check_finite(fn, cls, inputs, arr, phase: str, which: str = "output") -> None:
    if not backend.is_array(arr) or arr.dtype.kind not in "fc":
        return
    if bool(np.isfinite(arr).all()):
        return
    kind = "NaN" if bool(np.isnan(arr).any()) else "Inf"
    shapes = ", ".join(_shape_str(d) for d in inputs)
    raise AnomalyError(
        f"detect_anomaly: op '{cls.name}' produced {kind} in its {which} during the {phase} "
        f"pass; input shapes: {shapes}; op created at {_where(fn)}"
    )


class _Switch(ContextDecorator):
    """Sets one ``mode`` flag for a ``with`` block or a decorated call.

    The previous values are kept on a stack, so one instance can decorate a function that
    recurses or be nested in itself. ``@bp.no_grad`` works without parentheses, as in PyTorch.
    """

    _flag = ""
    _value = False

    def __new__(cls, func=None):
        self = super().__new__(cls)
        return self(func) if callable(func) else self

    def __enter__(self):
        self.__dict__.setdefault("_prev", []).append(getattr(mode, self._flag))
        setattr(mode, self._flag, self._value)
        return self

    def __exit__(self, *exc):
        setattr(mode, self._flag, self._prev.pop())
        return False


class no_grad(_Switch):
    """Context manager and decorator: ops inside record no graph (inference, weight updates).

    >>> import backprop as bp
    >>> w = bp.tensor([1.0], requires_grad=True)
    >>> with bp.no_grad():
    ...     y = w * 2
    >>> y.requires_grad
    False
    """

    _flag, _value = "grad_enabled", False


class enable_grad(_Switch):
    """Turn graph recording back on inside a ``no_grad`` block."""

    _flag, _value = "grad_enabled", True


def is_grad_enabled() -> bool:
    return mode.grad_enabled


class set_grad_enabled(ContextDecorator):
    """Turn graph recording on or off: as a function call (for the rest of the process), or
    as a context manager or decorator (restored afterwards), as in PyTorch.

    >>> import backprop as bp
    >>> with bp.set_grad_enabled(False):
    ...     bp.is_grad_enabled()
    False
    >>> bp.is_grad_enabled()
    True
    """

    def __init__(self, mode_: bool) -> None:
        self.prev = mode.grad_enabled
        self.value = bool(mode_)
        self._stack: list = []
        mode.grad_enabled = self.value

    def __call__(self, func):
        mode.grad_enabled = self.prev  # a decorator: the setting applies inside calls only
        return super().__call__(func)

    def __enter__(self):
        self._stack.append(mode.grad_enabled if self._stack else self.prev)
        mode.grad_enabled = self.value
        return self

    def __exit__(self, *exc):
        mode.grad_enabled = self._stack.pop()
        return False


class inference_mode(_Switch):
    """As ``no_grad`` (PyTorch's faster no-graph mode): ``with bp.inference_mode():`` or
    ``@bp.inference_mode()``; ``inference_mode(False)`` changes nothing."""

    _flag, _value = "grad_enabled", False

    def __new__(cls, mode_=True):
        if callable(mode_):
            return super().__new__(cls, mode_)
        self = super().__new__(cls)
        if not mode_:
            self._value = mode.grad_enabled
            self.__dict__["_follow"] = True
        return self

    def __enter__(self):
        if self.__dict__.get("_follow"):
            self._value = mode.grad_enabled
        return super().__enter__()


def is_inference_mode_enabled() -> bool:
    return not mode.grad_enabled


class detect_anomaly(_Switch):
    """Raise at the first NaN or Inf made in the forward or the backward pass.

    The error names the op, its input shapes and the line of the user's code that created it.
    Slower (every op checks its output and records a stack): use it to debug, not to train.

    >>> import backprop as bp
    >>> x = bp.tensor([-1.0], requires_grad=True)
    >>> with bp.detect_anomaly():
    ...     y = x.log()
    Traceback (most recent call last):
    ...
    backprop.autograd.AnomalyError: detect_anomaly: op 'log' produced NaN ...
    """

    _flag, _value = "anomaly", True


def unbroadcast(g, shape: tuple):
    """Sum ``g`` down to ``shape``, undoing NumPy broadcasting (the one place this happens)."""
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    if extra < 0:  # a gradient of fewer dims than its input: broadcast it up (e.g. from expand)
        return np.broadcast_to(g, shape).copy()
    axes = tuple(range(extra)) + tuple(
        i + extra for i, n in enumerate(shape) if n == 1 and g.shape[i + extra] != 1
    )
    out = g.sum(axis=axes, keepdims=True) if axes else g
    return out.reshape(shape) if out.shape != shape else out


def toposort(root: Tensor, include_leaves: bool = False) -> list[Tensor]:
    """Tensors reachable from ``root``, inputs before outputs (an iterative DFS, so deep
    graphs never meet Python's recursion limit). Only the non-leaf ones unless
    ``include_leaves``: backward needs the op nodes, the explainer every tensor."""
    order: list[Tensor] = []
    seen: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        t, expanded = stack.pop()
        if expanded:
            order.append(t)
            continue
        if id(t) in seen:
            continue
        seen.add(id(t))
        stack.append((t, True))
        if t._ctx is None:
            continue
        for p in reversed(t._ctx.parents):
            if (
                isinstance(p, Tensor)
                and (include_leaves or p._ctx is not None)
                and id(p) not in seen
            ):
                stack.append((p, False))
    return order


def _seed(root: Tensor, grad, where: str = "backward"):  # noqa: F811
    """The gradient that starts a backward pass at ``root`` (ones for a scalar)."""
    if not root.requires_grad:
        raise RuntimeError(
            f"{where}: this tensor does not require grad and has no graph; set "
            "requires_grad=True on the inputs you want gradients for"
        )
    if grad is None:
        if root._data.size != 1:
            raise RuntimeError(
                f"{where}: grad can be implicitly created only for scalar outputs, but this "
                f"tensor has shape {tuple(root.shape)}; pass grad= (a tensor of that shape), or "
                f"reduce it first (e.g. .sum())"
            )
        return backend.get_array_module(root._data).ones_like(root._data)
    g = grad._data if isinstance(grad, Tensor) else grad
    xp = backend.get_array_module(root._data)
    g = xp.asarray(g, dtype=root._data.dtype)
    if g.shape != root._data.shape:
        raise RuntimeError(
            f"{where}: grad has shape {tuple(g.shape)} but the output has shape "
            f"{tuple(root._data.shape)}"
        )
    return g


def backward(
    root,
    grad=None,  # noqa: F811
    retain_graph: bool | None = False,
    create_graph: bool = False,
    inputs=None,  # noqa: F811
) -> None:
    """Backpropagate from ``root``; see ``Tensor.backward``. As ``torch.autograd.backward``
    it also takes a sequence of tensors (and one gradient for each), and ``inputs=``: the
    only tensors whose ``.grad`` is filled."""
    if create_graph:
        raise NotImplementedError(
            "backward: create_graph=True (higher-order gradients) is not supported: "
            "backprop's derivative rules compute on arrays, not on recorded tensors"
        )
    if not isinstance(root, Tensor) or inputs is not None:
        from .custom import backward_many

        return backward_many(root, grad, bool(retain_graph), inputs)
    g = _seed(root, grad)
    if _queued:  # left over from a backward that raised
        _queued.clear()
    if root._ctx is None:  # backward on a leaf: its gradient with respect to itself
        if _grad_hooks and id(root) in _grad_hooks:
            g = _call_grad_hooks(root, g)
        _to_leaf(root, g, is_fresh=False)
        if _leaf_hooks:
            _run_leaf_hooks(root)
        if _queued:
            _run_queued()
        return
    _run({id(root): g}, [root], retain_graph, _to_leaf)


def _run(grads: dict, roots: list, retain_graph: bool, sink, capture=None) -> None:
    """The traversal: from the non-leaf ``roots`` (their gradients in ``grads``), every leaf
    reached gets its gradient through ``sink``; ``capture`` (a dict id -> list) collects the
    gradients of non-leaf tensors instead of continuing past them (``autograd.grad``)."""
    # Visit nodes in decreasing creation order: every consumer of a tensor was created after
    # it, so by the time a tensor is popped all of its gradient contributions have arrived.
    # A heap keyed by creation order is the topological sort and the traversal in one pass,
    # and it never visits a node that no gradient reaches.
    anomaly = mode.anomaly
    fresh: set[int] = set()  # ids of tensors whose pending gradient array we own
    heap = sorted({id(r): (-r._ctx.seq, r) for r in roots}.values(), key=lambda e: e[0])
    ghooks = held = None
    if _grad_hooks:  # Tensor.register_hook: a leaf's gradient is held until the pass ends
        ghooks, held, leaf_sink = _grad_hooks, {}, sink or _to_leaf

        def sink(p, r, is_fresh):
            k = id(p)
            if k in ghooks:
                prev = held.get(k)
                held[k] = (p, r if prev is None else prev[1] + r)
            else:
                leaf_sink(p, r, is_fresh)

    pending = None
    if _leaf_hooks and capture is None:  # autograd.grad fills no .grad: no hook runs
        pending = {}
        for r in roots:
            for k, (n, leaf) in _hooked_leaf_edges(r).items():
                pending[k] = [pending[k][0] + n, leaf] if k in pending else [n, leaf]
    while heap:
        t = heappop(heap)[1]
        g = grads.pop(id(t))
        if ghooks is not None and id(t) in ghooks:
            g = _call_grad_hooks(t, g)
            fresh.discard(id(t))
        if capture is not None:
            slot = capture.get(id(t))
            if slot is not None:  # an input of grad(): keep its gradient, and go on past it
                slot.append(g if id(t) in fresh else g.copy())
        elif t._retain:
            _to_leaf(t, g, id(t) in fresh)
        fn = t._ctx
        if fn.saved is _FREED:
            fn.check_saved("backward: trying to backward through the graph a second time")
        if fn.seq < mode.last_write and fn.saved_inputs:
            _check_versions(fn, t)
        pgrads = fn.backward(g)
        if not retain_graph and fn.saved is not None:
            fn.saved = _FREED
        for p, r in zip(fn.parents, pgrads):
            if r is None or not isinstance(p, Tensor) or not p.requires_grad:
                continue
            if anomaly:
                datas = [getattr(q, "data", q) for q in fn.parents]
                _check_finite(fn, type(fn), datas, r, "backward", "gradient")
            if _accumulate(
                p, r, r is not g and getattr(r, "base", None) is None, grads, fresh, sink
            ):
                heappush(heap, (-p._ctx.seq, p))
        if pending:
            _edges_done(fn, pending)
    if held:
        for p, r in held.values():
            leaf_sink(p, _call_grad_hooks(p, r), False)
            if p._ctx is None and id(p) in _leaf_hooks:
                _run_leaf_hooks(p)  # its gradient is complete only now
    if _queued:
        _run_queued()


def backward_order(root: Tensor) -> list[Tensor]:
    """The non-leaf tensors of ``root``'s graph in the order ``backward`` visits them."""
    return sorted(toposort(root), key=lambda t: -t._ctx.seq)


def _accumulate(p: Tensor, r, is_fresh: bool, grads: dict, fresh: set, sink=None) -> bool:
    """Add ``r`` to ``p``'s gradient; True when it is the first to reach non-leaf ``p``."""
    pd = p._data
    if type(r) is not np.ndarray and not backend.is_array(r):
        # NumPy returns 0-d results as immutable scalars, which `prev += r` would not update
        r = np.asarray(r)
        is_fresh = True
    if r.shape != pd.shape:
        r = unbroadcast(r, pd.shape)
        is_fresh = True
    if r.dtype != pd.dtype:
        r = r.astype(pd.dtype)
        is_fresh = True
    if p._ctx is None:
        (sink or _to_leaf)(p, r, is_fresh)
        return False
    k = id(p)
    prev = grads.get(k)
    if prev is None:
        grads[k] = r
        if is_fresh:
            fresh.add(k)
        return True
    if k in fresh:
        prev += r  # we own prev: accumulate in place
    else:
        grads[k] = prev + r
        fresh.add(k)
    return False


def _to_leaf(t: Tensor, g, is_fresh: bool) -> None:
    """Accumulate into ``t._grad`` as PyTorch does: in place once the tensor owns its grad."""
    if t._grad is None:
        t._grad = g if is_fresh and g.flags.writeable else g.copy()
    else:
        t._grad += g


# ---------------------------------------------------------------------------- hooks
# What data-parallel training needs from the engine (bp.nn.parallel.DistributedDataParallel
# starts a bucket's all-reduce as soon as its gradients are in). Unused, they cost one
# truthiness test per node and two per backward call.
_leaf_hooks: dict[int, list] = {}  # id(leaf tensor) -> its post-accumulate-grad hooks
_queued: list = []  # callbacks to run when the backward pass now running ends
_grad_hooks: dict[int, list] = {}  # id(tensor) -> hooks on its gradient (Tensor.register_hook)


def _add_hook(table: dict, t: Tensor, hook, what: str) -> RemovableHandle:
    """Append ``hook`` to ``t``'s list in ``table`` (keyed by id, dropped when ``t`` dies)."""
    if not t.requires_grad:
        raise RuntimeError(
            f"{what}: cannot register a hook on a tensor that doesn't require gradient"
        )
    key = id(t)
    hooks = table.get(key)
    if hooks is None:
        hooks = table[key] = []
        weakref.finalize(t, table.pop, key, None)  # the id may be reused after death
    hooks.append(hook)
    return RemovableHandle(hooks, hook)


def register_hook(t: Tensor, hook) -> RemovableHandle:
    """See ``Tensor.register_hook``."""
    return _add_hook(_grad_hooks, t, hook, "register_hook")


def _call_grad_hooks(t: Tensor, g):
    """Pass the gradient of ``t`` through its hooks, in order; a hook returning a tensor
    replaces the gradient (PyTorch's ``register_hook``)."""
    for hook in tuple(_grad_hooks.get(id(t), ())):
        out = hook(Tensor._wrap(g))
        if out is None:
            continue
        new = out._data if isinstance(out, Tensor) else np.asarray(out)
        if new.shape != g.shape:
            raise RuntimeError(
                f"hook {getattr(hook, '__name__', hook)!r} has changed the size of the gradient: "
                f"expected shape {tuple(g.shape)}, got {tuple(new.shape)}"
            )
        g = new.astype(g.dtype, copy=False)
    return g


def _hooked_leaf_edges(root: Tensor) -> dict[int, list]:
    """For each hooked leaf of ``root``'s graph, ``[edges into the graph, the leaf]``: its
    hooks run when backward has processed the last of these edges (its gradient complete)."""
    pending: dict[int, list] = {}
    for t in toposort(root):
        for p in t._ctx.parents:
            if isinstance(p, Tensor) and p._ctx is None and id(p) in _leaf_hooks:
                entry = pending.get(id(p))
                if entry is None:
                    pending[id(p)] = [1, p]
                else:
                    entry[0] += 1
    return pending


def _edges_done(fn: Function, pending: dict[int, list]) -> None:
    for p in fn.parents:
        entry = pending.get(id(p))
        if entry is not None and id(p) not in _grad_hooks:  # held: its hooks run at the end
            entry[0] -= 1
            if entry[0] == 0:
                _run_leaf_hooks(entry[1])


def _run_leaf_hooks(t: Tensor) -> None:
    for hook in tuple(_leaf_hooks.get(id(t), ())):
        hook(t)


class RemovableHandle:
    """What registering a hook returns: ``handle.remove()`` unregisters it (PyTorch's)."""

    def __init__(self, hooks: list, hook) -> None:
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def register_post_accumulate_grad_hook(t: Tensor, hook) -> RemovableHandle:
    """See ``Tensor.register_post_accumulate_grad_hook``."""
    if t._ctx is not None:
        raise RuntimeError(
            "register_post_accumulate_grad_hook: post accumulate grad hooks cannot be "
            "registered on non-leaf tensors (their gradient is not accumulated into .grad)"
        )
    return _add_hook(_leaf_hooks, t, hook, "register_post_accumulate_grad_hook")


def queue_callback(callback) -> None:
    """Run ``callback()`` once the backward pass now running has finished (call it from a
    hook; PyTorch's ``Variable._execution_engine.queue_callback``)."""
    _queued.append(callback)


def _run_queued() -> None:
    callbacks = tuple(_queued)
    _queued.clear()
    for callback in callbacks:
        callback()


from .custom import grad  # noqa: E402, F401  (bp.autograd.grad, as torch.autograd.grad)
from .tensor import Tensor  # noqa: E402  (tensor.py builds on the Function defined above)
