"""MultiheadAttention and the Transformer layers against torch in float64 (torch's weights
loaded into ours): outputs, attention weights, gradients; masks in PyTorch's conventions."""

import numpy as np
import pytest
import torch

import backprop as bp


def close(a, b, rtol=1e-9, atol=1e-11):
    a = a._data if isinstance(a, bp.Tensor) else a
    np.testing.assert_allclose(np.asarray(a), b.detach().numpy(), rtol=rtol, atol=atol)


def _pair(make):
    torch.manual_seed(0)
    tm = make(torch.nn).double().eval()
    bm = make(bp.nn).double().eval()
    assert list(tm.state_dict()) == list(bm.state_dict())
    bm.load_state_dict(tm.state_dict())
    return tm, bm


def _both(arr, grad=True):
    return torch.tensor(arr, requires_grad=grad), bp.tensor(arr, requires_grad=grad)


MHA_CASES = [
    dict(),
    dict(batch_first=True),
    dict(bias=False, kdim=3, vdim=5),
    dict(masks="bool"),
    dict(masks="float", average=False),
    dict(masks="3d"),
    dict(unbatched=True),
    dict(causal=True),
]


@pytest.mark.parametrize("case", MHA_CASES)
def test_multihead_attention(case):
    case = dict(case)
    masks, average = case.pop("masks", None), case.pop("average", True)
    unbatched, causal = case.pop("unbatched", False), case.pop("causal", False)
    tm, bm = _pair(lambda nn: nn.MultiheadAttention(8, 2, **case))
    rng = np.random.default_rng(0)
    n, l_, s = 3, 4, 5
    bf = case.get("batch_first", False)

    def shape(length, e):
        if unbatched:
            return (length, e)
        return (n, length, e) if bf else (length, n, e)

    q = rng.normal(size=shape(l_, 8))
    k = rng.normal(size=shape(s if not causal else l_, case.get("kdim", 8)))
    v = rng.normal(size=shape(s if not causal else l_, case.get("vdim", 8)))
    (tq, bq), (tk, bk), (tv, bv) = _both(q), _both(k), _both(v)
    kw_t, kw_b = {}, {}
    if masks == "bool":
        am = rng.random((l_, s)) < 0.3
        am[:, 0] = False
        kpm = np.zeros((n, s), bool)
        kpm[1, -2:] = True
        kw_t = dict(attn_mask=torch.tensor(am), key_padding_mask=torch.tensor(kpm))
        kw_b = dict(attn_mask=bp.tensor(am), key_padding_mask=bp.tensor(kpm))
    elif masks == "float":
        am, kpm = rng.normal(size=(l_, s)), rng.normal(size=(n, s))
        kw_t = dict(attn_mask=torch.tensor(am), key_padding_mask=torch.tensor(kpm))
        kw_b = dict(attn_mask=bp.tensor(am), key_padding_mask=bp.tensor(kpm))
    elif masks == "3d":
        am = rng.normal(size=(n * 2, l_, s))
        kw_t, kw_b = dict(attn_mask=torch.tensor(am)), dict(attn_mask=bp.tensor(am))
    if causal:
        m = torch.nn.Transformer.generate_square_subsequent_mask(l_, dtype=torch.float64)
        kw_t = dict(attn_mask=m, is_causal=True)
        kw_b = dict(attn_mask=bp.nn.Transformer.generate_square_subsequent_mask(l_), is_causal=True)
    to, tw = tm(tq, tk, tv, average_attn_weights=average, **kw_t)
    bo, bw = bm(bq, bk, bv, average_attn_weights=average, **kw_b)
    close(bo, to)
    close(bw, tw)
    g = rng.normal(size=tuple(to.shape))
    (to * torch.tensor(g)).sum().backward()
    (bo * bp.tensor(g)).sum().backward()
    for a, b in ((bq, tq), (bk, tk), (bv, tv)):
        close(a.grad, b.grad)
    for p, t in zip(bm.parameters(), tm.parameters()):
        close(p.grad, t.grad)


LAYER_CASES = [
    dict(),
    dict(norm_first=True, activation="gelu", batch_first=True),
    dict(bias=False),
]


@pytest.mark.parametrize("kw", LAYER_CASES)
def test_transformer_encoder_and_decoder(kw):
    rng = np.random.default_rng(1)
    bf = kw.get("batch_first", False)

    def make_enc(nn):
        return nn.TransformerEncoder(
            nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, **kw), 2, nn.LayerNorm(8)
        )

    def make_dec(nn):
        return nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, **kw), 2)

    te, be = _pair(make_enc)
    td, bd = _pair(make_dec)
    src = rng.normal(size=(3, 5, 8) if bf else (5, 3, 8))
    tgt = rng.normal(size=(3, 4, 8) if bf else (4, 3, 8))
    (ts, bs), (tt, bt) = _both(src), _both(tgt)
    kpm = np.zeros((3, 5), bool)
    kpm[0, -1] = True
    tmem = te(ts, src_key_padding_mask=torch.tensor(kpm))
    bmem = be(bs, src_key_padding_mask=bp.tensor(kpm))
    close(bmem, tmem)
    tmask = torch.nn.Transformer.generate_square_subsequent_mask(4, dtype=torch.float64)
    bmask = bp.nn.Transformer.generate_square_subsequent_mask(4, dtype=bp.float64)
    close(bmask, tmask)
    to = td(tt, tmem, tgt_mask=tmask, memory_key_padding_mask=torch.tensor(kpm))
    bo = bd(bt, bmem, tgt_mask=bmask, memory_key_padding_mask=bp.tensor(kpm))
    close(bo, to)
    to.pow(2).sum().backward()
    (bo**2).sum().backward()
    close(bs.grad, ts.grad, rtol=1e-8)
    close(bt.grad, tt.grad, rtol=1e-8)
    for m, t in ((be, te), (bd, td)):
        for p, q in zip(m.parameters(), t.parameters()):
            close(p.grad, q.grad, rtol=1e-8, atol=1e-10)


def test_transformer_full_model():
    def make(nn):
        return nn.Transformer(8, 2, 1, 1, 16, dropout=0.0, batch_first=True)

    tm, bm = _pair(make)
    rng = np.random.default_rng(2)
    src, tgt = rng.normal(size=(2, 5, 8)), rng.normal(size=(2, 3, 8))
    close(bm(bp.tensor(src), bp.tensor(tgt)), tm(torch.tensor(src), torch.tensor(tgt)))
    # xavier init of the matrices (not a torch comparison: the spread only)
    w = bp.nn.Transformer(8, 2, 1, 1, 16).encoder.layers[0].linear1.weight
    assert np.abs(w._data).max() <= np.sqrt(6 / (8 + 16)) + 1e-6
