"""In-place ops and PyTorch's version counter: values against torch, and backward refusing
a value that an in-place op changed (PyTorch raises there too)."""

import numpy as np
import pytest
import torch

import backprop as bp


def test_fill_on_a_saved_output_makes_backward_raise():
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    h = x.exp()
    h.fill_(0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation.*'exp'"):
        h.sum().backward()
    t = torch.tensor([1.0, 2.0], requires_grad=True)
    th = t.exp()
    th.fill_(0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        th.sum().backward()


def test_zero_under_no_grad_of_a_saved_input_makes_backward_raise():
    w = bp.tensor([1.0, 2.0], requires_grad=True, name="w")
    x = bp.tensor([3.0, 4.0])
    y = w * x
    with bp.no_grad():
        w.zero_()
    assert w._version == 1
    with pytest.raises(RuntimeError, match="input 0 'w' of op 'mul'.*version 1; expected"):
        y.sum().backward()


def test_change_through_data_or_detach_counts():
    w = bp.tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).sum()
    w.data.add_(1.0)
    with pytest.raises(RuntimeError, match="inplace"):
        y.backward()
    v = bp.tensor([1.0, 2.0], requires_grad=True)
    y = v.exp().sum()
    v.detach().mul_(2)  # exp saved only its output: v's change does not matter
    y.backward()
    assert v.grad.tolist() == pytest.approx(np.exp([1.0, 2.0]).tolist())


def test_unsaved_input_may_change():
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    y = (x + 1).sum()  # add saves nothing
    with bp.no_grad():
        x.add_(5)
    y.backward()
    assert x.grad.tolist() == [1.0, 1.0]


@pytest.mark.parametrize(
    "op",
    [
        lambda t, m: t.add_(m.tensor([1.0, 2.0, 3.0]), alpha=2),
        lambda t, m: t.sub_(2.0, alpha=0.5),
        lambda t, m: t.mul_(3),
        lambda t, m: t.div_(m.tensor([2.0, 4.0, 8.0])),
        lambda t, m: t.pow_(2),
        lambda t, m: t.neg_(),
        lambda t, m: t.clamp_(0.5, 2.5),
        lambda t, m: t.clamp_(min=1.5),
        lambda t, m: t.zero_(),
        lambda t, m: t.fill_(7),
        lambda t, m: t.copy_(m.tensor([9.0, 8.0, 7.0])),
        lambda t, m: t.copy_(m.tensor(5.0)),
        lambda t, m: t.exp_(),
        lambda t, m: t.sqrt_(),
    ],
)
def test_inplace_values_match_torch(op):
    t = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    b = bp.tensor([1.0, 2.0, 3.0], dtype=bp.float64)
    r = op(b, bp)
    op(t, torch)
    assert r is b
    np.testing.assert_allclose(b.numpy(), t.numpy())
    assert b._version == 1


def test_inplace_in_a_graph_records_the_op():
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    h.mul_(3)
    h.add_(x)
    h.sum().backward()
    t = torch.tensor([1.0, 2.0], requires_grad=True)
    th = t * 2
    th.mul_(3)
    th.add_(t)
    th.sum().backward()
    assert x.grad.tolist() == t.grad.tolist() == [7.0, 7.0]


def test_leaf_that_requires_grad_refuses_inplace_in_a_graph():
    w = bp.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        w.add_(1)
    with bp.no_grad():
        w.add_(1)
    assert w.tolist() == [2.0]


def test_float_into_int_refused_and_shape_checked():
    i = bp.tensor([1, 2])
    with pytest.raises(RuntimeError, match="can't be cast"):
        i.add_(0.5)
    f = bp.zeros(3)
    with pytest.raises(RuntimeError, match="broadcast"):
        f.add_(bp.ones(2))


def test_random_fills_and_requires_grad_and_detach():
    bp.manual_seed(0)
    w = bp.empty(1000).uniform_(-1, 1)
    assert -1 <= w.min().item() and w.max().item() < 1 and w.dtype == np.float32
    n = bp.zeros(10000).normal_(2.0, 0.5)
    assert abs(n.mean().item() - 2.0) < 0.05 and abs(n.std().item() - 0.5) < 0.05
    z = bp.zeros(2).requires_grad_()
    assert z.requires_grad
    y = z * 2
    y.detach_()
    assert y.is_leaf and not y.requires_grad


def test_set_grad_enabled_is_a_function_and_a_context_manager():
    with bp.set_grad_enabled(False):
        assert not bp.is_grad_enabled()
    assert bp.is_grad_enabled()
    bp.set_grad_enabled(False)
    assert not bp.is_grad_enabled()
    bp.set_grad_enabled(True)
    assert bp.is_grad_enabled()

    @bp.set_grad_enabled(False)
    def f():
        return bp.is_grad_enabled()

    assert bp.is_grad_enabled() and f() is False and bp.is_grad_enabled()
    with bp.inference_mode():
        assert not (bp.ones(1, requires_grad=True) * 2).requires_grad
    assert bp.is_grad_enabled()

    @bp.inference_mode()
    def g():
        return bp.is_grad_enabled()

    assert g() is False and bp.is_grad_enabled()
    with bp.inference_mode(False):
        assert bp.is_grad_enabled()
