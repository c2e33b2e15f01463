"""The extension point (PyTorch-style bp.autograd.Function) and bp.autograd.grad/backward,
checked against torch float64 and by gradcheck."""

import numpy as np
import pytest
import torch

import backprop as bp


class MulAdd(bp.autograd.Function):
    """a * b + c, with a scale given as a keyword."""

    formulas = ("d(k a b + c)/da = k b", "d(k a b + c)/db = k a", "d(k a b + c)/dc = 1")

    @staticmethod
    def forward(ctx, a, b, c, *, scale=1.0):
        ctx.save_for_backward(a, b)
        ctx.scale = scale
        return scale * a * b + c

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = g * b * ctx.scale if ctx.needs_input_grad[0] else None
        gb = g * a * ctx.scale if ctx.needs_input_grad[1] else None
        return ga, gb, g


class TorchMulAdd(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a, b, c, scale=1.0):
        ctx.save_for_backward(a, b)
        ctx.scale = scale
        return scale * a * b + c

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return g * b * ctx.scale, g * a * ctx.scale, g, None


def test_custom_function_matches_torch_and_gradcheck():
    rng = np.random.default_rng(0)
    va, vb, vc = rng.normal(size=(3, 4)), rng.normal(size=(3, 4)), rng.normal(size=(4,))
    bs = [bp.tensor(v, requires_grad=True) for v in (va, vb, vc)]
    ts = [torch.tensor(v, requires_grad=True) for v in (va, vb, vc)]
    out = MulAdd.apply(*bs, scale=2.0)
    ref = TorchMulAdd.apply(*ts, 2.0)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy())
    assert out.grad_fn.name == "MulAdd"
    (out * out).sum().backward()
    (ref * ref).sum().backward()
    for b, t in zip(bs, ts):
        np.testing.assert_allclose(b.grad.numpy(), t.grad.numpy(), rtol=1e-12)
    xs = [bp.tensor(v, requires_grad=True) for v in (va, vb, vc)]
    assert bp.gradcheck(lambda a, b, c: MulAdd.apply(a, b, c, scale=0.5), xs)


def test_needs_input_grad_and_none_gradients():
    a = bp.tensor([1.0, 2.0], dtype=bp.float64, requires_grad=True)
    b = bp.tensor([3.0, 4.0], dtype=bp.float64)
    c = bp.tensor([0.0, 0.0], dtype=bp.float64)
    seen = []

    class Probe(MulAdd):
        @staticmethod
        def backward(ctx, g):
            seen.append(ctx.needs_input_grad)
            return MulAdd.backward(ctx, g)

    Probe.apply(a, b, c).sum().backward()
    assert seen == [(True, False, False)] and a.grad.tolist() == [3.0, 4.0]


class Identity(bp.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, g):
        return g  # returns the incoming buffer itself


def test_returning_a_buffer_never_corrupts_accumulated_gradients():
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    y = Identity.apply(x).sum()
    for _ in range(3):
        y.backward(retain_graph=True)
    assert x.grad.tolist() == [3.0, 3.0]


class SavedBuffer(bp.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.ones = bp.ones_like(x)
        return x.clone()

    @staticmethod
    def backward(ctx, g):
        return ctx.ones


def test_returning_a_saved_buffer_is_copied():
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    y = SavedBuffer.apply(x).sum()
    for _ in range(3):
        y.backward(retain_graph=True)
    assert x.grad.tolist() == [3.0, 3.0]


class SplitTwo(bp.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * 2, x * x

    @staticmethod
    def backward(ctx, g1, g2):
        (x,) = ctx.saved_tensors
        return g1 * 2 + g2 * 2 * x


def test_multiple_outputs():
    x = bp.tensor([1.0, 3.0], requires_grad=True)
    a, b = SplitTwo.apply(x)
    (a.sum() + 3 * b.sum()).backward()
    assert x.grad.tolist() == [2 + 6 * 1.0, 2 + 6 * 3.0]


def test_wrong_gradient_count_and_second_backward_are_clear():
    class Bad(bp.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, g):
            return g

    a = bp.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="Bad.backward returned 1 gradient.*expected 2"):
        Bad.apply(a, a).sum().backward()
    y = MulAdd.apply(a, a, a).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_custom_op_shows_in_explain_and_trace():
    x = bp.tensor([1.0, 2.0], requires_grad=True, name="x")
    y = MulAdd.apply(x, x, x, scale=3.0).sum()
    text = str(bp.explain(y, x))
    assert "equals backward's gradient [7, 13]" in text
    assert bp.to_dot(y).count(" -> ") >= 2  # x -> the custom node -> L
    assert "dL/dx = [7, 13]" in str(bp.trace(y))
    y.backward()
    assert x.grad.tolist() == [3 * 2 * 1.0 + 1, 3 * 2 * 2.0 + 1]


# ---------------------------------------------------------------------------- grad


def test_autograd_grad_matches_torch_and_leaves_grad_alone():
    v = [0.5, -1.0, 2.0]
    x = bp.tensor(v, dtype=bp.float64, requires_grad=True)
    w = bp.tensor(v[::-1], dtype=bp.float64, requires_grad=True)
    h = (x * w).tanh()
    y = (h * x).sum()
    gx, gh = bp.autograd.grad(y, [x, h], retain_graph=True)
    tx = torch.tensor(v, dtype=torch.float64, requires_grad=True)
    tw = torch.tensor(v[::-1], dtype=torch.float64, requires_grad=True)
    th = (tx * tw).tanh()
    ty = (th * tx).sum()
    rx, rh = torch.autograd.grad(ty, [tx, th], retain_graph=True)
    np.testing.assert_allclose(gx.numpy(), rx.numpy(), rtol=1e-12)
    np.testing.assert_allclose(gh.numpy(), rh.numpy(), rtol=1e-12)
    assert x.grad is None and w.grad is None
    (gw,) = bp.autograd.grad(y, w, grad_outputs=bp.tensor(2.0, dtype=bp.float64))
    (rw,) = torch.autograd.grad(
        (th * tx).sum(), tw, grad_outputs=torch.tensor(2.0, dtype=torch.float64)
    )
    np.testing.assert_allclose(gw.numpy(), rw.numpy(), rtol=1e-12)


def test_autograd_grad_unused_and_create_graph():
    x = bp.tensor([1.0], requires_grad=True)
    z = bp.tensor([1.0], requires_grad=True)
    y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        bp.autograd.grad(y, [x, z], retain_graph=True)
    gx, gz = bp.autograd.grad(y, [x, z], allow_unused=True, retain_graph=True)
    assert gx.tolist() == [2.0] and gz is None
    with pytest.raises(NotImplementedError, match="create_graph"):
        bp.autograd.grad(y, x, create_graph=True)


def test_autograd_backward_of_several_outputs_and_inputs():
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    w = bp.tensor([3.0, 4.0], requires_grad=True)
    a, b = (x * w).sum(), (x * x).sum()
    bp.autograd.backward([a, b], inputs=[x])
    assert x.grad.tolist() == [3.0 + 2.0, 4.0 + 4.0] and w.grad is None
