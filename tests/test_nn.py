"""bp.nn against torch.nn: every layer, activation and loss, values and gradients, float64."""

import numpy as np
import pytest
import torch

import backprop as bp
import backprop.nn.functional as F
from backprop import nn

RTOL, ATOL = 1e-10, 1e-12


def both(arr, requires_grad=True):
    """The same float64 array as a backprop tensor and a torch tensor."""
    arr = np.asarray(arr, dtype=np.float64)
    return (
        bp.tensor(arr.copy(), requires_grad=requires_grad),
        torch.tensor(arr.copy(), requires_grad=requires_grad),
    )


def close(a, b, rtol=RTOL, atol=ATOL):
    a = a._data if isinstance(a, bp.Tensor) else a
    b = b.detach().numpy() if isinstance(b, torch.Tensor) else b
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol)


# Inputs including the kinks (exact 0) and large magnitudes (overflow in a naive formula).
X = np.array([[-30.0, -2.5, -1.0, -1e-3, 0.0], [1e-3, 0.5, 1.0, 3.0, 30.0]])

ACTIVATIONS = [
    (nn.Sigmoid(), torch.nn.Sigmoid()),
    (nn.Tanh(), torch.nn.Tanh()),
    (nn.ReLU(), torch.nn.ReLU()),
    (nn.GELU(), torch.nn.GELU()),
    (nn.GELU(approximate="tanh"), torch.nn.GELU(approximate="tanh")),
    (nn.Softplus(), torch.nn.Softplus()),
    (nn.Softplus(beta=2.0, threshold=5.0), torch.nn.Softplus(beta=2.0, threshold=5.0)),
    (nn.ELU(), torch.nn.ELU()),
    (nn.ELU(alpha=0.5), torch.nn.ELU(alpha=0.5)),
    (nn.LeakyReLU(), torch.nn.LeakyReLU()),
    (nn.LeakyReLU(0.2), torch.nn.LeakyReLU(0.2)),
    (nn.Softmax(dim=1), torch.nn.Softmax(dim=1)),
    (nn.Softmax(dim=0), torch.nn.Softmax(dim=0)),
    (nn.LogSoftmax(dim=1), torch.nn.LogSoftmax(dim=1)),
    (nn.Identity(), torch.nn.Identity()),
    (nn.Flatten(0), torch.nn.Flatten(0)),
]


@pytest.mark.parametrize("ours,theirs", ACTIVATIONS, ids=lambda m: repr(m))
def test_activation_matches_torch(ours, theirs):
    x, tx = both(X)
    y, ty = ours(x), theirs(tx)
    close(y, ty)
    upstream = np.linspace(-1, 2, y._data.size).reshape(y.shape)
    y.backward(upstream)
    ty.backward(torch.tensor(upstream))
    close(x.grad, tx.grad)
    assert np.isfinite(x.grad).all()


def test_prelu_slope_is_learned_like_torch():
    x, tx = both(X)
    ours, theirs = nn.PReLU().double(), torch.nn.PReLU().double()
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    y, ty = ours(x), theirs(tx)
    close(y, ty)
    (y * y).sum().backward()
    (ty * ty).sum().backward()
    close(x.grad, tx.grad)
    close(ours.weight.grad, theirs.weight.grad)


def test_prelu_per_channel():
    x, tx = both(X)
    ours, theirs = nn.PReLU(5, init=0.1).double(), torch.nn.PReLU(5, init=0.1).double()
    y, ty = ours(x), theirs(tx)
    y.sum().backward()
    ty.sum().backward()
    close(y, ty)
    close(ours.weight.grad, theirs.weight.grad)


