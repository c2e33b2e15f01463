"""Tensor construction, dtype rules (PyTorch's), conversions and mixing with constants."""

from __future__ import annotations

import numpy as np
import pytest

import backprop as bp

# ---------------------------------------------------------------------------- dtype rules


@pytest.mark.parametrize(
    "data, dtype",
    [
        (1.5, np.float32),
        ([1.0, 2.0], np.float32),
        ([[1, 2.5], [3, 4]], np.float32),
        ([], np.float32),
        (3, np.int64),
        ([1, 2], np.int64),
        (True, np.bool_),
        (np.zeros(2), np.float64),  # NumPy arrays keep their dtype
        (np.zeros(2, np.float32), np.float32),
        (np.zeros(2, np.int32), np.int32),
        (np.float64(2.0), np.float64),
    ],
)
def test_dtype_rules(data, dtype) -> None:
    assert bp.tensor(data).dtype == dtype


@pytest.mark.parametrize("dtype", ["float64", np.float64, bp.float64, np.dtype("float64")])
def test_dtype_argument_spellings(dtype) -> None:
    t = bp.tensor([1.0, 2.0], dtype=dtype)
    assert t.dtype == np.float64
    assert bp.tensor(np.ones(2, np.float32), dtype=dtype).dtype == np.float64


def test_tensor_copies_its_input_as_torch_tensor_does() -> None:
    a = np.zeros(3)
    t = bp.tensor(a, requires_grad=True)
    with bp.no_grad():
        t._data -= 1.0  # what an optimizer step does
    assert a.tolist() == [0.0, 0.0, 0.0]
    u = bp.tensor(t)
    assert not np.shares_memory(u._data, t._data)


def test_accessors() -> None:
    t = bp.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True, name="w")
    assert t.shape == (2, 3)
    assert t.dtype == np.float32
    assert t.requires_grad and t.is_leaf and t.grad is None
    assert t.name == "w"
    assert isinstance(t.numpy(), np.ndarray)
    np.testing.assert_array_equal(np.asarray(t), [[1, 2, 3], [4, 5, 6]])
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    assert len(t) == 2 and t.ndim == 2 and t.numel() == 6 and t.size(1) == 3
    assert t.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert "requires_grad=True" in repr(t) and "name='w'" in repr(t)
    assert bp.Tensor is type(t)


def test_item() -> None:
    assert bp.tensor(2.5).item() == 2.5
    assert isinstance(bp.tensor([3.0]).item(), float)
    assert isinstance(bp.tensor(3).item(), int)
    with pytest.raises(ValueError, match=r"one element.*\(2,\)"):
        bp.tensor([1.0, 2.0]).item()


def test_detach_shares_values_and_leaves_the_graph() -> None:
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.is_leaf
    assert np.shares_memory(d._data, y._data)
    assert y.grad_fn is not None and x.grad_fn is None


def test_requires_grad_on_integer_tensor_says_why_not() -> None:
    with pytest.raises(RuntimeError, match="floating-point.*int64"):
        bp.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="floating-point"):
        bp.tensor(np.arange(3)).requires_grad_()


def test_iteration_stops_at_the_end() -> None:
    rows = list(bp.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert [r.tolist() for r in rows] == [[1.0, 2.0], [3.0, 4.0]]
    with pytest.raises(IndexError, match="out of bounds"):
        bp.tensor([1.0])[3]


@pytest.mark.parametrize(
    "make, shape",
    [
        (lambda: bp.zeros(2, 3), (2, 3)),
        (lambda: bp.ones((2, 3)), (2, 3)),
        (lambda: bp.full((2,), 7.0), (2,)),
        (lambda: bp.randn(4), (4,)),
        (lambda: bp.rand(2, 2), (2, 2)),
        (lambda: bp.eye(3), (3, 3)),
        (lambda: bp.zeros_like(bp.ones(2, 5)), (2, 5)),
    ],
)
def test_factories_make_float32(make, shape) -> None:
    t = make()
    assert t.shape == shape and t.dtype == np.float32


def test_factories_take_dtype_and_requires_grad() -> None:
    t = bp.zeros(2, dtype="float64", requires_grad=True)
    assert t.dtype == np.float64 and t.requires_grad
    assert bp.arange(3).dtype == np.int64
    with pytest.raises(RuntimeError, match="floating-point"):
        bp.zeros(2, dtype=bp.int64, requires_grad=True)


def test_casts_carry_gradients_back_in_the_input_dtype() -> None:
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    y = x.double()
    assert y.dtype == np.float64
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [2.0, 4.0]
    assert x.to("float64").dtype == np.float64 and x.float() is x


# ---------------------------------------------------------------------------- constants


def test_numpy_array_on_the_left_returns_a_tensor() -> None:
    t = bp.tensor([1.0, 2.0], requires_grad=True)
    for y in (np.ones(2) * t, np.ones(2) + t, np.ones(2) - t, np.ones(2) / t):
        assert isinstance(y, bp.Tensor) and y.requires_grad
    assert isinstance(np.eye(2) @ t, bp.Tensor)


def test_constants_mix_with_tensors() -> None:
    x = bp.tensor([1.0, 2.0, 3.0], dtype="float64", requires_grad=True)
    y = (2.0 * x + np.array([1.0, 1.0, 1.0]) - 3) / np.float64(2.0) + bp.tensor(np.ones(3))
    assert isinstance(y, bp.Tensor)
    np.testing.assert_allclose(y.numpy(), [1.0, 2.0, 3.0])
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [1.0, 1.0, 1.0])


