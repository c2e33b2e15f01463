"""PyTorch's surface, checked against torch (issue 9): factories' dtypes and shapes, devices,
formats, ``__index__``, stable sort, ``device=`` on layers, ``state_dict`` as tensors."""

import numpy as np
import pytest

import backprop as bp

torch = pytest.importorskip("torch")

DT = {
    torch.float32: bp.float32,
    torch.float64: bp.float64,
    torch.int32: bp.int32,
    torch.int64: bp.int64,
    torch.bool: bp.bool,
    torch.float16: bp.float16,
    torch.uint8: bp.uint8,
    torch.int16: bp.int16,
    torch.int8: bp.int8,
}


def _bp_dtype(t):
    return np.dtype(DT[t.dtype])


# ---------------------------------------------------------------------------- factories

FACTORIES = [
    ("zeros", (2, 3), {}),
    ("zeros", ((2, 3),), {"dtype": "int32"}),
    ("ones", (4,), {"dtype": "float64"}),
    ("ones", ([],), {}),
    ("full", ((2, 2), 7), {}),
    ("full", ((2, 2), 7.5), {}),
    ("full", ((2,), True), {}),
    ("full", ((3,), 4), {"dtype": "float32"}),
    ("arange", (5,), {}),
    ("arange", (1, 4, 0.5), {}),
    ("arange", (10, 5, -3), {"dtype": "int32"}),
    ("arange", (0.0, 1.0, 0.25), {"dtype": "float64"}),
    ("linspace", (0, 1, 5), {}),
    ("linspace", (5, -5, 20), {"dtype": "int32"}),
    ("linspace", (-5.5, 5.5, 1), {}),
    ("logspace", (0, 2, 3), {}),
    ("logspace", (0, 3, 4), {"base": 2.0}),
    ("eye", (3,), {}),
    ("eye", (2, 4), {"dtype": "int64"}),
    ("empty", (2, 3), {}),
    ("empty", (0,), {"dtype": "bool"}),
]


@pytest.mark.parametrize("name, args, kwargs", FACTORIES)
def test_factory_dtype_shape_values_as_torch(name, args, kwargs):
    tk = {k: getattr(torch, v) if k == "dtype" else v for k, v in kwargs.items()}
    bk = {k: getattr(bp, v) if k == "dtype" else v for k, v in kwargs.items()}
    t = getattr(torch, name)(*args, **tk)
    b = getattr(bp, name)(*args, **bk)
    assert tuple(b.shape) == tuple(t.shape)
    assert b.dtype == _bp_dtype(t)
    if name != "empty":
        np.testing.assert_allclose(b.numpy(), t.numpy(), rtol=1e-6)
    # device= and requires_grad= as torch takes them
    b2 = getattr(bp, name)(*args, **bk, device="cpu")
    assert b2.device == bp.device("cpu") and not b2.requires_grad
    if b.dtype.kind == "f":
        assert getattr(bp, name)(*args, **bk, requires_grad=True).requires_grad


@pytest.mark.parametrize(
    "name", ["zeros_like", "ones_like", "empty_like", "rand_like", "randn_like"]
)
@pytest.mark.parametrize("dtype", [None, "float64", "float32"])
def test_like_factories(name, dtype):
    src = np.ones((2, 3), np.float32)
    kw_t = {} if dtype is None else {"dtype": getattr(torch, dtype)}
    kw_b = {} if dtype is None else {"dtype": getattr(bp, dtype)}
    t = getattr(torch, name)(torch.tensor(src), **kw_t)
    b = getattr(bp, name)(bp.tensor(src), **kw_b, device="cpu")
    assert tuple(b.shape) == tuple(t.shape) and b.dtype == _bp_dtype(t)
    assert getattr(bp, name)(bp.tensor(src), requires_grad=True).requires_grad


def test_full_like_and_int_like():
    t = torch.full_like(torch.tensor([[1, 2], [3, 4]], dtype=torch.int32), 4)
    b = bp.full_like(bp.tensor(np.array([[1, 2], [3, 4]], np.int32)), 4)
    assert b.dtype == _bp_dtype(t) and b.tolist() == t.tolist()
    t = torch.randint_like(torch.zeros(3, 2), 5)
    b = bp.randint_like(bp.zeros(3, 2), 5)
    assert b.dtype == _bp_dtype(t) and tuple(b.shape) == tuple(t.shape)


