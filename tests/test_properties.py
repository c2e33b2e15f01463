"""Property tests over shapes: broadcasting, reductions, matmul, permutations and gathers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import backprop as bp
from backprop.autograd import unbroadcast

torch = pytest.importorskip("torch")

SETTINGS = settings(max_examples=40, deadline=None)

BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "maximum": lambda a, b: a.maximum(b),
    "pow": lambda a, b: a.abs() ** b,
}


def _values(shape, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.asarray(rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape))


def _compare(fn, arrays, torch_fn=None) -> None:
    """Forward values and gradients of fn on backprop and torch tensors agree (float64)."""
    xs = [bp.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, expected = fn(*xs), (torch_fn or fn)(*ts)
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    upstream = _values(out.shape, 99)
    out.backward(upstream)
    expected.backward(torch.from_numpy(upstream))
    for x, t in zip(xs, ts):
        assert x.grad.shape == x.shape
        np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-9, atol=1e-12)


@SETTINGS
@given(
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=3),
    op=st.sampled_from(sorted(BINARY)),
    seed=st.integers(0, 2**16),
)
def test_broadcasting_binary_ops_match_torch(shapes, op, seed) -> None:
    a_shape, b_shape = shapes.input_shapes
    _compare(BINARY[op], [_values(a_shape, seed), _values(b_shape, seed + 1)])


@SETTINGS
@given(
    shape=hnp.array_shapes(min_dims=1, max_dims=4, max_side=4),
    data=st.data(),
    op=st.sampled_from(["sum", "mean", "amax", "amin"]),
    keepdim=st.booleans(),
)
def test_reductions_over_any_dims_match_torch(shape, data, op, keepdim) -> None:
    dims = data.draw(st.lists(st.integers(0, len(shape) - 1), min_size=1, unique=True))
    dims = tuple(d - len(shape) if data.draw(st.booleans()) else d for d in dims)  # some < 0

    def fn(x):
        return getattr(x, op)(dim=dims, keepdim=keepdim)

    _compare(fn, [_values(shape, len(dims))])


@SETTINGS
@given(
    batch=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3),
    mkn=st.tuples(*[st.integers(1, 4)] * 3),
    vector=st.sampled_from(["", "a", "b"]),
)
def test_matmul_shapes_match_torch(batch, mkn, vector) -> None:
    m, k, n = mkn
    a_shape = (k,) if vector == "a" else batch.input_shapes[0] + (m, k)
    b_shape = (k,) if vector == "b" else batch.input_shapes[1] + (k, n)
    _compare(lambda a, b: a @ b, [_values(a_shape, 1), _values(b_shape, 2)])


@SETTINGS
@given(shape=hnp.array_shapes(min_dims=1, max_dims=4, max_side=4), data=st.data())
def test_permute_then_reshape_routes_gradients_back(shape, data) -> None:
    perm = data.draw(st.permutations(range(len(shape))))
    x = bp.tensor(_values(shape, 0), requires_grad=True)
    upstream = _values((int(np.prod(shape)),), 1)
    x.permute(*perm).reshape(-1).backward(upstream)
    expected = upstream.reshape(tuple(shape[p] for p in perm)).transpose(np.argsort(perm))
    np.testing.assert_array_equal(x.grad, expected)


@SETTINGS
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=1, min_dims=0, max_dims=4, max_side=3))
def test_expand_gradient_counts_the_copies(shapes) -> None:
    (shape,) = shapes.input_shapes
    target = shapes.result_shape
    x = bp.tensor(np.zeros(shape), requires_grad=True)
    x.broadcast_to(target).sum().backward()
    copies = int(np.prod(target)) // max(int(np.prod(shape)), 1)
    np.testing.assert_array_equal(x.grad, np.full(shape, float(copies)))
    assert unbroadcast(np.ones(target), shape).shape == shape


@SETTINGS
@given(
    n=st.integers(1, 6),
    index=st.lists(st.integers(0, 5), min_size=1, max_size=12),
)
def test_gathers_accumulate_like_bincount(n, index) -> None:
    index = [i % n for i in index]
    x = bp.tensor(np.zeros(n), requires_grad=True)
    x[index].sum().backward()
    np.testing.assert_array_equal(x.grad, np.bincount(index, minlength=n))


@SETTINGS
@given(shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=4), k=st.integers(1, 5))
def test_a_tensor_used_k_times_gets_k_times_the_gradient(shape, k) -> None:
    x = bp.tensor(np.ones(shape), requires_grad=True)
    y = x
    for _ in range(k - 1):
        y = y + x
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, np.full(shape, float(k)))
    assert type(x.grad) is bp.Tensor
