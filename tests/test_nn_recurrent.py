"""Module hooks and the recurrent layers (RNN, LSTM, GRU, cells, nn.utils.rnn) against torch
in float64: the same weights (torch's state_dict loaded into ours), values and gradients."""

import numpy as np
import pytest
import torch

import backprop as bp
from backprop.nn.utils import rnn as bp_rnn


def close(a, b, rtol=1e-9, atol=1e-11):
    a = a._data if isinstance(a, bp.Tensor) else a
    np.testing.assert_allclose(np.asarray(a), b.detach().numpy(), rtol=rtol, atol=atol)


def _arr(g):
    if g is None:
        return None
    return np.round(np.asarray(g.detach().numpy() if hasattr(g, "detach") else g._data), 8)


def _hooked(lib, log):
    nn = lib.nn
    m = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    for name, sub in m.named_modules():
        sub.register_forward_pre_hook(lambda mod, args, n=name: log.append(("pre", n, len(args))))
        sub.register_forward_hook(
            lambda mod, args, out, n=name: log.append(("fwd", n, tuple(out.shape)))
        )
        sub.register_full_backward_hook(
            lambda mod, gi, go, n=name: log.append(
                ("bw", n, [_arr(g) for g in gi], [_arr(g) for g in go])
            )
        )
        sub.register_full_backward_pre_hook(
            lambda mod, go, n=name: log.append(("bwpre", n, [_arr(g) for g in go]))
        )
    return m


@pytest.mark.parametrize("input_grad", [True, False])
def test_hooks_order_and_arguments_as_torch(input_grad):
    tl, bl = [], []
    tm, bm = _hooked(torch, tl), _hooked(bp, bl)
    bm.load_state_dict(tm.state_dict())
    x = np.arange(6.0).reshape(2, 3) / 5
    tm(torch.tensor(x, requires_grad=input_grad)).sum().backward()
    bm(bp.tensor(x, requires_grad=input_grad)).sum().backward()
    assert len(tl) == len(bl) == 16
    for a, b in zip(tl, bl):
        assert a[:2] == b[:2]
        for ga, gb in zip(a[2:], b[2:]):
            if isinstance(ga, list):
                assert len(ga) == len(gb)
                for u, v in zip(ga, gb):
                    assert (u is None) == (v is None)
                    if u is not None:
                        np.testing.assert_allclose(u, v)
            else:
                assert ga == gb


def test_hook_return_values_replace_as_torch():
    res = {}
    for lib in (torch, bp):
        lin = lib.nn.Linear(2, 2).double()
        if lib is bp:
            lin.load_state_dict(res["sd"])
        else:
            res["sd"] = lin.state_dict()
        lin.register_forward_pre_hook(lambda m, a: a[0] * 2)
        lin.register_forward_hook(lambda m, a, out: out + 1)
        lin.register_full_backward_pre_hook(lambda m, go: (go[0] * 3,))
        lin.register_full_backward_hook(lambda m, gi, go: (gi[0] * 5,))
        x = lib.tensor([[1.0, -2.0]], dtype=lib.float64, requires_grad=True)
        y = lin(x)
        y.sum().backward()
        res[lib.__name__] = (
            y.detach().numpy() if lib is torch else y._data,
            x.grad,
            lin.weight.grad,
        )
    t, b = res["torch"], res["backprop"]
    np.testing.assert_allclose(b[0], t[0])
    close(b[1], t[1])
    close(b[2], t[2])


def test_forward_hook_kwargs_prepend_always_call_and_remove():
    logs = []
    for lib in (torch, bp):
        log = []

        class Boom(lib.nn.Module):
            def forward(self, x, scale=1.0):
                if scale < 0:
                    raise ValueError("negative")
                return x * scale

        m = Boom()
        m.register_forward_hook(
            lambda mod, a, k, out, log=log: log.append(("kw", sorted(k))), with_kwargs=True
        )
        h = m.register_forward_hook(
            lambda mod, a, out, log=log: log.append(("first",)), prepend=True
        )
        m.register_forward_hook(
            lambda mod, a, out, log=log: log.append(("always", out is None)), always_call=True
        )
        m.register_forward_pre_hook(
            lambda mod, a, k: (a, {"scale": k.get("scale", 1.0) * 2}), with_kwargs=True
        )
        out = m(lib.ones(1), scale=1.5)
        assert float(out[0]) == 3.0
        h.remove()
        with pytest.raises(ValueError):
            m(lib.ones(1), scale=-1.0)
        logs.append(log)
    assert logs[0] == logs[1]
    assert logs[1] == [("first",), ("kw", ["scale"]), ("always", False), ("always", True)]


