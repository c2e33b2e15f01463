"""micrograd's demo network, MLP(2, [16, 16, 1]) on 100 moons, built from scalars.

One forward (max-margin loss plus L2, as in micrograd's demo notebook) and one backward over
about 66,000 scalar nodes, in micrograd and in backprop with 0-d tensors.
"""

from __future__ import annotations

import random

import numpy as np


def _moons():
    from sklearn.datasets import make_moons

    x, y = make_moons(n_samples=100, noise=0.1, random_state=1)
    return x.tolist(), (y * 2 - 1).tolist()


def _layers(nin, nouts, make):
    random.seed(1337)
    sizes = [nin, *nouts]
    return [
        [([make(random.uniform(-1, 1)) for _ in range(sizes[i])], make(0.0)) for _ in range(n)]
        for i, n in enumerate(nouts)
    ]


def _forward(layers, x, relu):
    for k, layer in enumerate(layers):
        out = []
        for ws, b in layer:
            act = sum((wi * xi for wi, xi in zip(ws, x)), b)
            out.append(relu(act) if k < len(layers) - 1 else act)
        x = out
    return x[0]


def _loss(layers, xs, ys, relu, params):
    scores = [_forward(layers, x, relu) for x in xs]
    losses = [relu(1 + -yi * si) for yi, si in zip(ys, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = 1e-4 * sum(p * p for p in params)
    return data_loss + reg_loss


def micrograd_demo():
    from micrograd.engine import Value

    xs, ys = _moons()
    layers = _layers(2, [16, 16, 1], Value)
    params = [p for layer in layers for ws, b in layer for p in (*ws, b)]

    def step():
        for p in params:
            p.grad = 0.0
        loss = _loss(layers, xs, ys, lambda v: v.relu(), params)
        loss.backward()
        return loss.data

    return step


def backprop_demo():
    import backprop as bp

    xs, ys = _moons()
    layers = _layers(2, [16, 16, 1], lambda v: bp.tensor(v, requires_grad=True))
    params = [p for layer in layers for ws, b in layer for p in (*ws, b)]

    def step():
        for p in params:
            p.grad = None
        loss = _loss(layers, xs, ys, lambda v: v.relu(), params)
        loss.backward()
        return float(loss)

    return step


CONTENDERS = {"micrograd": micrograd_demo, "backprop (0-d tensors)": backprop_demo}

if __name__ == "__main__":  # a quick look: python -m benchmarks.micrograd_demo
    import time

    for name, make in CONTENDERS.items():
        step = make()
        t0 = time.perf_counter()
        print(name, step(), f"{time.perf_counter() - t0:.3f} s", np.nan)