def test_python_scalars_do_not_promote_float32() -> None:
    x = bp.tensor([0.5, 1.5], requires_grad=True)
    s = bp.tensor(0.5, requires_grad=True)  # a 0-d tensor too
    for y in (x * 2.5, 2.5 * x, x + 1, 1 - x, 10 / x, x**2.5, 2.0**x, x / 3.0, s * 0.1, s + 2):
        assert y.dtype == np.float32, y
    f64 = np.float64
    for y in (x / np.sqrt(2.0), f64(2) * x, x - f64(1), x.maximum(f64(0)), x ** f64(2.5)):
        assert y.dtype == np.float32, y  # NumPy scalars are as weak as Python's (PyTorch)
    assert x.clamp(f64(0), f64(1)).dtype == np.float32
    loss = (x * 0.1 + x**1.5 - 3.0 / x).sum() + (s * 0.3).exp()
    loss.backward()
    assert x.grad.dtype == np.float32 and s.grad.dtype == np.float32


def test_float64_works_everywhere() -> None:
    x = bp.tensor(np.linspace(0.5, 2.0, 6).reshape(2, 3), requires_grad=True)
    w = bp.tensor(np.full((3, 2), 0.1), requires_grad=True)
    y = (x @ w).tanh().exp() + x.sum(0).mean() + x.max() - (x.sqrt() / 2).log().abs().mean()
    assert y.dtype == np.float64
    y.sum().backward()
    assert x.grad.dtype == np.float64 and w.grad.dtype == np.float64


def test_comparisons_return_tensors_without_gradients() -> None:
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    for m in (x > 1, x >= 1, x < 1, x <= 1, x == 1, x != 1):
        assert isinstance(m, bp.Tensor) and m.dtype == np.bool_ and not m.requires_grad


def test_inplace_update_under_no_grad_keeps_the_leaf():
    w = bp.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    before = w
    with bp.no_grad():
        w -= 0.1 * w.grad  # lecture 001's update, theta <- theta - alpha grad L
    assert w is before and w.requires_grad and w.is_leaf
    np.testing.assert_allclose(w.numpy(), [0.8, 1.6])
    with bp.no_grad():
        w *= 2
        w /= 4
        w += bp.tensor([1.0, 1.0])
    np.testing.assert_allclose(w.numpy(), [1.4, 1.8])
    assert w.dtype == np.float32


def test_inplace_on_a_leaf_that_requires_grad_outside_no_grad_is_refused():
    w = bp.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        w -= 1.0
    c = w * 2
    c += c * 3  # an intermediate: recorded, as PyTorch records its in-place op
    c.sum().backward()
    assert w.grad.tolist() == [8.0]
    x = bp.tensor([1.0])
    x += 1  # no graph to corrupt: allowed
    assert x.item() == 2.0


def test_strings_and_objects_are_not_tensors():
    # PyTorch: torch.tensor("abc") and object arrays are TypeErrors
    for bad in ("abc", np.array(["a", "b"]), np.array([1, None], dtype=object), [b"x"]):
        with pytest.raises(TypeError, match="tensors hold numbers"):
            bp.tensor(bad)
    assert bp.tensor([True, False]).dtype == np.bool_
