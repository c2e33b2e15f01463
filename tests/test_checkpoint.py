"""Checkpoints: exact round trips, clear errors for damaged or foreign files, and atomic saves
that survive ``kill -9`` in the middle of writing."""

from __future__ import annotations

import json
import os
import pickle
import random
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import backprop
from backprop.checkpoint import (
    FORMAT_VERSION,
    CheckpointError,
    checkpoint_info,
    load_checkpoint,
    save_checkpoint,
)

REPO = Path(__file__).resolve().parents[1]


def adam_state() -> dict:
    # The shape of torch.optim.Adam(...).state_dict(), with NumPy arrays for tensors.
    rng = np.random.default_rng(0)
    return {
        "state": {
            0: {"step": 5, "exp_avg": rng.normal(size=(3, 2)), "exp_avg_sq": rng.random((3, 2))},
            1: {
                "step": np.int64(5),
                "exp_avg": rng.normal(size=2).astype(np.float32),
                "exp_avg_sq": rng.random(2).astype(np.float32),
            },
        },
        "param_groups": [
            {
                "lr": 1e-3,
                "betas": (0.9, 0.999),
                "eps": 1e-8,
                "weight_decay": 0.0,
                "amsgrad": False,
                "maximize": False,
                "foreach": None,
                "params": [0, 1],
            },
        ],
    }


def assert_same(a, b, path="root"):
    """Equal values *and* equal types all the way down (ints stay ints, tuples stay tuples)."""
    assert type(a) is type(b), f"{path}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, path
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b), f"{path}: keys {list(a)} != {list(b)}"
        for k in a:
            assert_same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{path}[{i}]")
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def test_round_trip_is_exact(tmp_path):
    model = {
        "fc1.weight": np.arange(6, dtype=np.float32).reshape(2, 3),
        "fc1.bias": np.zeros(2, np.float64),
        "bn.num_batches": np.array(7, np.int64),
        "mask": np.array([True, False]),
    }
    optim = adam_state()
    meta = {
        "epoch": 4,
        "arch": {"layers": [2, 16, 3]},
        "metrics": {"val_acc": np.float32(0.5)},
        "seed": 0,
        "dataset": "iris",
    }
    save_checkpoint(tmp_path / "ckpt", model, optim, meta)
    m2, o2, meta2 = load_checkpoint(tmp_path / "ckpt")
    assert_same(model, m2)
    assert_same(optim, o2)
    assert meta2 == {**meta, "metrics": {"val_acc": 0.5}}  # NumPy scalars become JSON numbers
    assert type(o2["state"][1]["step"]) is np.int64


def test_sgd_state_and_tricky_keys(tmp_path):
    optim = {
        "state": {0: {"momentum_buffer": np.ones(3)}, 3: {"momentum_buffer": None}},
        "param_groups": [{"lr": 0.1, "params": [0, 3], "nesterov": True}],
        "a.b": np.zeros(1),
        "a": {"b": np.ones(1)},  # both flatten to "a.b"
        "looks_tagged": {"__tensor__": "state.0.momentum_buffer"},
        "inf": float("inf"),
        (1, 2): "tuple key",
    }
    save_checkpoint(tmp_path, {}, optim)
    assert_same(optim, load_checkpoint(tmp_path).optim_state)


def test_manifest_is_readable_json(tmp_path):
    save_checkpoint(tmp_path, {"w": np.zeros(2)}, {"state": {}, "param_groups": []}, {"epoch": 2})
    manifest = json.loads((tmp_path / "checkpoint.json").read_text())
    assert manifest["format"] == "backprop-checkpoint"
    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["library_version"] == backprop.__version__
    assert manifest["meta"] == {"epoch": 2}
    assert checkpoint_info(tmp_path / "checkpoint.json")["meta"] == {"epoch": 2}
    assert load_checkpoint(tmp_path / "checkpoint.json").meta == {"epoch": 2}


def test_no_optimizer_and_overwrite_cleans_up(tmp_path):
    save_checkpoint(tmp_path, {"w": np.zeros(2)}, adam_state())
    (tmp_path / "model-best.safetensors").write_bytes(b"the user's own file")
    save_checkpoint(tmp_path, {"w": np.ones(2)})
    model, optim, meta = load_checkpoint(tmp_path)
    assert optim is None and meta == {}
    np.testing.assert_array_equal(model["w"], np.ones(2))
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 3 and names[0] == "checkpoint.json", names  # old files deleted
    assert "model-best.safetensors" in names


def test_bad_values_are_rejected_before_anything_is_written(tmp_path):
    with pytest.raises(TypeError, match="state.0.fn"):
        save_checkpoint(tmp_path, {}, {"state": {0: {"fn": object()}}})
    with pytest.raises(TypeError, match="meta.when"):
        save_checkpoint(tmp_path, {}, meta={"when": object()})
    assert list(tmp_path.iterdir()) == []


# --- damaged and foreign files -----------------------------------------------------------------
@pytest.fixture
def ckpt(tmp_path):
    save_checkpoint(tmp_path, {"w": np.arange(1000.0)}, adam_state(), {"epoch": 1})
    return tmp_path


