"""Numerical gradient checks: central differences in float64 against backward's gradients.

>>> import backprop as bp
>>> x = bp.tensor([0.3, -1.2], dtype="float64", requires_grad=True)
>>> bp.gradcheck(lambda x: (x.tanh() * x).sum(), x)
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .autograd import no_grad
from .tensor import Tensor


class GradcheckError(AssertionError):
    """Analytic and numeric gradients disagree; the message holds a per-entry table."""


def _label(t: Tensor, i: int) -> str:
    return f"input {i}" + (f" '{t.name}'" if t.name else "") + f" {tuple(t.shape)}"


def gradcheck(
    fn: Callable[..., Tensor],
    inputs: Tensor | Sequence[Tensor],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    max_rows: int = 20,
) -> bool:
    """Check ``fn``'s gradients with respect to every input that requires grad.

    ``fn(*inputs)`` returns a tensor of any shape. Each input is copied to float64; the
    Jacobian from backward (one backward per output entry) is compared with central
    differences ``(f(x + eps) - f(x - eps)) / (2 eps)``, entry by entry:
    ``|analytic - numeric| <= atol + rtol * |numeric|``. Returns True, or raises
    ``GradcheckError`` with a table (input, entry, analytic, numeric, error) naming the input.
    """
    single = isinstance(inputs, Tensor)
    originals = [inputs] if single else list(inputs)
    xs = []
    for t in originals:
        if isinstance(t, Tensor) and t.requires_grad:
            x = Tensor(np.array(t._data, dtype=np.float64), requires_grad=True, name=t.name)
        elif isinstance(t, Tensor):
            x = Tensor(np.array(t._data, dtype=np.float64) if t.dtype.kind == "f" else t._data)
        else:
            x = t
        xs.append(x)
    wrt = [i for i, x in enumerate(xs) if isinstance(x, Tensor) and x.requires_grad]
    if not wrt:
        raise ValueError("gradcheck: no input requires grad; nothing to check")

    out = fn(*xs)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    n_out = out._data.size
    analytic = {i: np.zeros((n_out, xs[i]._data.size)) for i in wrt}
    if out.requires_grad:
        for k in range(n_out):
            for i in wrt:
                xs[i]._grad = None
            onehot = np.zeros(n_out)
            onehot[k] = 1.0
            out.backward(onehot.reshape(out.shape), retain_graph=True)
            for i in wrt:
                if xs[i]._grad is not None:
                    analytic[i][k] = xs[i]._grad.reshape(-1)

    rows = []
    with no_grad():
        for i in wrt:
            flat = xs[i]._data.reshape(-1)
            for j in range(flat.size):
                orig = flat[j]
                flat[j] = orig + eps
                plus = np.array(fn(*xs)._data, dtype=np.float64).reshape(-1)
                flat[j] = orig - eps
                minus = np.array(fn(*xs)._data, dtype=np.float64).reshape(-1)
                flat[j] = orig
                numeric = (plus - minus) / (2 * eps)
                a = analytic[i][:, j]
                err = np.abs(a - numeric)
                for k in np.nonzero(err > atol + rtol * np.abs(numeric))[0]:
                    entry = tuple(int(n) for n in np.unravel_index(j, xs[i].shape))
                    rows.append((_label(xs[i], i), entry, int(k), a[k], numeric[k], err[k]))
    if not rows:
        return True
    if not raise_exception:
        return False
    lines = [
        f"gradcheck failed: {len(rows)} entries differ (eps={eps}, atol={atol}, rtol={rtol})",
        f"{'input':<28} {'entry':<12} {'out':>4} {'analytic':>14} {'numeric':>14} {'error':>11}",
    ]
    for name, entry, k, a, nmr, e in rows[:max_rows]:
        lines.append(f"{name:<28} {str(entry):<12} {k:>4} {a:>14.6g} {nmr:>14.6g} {e:>11.3g}")
    if len(rows) > max_rows:
        lines.append(f"... and {len(rows) - max_rows} more")
    raise GradcheckError("\n".join(lines))
