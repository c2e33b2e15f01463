"""bp.gradcheck: True for correct rules, a per-entry table naming the input for wrong ones."""

from __future__ import annotations

import numpy as np
import pytest

import backprop as bp
from backprop.autograd import Function


class WrongSquare(Function):
    """x^2 with a deliberately wrong rule (3x instead of 2x)."""

    name = "wrong_square"
    formulas = ("d(x^2)/dx = 3x  (wrong on purpose)",)

    def forward(self, a):
        self.saved = a
        return a * a

    def backward(self, g):
        return (g * 3 * self.saved,)


def test_returns_true_for_correct_gradients() -> None:
    x = bp.tensor([0.3, -1.2, 2.0], dtype="float64", requires_grad=True)
    w = bp.tensor(np.full((3, 2), 0.5), requires_grad=True)
    assert bp.gradcheck(lambda x, w: (x @ w).tanh(), [x, w]) is True
    assert bp.gradcheck(lambda x: (x.sigmoid() * x).sum(), x) is True


def test_float32_inputs_are_checked_in_float64() -> None:
    x = bp.tensor([0.3, -1.2], requires_grad=True)  # float32: too coarse for eps=1e-6
    assert bp.gradcheck(lambda x: x.exp() * x, x)
    assert x.dtype == np.float32 and x.grad is None  # the caller's tensor is untouched


def test_constant_inputs_are_passed_through() -> None:
    x = bp.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    c = bp.tensor([3.0, 4.0])
    assert bp.gradcheck(lambda x, c, k: x * c + k, [x, c, 2.0])


def test_wrong_rule_raises_with_a_table_naming_the_input() -> None:
    x = bp.tensor([1.0, -2.0], dtype="float64", requires_grad=True, name="weights")
    with pytest.raises(bp.GradcheckError) as info:
        bp.gradcheck(lambda x: WrongSquare.apply((x,)), x)
    msg = str(info.value)
    assert "gradcheck failed: 2 entries differ" in msg
    for column in ("analytic", "numeric", "error"):
        assert column in msg
    assert "input 0 'weights' (2,)" in msg
    row = next(line for line in msg.splitlines() if line.startswith("input 0") and "(1,)" in line)
    assert "-6" in row and "-4" in row  # analytic 3x = -6, numeric 2x = -4 at x = -2
    assert isinstance(info.value, AssertionError)


def test_wrong_rule_names_only_the_wrong_input() -> None:
    a = bp.tensor([1.5], dtype="float64", requires_grad=True, name="a")
    b = bp.tensor([0.5], dtype="float64", requires_grad=True, name="b")
    with pytest.raises(bp.GradcheckError) as info:
        bp.gradcheck(lambda a, b: WrongSquare.apply((a,)) + b, [a, b])
    assert "'a'" in str(info.value) and "'b'" not in str(info.value)


def test_raise_exception_false_returns_false() -> None:
    x = bp.tensor([1.0], dtype="float64", requires_grad=True)
    assert bp.gradcheck(lambda x: WrongSquare.apply((x,)), x, raise_exception=False) is False


def test_tolerances_are_honoured() -> None:
    x = bp.tensor([1.0], dtype="float64", requires_grad=True)  # analytic 3, numeric 2
    assert bp.gradcheck(lambda x: WrongSquare.apply((x,)), x, atol=1.5)
    assert bp.gradcheck(lambda x: WrongSquare.apply((x,)), x, atol=0.0, rtol=0.6)


def test_errors_for_unusable_arguments() -> None:
    with pytest.raises(ValueError, match="no input requires grad"):
        bp.gradcheck(lambda x: x * 2, bp.tensor([1.0]))
    with pytest.raises(TypeError, match="must return a Tensor"):
        bp.gradcheck(lambda x: 1.0, bp.tensor([1.0], requires_grad=True))


def test_shipped_in_the_package() -> None:
    assert bp.gradcheck.__module__ == "backprop.gradcheck"
    assert ">>>" in bp.gradcheck.__globals__["__doc__"]  # with a runnable example