@pytest.mark.parametrize(
    "call",
    [
        lambda m, g: m.rand(2, 3, generator=g),
        lambda m, g: m.rand((2, 3), dtype=m.float64, generator=g),
        lambda m, g: m.randn(4, generator=g),
        lambda m, g: m.randn(2, 2, dtype=m.float64, generator=g),
        lambda m, g: m.randint(0, 10, (3, 4), generator=g),
        lambda m, g: m.randint(10, (5,), generator=g),
        lambda m, g: m.randint(3, 10, (2,), dtype=m.int32, generator=g),
        lambda m, g: m.randperm(7, generator=g),
        lambda m, g: m.randperm(5, dtype=m.int32, generator=g),
        lambda m, g: m.normal(0.0, 1.0, (3, 2), generator=g),
        lambda m, g: m.normal(m.zeros(4), 2.0, generator=g),
        lambda m, g: m.normal(m.zeros(2, 2), m.ones(2, 2), generator=g),
    ],
)
def test_random_factories_dtype_shape_and_generator(call):
    t = call(torch, torch.Generator().manual_seed(0))
    b1 = call(bp, bp.Generator().manual_seed(3))
    b2 = call(bp, bp.Generator().manual_seed(3))
    assert tuple(b1.shape) == tuple(t.shape) and b1.dtype == _bp_dtype(t)
    np.testing.assert_array_equal(b1.numpy(), b2.numpy())  # the generator decides the numbers


def test_randperm_is_a_permutation_and_randint_in_range():
    assert sorted(bp.randperm(9).tolist()) == list(range(9))
    r = bp.randint(3, 7, (1000,))
    assert r.min().item() >= 3 and r.max().item() < 7 and r.dtype == np.int64


def test_factories_refuse_negative_sizes():
    for make in (bp.zeros, bp.ones, bp.empty, bp.rand, bp.randn):
        with pytest.raises((ValueError, RuntimeError)):
            make(2, -3)
    with pytest.raises((ValueError, RuntimeError)):
        bp.full((-1,), 2.0)


# ---------------------------------------------------------------------------- devices


def test_devices():
    assert bp.device("cpu") == bp.device("cpu")
    assert bp.device("cpu").type == "cpu" and str(bp.device("cpu")) == "cpu"
    assert isinstance(bp.cuda.is_available(), bool)
    assert bp.zeros(2).device == bp.device("cpu")
    assert bp.zeros(2).to("cpu").device.type == "cpu"
    before = bp.get_default_device()
    try:
        bp.set_default_device("cpu")
        assert bp.ones(3).device.type == "cpu"
    finally:
        bp.set_default_device(before)
    if not bp.cuda.is_available():
        with pytest.raises(RuntimeError):
            bp.zeros(2, device="cuda")


# ---------------------------------------------------------------------------- formats, index


@pytest.mark.parametrize(
    "value",
    [
        3.14159,
        -2.5,
        7,
        [1.5, 2.0],
        [1.0, 2.0],
        [1e-5, 1.0],
        [1e9, 2.0],
        [[1.25, -3.0], [100.0, 0.0]],
        [1, 2, 3],
        [True, False],
        [float("nan"), 1.5, float("-inf")],
        [0.0, 0.0],
    ],
)
def test_formats_as_torch(value):
    t, b = torch.tensor(value), bp.tensor(value)
    assert f"{b}" == f"{t}" and str(b) == str(t)
    if t.dim() == 0:
        for spec in (".4f", ".2e", "", ">10", "+.1f"):
            assert f"{b:{spec}}" == f"{t:{spec}}"
    else:
        with pytest.raises(TypeError):
            f"{t:.4f}"
        with pytest.raises(TypeError):
            f"{b:.4f}"


def test_index_protocol():
    assert list(range(bp.tensor(3))) == list(range(torch.tensor(3)))
    assert [10, 20, 30][bp.tensor(1)] == 20
    assert "abcd"[bp.tensor(-1)] == "d"
    assert np.arange(5)[bp.tensor(2)] == 2
    for bad in (bp.tensor(1.5), bp.tensor([1, 2])):
        with pytest.raises(TypeError):
            range(bad)


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_stable_sort_tie_order_as_torch(descending, dim):
    x = np.random.default_rng(0).integers(0, 3, (6, 7)).astype(np.float32)
    tv, ti = torch.sort(torch.tensor(x), dim=dim, descending=descending, stable=True)
    bv, bi = bp.sort(bp.tensor(x), dim=dim, descending=descending, stable=True)
    np.testing.assert_array_equal(bv.numpy(), tv.numpy())
    np.testing.assert_array_equal(bi.numpy(), ti.numpy())
    ta = torch.argsort(torch.tensor(x), dim=dim, descending=descending, stable=True)
    np.testing.assert_array_equal(
        bp.argsort(bp.tensor(x), dim, descending, stable=True).numpy(), ta
    )


