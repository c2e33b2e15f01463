"""The fused primitives against PyTorch and against the composites they replace."""

import numpy as np
import pytest
import torch

import backprop as bp
from backprop import ops


def _pair(a):
    return bp.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch(dtype, bias):
    rng = np.random.default_rng(0)
    (x, tx), (w, tw) = (
        _pair(rng.standard_normal((5, 3)).astype(dtype)),
        _pair(rng.standard_normal((4, 3)).astype(dtype)),
    )
    b, tb = _pair(rng.standard_normal(4).astype(dtype)) if bias else (None, None)
    y = ops.linear(x, w, b)
    ty = torch.nn.functional.linear(tx, tw, tb)
    up = rng.standard_normal((5, 4)).astype(dtype)
    y.backward(up)
    ty.backward(torch.tensor(up))
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y._data, ty.detach().numpy(), rtol=tol, atol=tol)
    assert y.dtype == dtype and x.grad.dtype == dtype
    for a, ta in ((x, tx), (w, tw)) + (((b, tb),) if bias else ()):
        np.testing.assert_allclose(a.grad, ta.grad.numpy(), rtol=tol, atol=tol)


def test_linear_3d_input_and_no_grad_input():
    rng = np.random.default_rng(1)
    x = bp.tensor(rng.standard_normal((2, 5, 3)))
    w, tw = _pair(rng.standard_normal((4, 3)))
    y = ops.linear(x, w)
    y.sum().backward()
    ty = torch.nn.functional.linear(torch.tensor(x._data), tw)
    ty.sum().backward()
    np.testing.assert_allclose(w.grad, tw.grad.numpy(), rtol=1e-12)
    assert x.grad is None


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_softmax_cross_entropy_matches_torch(reduction):
    rng = np.random.default_rng(2)
    z, tz = _pair(rng.standard_normal((6, 4)) * 5)
    t = np.array([0, 3, 1, 2, 2, 0])
    loss = ops.softmax_cross_entropy(z, bp.tensor(t), reduction)
    tl = torch.nn.functional.cross_entropy(tz, torch.tensor(t), reduction=reduction)
    up = rng.standard_normal(loss.shape)
    loss.backward(up if reduction == "none" else None)
    tl.backward(torch.tensor(up) if reduction == "none" else None)
    np.testing.assert_allclose(loss._data, tl.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(z.grad, tz.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_softmax_cross_entropy_is_stable_and_keeps_float32():
    z = bp.tensor([[1000.0, 0.0, -1000.0]], requires_grad=True)
    loss = ops.softmax_cross_entropy(z, np.array([1]))
    loss.backward()
    assert loss.dtype == np.float32 and z.grad.dtype == np.float32
    assert np.isfinite(loss.item()) and np.all(np.isfinite(z.grad))
    np.testing.assert_allclose(z.grad, [[1.0, -1.0, 0.0]], atol=1e-6)


def test_fused_rules_pass_gradcheck():
    rng = np.random.default_rng(3)
    x = bp.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    w = bp.tensor(rng.standard_normal((5, 4)), requires_grad=True)
    b = bp.tensor(rng.standard_normal(5), requires_grad=True)
    t = np.array([4, 0, 2])
    assert bp.gradcheck(
        lambda x, w, b: ops.softmax_cross_entropy(ops.linear(x, w, b), t), [x, w, b]
    )


def test_relu_forward_and_rule_unchanged_at_the_kink():
    x = bp.tensor([[-1.0, 0.0, 2.0], [3.0, -0.0, -4.0]], requires_grad=True)
    y = x.relu()
    y.sum().backward()
    tx = torch.tensor(x._data, requires_grad=True)
    ty = torch.relu(tx)
    ty.sum().backward()
    np.testing.assert_array_equal(y._data, ty.detach().numpy())
    np.testing.assert_array_equal(x.grad, tx.grad.numpy())
