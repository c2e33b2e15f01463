"""Type promotion as PyTorch's result_type, out-of-range dims, pow at singular points,
and the gradients PyTorch defines at the edges (max over NaN, norm at 0, std of a
constant); each checked against torch."""

import operator

import numpy as np
import pytest
import torch

import backprop as bp

INT = np.array([1, 2, 3], np.int64)
F32 = np.array([1.5, 2.5, 3.5], np.float32)
F64 = np.array([1.5, 2.5, 3.5], np.float64)


def _pair(x):
    if isinstance(x, np.ndarray):
        return bp.tensor(x), torch.tensor(x)
    return x, x


CASES = [
    (INT, 0.5),
    (0.5, INT),
    (INT, 2),
    (F32, np.array(2.0, np.float64)),
    (F32, INT),
    (INT, np.array(2.5, np.float64)),
    (np.array([True, False]), 2),
    (np.array([True, False]), 2.5),
    (np.array([1, 2], np.int32), np.array(3, np.int64)),
    (np.array([1, 2], np.int32), np.array([3, 4], np.int64)),
    (F32, F64),
    (np.array(1.0, np.float64), np.array(2, np.int64)),
]


@pytest.mark.parametrize("a,b", CASES)
@pytest.mark.parametrize("op", ["add", "sub", "mul", "truediv", "pow"])
def test_binary_promotion_matches_torch(a, b, op):
    ba, ta = _pair(a)
    bb, tb = _pair(b)
    f = getattr(operator, op)
    if op == "sub" and (np.asarray(a).dtype == bool or np.asarray(b).dtype == bool):
        pytest.skip("torch refuses bool subtraction")
    if op == "pow" and np.asarray(b).dtype.kind in "iu" and np.asarray(a).dtype.kind in "biu":
        pytest.skip("integer powers: tested separately")
    t = f(ta, tb)
    r = f(ba, bb)
    assert str(r.dtype) == str(t.dtype).replace("torch.", ""), (a, b, op)
    np.testing.assert_allclose(r.numpy(), t.numpy(), rtol=1e-6)


def test_result_type_and_promote_types():
    assert bp.result_type(bp.tensor([1, 2]), 0.5) == np.float32
    assert bp.result_type(bp.ones(3), bp.tensor(np.float64(1))) == np.float32
    assert bp.promote_types(bp.int64, bp.float32) == np.float32
    assert bp.promote_types(bp.uint8, bp.int8) == np.int16
    assert bp.can_cast(bp.int64, bp.float32) and not bp.can_cast(bp.float32, bp.int64)


@pytest.mark.parametrize("name", ["sqrt", "exp", "sigmoid", "tanh", "log"])
def test_float_ops_of_int_tensors_give_the_default_float(name):
    x = bp.tensor([1, 2, 3])
    out = getattr(x, name)()
    assert out.dtype == np.float32
    ref = getattr(torch.tensor([1, 2, 3]), name)()
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-6)


def test_factories_dtypes():
    assert bp.arange(5.5, 175.5, 2.5).dtype == np.float32
    np.testing.assert_allclose(bp.arange(5.5, 175.5, 2.5).numpy(), torch.arange(5.5, 175.5, 2.5))
    assert bp.arange(5).dtype == np.int64
    assert (0.7 ** bp.tensor([1, 2])).dtype == np.float32
    assert (bp.tensor([1, 2]) ** 0.5).dtype == np.float32
    with pytest.raises(RuntimeError, match="negative integer powers"):
        bp.tensor([1, 2]) ** -1
    assert (bp.tensor([1, 2]) ** 2).tolist() == [1, 4]