# ---------------------------------------------------------------------------- nn


def _device_modules():
    return [
        lambda m, **k: m.nn.Linear(3, 4, **k),
        lambda m, **k: m.nn.Linear(3, 4, bias=False, **k),
        lambda m, **k: m.nn.PReLU(2, **k),
        lambda m, **k: m.nn.LayerNorm(4, **k),
        lambda m, **k: m.nn.Embedding(5, 3, **k),
    ]


@pytest.mark.parametrize("k", range(len(_device_modules())))
def test_layers_take_device_and_dtype(k):
    make = _device_modules()[k]
    t = make(torch, device="cpu", dtype=torch.float64)
    b = make(bp, device="cpu", dtype=bp.float64)
    tsd, bsd = t.state_dict(), b.state_dict()
    assert list(bsd) == list(tsd)
    for key in tsd:
        assert tuple(bsd[key].shape) == tuple(tsd[key].shape)
        assert bsd[key].dtype == np.float64 and bsd[key].device == bp.device("cpu")
    b2 = make(bp, device=bp.device("cpu"))
    assert all(v.dtype == np.float32 for v in b2.state_dict().values())
    assert b2.to("cpu") is b2 and b2.to(bp.float64) is b2
    assert all(v.dtype == np.float64 for v in b2.state_dict().values())


def test_state_dict_holds_detached_tensors_sharing_memory():
    lin = bp.nn.Linear(3, 2)
    sd = lin.state_dict()
    assert all(isinstance(v, bp.Tensor) and not v.requires_grad for v in sd.values())
    assert sd["weight"].grad_fn is None if hasattr(sd["weight"], "grad_fn") else True
    with bp.no_grad():
        sd["weight"].zero_()
    assert lin.weight.sum().item() == 0  # shares memory, as torch's
    assert lin.state_dict(keep_vars=True)["weight"] is lin.weight


@pytest.mark.parametrize("kind", ["tensor", "numpy", "torch"])
def test_load_state_dict_accepts_tensors_arrays_and_torch(kind):
    src, dst = bp.nn.Linear(3, 2), bp.nn.Linear(3, 2)
    sd = src.state_dict()
    conv = {
        "tensor": lambda v: v.clone(),
        "numpy": lambda v: v.numpy().copy(),
        "torch": lambda v: torch.tensor(v.numpy()),
    }[kind]
    dst.load_state_dict({k: conv(v) for k, v in sd.items()})
    for k in sd:
        np.testing.assert_array_equal(dst.state_dict()[k].numpy(), sd[k].numpy())
    # and torch loads ours
    theirs = torch.nn.Linear(3, 2)
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in sd.items()})
    np.testing.assert_array_equal(theirs.weight.detach().numpy(), src.weight.numpy())


def test_state_dict_saves_and_checkpoints(tmp_path):
    model = bp.nn.Sequential(bp.nn.Linear(3, 4), bp.nn.Tanh(), bp.nn.Linear(4, 1))
    bp.save(model.state_dict(), tmp_path / "m.bp")
    other = bp.nn.Sequential(bp.nn.Linear(3, 4), bp.nn.Tanh(), bp.nn.Linear(4, 1))
    other.load_state_dict(bp.load(tmp_path / "m.bp"))
    x = bp.randn(5, 3)
    np.testing.assert_array_equal(other(x).detach().numpy(), model(x).detach().numpy())
    bp.save_checkpoint(tmp_path / "ck", model.state_dict(), meta={"epoch": 1})
    loaded = bp.load_checkpoint(tmp_path / "ck")
    state = loaded[0] if isinstance(loaded, tuple) else getattr(loaded, "model_state", loaded)
    third = bp.nn.Sequential(bp.nn.Linear(3, 4), bp.nn.Tanh(), bp.nn.Linear(4, 1))
    third.load_state_dict(state)
    np.testing.assert_array_equal(third(x).detach().numpy(), model(x).detach().numpy())


