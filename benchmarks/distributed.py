"""Data-parallel training's time per epoch and communication (docs/distributed.md).

    mpiexec -n 2 python -m benchmarks.distributed --model large      # or --model digits
    python -m benchmarks.distributed --model large                   # one process

Trains ``--epochs`` epochs with ``bp.train.fit`` (data parallel under mpiexec) and prints, from
rank 0, one JSON line: the mean seconds per epoch after the first, the bytes all-reduced per
step (the DDP buckets), and the mean time of one step's blocking all-reduce of those buckets
(measured apart from training). ``large`` is the 784-512-256-10 MLP on 16384 MNIST-shaped
random samples, batch 128; ``digits`` is ``backprop train``'s default: 64-64-10 on digits,
batch 32. BLAS threads are whatever the environment says (OPENBLAS_NUM_THREADS=1 for one).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import backprop as bp
import backprop.distributed as dist


def _data(model: str):
    if model == "digits":
        s = bp.load_dataset("digits", seed=0)
        return (s.X_train, s.y_train), (s.X_val, s.y_val), (64, 64, 10), 32
    rng = np.random.default_rng(0)
    X = rng.normal(size=(16384 + 2048, 784)).astype(np.float32)
    y = (X[:, :10].argmax(1)).astype(np.int64)
    return (X[:16384], y[:16384]), (X[16384:], y[16384:]), (784, 512, 256, 10), 128


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=["large", "digits"], default="large")
    ap.add_argument("--epochs", type=int, default=3)
    args = ap.parse_args()
    dist.init_from_launcher()
    bp.manual_seed(0)
    train, val, sizes, batch = _data(args.model)
    layers = []
    for a, b in zip(sizes[:-2], sizes[1:-1]):
        layers += [bp.nn.Linear(a, b), bp.nn.ReLU()]
    model = bp.nn.Sequential(*layers, bp.nn.Linear(sizes[-2], sizes[-1]))
    opt = bp.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    h = bp.train.fit(
        model,
        bp.nn.CrossEntropyLoss(),
        opt,
        train,
        val_data=val,
        epochs=args.epochs,
        batch_size=batch,
        progress=False,
    )
    n_params = sum(p.numel() for p in model.parameters())
    steps = -(-len(train[0]) // batch)
    comm = None
    if dist.get_world_size() > 1:
        ddp = bp.nn.parallel.DistributedDataParallel(model)
        bufs = [b.flat for b in ddp.reducer.buckets]
        for _ in range(5):
            for buf in bufs:
                dist.all_reduce(buf)
        dist.barrier()
        t0, reps = time.perf_counter(), 100
        for _ in range(reps):
            for buf in bufs:
                dist.all_reduce(buf)
        comm = (time.perf_counter() - t0) / reps
        buckets = [b.nbytes for b in bufs]
        ddp.reducer.remove()
    else:
        buckets = [4 * n_params]
    if dist.is_leader():
        print(
            json.dumps(
                {
                    "model": args.model,
                    "ranks": dist.get_world_size(),
                    "epoch_s": float(np.mean(h.seconds[1:])),
                    "steps_per_epoch": steps,
                    "batch": batch,
                    "bytes_per_step": sum(buckets),
                    "buckets": buckets,
                    "allreduce_s_per_step": comm,
                    "final_train_loss": h.train_loss[-1],
                }
            )
        )


if __name__ == "__main__":
    main()
