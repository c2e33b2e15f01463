"""bp.save / bp.load: safetensors with the structure in JSON, never pickle."""

import io

import numpy as np
import pytest
import safetensors.torch
import torch

import backprop as bp
from backprop import nn, optim
from backprop.serialization import SerializationError


def test_tensors_and_nested_structures_round_trip(tmp_path):
    path = tmp_path / "obj.safetensors"
    w = nn.Parameter(bp.tensor([[1.0, 2.0]], dtype=bp.float64))
    obj = {
        "w": w,
        "x": bp.tensor([1, 2, 3]),
        "g": bp.ones(2, requires_grad=True),
        "arr": np.arange(4, dtype=np.int16),
        "scalar": np.float32(2.5),
        "state": {0: {"step": 3, "exp_avg": np.zeros(2)}, 1: {}},
        "betas": (0.9, 0.999),
        "names": ["a", None, True, float("inf")],
        "__tensor__": "a key that looks like a tag",
    }
    bp.save(obj, path)
    back = bp.load(path)
    assert isinstance(back["w"], nn.Parameter) and back["w"].requires_grad
    assert back["w"].dtype == np.float64 and back["w"].tolist() == [[1.0, 2.0]]
    assert type(back["x"]) is bp.Tensor and back["x"].dtype == np.int64
    assert back["g"].requires_grad and not back["x"].requires_grad
    assert type(back["arr"]) is np.ndarray and back["arr"].dtype == np.int16
    assert back["scalar"] == np.float32(2.5) and back["scalar"].dtype == np.float32
    assert back["state"][0]["step"] == 3 and list(back["state"]) == [0, 1]
    assert back["betas"] == (0.9, 0.999) and back["names"] == ["a", None, True, float("inf")]
    assert back["__tensor__"] == "a key that looks like a tag"
    buf = io.BytesIO()  # file objects, as torch.save/torch.load take
    bp.save(bp.arange(3), buf)
    buf.seek(0)
    assert bp.load(buf).tolist() == [0, 1, 2]


def test_state_dict_file_is_plain_safetensors(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 1))
    path = tmp_path / "model.safetensors"
    bp.save(model.state_dict(), path)
    theirs = safetensors.torch.load_file(path)  # other tools read it: same names and values
    assert sorted(theirs) == sorted(model.state_dict())
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(theirs[k].numpy(), v)
    fresh = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 1))
    fresh.load_state_dict(bp.load(path))
    assert list(bp.load(path)) == list(model.state_dict())  # order kept
    x = bp.randn(5, 3)
    np.testing.assert_array_equal(fresh.eval()(x).numpy(), model.eval()(x).numpy())
    # A safetensors file written by PyTorch loads as a dict of tensors, in file order.
    tpath = tmp_path / "torch.safetensors"
    safetensors.torch.save_file({"b": torch.ones(2), "a": torch.zeros(3)}, tpath)
    loaded = bp.load(tpath)
    assert all(isinstance(v, bp.Tensor) for v in loaded.values()) and loaded["a"].shape == (3,)


def test_training_resumes_exactly_from_a_saved_checkpoint(tmp_path):
    def make():
        bp.manual_seed(0)
        model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1)).double()
        return model, optim.Adam(model.parameters(), lr=0.05)

    X = bp.tensor(np.random.default_rng(0).normal(size=(16, 2)))
    y = X.sum(1, keepdim=True)

    def steps(model, opt, n):
        for _ in range(n):
            opt.zero_grad()
            nn.MSELoss()(model(X), y).backward()
            opt.step()

    model, opt = make()
    steps(model, opt, 10)
    path = tmp_path / "ckpt.safetensors"
    bp.save({"epoch": 10, "model": model.state_dict(), "optimizer": opt.state_dict()}, path)
    steps(model, opt, 5)
    model2, opt2 = make()
    ckpt = bp.load(path)
    model2.load_state_dict(ckpt["model"])
    opt2.load_state_dict(ckpt["optimizer"])
    steps(model2, opt2, 5)
    assert ckpt["epoch"] == 10
    for a, b in zip(model.parameters(), model2.parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_pytorch_pickles_are_refused_and_convertible(tmp_path):
    tmodel = torch.nn.Linear(3, 2).double()
    pt = tmp_path / "model.pt"
    torch.save(tmodel.state_dict(), pt)
    with pytest.raises(SerializationError, match="never unpickles") as info:
        bp.load(pt)
    assert "zip archive of pickles" in str(info.value) and "bp.save(torch.load(" in str(info.value)
    legacy = tmp_path / "legacy.pt"
    torch.save(tmodel.state_dict(), legacy, _use_new_zipfile_serialization=False)
    with pytest.raises(SerializationError, match="is a pickle"):
        bp.load(legacy)
    # The conversion the message gives: bp.save takes torch tensors.
    bp.save(torch.load(pt, weights_only=True), tmp_path / "converted.safetensors")
    ours = nn.Linear(3, 2).double()
    ours.load_state_dict(bp.load(tmp_path / "converted.safetensors"))
    x = np.random.default_rng(1).normal(size=(4, 3))
    np.testing.assert_allclose(ours(bp.tensor(x)).numpy(), tmodel(torch.tensor(x)).detach().numpy())


def test_what_cannot_be_saved_or_loaded_is_named(tmp_path):
    with pytest.raises(TypeError, match="state_dict"):
        bp.save(nn.Linear(2, 2), tmp_path / "m.safetensors")
    with pytest.raises(TypeError, match="'a.b'"):
        bp.save({"a": {"b": object()}}, tmp_path / "m.safetensors")
    assert not list(tmp_path.iterdir())  # nothing half-written
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    with pytest.raises(SerializationError, match="bad.safetensors"):
        bp.load(bad)