def test_grad_of_mixed_dtype_inputs_has_each_inputs_dtype():
    a = bp.tensor([1.0, 2.0], requires_grad=True)
    b = bp.tensor(np.float64(3.0), requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64
    assert b.grad.item() == 3.0


# ---------------------------------------------------------------------------- dims


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.ones(3, 4, 5, 6).sum(5),
        lambda m: m.ones(3, 4, 5, 6).mean(dim=-5),
        lambda m: m.ones(3, 4, 5, 6).max(4),
        lambda m: m.ones(3, 4, 5, 6).amax(7),
        lambda m: m.ones(3, 4, 5, 6).var(4),
        lambda m: m.ones(3, 4, 5, 6).std(-5),
        lambda m: m.ones(3, 4, 5, 6).squeeze(50),
        lambda m: m.ones(3, 4).unsqueeze(3),
        lambda m: m.ones(3, 4, 5, 6).flatten(0, 4),
        lambda m: m.ones(3, 4).transpose(0, 2),
        lambda m: m.ones(3, 4).permute(0, 2),
        lambda m: m.tensor(1.5).sum(1),
    ],
)
def test_out_of_range_dims_raise_index_error_as_torch(call):
    with pytest.raises(IndexError):
        call(torch)
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range"):
        call(bp)


@pytest.mark.parametrize(
    "call",
    [
        lambda m, x: x.sum(0),
        lambda m, x: x.mean(-1),
        lambda m, x: x.max(0)[0],
        lambda m, x: x.squeeze(0),
        lambda m, x: x.unsqueeze(-1),
        lambda m, x: x.amax(0),
        lambda m, x: x.flatten(),
        lambda m, x: x.transpose(0, -1),
    ],
)
def test_zero_d_tensors_take_dims_0_and_minus_1(call):
    t = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    b = bp.tensor(1.5, dtype=bp.float64, requires_grad=True)
    rt, rb = call(torch, t), call(bp, b)
    assert tuple(rt.shape) == tuple(rb.shape)
    rt.sum().backward()
    rb.sum().backward()
    assert b.grad.item() == t.grad.item()


# ---------------------------------------------------------------------------- singular points


@pytest.mark.parametrize(
    "a,b", [(0.0, -1.0), (-2.0, 3.0), (-2.0, 0.5), (0.0, 0.0), (0.0, 2.0), (0.0, 0.5), (2.0, 0.0)]
)
def test_pow_gradients_at_singular_points(a, b):
    ta = torch.tensor(a, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    (ta**tb).backward()
    ba = bp.tensor(a, dtype=bp.float64, requires_grad=True)
    bb = bp.tensor(b, dtype=bp.float64, requires_grad=True)
    (ba**bb).backward()
    np.testing.assert_equal(ba.grad.item(), ta.grad.item())
    np.testing.assert_equal(bb.grad.item(), tb.grad.item())


@pytest.mark.parametrize("base,x", [(0.0, -1.0), (0.0, 1.0), (-2.0, 2.0), (2.0, 0.0)])
def test_number_to_a_tensor_power(base, x):
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    (base**t).backward()
    b = bp.tensor(x, dtype=bp.float64, requires_grad=True)
    (base**b).backward()
    np.testing.assert_equal(b.grad.item(), t.grad.item())


@pytest.mark.parametrize(
    "vals,fn",
    [
        ([1.0, float("nan"), 3.0], lambda x: x.max()),
        ([1.0, float("nan"), 3.0], lambda x: x.min()),
        ([1.0, float("nan"), 3.0], lambda x: x.amax()),
        ([0.0, 0.0], lambda x: x.norm()),
        ([1.0, 1.0, 1.0], lambda x: x.std()),
        ([2.0, 2.0], lambda x: x.std(0)),
        ([3.0, 4.0], lambda x: x.norm()),
    ],
)
def test_edge_gradients_match_torch(vals, fn):
    t = torch.tensor(vals, dtype=torch.float64, requires_grad=True)
    fn(t).backward()
    b = bp.tensor(vals, dtype=bp.float64, requires_grad=True)
    fn(b).backward()
    np.testing.assert_allclose(b.grad.numpy(), t.grad.numpy(), rtol=1e-12)


def test_sign_is_in_the_graph_with_zero_gradient():
    x = bp.tensor([-2.0, 0.0, 3.0], requires_grad=True)
    (bp.sign(x) * x).sum().backward()
    t = torch.tensor([-2.0, 0.0, 3.0], requires_grad=True)
    (torch.sign(t) * t).sum().backward()
    assert x.grad.tolist() == t.grad.tolist()