def test_global_module_hooks_and_no_hook_fast_path():
    from backprop.nn import module as mh

    seen = []
    h = mh.register_module_forward_hook(lambda m, a, o: seen.append(type(m).__name__))
    bp.nn.Sequential(bp.nn.ReLU())(bp.ones(2))
    h.remove()
    bp.nn.ReLU()(bp.ones(2))
    assert seen == ["ReLU", "Sequential"]
    assert not bp.nn.ReLU()._hooked


def test_state_dict_hooks_extra_state_and_module_helpers():
    class WithExtra(bp.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = bp.nn.Linear(2, 2)
            self.register_buffer("count", bp.zeros(1))
            self.step = 7

        def get_extra_state(self):
            return {"step": self.step}

        def set_extra_state(self, state):
            self.step = state["step"]

    m = WithExtra()
    sd = m.state_dict()
    assert list(sd) == ["count", "_extra_state", "lin.weight", "lin.bias"]  # torch's order
    m2 = WithExtra()
    m2.step = 0
    calls = []
    m2.register_load_state_dict_pre_hook(lambda *a: calls.append("pre"))
    m2.register_load_state_dict_post_hook(lambda mod, keys: calls.append(("post", keys)))
    m2.register_state_dict_pre_hook(lambda mod, prefix, keep: calls.append("sd_pre"))
    m2.load_state_dict(sd)
    assert m2.step == 7 and calls[0] == "pre" and calls[1][0] == "post"
    m2.state_dict()
    assert calls[-1] == "sd_pre"
    assert m.get_buffer("count") is m.count
    m.set_submodule("lin", bp.nn.Linear(2, 3))
    assert m.lin.out_features == 3
    assert m.share_memory() is m
    m.type(bp.float64)
    assert m.lin.weight.dtype == np.float64


RNN_CASES = [
    ("RNN", {}),
    ("RNN", dict(nonlinearity="relu", num_layers=2)),
    ("RNN", dict(bidirectional=True, batch_first=True)),
    ("LSTM", dict(num_layers=2, bidirectional=True, batch_first=True)),
    ("LSTM", dict(proj_size=3, bidirectional=True, num_layers=2)),
    ("LSTM", dict(bias=False)),
    ("GRU", dict(num_layers=2, bidirectional=True)),
    ("GRU", dict(bias=False, batch_first=True)),
]


def _pair(cls, kw):
    tm = getattr(torch.nn, cls)(4, 5, **kw).double()
    bm = getattr(bp.nn, cls)(4, 5, **kw).double()
    assert list(tm.state_dict()) == list(bm.state_dict())
    assert [tuple(v.shape) for v in tm.state_dict().values()] == [
        tuple(v.shape) for v in bm.state_dict().values()
    ]
    bm.load_state_dict(tm.state_dict())
    return tm, bm


@pytest.mark.parametrize("cls,kw", RNN_CASES)
@pytest.mark.parametrize("with_h0", [False, True])
def test_recurrent_layers_values_and_gradients(cls, kw, with_h0):
    rng = np.random.default_rng(1)
    tm, bm = _pair(cls, kw)
    x = rng.normal(size=(3, 6, 4))
    tx, bx = torch.tensor(x, requires_grad=True), bp.tensor(x, requires_grad=True)
    targs, bargs = [tx], [bx]
    if with_h0:
        d = (2 if kw.get("bidirectional") else 1) * kw.get("num_layers", 1)
        h = rng.normal(size=(d, 3 if not kw.get("batch_first") else 3, kw.get("proj_size") or 5))
        if not kw.get("batch_first"):
            h = rng.normal(size=(d, 6, kw.get("proj_size") or 5))
        th, bh = torch.tensor(h, requires_grad=True), bp.tensor(h, requires_grad=True)
        if cls == "LSTM":
            c = rng.normal(size=h.shape[:2] + (5,))
            tc, bc = torch.tensor(c, requires_grad=True), bp.tensor(c, requires_grad=True)
            targs.append((th, tc))
            bargs.append((bh, bc))
        else:
            targs.append(th)
            bargs.append(bh)
    to, bo = tm(*targs), bm(*bargs)
    close(bo[0], to[0])
    if cls == "LSTM":
        close(bo[1][0], to[1][0])
        close(bo[1][1], to[1][1])
        ts = to[0].sum() + to[1][0].sin().sum() + to[1][1].pow(2).sum()
        bs = bo[0].sum() + bo[1][0].sin().sum() + (bo[1][1] ** 2).sum()
    else:
        close(bo[1], to[1])
        ts, bs = to[0].sum() + to[1].pow(2).sum(), bo[0].sum() + (bo[1] ** 2).sum()
    ts.backward()
    bs.backward()
    close(bx.grad, tx.grad)
    for p, q in zip(bm.parameters(), tm.parameters()):
        close(p.grad, q.grad)
    if with_h0:
        if cls == "LSTM":
            close(bargs[1][0].grad, targs[1][0].grad)
            close(bargs[1][1].grad, targs[1][1].grad)
        else:
            close(bargs[1].grad, targs[1].grad)


@pytest.mark.parametrize("cls,kw", [RNN_CASES[0], RNN_CASES[3], RNN_CASES[6]])
def test_unbatched_and_packed_input(cls, kw):
    rng = np.random.default_rng(2)
    tm, bm = _pair(cls, kw)
    x = rng.normal(size=(6, 4))
    to, bo = tm(torch.tensor(x)), bm(bp.tensor(x))
    close(bo[0], to[0])
    lens = [6, 3, 5]
    xb = rng.normal(size=(3, 6, 4))
    bf = kw.get("batch_first", False)
    xin = xb if bf else xb.transpose(1, 0, 2)
    tp = torch.nn.utils.rnn.pack_padded_sequence(
        torch.tensor(xin), lens, batch_first=bf, enforce_sorted=False
    )
    bpk = bp_rnn.pack_padded_sequence(bp.tensor(xin), lens, batch_first=bf, enforce_sorted=False)
    close(bpk.data, tp.data)
    close(bpk.batch_sizes, tp.batch_sizes)
    to, bo = tm(tp), bm(bpk)
    close(bo[0].data, to[0].data)
    close(bo[1][0] if cls == "LSTM" else bo[1], to[1][0] if cls == "LSTM" else to[1])
    tpad, tl = torch.nn.utils.rnn.pad_packed_sequence(to[0], batch_first=True, total_length=7)
    bpad, bl = bp_rnn.pad_packed_sequence(bo[0], batch_first=True, total_length=7)
    close(bpad, tpad)
    close(bl, tl)


@pytest.mark.parametrize("cls", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells(cls):
    rng = np.random.default_rng(3)
    tm, bm = getattr(torch.nn, cls)(4, 5).double(), getattr(bp.nn, cls)(4, 5).double()
    assert list(tm.state_dict()) == list(bm.state_dict())
    bm.load_state_dict(tm.state_dict())
    x, h = rng.normal(size=(3, 4)), rng.normal(size=(3, 5))
    tx, bx = torch.tensor(x, requires_grad=True), bp.tensor(x, requires_grad=True)
    if cls == "LSTMCell":
        to = tm(tx, (torch.tensor(h), torch.tensor(h * 2)))
        bo = bm(bx, (bp.tensor(h), bp.tensor(h * 2)))
        close(bo[0], to[0])
        close(bo[1], to[1])
        (to[0] * to[1]).sum().backward()
        (bo[0] * bo[1]).sum().backward()
    else:
        to, bo = tm(tx, torch.tensor(h)), bm(bx, bp.tensor(h))
        close(bo, to)
        to.pow(2).sum().backward()
        (bo**2).sum().backward()
    close(bx.grad, tx.grad)
    for p, q in zip(bm.parameters(), tm.parameters()):
        close(p.grad, q.grad)
    t1, b1 = tm(torch.tensor(x[0])), bm(bp.tensor(x[0]))
    close(b1[0] if cls == "LSTMCell" else b1, t1[0] if cls == "LSTMCell" else t1)


def test_pad_sequence():
    rng = np.random.default_rng(4)
    seqs = [rng.normal(size=(n, 2)) for n in (3, 1, 4)]
    for bf in (False, True):
        for side in ("right", "left"):
            t = torch.nn.utils.rnn.pad_sequence(
                [torch.tensor(s) for s in seqs],
                batch_first=bf,
                padding_value=-1.0,
                padding_side=side,
            )
            b = bp_rnn.pad_sequence(
                [bp.tensor(s) for s in seqs],
                batch_first=bf,
                padding_value=-1.0,
                padding_side=side,
            )
            close(b, t)
