"""One training step of a ReLU MLP with softmax cross-entropy and plain SGD, in each framework.

Every ``make_*`` function returns a zero-argument ``step()`` that runs forward, backward and the
weight update on the same batch (float32 throughout), or raises ImportError when the peer is not
installed. The GEMM-only floor runs just the matrix products of the step; the hand-written NumPy
step is the whole step written by hand, the way lecture 003 derives it.
"""

from __future__ import annotations

import numpy as np

LR = 0.01


def data(sizes: tuple[int, ...], batch: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], batch)
    weights = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1 / np.sqrt(fan_in)
        w = rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32)  # (out, in)
        b = rng.uniform(-bound, bound, fan_out).astype(np.float32)
        weights.append((w, b))
    return x, y, weights


def make_gemm_floor(sizes, batch):
    """Only the matmuls of one step, into preallocated outputs: what a BLAS alone costs."""
    x, _, weights = data(sizes, batch)
    ws = [w.copy() for w, _ in weights]
    acts = [x] + [np.empty((batch, w.shape[0]), np.float32) for w in ws]
    gws = [np.empty_like(w) for w in ws]
    gacts = [np.ones_like(a) for a in acts]  # stand-ins for the deltas of each layer

    def step():
        for i, w in enumerate(ws):
            np.matmul(acts[i], w.T, out=acts[i + 1])
        for i in reversed(range(len(ws))):
            np.matmul(gacts[i + 1].T, acts[i], out=gws[i])
            if i:
                np.matmul(gacts[i + 1], ws[i], out=gacts[i])

    return step


def make_numpy(sizes, batch):
    """The whole step by hand: forward, softmax - onehot, the delta recursion, SGD."""
    x, y, weights = data(sizes, batch)
    params = [(w.copy(), b.copy()) for w, b in weights]
    rows = np.arange(batch)

    def step():
        acts = [x]
        h = x
        for i, (w, b) in enumerate(params):
            h = h @ w.T
            h += b
            if i < len(params) - 1:
                np.maximum(h, 0, out=h)
            acts.append(h)
        z = h
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        loss = -np.log(z[rows, y]).mean()
        z[rows, y] -= 1
        z /= batch
        delta = z
        for i in reversed(range(len(params))):
            w, b = params[i]
            gw = delta.T @ acts[i]
            gb = delta.sum(axis=0)
            if i:
                delta = delta @ w
                delta *= acts[i] > 0
            w -= LR * gw
            b -= LR * gb
        return loss

    return step


def _mlp(nn, weights, as_tensor):
    """The ReLU MLP in a PyTorch-like ``nn`` namespace (``bp.nn`` or ``torch.nn``), holding
    ``weights`` (converted by ``as_tensor``) under PyTorch's state_dict keys."""
    layers = []
    for i, (w, _) in enumerate(weights):
        layers.append(nn.Linear(w.shape[1], w.shape[0]))
        if i < len(weights) - 1:
            layers.append(nn.ReLU())
    model = nn.Sequential(*layers)
    state = {}
    for i, (w, b) in enumerate(weights):
        state[f"{2 * i}.weight"], state[f"{2 * i}.bias"] = as_tensor(w), as_tensor(b)
    model.load_state_dict(state)
    return model


def _sgd_step(opt, loss_of, backward=True):
    """One step as users write it: zero_grad, loss (and backward), step."""

    def step():
        opt.zero_grad()
        loss = loss_of()
        if backward:
            loss.backward()
        opt.step()
        return loss

    return step


def _bp_model(sizes, batch):
    """The MLP as a user writes it: bp.nn layers, F.cross_entropy, bp.optim.SGD."""
    import backprop as bp
    import backprop.nn.functional as F
    from backprop import nn, optim

    x, y, weights = data(sizes, batch)
    model = _mlp(nn, weights, np.copy)
    opt = optim.SGD(model.parameters(), lr=LR)

    def loss_fn(x, y):
        return F.cross_entropy(model(x), y)  # fused: one Linear node per layer, one loss node

    return loss_fn, opt, bp.tensor(x), bp.tensor(y)


def make_backprop(sizes, batch):
    loss_fn, opt, x, y = _bp_model(sizes, batch)
    return _sgd_step(opt, lambda: loss_fn(x, y))