def test_linear_and_sequential_match_torch_and_share_state_dicts():
    bp.manual_seed(0)
    ours = nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 3, bias=False)).double()
    theirs = torch.nn.Sequential(
        torch.nn.Linear(5, 4), torch.nn.Tanh(), torch.nn.Linear(4, 3, bias=False)
    ).double()
    state = ours.state_dict()
    assert {k: v.shape for k, v in state.items()} == {
        k: tuple(v.shape) for k, v in theirs.state_dict().items()
    }
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in state.items()})
    x, tx = both(X)
    y, ty = ours(x), theirs(tx)
    close(y, ty)
    y.sum().backward()
    ty.sum().backward()
    close(x.grad, tx.grad)
    for (name, p), (tname, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == tname
        close(p.grad, tp.grad)
    # and back: torch's weights into backprop
    torch.nn.init.normal_(theirs[0].weight)
    ours.load_state_dict(theirs.state_dict())
    close(ours[0].weight, theirs[0].weight)


def test_linear_default_init_bounds_and_seed():
    bp.manual_seed(3)
    a = nn.Linear(100, 50)
    bp.manual_seed(3)
    b = nn.Linear(100, 50)
    np.testing.assert_array_equal(a.weight._data, b.weight._data)
    assert np.abs(a.weight._data).max() <= 0.1
    assert a.weight.dtype == np.float32


def test_module_registration_and_modes():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(2, 3), nn.Dropout(0.5))
            self.head = nn.Linear(3, 1)
            self.scale = 2.0  # not a parameter

        def forward(self, x):
            return self.head(self.body(x)) * self.scale

    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["body.0.weight", "body.0.bias", "head.weight", "head.bias"]
    assert len(list(net.parameters())) == 4
    assert net.training and net.body[1].training
    net.eval()
    assert not net.body[1].training
    out = net(bp.ones(4, 2))
    out.sum().backward()
    assert net.head.weight.grad is not None
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    with pytest.raises(TypeError):
        net.head.weight = bp.zeros(1, 3)  # a plain tensor cannot replace a parameter
    with pytest.raises(KeyError):
        net.load_state_dict({"head.weight": np.zeros((1, 3))})
    with pytest.raises(ValueError, match="shape"):
        net.load_state_dict({**net.state_dict(), "head.weight": np.zeros((3, 1))})


def test_dropout_train_and_eval():
    bp.manual_seed(0)
    d = nn.Dropout(0.25)
    x = bp.ones(1000, requires_grad=True)
    y = d(x)
    kept = y._data != 0
    assert 0.65 < kept.mean() < 0.85
    np.testing.assert_allclose(y._data[kept], 1 / 0.75, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, y._data)
    d.eval()
    assert d(x) is x


# ---------------------------------------------------------------------------- losses

