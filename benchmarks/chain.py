"""Per-op overhead: a chain of elementwise ops (alternating ``* c`` and ``+ c``), then backward.

On a 16-element tensor and on a scalar the arithmetic is negligible, so the time per op is what
the framework adds: creating the output, recording the node, and in backward visiting it.
"""

from __future__ import annotations

import time

import numpy as np

N_OPS = 1000


def _values(shape):
    rng = np.random.default_rng(0)
    x = (rng.random(shape) * 0.1 + 1).astype(np.float32)
    c = (rng.random(shape) * 0.001 + 1).astype(np.float32)  # stays finite over 1000 ops
    return x, c


def numpy_forward(shape):
    x, c = _values(shape)

    def run():
        t0 = time.perf_counter()
        y = x
        for _ in range(N_OPS // 2):
            y = y * c
            y = y + c
        return time.perf_counter() - t0, 0.0

    return run


def numpy_tape(shape):
    """A hand-written tape: forward records (op, saved), backward walks it in reverse."""
    x, c = _values(shape)

    def run():
        t0 = time.perf_counter()
        tape = []
        y = x
        for _ in range(N_OPS // 2):
            tape.append(("mul", c))
            y = y * c
            tape.append(("add", None))
            y = y + c
        t1 = time.perf_counter()
        g = np.ones_like(y)
        for op, saved in reversed(tape):
            if op == "mul":
                g = g * saved
        return t1 - t0, time.perf_counter() - t1

    return run


def _timed_chain(x, c, clear_grad=True):
    """A run of the chain for a PyTorch-like tensor library: the same code for each."""

    def run():
        t0 = time.perf_counter()
        y = x
        for _ in range(N_OPS // 2):
            y = y * c
            y = y + c
        y = y.sum()
        t1 = time.perf_counter()
        y.backward()
        if clear_grad:
            x.grad = None
        return t1 - t0, time.perf_counter() - t1

    return run


def backprop_chain(shape):
    import backprop as bp

    xv, cv = _values(shape)
    return _timed_chain(bp.tensor(xv, requires_grad=True), bp.tensor(cv))


def torch_chain(shape):
    import torch

    xv, cv = _values(shape)
    return _timed_chain(torch.tensor(xv, requires_grad=True), torch.tensor(cv))


def mygrad_chain(shape):
    import mygrad as mg

    xv, cv = _values(shape)
    return _timed_chain(mg.tensor(xv), cv, clear_grad=False)  # backward replaces mygrad's grads


def autograd_chain(shape):
    """HIPS autograd records and differentiates in one call: forward + backward together."""
    import autograd

    xv, cv = _values(shape)

    def f(x):
        y = x
        for _ in range(N_OPS // 2):
            y = y * cv
            y = y + cv
        return y.sum()

    g = autograd.grad(f)

    def run():
        t0 = time.perf_counter()
        g(xv)
        return time.perf_counter() - t0, None

    return run


CONTENDERS = {
    "NumPy alone (forward only)": numpy_forward,
    "hand-written NumPy tape": numpy_tape,
    "backprop": backprop_chain,
    "PyTorch eager": torch_chain,
    "HIPS autograd": autograd_chain,
    "MyGrad": mygrad_chain,
}