def tensor_file(ckpt: Path, role: str = "model") -> Path:
    return ckpt / json.loads((ckpt / "checkpoint.json").read_text())["files"][role]["name"]


def test_truncated_tensor_file(ckpt):
    f = tensor_file(ckpt)
    f.write_bytes(f.read_bytes()[:-100])
    with pytest.raises(CheckpointError, match=f"{f.name} has .* bytes .*truncated"):
        load_checkpoint(ckpt)
    with pytest.raises(CheckpointError, match=f"{f.name} is not a readable safetensors"):
        load_checkpoint(ckpt, verify=False)


def test_flipped_byte_is_caught_by_the_hash(ckpt):
    f = tensor_file(ckpt, "optimizer")
    data = bytearray(f.read_bytes())
    data[-1] ^= 0xFF
    f.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=f"{f.name} does not match its SHA-256"):
        load_checkpoint(ckpt)


@pytest.mark.parametrize(
    "content", [os.urandom(4096), pickle.dumps({"w": [1.0, 2.0]})], ids=["random-bytes", "pickle"]
)
def test_foreign_tensor_file(ckpt, content):
    f = tensor_file(ckpt)
    f.write_bytes(content)
    with pytest.raises(CheckpointError, match=f.name):
        load_checkpoint(ckpt, verify=False)
    if content.startswith(b"\x80"):
        with pytest.raises(CheckpointError, match="pickle"):
            load_checkpoint(ckpt, verify=False)


def test_pickle_given_as_the_checkpoint(tmp_path):
    f = tmp_path / "model.pt"
    f.write_bytes(pickle.dumps({"w": 1}))
    with pytest.raises(CheckpointError, match="model.pt is a pickle"):
        load_checkpoint(f)
    (tmp_path / "checkpoint.json").write_bytes(pickle.dumps({"w": 1}))
    with pytest.raises(CheckpointError, match="checkpoint.json is a pickle"):
        load_checkpoint(tmp_path)


def test_missing_manifest_or_directory(ckpt, tmp_path):
    (ckpt / "checkpoint.json").unlink()
    with pytest.raises(CheckpointError, match="checkpoint.json is missing.*contains: model-"):
        load_checkpoint(ckpt)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_checkpoint(tmp_path / "nowhere")


def test_missing_tensor_file(ckpt):
    f = tensor_file(ckpt)
    f.unlink()
    with pytest.raises(CheckpointError, match=f"{f.name} is missing"):
        load_checkpoint(ckpt)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda m: "not json {", "not valid JSON"),
        (lambda m: json.dumps({"name": "some other tool"}), "not a backprop checkpoint manifest"),
        (lambda m: json.dumps([1, 2]), "not a backprop checkpoint manifest"),
        (
            lambda m: json.dumps({**m, "format_version": FORMAT_VERSION + 1}),
            f"format version {FORMAT_VERSION + 1}, newer than this backprop supports",
        ),
        (
            lambda m: json.dumps({k: v for k, v in m.items() if k != "meta"}),
            "missing required keys: meta",
        ),
        (lambda m: json.dumps({**m, "files": {}}), "missing required keys: files.model"),
        (lambda m: json.dumps({**m, "optimizer": {"__tensor__": "nope"}}), "array 'nope'"),
    ],
    ids=[
        "bad-json",
        "foreign-json",
        "json-list",
        "newer-version",
        "no-meta",
        "no-model",
        "dangling-array",
    ],
)
def test_bad_manifest(ckpt, edit, message):
    manifest = ckpt / "checkpoint.json"
    manifest.write_text(edit(json.loads(manifest.read_text())))
    with pytest.raises(CheckpointError, match=message) as info:
        load_checkpoint(ckpt)
    assert str(ckpt) in str(info.value)


# --- atomicity ---------------------------------------------------------------------------------
CHILD = textwrap.dedent(
    """
    import sys
    import numpy as np
    from backprop.checkpoint import save_checkpoint

    path, big = sys.argv[1], int(sys.argv[2])
    for version in range(1, 10**6):
        w = np.full(big, version, dtype=np.float32)
        optim = {"state": {0: {"step": version, "momentum_buffer": w[: big // 2]}},
                 "param_groups": [{"lr": 0.1, "params": [0]}]}
        save_checkpoint(path, {"w": w, "b": np.full(3, version)}, optim, {"epoch": version})
        print(version, flush=True)
    """
)


def check_consistent(path) -> int:
    model, optim, meta = load_checkpoint(path)
    v = meta["epoch"]
    assert optim["state"][0]["step"] == v
    assert (model["w"] == v).all() and (model["b"] == v).all()
    assert (optim["state"][0]["momentum_buffer"] == v).all()
    return v