P = np.array([[0.1, 0.9, 0.5], [0.999, 1e-4, 0.3]])
Y = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.5]])
LOGITS = np.array([[2.0, -1.0, 0.5, 0.0], [1000.0, -1000.0, 3.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
CLASSES = np.array([0, 1, 3])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize(
    "name,inp,tgt",
    [
        ("MSELoss", X, X[::-1] * 0.3),
        ("L1Loss", X, X[::-1] * 0.3),
        ("BCELoss", P, Y),
        ("BCEWithLogitsLoss", X, np.linspace(0, 1, 10).reshape(2, 5)),
        ("CrossEntropyLoss", LOGITS, CLASSES),
        ("NLLLoss", -np.abs(LOGITS), CLASSES),
    ],
)
def test_loss_matches_torch(name, inp, tgt, reduction):
    x, tx = both(inp)
    if tgt.dtype.kind == "i":
        t, tt = bp.tensor(tgt), torch.tensor(tgt)
    else:
        t, tt = both(tgt, requires_grad=False)
    loss = getattr(nn, name)(reduction=reduction)(x, t)
    tloss = getattr(torch.nn, name)(reduction=reduction)(tx, tt)
    close(loss, tloss)
    loss.sum().backward()
    tloss.sum().backward()
    close(x.grad, tx.grad)


def test_cross_entropy_weight_ignore_index_and_probabilities():
    w = np.array([1.0, 2.0, 0.5, 3.0])
    tgt = np.array([0, -100, 3])
    x, tx = both(LOGITS)
    loss = F.cross_entropy(x, tgt, weight=bp.tensor(w))
    tloss = torch.nn.functional.cross_entropy(tx, torch.tensor(tgt), weight=torch.tensor(w))
    loss.backward()
    tloss.backward()
    close(loss, tloss)
    close(x.grad, tx.grad)

    probs = np.array([[0.2, 0.3, 0.5, 0.0]] * 3)
    x, tx = both(LOGITS)
    loss, tloss = (
        F.cross_entropy(x, probs),
        torch.nn.functional.cross_entropy(tx, torch.tensor(probs)),
    )
    loss.backward()
    tloss.backward()
    close(loss, tloss)
    close(x.grad, tx.grad)


def test_pos_weight_and_weight_in_bce_with_logits():
    x, tx = both(X)
    y = np.linspace(0, 1, 10).reshape(2, 5)
    pw = np.arange(1.0, 6.0)
    loss = F.binary_cross_entropy_with_logits(x, y, pos_weight=pw, weight=bp.tensor(pw[::-1]))
    tloss = torch.nn.functional.binary_cross_entropy_with_logits(
        tx, torch.tensor(y), pos_weight=torch.tensor(pw), weight=torch.tensor(pw[::-1].copy())
    )
    loss.backward()
    tloss.backward()
    close(loss, tloss)
    close(x.grad, tx.grad)


def test_loss_errors_are_clear():
    with pytest.raises(ValueError, match="shape"):
        nn.MSELoss()(bp.zeros(3, 1), bp.zeros(3))
    with pytest.raises(IndexError, match="out of bounds for 4 classes"):
        nn.CrossEntropyLoss()(bp.zeros(2, 4), bp.tensor([0, 4]))
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="avg")


def test_lecture_losses_are_one_liners():
    # 001: L = 1/2 (y - g)^2 ;  002: L = 1/(2m) sum (p - y)^2
    g, y = bp.tensor([3.0], requires_grad=True), bp.tensor([1.0])
    L = 0.5 * nn.MSELoss()(g, y)
    L.backward()
    assert L.item() == 2.0 and g.grad.item() == 2.0  # dL/dg = -(y - g)
    p, y = bp.tensor([1.0, 2.0, 4.0]), bp.tensor([0.0, 0.0, 0.0])
    assert 0.5 * nn.MSELoss()(p, y).item() == pytest.approx((1 + 4 + 16) / 6)


# ---------------------------------------------------------------------------- init


def test_init_distributions():
    bp.manual_seed(0)
    w = bp.zeros(400, 300, dtype=bp.float64)
    nn.init.xavier_uniform_(w)
    a = (6 / 700) ** 0.5
    assert np.abs(w._data).max() <= a and np.abs(w._data).max() > 0.95 * a
    nn.init.kaiming_normal_(w, nonlinearity="relu")
    assert w._data.std() == pytest.approx((2 / 300) ** 0.5, rel=0.02)
    nn.init.xavier_normal_(w, gain=nn.init.calculate_gain("tanh"))
    assert w._data.std() == pytest.approx(5 / 3 * (2 / 700) ** 0.5, rel=0.02)
    nn.init.kaiming_uniform_(w, mode="fan_out")
    assert np.abs(w._data).max() <= (6 / 400) ** 0.5  # gain sqrt(2) for a = 0
    nn.init.small_random_(w)
    assert w._data.std() == pytest.approx(0.01, rel=0.02)
    nn.init.constant_(w, 0.5)
    assert (w._data == 0.5).all()
    nn.init.zeros_(w)
    assert (w._data == 0).all()
    for gain in ("linear", "sigmoid", "tanh", "relu", "leaky_relu"):
        assert nn.init.calculate_gain(gain) == pytest.approx(torch.nn.init.calculate_gain(gain))


def test_parameters_carry_their_dotted_names_for_the_explainer():
    class Net(bp.nn.Module):
        def __init__(self):
            super().__init__()
            self.body = bp.nn.Sequential(bp.nn.Linear(3, 4), bp.nn.Tanh(), bp.nn.Linear(4, 2))

        def forward(self, x):
            return self.body(x)

    net = Net()
    assert [p.name for _, p in net.named_parameters()] == [n for n, _ in net.named_parameters()]
    loss = net(bp.randn(2, 3)).sum()
    assert "body.0.weight" in str(bp.explain(loss, net.body[0].weight))
    mine = bp.nn.Parameter(bp.zeros(2))
    mine.name = "mine"
    holder = bp.nn.Module()
    holder.w = mine
    assert holder.w.name == "mine"  # a name the user chose is kept
