"""The main job: ``backprop train`` on MNIST-shaped data, against the same loop in PyTorch.

The data are synthetic MNIST-shaped IDX files (28x28 uint8 images, ten classes, a blurred
prototype per class plus noise), written once per benchmark run and read by ``backprop train``
through its IDX reader, exactly as a user's MNIST directory would be. Both contenders train a
784-512-256-10 ReLU MLP with plain SGD (lr 0.01, batch 128) on 85% of the training images,
evaluate on the other 15% after every epoch, and report seconds per epoch (training and
validation; for backprop the ``seconds`` column of the run's own ``history.csv``).
"""

from __future__ import annotations

import csv
import struct
from pathlib import Path

import numpy as np

N_TRAIN, N_TEST, EPOCHS = 6_000, 1_000, 3
HIDDEN, BATCH, LR, VAL_FRACTION = (512, 256), 128, 0.01, 0.15


def write_idx(path: Path, array: np.ndarray) -> None:
    """An IDX file of unsigned bytes: magic 0x0000 08 ndim, the dims as big-endian int32."""
    header = struct.pack(">I", 0x0800 | array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def make_data(directory: Path, seed: int = 0) -> Path:
    """The four MNIST files, synthetic: each class a random blob pattern, each image that
    pattern plus noise (learnable, so the loss falls as on MNIST)."""
    rng = np.random.default_rng(seed)
    protos = rng.random((10, 28, 28)) ** 4 * 255
    directory.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", N_TRAIN), ("t10k", N_TEST)):
        labels = rng.integers(0, 10, n)
        images = np.clip(protos[labels] * 0.7 + rng.random((n, 28, 28)) * 80, 0, 255)
        write_idx(directory / f"{prefix}-images-idx3-ubyte", images)
        write_idx(directory / f"{prefix}-labels-idx1-ubyte", labels)
    return directory


def read_idx(path: Path) -> np.ndarray:
    raw = path.read_bytes()
    ndim = raw[3]
    shape = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def backprop_train(data: str, run_dir: str, epochs: int) -> list[float]:
    """The command a user runs, in this process (what the ``backprop`` script does)."""
    from backprop.cli import main

    argv = ["train", "--dataset", data, "--hidden", ",".join(map(str, HIDDEN))]
    argv += ["--optimizer", "sgd", "--lr", str(LR), "--momentum", "0"]
    argv += ["--batch-size", str(BATCH), "--epochs", str(epochs), "--val-fraction"]
    argv += [str(VAL_FRACTION), "--out", run_dir, "--no-plots", "--no-progress"]
    code = main(argv)
    if code:
        raise RuntimeError(f"backprop train exited with {code}")
    with open(Path(run_dir) / "history.csv") as f:
        return [float(r["seconds"]) for r in csv.DictReader(f)]


def torch_train(data: str, run_dir: str, epochs: int) -> list[float]:
    """The same loop in PyTorch: shuffle, forward, loss, backward, per-layer gradient norms
    (``fit`` records them), step, running loss and accuracy; validation after each epoch."""
    import math
    import time

    import torch

    d = Path(data)
    X = torch.from_numpy(read_idx(d / "train-images-idx3-ubyte").reshape(N_TRAIN, -1) / 255.0)
    X = X.float()
    y = torch.from_numpy(read_idx(d / "train-labels-idx1-ubyte").astype(np.int64))
    torch.manual_seed(0)
    order = torch.randperm(len(X))
    n_val = int(round(len(X) * VAL_FRACTION))
    (Xv, yv), (Xt, yt) = (X[order[:n_val]], y[order[:n_val]]), (X[order[n_val:]], y[order[n_val:]])
    sizes = (784, *HIDDEN, 10)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    loss_fn = torch.nn.functional.cross_entropy
    seconds = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        model.train()
        total, correct, norms = 0.0, 0, np.zeros(len(linears))
        perm = torch.randperm(len(Xt))
        for i in range(0, len(Xt), BATCH):
            idx = perm[i : i + BATCH]
            xb, yb = Xt[idx], yt[idx]
            out = model(xb)
            loss = loss_fn(out, yb)
            opt.zero_grad()
            loss.backward()
            for k, lin in enumerate(linears):
                g2 = sum(float(p.grad.flatten() @ p.grad.flatten()) for p in lin.parameters())
                norms[k] += math.sqrt(g2)
            opt.step()
            total += loss.item() * len(idx)
            correct += int((out.argmax(1) == yb).sum())
        model.eval()
        with torch.no_grad():
            for i in range(0, len(Xv), 1024):
                out = model(Xv[i : i + 1024])
                loss_fn(out, yv[i : i + 1024], reduction="sum").item()
                int((out.argmax(1) == yv[i : i + 1024]).sum())
        seconds.append(time.perf_counter() - t0)
    return seconds


CONTENDERS = {"backprop train": backprop_train, "PyTorch, the same loop": torch_train}