def test_sigkill_mid_save_never_damages_the_previous_checkpoint(tmp_path):
    path = tmp_path / "ckpt"
    save_checkpoint(
        path,
        {"w": np.zeros(4), "b": np.zeros(3)},
        {"state": {0: {"step": 0, "momentum_buffer": np.zeros(2)}}, "param_groups": []},
        {"epoch": 0},
    )
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    rng = random.Random(0)
    seen, leftovers = set(), 0
    for _ in range(4):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(path), str(2_000_000)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        child.stdout.readline()  # one save completed: the loop is warm
        time.sleep(rng.uniform(0.0, 0.1))
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        seen.add(check_consistent(path))
        leftovers += len(list(path.iterdir())) > 3  # the kill landed mid-save
    assert min(seen) >= 1
    print(f"versions after each kill: {sorted(seen)}; {leftovers} kills left partial files")
    # The next save cleans up whatever the killed saves left behind.
    save_checkpoint(path, {"w": np.zeros(1)})
    assert len(list(path.iterdir())) == 2


# --- hostile manifests and files: a CheckpointError naming the problem, never a traceback -----
@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda m: {**m, "meta": None}, "meta must be an object"),
        (
            lambda m: {**m, "files": {**m["files"], "model": "model.safetensors"}},
            "files.model must be an object",
        ),
        (lambda m: _file(m, name="../../etc/passwd"), "files.model.name is '../../etc/passwd'"),
        (lambda m: _file(m, bytes="12"), "files.model.bytes is '12'"),
        (lambda m: _file(m, bytes=-1), "files.model.bytes is -1"),
        (lambda m: _file(m, sha256=None), "files.model.sha256 is not a SHA-256"),
        (lambda m: _file(m, keys="w"), "files.model.keys must be a list"),
        (lambda m: {**m, "optimizer": [1]}, "optimizer must be an object or null"),
        (lambda m: {**m, "optimizer": {"__items__": 5}}, "optimizer state's layout is damaged"),
        (lambda m: {**m, "files": {**m["files"], "extra": {}}}, "unknown entries"),
    ],
    ids=[
        "meta-null",
        "files-string",
        "path-traversal",
        "bytes-string",
        "bytes-negative",
        "no-hash",
        "keys-string",
        "optimizer-list",
        "optimizer-layout",
        "extra-file",
    ],  # fmt: skip
)
def test_manifest_schema(ckpt, edit, message):
    manifest = ckpt / "checkpoint.json"
    manifest.write_text(json.dumps(edit(json.loads(manifest.read_text()))))
    with pytest.raises(CheckpointError, match=re.escape(message)):
        load_checkpoint(ckpt)


def _file(m: dict, **entry) -> dict:
    return {**m, "files": {**m["files"], "model": {**m["files"]["model"], **entry}}}


def test_only_regular_files_are_read(ckpt, tmp_path):
    f = tensor_file(ckpt)
    f.unlink()
    f.symlink_to("/dev/zero")  # would read until memory runs out
    with pytest.raises(CheckpointError, match="a tensor file is not a regular file"):
        load_checkpoint(ckpt)
    f.unlink()
    f.symlink_to(f.name)  # a loop
    with pytest.raises(CheckpointError, match="cannot be read"):
        load_checkpoint(ckpt)
    manifest = ckpt / "checkpoint.json"
    manifest.unlink()
    manifest.mkdir()
    with pytest.raises(CheckpointError, match="the manifest is a directory"):
        load_checkpoint(ckpt)


def test_extra_arrays_in_a_tensor_file(tmp_path):
    import safetensors.numpy

    save_checkpoint(tmp_path, {"w": np.zeros(2)})
    m = json.loads((tmp_path / "checkpoint.json").read_text())
    blob = safetensors.numpy.save({"w": np.zeros(2), "sneaky": np.ones(1)})
    (tmp_path / m["files"]["model"]["name"]).write_bytes(blob)
    with pytest.raises(CheckpointError, match="holds arrays the manifest does not list: sneaky"):
        load_checkpoint(tmp_path, verify=False)


MANIFEST_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_fuzzed_manifests_raise_only_checkpoint_errors(ckpt, data):
    """Replace one entry anywhere in a good manifest with an arbitrary JSON value (or delete
    it): loading gives the checkpoint or a CheckpointError, nothing else."""
    manifest = ckpt / "checkpoint.json"
    good = getattr(test_fuzzed_manifests_raise_only_checkpoint_errors, "good", None)
    if good is None:
        good = test_fuzzed_manifests_raise_only_checkpoint_errors.good = manifest.read_text()
    doc = json.loads(good)
    node, path = doc, []
    while isinstance(node, (dict, list)) and node and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(list(node) if isinstance(node, dict) else range(len(node))))
        path.append((node, key))
        node = node[key]
    if path:
        parent, key = path[-1]
        if isinstance(parent, dict) and data.draw(st.booleans()):
            del parent[key]
        else:
            parent[key] = data.draw(MANIFEST_VALUES)
    else:
        doc = data.draw(MANIFEST_VALUES)
    manifest.write_text(json.dumps(doc))
    try:
        load_checkpoint(ckpt)
    except CheckpointError:
        pass
    finally:
        manifest.write_text(good)
