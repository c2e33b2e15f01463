"""bp.compile: the replayed step gives the eager step's numbers, and falls back when it must."""

import warnings

import numpy as np
import pytest

import backprop as bp
from backprop import ops


def _mlp(sizes, dtype, seed=0):
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        params.append(
            bp.tensor(
                rng.standard_normal((fan_out, fan_in)).astype(dtype) * 0.3, requires_grad=True
            )
        )
        params.append(
            bp.tensor(rng.standard_normal(fan_out).astype(dtype) * 0.1, requires_grad=True)
        )

    def loss_fn(x, y):
        h = x
        for i in range(0, len(params), 2):
            h = ops.linear(h, params[i], params[i + 1])
            if i < len(params) - 2:
                h = h.tanh() if i == 0 else h.relu()
        return ops.softmax_cross_entropy(h, y)

    return params, loss_fn


def _batches(n, sizes, batch, dtype, seed=1):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        x = bp.tensor(rng.standard_normal((batch, sizes[0])).astype(dtype))
        yield x, bp.tensor(rng.integers(0, sizes[-1], batch))


def _sgd(params, lr=0.1):
    for p in params:
        p._data -= lr * p._grad
        p.grad = None


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_compiled_training_equals_eager_over_100_steps(dtype):
    sizes = (6, 8, 5, 3)
    eager_params, eager_loss = _mlp(sizes, dtype)
    comp_params, comp_loss = _mlp(sizes, dtype)
    step = bp.compile(comp_loss)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback may happen here
        for x, y in _batches(100, sizes, 16, dtype):
            a = eager_loss(x, y)
            a.backward()
            b = step(x, y)
            assert b.requires_grad is False
            np.testing.assert_array_equal(a._data, b._data)
            for p, q in zip(eager_params, comp_params):
                np.testing.assert_array_equal(p.grad, q.grad)
            _sgd(eager_params)
            _sgd(comp_params)
    assert step.replays == 98  # two traced calls, then replays only
    for p, q in zip(eager_params, comp_params):
        np.testing.assert_array_equal(p._data, q._data)


def test_replay_accumulates_like_backward_and_handles_shared_inputs():
    w = bp.tensor(np.linspace(-1, 1, 6).reshape(2, 3), requires_grad=True)
    v = bp.tensor(np.linspace(0.5, 2, 6).reshape(2, 3), requires_grad=True)

    def f(x):
        a = x * w  # x feeds several edges; w is used twice
        return ((a * a + a * v).sigmoid() * w).sum() + (x / v).mean()

    step = bp.compile(f)
    x = bp.tensor(np.full((2, 3), 0.7))
    expected = []
    for _ in range(4):
        w.grad = v.grad = None
        f(x).backward()
        expected.append((w.grad.numpy().copy(), v.grad.numpy().copy()))
    w.grad = v.grad = None
    for _ in range(4):  # gradients accumulate across calls, as with backward()
        step(x)
    np.testing.assert_allclose(w.grad, 4 * expected[0][0], rtol=1e-15)
    np.testing.assert_allclose(v.grad, 4 * expected[0][1], rtol=1e-15)


def test_shape_change_falls_back_to_eager_with_a_message():
    params, loss_fn = _mlp((4, 5, 3), np.float64)
    step = bp.compile(loss_fn)
    data = list(_batches(3, (4, 5, 3), 8, np.float64))
    for x, y in data:
        step(x, y)
    x, y = next(_batches(1, (4, 5, 3), 5, np.float64, seed=9))
    for p in params:
        p.grad = None
    with pytest.warns(bp.CompileWarning, match="arguments changed.*runs eagerly"):
        loss = step(x, y)
    grads = [p.grad.numpy().copy() for p in params]
    for p in params:
        p.grad = None
    expected = loss_fn(x, y)
    expected.backward()
    assert loss.item() == expected.item()
    for g, p in zip(grads, params):
        np.testing.assert_array_equal(g, p.grad)
    assert step.plan is not None  # the traced shapes still replay
    step(*data[0])
    assert step.replays == 2


def test_dynamic_graph_falls_back_to_eager():
    w = bp.tensor([1.0, 2.0], requires_grad=True)
    calls = []

    def branchy(x):
        calls.append(1)
        y = x * w
        return (y.exp() if len(calls) % 2 else y.tanh()).sum()

    step = bp.compile(branchy)
    step(bp.tensor([0.1, 0.2]))
    with pytest.warns(bp.CompileWarning, match="dynamic"):
        step(bp.tensor([0.1, 0.2]))
    assert step.eager_reason is not None
    w.grad = None
    loss = step(bp.tensor([0.1, 0.2]))  # eager: the exp branch this time
    np.testing.assert_allclose(loss.item(), np.exp([0.1, 0.4]).sum(), rtol=1e-6)


def test_random_mask_is_detected_as_dynamic():
    w = bp.tensor(np.ones(50), requires_grad=True)
    rng = np.random.default_rng(0)

    def dropout_like(x):
        mask = bp.tensor((rng.random(50) > 0.5).astype(np.float32))
        return (x * w * mask).sum()

    step = bp.compile(dropout_like)
    step(bp.ones(50))
    with pytest.warns(bp.CompileWarning, match="changed between two calls"):
        step(bp.ones(50))


def test_indexing_by_an_argument_reads_the_new_argument():
    w = bp.tensor(np.arange(12.0).reshape(4, 3), requires_grad=True)

    def pick(idx):
        return (w[idx] * w[idx]).sum()

    step = bp.compile(pick)
    rng = np.random.default_rng(0)
    for _ in range(5):
        idx = rng.integers(0, 4, 3)
        w.grad = None
        loss = step(idx)
        expected = (w._data[idx] ** 2).sum()
        assert loss.item() == expected
        grad = np.zeros_like(w._data)
        np.add.at(grad, idx, 2 * w._data[idx])
        np.testing.assert_array_equal(w.grad, grad)


def test_rejects_a_non_scalar_result():
    w = bp.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="scalar tensor"):
        bp.compile(lambda x: x * w)(bp.tensor([1.0, 1.0]))


def test_extra_outputs_are_returned_from_replays():
    params, loss_fn = _mlp((4, 6, 3), np.float64)
    model_out = []

    def with_logits(x, y):
        h = ops.linear(x, params[0], params[1]).tanh()
        z = ops.linear(h, params[2], params[3])
        model_out.append(1)
        return ops.softmax_cross_entropy(z, y), z

    step = bp.compile(with_logits)
    for x, y in _batches(4, (4, 6, 3), 5, np.float64):
        loss, z = step(x, y)
        h = np.tanh(x._data @ params[0]._data.T + params[1]._data)
        np.testing.assert_array_equal(z._data, h @ params[2]._data.T + params[3]._data)
    assert step.replays == 2 and len(model_out) == 2