def make_backprop_unfused(sizes, batch):
    """Eager, before fusing: each layer as matmul + add, the loss from primitives, and the
    update as ``w -= lr * g``."""
    import backprop as bp

    x, y, weights = data(sizes, batch)
    params = []
    for w, b in weights:
        params += [bp.tensor(w, requires_grad=True), bp.tensor(b, requires_grad=True)]
    xt, yt = bp.tensor(x), bp.tensor(y)
    rows = np.arange(batch)

    def step():
        h = xt
        for i in range(0, len(params), 2):
            h = h @ params[i].T + params[i + 1]  # 3 nodes: permute, matmul, add
            if i < len(params) - 2:
                h = h.relu()
        z = h - h.amax(dim=1, keepdim=True)  # log-softmax and NLL from primitives: 8 nodes
        logp = z - z.exp().sum(dim=1, keepdim=True).log()
        loss = -logp[rows, yt._data].mean()
        loss.backward()
        for p in params:
            p._data -= LR * p._grad
            p.grad = None
        return loss

    return step


def make_torch(sizes, batch):
    import torch

    x, y, weights = data(sizes, batch)
    model = _mlp(torch.nn, weights, lambda a: torch.from_numpy(a.copy()))
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    return _sgd_step(opt, lambda: torch.nn.functional.cross_entropy(model(xt), yt))


def make_sklearn(sizes, batch):
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    x, y, _ = data(sizes, batch)
    x = x.astype(np.float32)
    clf = MLPClassifier(
        hidden_layer_sizes=sizes[1:-1],
        solver="sgd",
        learning_rate_init=LR,
        momentum=0.0,
        alpha=0.0,
        batch_size=batch,
        max_iter=1,
        shuffle=False,
    )
    classes = np.arange(sizes[-1])
    warnings.simplefilter("ignore", ConvergenceWarning)
    y = np.resize(classes, batch)  # every class present, as partial_fit's first call needs
    clf.partial_fit(x, y, classes=classes)

    def step():
        clf.partial_fit(x, y)

    return step


def _functional_loss(np_, params, x, y):
    """The MLP's loss written with array functions only (for autograd and JAX)."""
    h = x
    for i in range(0, len(params), 2):
        h = h @ params[i].T + params[i + 1]
        if i < len(params) - 2:
            h = np_.maximum(h, 0)
    h = h - h.max(axis=1, keepdims=True)
    logp = h - np_.log(np_.exp(h).sum(axis=1, keepdims=True))
    return -(logp * y).sum() / x.shape[0]


def make_autograd(sizes, batch):
    import autograd
    import autograd.numpy as anp

    x, y, weights = data(sizes, batch)
    onehot = np.eye(sizes[-1], dtype=np.float32)[y]
    params = [a.copy() for wb in weights for a in wb]
    grad = autograd.grad(lambda ps: _functional_loss(anp, ps, x, onehot))

    def step():
        for p, g in zip(params, grad(params)):
            p -= LR * g

    return step


def make_jax(sizes, batch):
    import jax
    import jax.numpy as jnp

    x, y, weights = data(sizes, batch)
    onehot = np.eye(sizes[-1], dtype=np.float32)[y]
    params = [jnp.asarray(a) for wb in weights for a in wb]

    @jax.jit
    def update(ps, x, t):
        gs = jax.grad(lambda ps: _functional_loss(jnp, ps, x, t))(ps)
        return [p - LR * g for p, g in zip(ps, gs)]

    state = {"ps": params}

    def step():
        state["ps"] = update(state["ps"], x, onehot)
        state["ps"][0].block_until_ready()

    return step


def make_mygrad(sizes, batch):
    import mygrad as mg
    from mygrad.nnet.losses import softmax_crossentropy

    x, y, weights = data(sizes, batch)
    params = [mg.tensor(a.copy()) for wb in weights for a in wb]

    def step():
        h = x
        for i in range(0, len(params), 2):
            h = mg.matmul(h, params[i].T) + params[i + 1]
            if i < len(params) - 2:
                h = mg.maximum(h, 0)
        loss = softmax_crossentropy(h, y)
        loss.backward()
        for p in params:
            p.data -= LR * p.grad
        return loss

    return step


CONTENDERS = {
    "GEMM-only floor": make_gemm_floor,
    "hand-written NumPy": make_numpy,
    "backprop eager": make_backprop,
    "backprop eager, unfused": make_backprop_unfused,
    "PyTorch eager": make_torch,
    "JAX jit": make_jax,
    "MyGrad": make_mygrad,
    "scikit-learn MLP": make_sklearn,
    "HIPS autograd": make_autograd,
}
