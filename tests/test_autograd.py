"""The backward traversal's semantics: accumulation, retain_graph, no_grad, anomaly mode, errors."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest

import backprop as bp
from backprop.autograd import toposort, unbroadcast

# ---------------------------------------------------------------------------- the traversal


def test_shared_subexpression_sums_its_paths() -> None:
    x = bp.tensor(3.0, requires_grad=True)
    y = x * x + x  # x feeds three edges
    y.backward()
    assert x.grad.item() == 7.0


def test_diamond_graph_visits_each_node_once() -> None:
    x = bp.tensor(2.0, dtype="float64", requires_grad=True)
    a = x * 3
    b, c = a.exp(), a * a
    (b + c).backward()
    assert x.grad.item() == pytest.approx(3 * np.exp(6.0) + 2 * 6.0 * 3)


def test_zero_dim_graphs_sum_every_path() -> None:
    # NumPy returns 0-d results as scalars; accumulating into one must not lose a path
    x = bp.tensor(3.0, requires_grad=True)
    a = x * 3
    (a * a).backward()  # both edges of the mul land on a
    assert x.grad.item() == 54.0
    assert type(x.grad) is bp.Tensor and x.grad.dtype == np.float32


def test_toposort_puts_inputs_before_outputs() -> None:
    x = bp.tensor(1.0, requires_grad=True)
    a = x * 2
    b = a + 1
    c = a * b
    order = toposort(c)
    assert order.index(a) < order.index(b) < order.index(c)
    assert x not in order  # leaves are not nodes


def test_ten_thousand_op_chain_has_no_recursion_limit() -> None:
    x = bp.tensor(1.0, dtype="float64", requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.backward()
    assert x.grad.item() == pytest.approx(1.0001**10_000, rel=1e-9)


def test_backward_on_a_leaf() -> None:
    x = bp.tensor(2.0, requires_grad=True)
    x.backward()
    assert x.grad.item() == 1.0


def test_backward_with_an_explicit_grad() -> None:
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.backward(np.array([1.0, 10.0]))
    assert x.grad.tolist() == [3.0, 30.0]
    x.grad = None
    (x * 3).backward(bp.tensor([2.0, 0.0]))
    assert x.grad.tolist() == [6.0, 0.0]


def test_gradients_accumulate_across_calls() -> None:
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    first = x.grad
    (x * x).sum().backward()
    assert x.grad.tolist() == [4.0, 8.0]
    assert x.grad is first  # in place, as PyTorch does once the tensor owns its grad
    x.zero_grad()
    assert x.grad is None


def test_leaf_gradients_do_not_alias() -> None:
    a = bp.tensor([1.0, 2.0], requires_grad=True)
    b = bp.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    assert not np.shares_memory(a.grad, b.grad)
    a.grad += 1  # would show up in b.grad if they were one buffer
    assert b.grad.tolist() == [1.0, 1.0]
    upstream = np.ones(2, np.float32)
    c = bp.tensor([0.0, 0.0], requires_grad=True)
    (c + a).backward(upstream)
    assert not np.shares_memory(c.grad, upstream)


def test_grad_is_an_array_of_the_input_shape() -> None:
    x = bp.tensor(np.ones((3, 1)), requires_grad=True)
    b = bp.tensor(np.ones(4), requires_grad=True)
    s = bp.tensor(2.0, requires_grad=True)
    (x * b * s).sum().backward()
    assert isinstance(x.grad, bp.Tensor) and x.grad.shape == (3, 1)
    assert x.grad.tolist() == [[8.0], [8.0], [8.0]]
    assert b.grad.shape == (4,) and b.grad.tolist() == [6.0] * 4
    assert s.grad.shape == () and s.grad.item() == 12.0


@pytest.mark.parametrize(
    "grad_shape, shape",
    [((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 3), (1, 3)), ((4, 2, 3), (2, 1)), ((2, 3), ())],
)
def test_unbroadcast_sums_broadcast_dims(grad_shape, shape) -> None:
    g = np.arange(np.prod(grad_shape), dtype=float).reshape(grad_shape)
    r = unbroadcast(g, shape)
    assert r.shape == shape
    assert r.sum() == g.sum()


def test_retain_grad_keeps_an_intermediate_gradient() -> None:
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    h.retain_grad()
    y = h * h
    (y.sum()).backward()
    assert h.grad.tolist() == [4.0, 8.0]
    assert x.grad.tolist() == [8.0, 16.0]
    assert y.grad is None  # not retained


def test_saved_buffers_are_freed_and_a_second_backward_says_retain_graph() -> None:
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match=r"retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward() -> None:
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad, 2 * first)


def test_backward_on_non_scalar_without_grad_says_so() -> None:
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"scalar.*\(2,\)"):
        (x * 2).backward()
    with pytest.raises(RuntimeError, match="shape"):
        (x * 2).backward(np.ones(3))


def test_backward_without_graph_says_so() -> None:
    with pytest.raises(RuntimeError, match="does not require grad"):
        bp.tensor(1.0).backward()


# ---------------------------------------------------------------------------- no_grad


def test_no_grad_context_records_nothing() -> None:
    w = bp.tensor([1.0], requires_grad=True)
    with bp.no_grad():
        y = w * 2
        assert not bp.is_grad_enabled()
        with bp.enable_grad():
            z = w * 2
    assert bp.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad


def test_no_grad_as_decorator() -> None:
    w = bp.tensor([1.0], requires_grad=True)

    @bp.no_grad()
    def step(n: int):
        return step(n - 1) if n else w * 2  # recursion through one decorator instance

    @bp.no_grad
    def bare():
        return w * 2

    assert not step(3).requires_grad
    assert not bare().requires_grad
    assert bp.is_grad_enabled()
    assert (w * 2).requires_grad


def test_no_grad_restores_the_mode_after_an_exception() -> None:
    with pytest.raises(KeyError), bp.no_grad():
        raise KeyError("inside no_grad")
    assert bp.is_grad_enabled()


def test_requires_grad_propagates_and_detach_cuts() -> None:
    w = bp.tensor([1.0], requires_grad=True)
    c = bp.tensor([2.0])
    assert (w * c).requires_grad and not (c * c).requires_grad
    y = w.detach() * 3
    assert not y.requires_grad


# ---------------------------------------------------------------------------- detect_anomaly


def test_detect_anomaly_forward_names_op_shapes_and_user_line() -> None:
    x = bp.tensor(np.full((2, 3), -1.0), requires_grad=True)
    with pytest.raises(bp.AnomalyError) as info, bp.detect_anomaly(), np.errstate(all="ignore"):
        x.log()
    msg = str(info.value)
    assert "'log'" in msg and "NaN" in msg and "forward" in msg
    assert "(2, 3)" in msg
    assert os.path.basename(__file__) in msg


def test_detect_anomaly_backward_names_op_shapes_and_user_line() -> None:
    x = bp.tensor([0.0, 1.0], requires_grad=True)
    y = bp.tensor([[2.0], [3.0]])
    with bp.detect_anomaly(), np.errstate(all="ignore"):
        loss = (x.sqrt() * y).sum()  # sqrt'(0) is Inf: only the backward pass sees it
        with pytest.raises(bp.AnomalyError) as info:
            loss.backward()
    msg = str(info.value)
    assert "'sqrt'" in msg and "Inf" in msg and "backward" in msg
    assert "(2,)" in msg
    assert re.search(re.escape(os.path.basename(__file__)) + r":\d+", msg)


def test_without_detect_anomaly_nans_pass_silently() -> None:
    x = bp.tensor([-1.0], requires_grad=True)
    with np.errstate(all="ignore"):
        y = x.log()
    assert np.isnan(y.item())
    assert not bp.autograd.mode.anomaly


# ---------------------------------------------------------------------------- error messages


def test_matmul_error_names_op_and_both_shapes() -> None:
    a, b = bp.ones(3, 4), bp.ones(5, 6)
    with pytest.raises(ValueError) as info:
        a @ b
    msg = str(info.value)
    assert "matmul" in msg and "(3, 4)" in msg and "(5, 6)" in msg


def test_broadcast_error_names_the_shapes() -> None:
    with pytest.raises(ValueError) as info:
        bp.ones(3, 4) * bp.ones(2, 4)
    msg = str(info.value)
    assert "mul" in msg and "(3, 4)" in msg and "(2, 4)" in msg
    assert isinstance(info.value, bp.OpError)


def test_backend_is_the_only_module_that_knows_cupy() -> None:
    import backprop

    root = os.path.dirname(backprop.__file__)
    checked = 0
    for folder, _, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            if not name.endswith(".py") or path == os.path.join(root, "backend.py"):
                continue
            with open(path) as f:
                assert "import cupy" not in f.read().lower(), path
            checked += 1
    assert checked > 20  # the whole package was read