# -- Tensor.register_hook and the layout / new_* methods ----------------------------------


def _hooked_run(lib):
    log = []
    x = lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64, requires_grad=True)
    w = lib.tensor([0.5, -1.0, 2.0], dtype=lib.float64, requires_grad=True)
    h = x * w
    h.register_hook(lambda g: log.append(("h", g.numpy().copy())) or g * 2)
    x.register_hook(lambda g: log.append(("x", g.numpy().copy())))  # observes the sum
    handle = w.register_hook(lambda g: g + 1)
    y = (h * h).sum() + (x * 3).sum()  # x reaches y along two paths
    y.backward(retain_graph=True)
    first = (x.grad.numpy().copy(), w.grad.numpy().copy())
    handle.remove()
    x.grad = None
    w.grad = None
    y.backward()
    return first, (x.grad.numpy(), w.grad.numpy()), log


def test_register_hook_sees_and_replaces_gradients_as_torch():
    import torch

    want, got = _hooked_run(torch), _hooked_run(bp)
    for a, b in zip(want[:2], got[:2]):
        for u, v in zip(a, b):
            np.testing.assert_allclose(v, u)
    assert [k for k, _ in got[2]] == [k for k, _ in want[2]]
    for (_, u), (_, v) in zip(want[2], got[2]):
        np.testing.assert_allclose(v, u)


def test_register_hook_refuses_what_torch_refuses():
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        bp.ones(2).register_hook(lambda g: g)
    x = bp.ones(3, requires_grad=True)
    x.register_hook(lambda g: g[:2])
    with pytest.raises(RuntimeError, match="changed the size"):
        (x * 2).sum().backward()


def test_layout_and_new_methods_as_torch():
    import torch

    for lib in (torch, bp):
        t = lib.arange(6.0).reshape(2, 3)
        got = (
            t.stride(),
            t.stride(0),
            t.T.is_contiguous(),
            t.T.contiguous().is_contiguous(),
            str(t.new_zeros(2, 2).dtype).replace("torch.", ""),
            t.new_full((2,), 3.0).tolist(),
            t.new_ones(3).tolist(),
            t.where(t > 2, 0.0).tolist(),
            tuple(t.mT.shape),
            t.nelement(),
            t.ndimension(),
            t.nbytes,
        )
        if lib is torch:
            want = got
    assert got == want
    x = bp.arange(6.0, requires_grad=True)
    y = x.reshape(2, 3).T.contiguous()  # a copy in the graph: gradients still flow
    (y * bp.arange(6.0).reshape(3, 2)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0, 2, 4, 1, 3, 5])


def test_functions_take_pytorchs_keyword_names():
    """``torch.matmul(input=g, other=x)`` as the tutorial writes it; ``exponent=``, ``input=``."""
    import torch

    x = np.linspace(-1.0, 1.0, 5)
    cases = [
        ("matmul", dict(input=x, other=x)),
        ("add", dict(input=x, other=x, alpha=2)),
        ("sub", dict(input=x, other=x)),
        ("mul", dict(input=x, other=x)),
        ("div", dict(input=x, other=x + 2)),
        ("pow", dict(input=x, exponent=2)),
        ("maximum", dict(input=x, other=-x)),
        ("sum", dict(input=x, dim=0)),
        ("mean", dict(input=x)),
        ("exp", dict(input=x)),
        ("zeros_like", dict(input=x)),
        ("full_like", dict(input=x, fill_value=3.0)),
    ]
    for name, kwargs in cases:
        ours = getattr(bp, name)(**{k: _as(bp, v) for k, v in kwargs.items()})
        theirs = getattr(torch, name)(**{k: _as(torch, v) for k, v in kwargs.items()})
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), err_msg=name)


def _as(lib, v):
    return lib.tensor(v) if isinstance(v, np.ndarray) else v


def test_dropout2d_on_a_2d_input_warns_and_drops_elements_as_torch():
    x = bp.ones(64, 32)
    with pytest.warns(UserWarning, match="2-D input to dropout2d"):
        y = bp.nn.functional.dropout2d(x, 0.5, training=True)
    kept = y.numpy() != 0
    assert y.shape == (64, 32)
    assert 0.3 < kept.mean() < 0.7
    assert kept.any(axis=1).all() and not kept.all(axis=1).any()  # per element, not per row
    np.testing.assert_allclose(y.numpy()[kept], 2.0)
