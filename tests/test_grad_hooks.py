"""The engine's hooks for data-parallel training: Tensor.register_post_accumulate_grad_hook
(PyTorch's) and autograd.queue_callback, checked against torch's own hooks."""

import numpy as np
import pytest
import torch

import backprop as bp
from backprop import autograd


def _mlp_events(lib, x, shared: bool):
    """The order in which a 2-layer net's leaves report a finished gradient, and the gradient
    each reports (a copy), for backprop or torch."""
    gen = np.random.default_rng(0)
    w1 = lib.tensor(gen.normal(size=(3, 4)), requires_grad=True)
    w2 = lib.tensor(gen.normal(size=(4, 2)), requires_grad=True)
    seen = []
    for name, w in (("w1", w1), ("w2", w2)):
        w.register_post_accumulate_grad_hook(
            lambda t, name=name: seen.append((name, np.array(t.grad.detach().numpy())))
        )
    h = (lib.tensor(x) @ w1).tanh()
    out = h @ w2
    if shared:  # w1 feeds the graph twice
        out = out + (lib.tensor(x) @ w1).sum()
    out.sum().backward()
    return seen, w1.grad.detach().numpy(), w2.grad.detach().numpy()


def test_post_accumulate_hook_reports_each_layer_in_backward_order_like_torch(rng):
    x = rng.normal(size=(5, 3))
    ours, g1, g2 = _mlp_events(bp, x, shared=False)
    theirs, t1, t2 = _mlp_events(torch, x, shared=False)
    assert [n for n, _ in ours] == [n for n, _ in theirs] == ["w2", "w1"]
    for (_, a), (_, b) in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    np.testing.assert_allclose(g1, t1, rtol=1e-6)


def test_hook_on_a_shared_leaf_ends_with_the_full_gradient(rng):
    x = rng.normal(size=(5, 3))
    ours, g1, _ = _mlp_events(bp, x, shared=True)
    _, t1, _ = _mlp_events(torch, x, shared=True)
    # once, with the sum of both edges, as in torch
    assert [n for n, _ in ours] == ["w2", "w1"]
    np.testing.assert_allclose(ours[1][1], t1, rtol=1e-6)
    np.testing.assert_allclose(g1, t1, rtol=1e-6)


def test_hook_remove_and_refusals():
    w = bp.tensor([1.0, 2.0], requires_grad=True)
    calls = []
    h = w.register_post_accumulate_grad_hook(calls.append)
    (w * 3).sum().backward()
    h.remove()
    (w * 3).sum().backward()
    assert calls == [w] and w.grad.tolist() == [6.0, 6.0]
    with pytest.raises(RuntimeError, match="non-leaf"):
        (w * 2).register_post_accumulate_grad_hook(print)
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        bp.tensor([1.0]).register_post_accumulate_grad_hook(print)


def test_queue_callback_runs_once_after_every_gradient_is_in():
    a = bp.tensor([1.0], requires_grad=True)
    b = bp.tensor([2.0], requires_grad=True)
    log = []

    def hook(t):
        log.append("hook")
        if log.count("hook") % 2 == 1:  # the first of each backward pass
            autograd.queue_callback(lambda: log.append(("end", a.grad.item(), b.grad.item())))

    a.register_post_accumulate_grad_hook(hook)
    b.register_post_accumulate_grad_hook(hook)
    (a * b).sum().backward()
    assert log == ["hook", "hook", ("end", 2.0, 1.0)]
    (a * b).sum().backward()  # queued callbacks run once, at the end of their own pass
    assert log[3:] == ["hook", "hook", ("end", 4.0, 2.0)]


def test_hooks_of_a_dead_tensor_are_forgotten():
    before = len(autograd._leaf_hooks)
    w = bp.tensor([1.0], requires_grad=True)
    w.register_post_accumulate_grad_hook(print)
    assert len(autograd._leaf_hooks) == before + 1
    del w
    assert len(autograd._leaf_hooks) == before
