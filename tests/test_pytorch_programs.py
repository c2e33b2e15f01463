"""Real PyTorch programs, run unchanged but for the imports, in both libraries.

Each program below is PyTorch code as the official tutorial ("Learning PyTorch with
Examples") and the examples repository write it. ``port`` renames the imports the way the
README says (``import torch`` -> ``import backprop as torch``, ``torch.nn`` ->
``backprop.nn``, ``torch.utils.data`` -> ``backprop.utils.data``, ...); nothing else changes.
Both versions start from the same initial weights (``INIT``) and data (``DATA``), and must
reach the same losses and weights. The tutorial's step counts are shortened.
"""

import re

import numpy as np
import pytest

import backprop


def port(source: str) -> str:
    """The README's renaming, applied to import lines only."""
    out = []
    for line in source.splitlines():
        if re.match(r"\s*import torch\s*$", line):
            line = line.replace("import torch", "import backprop as torch")
        elif re.match(r"\s*(import|from)\s+torch\b", line):  # torch.nn, torch.optim...
            line = re.sub(r"\btorch\b", "backprop", line, count=1)
        out.append(line)
    return "\n".join(out)


def run(source: str, needs=(), **inputs) -> tuple[dict, dict]:
    """Run ``source`` with PyTorch and, ported, with backprop; return both RESULT dicts."""
    missing = [n for n in needs if not hasattr(backprop, n) and not hasattr(backprop.Tensor, n)]
    if missing:
        pytest.skip(f"backprop lacks {', '.join(missing)} (issue 9's engine part)")
    results = []
    for src in (source, port(source)):
        scope = {"RESULT": {}, **inputs}
        exec(compile(src, "<program>", "exec"), scope)
        results.append(scope["RESULT"])
    return results[0], results[1]


def assert_same(theirs: dict, ours: dict, rtol: float) -> None:
    assert theirs.keys() == ours.keys()
    for k in theirs:
        np.testing.assert_allclose(
            np.asarray(ours[k], dtype=float),
            np.asarray(theirs[k], dtype=float),
            rtol=rtol,
            atol=1e-6,
            err_msg=k,
        )


def uniform(shape, bound, seed):
    return np.random.default_rng(seed).uniform(-bound, bound, shape).astype(np.float32)


POLYNOMIAL_NN = """
import torch
import math

x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)
p = torch.tensor([1, 2, 3])
xx = x.unsqueeze(-1).pow(p)

model = torch.nn.Sequential(
    torch.nn.Linear(3, 1),
    torch.nn.Flatten(0, 1)
)
model.load_state_dict({k: torch.tensor(v) for k, v in INIT.items()})
loss_fn = torch.nn.MSELoss(reduction='sum')

learning_rate = 1e-6
losses = []
for t in range(200):
    y_pred = model(xx)
    loss = loss_fn(y_pred, y)
    if t % 10 == 9:
        losses.append(loss.item())
    model.zero_grad()
    loss.backward()
    with torch.no_grad():
        for param in model.parameters():
            param -= learning_rate * param.grad

linear_layer = model[0]
print(f'Result: y = {linear_layer.bias.item()} + {linear_layer.weight[:, 0].item()} x + '
      f'{linear_layer.weight[:, 1].item()} x^2 + {linear_layer.weight[:, 2].item()} x^3')
RESULT["losses"] = losses
RESULT["weight"] = linear_layer.weight.detach().numpy()
"""

POLYNOMIAL_OPTIM = POLYNOMIAL_NN.replace(
    "loss_fn = torch.nn.MSELoss(reduction='sum')",
    "loss_fn = torch.nn.MSELoss(reduction='sum')\n"
    "optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3)",
).replace(
    """    model.zero_grad()
    loss.backward()
    with torch.no_grad():
        for param in model.parameters():
            param -= learning_rate * param.grad""",
    """    optimizer.zero_grad()
    loss.backward()
    optimizer.step()""",
)

POLYNOMIAL_MODULE = """
import torch
import math


class Polynomial3(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Parameter(torch.randn(()))
        self.b = torch.nn.Parameter(torch.randn(()))
        self.c = torch.nn.Parameter(torch.randn(()))
        self.d = torch.nn.Parameter(torch.randn(()))

    def forward(self, x):
        return self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3

    def string(self):
        return (f'y = {self.a.item()} + {self.b.item()} x + '
                f'{self.c.item()} x^2 + {self.d.item()} x^3')


x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)
model = Polynomial3()
model.load_state_dict({k: torch.tensor(v) for k, v in INIT.items()})
criterion = torch.nn.MSELoss(reduction='sum')
optimizer = torch.optim.SGD(model.parameters(), lr=1e-6)
losses = []
for t in range(200):
    y_pred = model(x)
    loss = criterion(y_pred, y)
    if t % 10 == 9:
        losses.append(loss.item())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
print(f'Result: {model.string()}')
RESULT["losses"] = losses
RESULT["params"] = [p.item() for p in model.parameters()]
"""

DYNAMIC_NET = """
import random
import torch
import math


class DynamicNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Parameter(torch.randn(()))
        self.b = torch.nn.Parameter(torch.randn(()))
        self.c = torch.nn.Parameter(torch.randn(()))
        self.d = torch.nn.Parameter(torch.randn(()))
        self.e = torch.nn.Parameter(torch.randn(()))

    def forward(self, x):
        y = self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3
        for exp in range(4, random.randint(4, 6)):
            y = y + self.e * x ** exp
        return y


x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)
model = DynamicNet()
model.load_state_dict({k: torch.tensor(v) for k, v in INIT.items()})
criterion = torch.nn.MSELoss(reduction='sum')
optimizer = torch.optim.SGD(model.parameters(), lr=1e-8, momentum=0.9)
random.seed(0)
losses = []
for t in range(300):
    y_pred = model(x)
    loss = criterion(y_pred, y)
    if t % 20 == 19:
        losses.append(loss.item())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
RESULT["losses"] = losses
RESULT["params"] = [p.item() for p in model.parameters()]
"""


POLY_INIT = {"0.weight": uniform((1, 3), 0.5, 0), "0.bias": uniform((1,), 0.5, 1)}
SCALARS = {k: np.float32(v) for k, v in zip("abcde", np.random.default_rng(2).normal(size=5))}


@pytest.mark.parametrize("name", ["nn", "optim"])
def test_tutorial_polynomial_sequential(name):
    source = POLYNOMIAL_NN if name == "nn" else POLYNOMIAL_OPTIM
    theirs, ours = run(source, needs=["linspace"], INIT=POLY_INIT)
    assert_same(theirs, ours, rtol=2e-4)
    assert ours["losses"][-1] < ours["losses"][0]


def test_tutorial_custom_module():
    init = {k: v for k, v in SCALARS.items() if k != "e"}
    theirs, ours = run(POLYNOMIAL_MODULE, needs=["linspace"], INIT=init)
    assert_same(theirs, ours, rtol=2e-4)


def test_tutorial_dynamic_graph():
    theirs, ours = run(DYNAMIC_NET, needs=["linspace"], INIT=SCALARS)
    assert_same(theirs, ours, rtol=2e-4)


MNIST_MLP = """
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, TensorDataset


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.fc1 = nn.Linear(64, 32)
        self.dropout = nn.Dropout(DROPOUT)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout(x)
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output


def train(model, device, train_loader, optimizer, epoch, log):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        log.append(loss.item())


def test(model, device, test_loader):
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction='sum').item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    test_loss /= len(test_loader.dataset)
    return test_loss, correct


use_cuda = torch.cuda.is_available()
device = torch.device("cuda" if use_cuda else "cpu")
train_set = TensorDataset(torch.tensor(DATA["X_train"]), torch.tensor(DATA["y_train"]))
test_set = TensorDataset(torch.tensor(DATA["X_test"]), torch.tensor(DATA["y_test"]))
train_loader = DataLoader(train_set, batch_size=16, shuffle=False)
test_loader = DataLoader(test_set, batch_size=100)

model = Net().to(device).double()
model.load_state_dict({k: torch.tensor(v) for k, v in INIT.items()})
optimizer = optim.Adadelta(model.parameters(), lr=1.0)
scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
log = []
for epoch in range(1, 4):
    train(model, device, train_loader, optimizer, epoch, log)
    RESULT[f"test_{epoch}"] = test(model, device, test_loader)
    scheduler.step()
RESULT["train_losses"] = log
RESULT["fc2.weight"] = model.fc2.weight.detach().numpy()
"""


CLASSIFIER = """
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset, Subset


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(64, 32), nn.BatchNorm1d(32), nn.SiLU(),
                                  nn.Linear(32, 32), nn.LayerNorm(32), nn.GELU())
        self.heads = nn.ModuleDict({"digit": nn.Linear(32, 10)})

    def forward(self, x):
        return self.heads["digit"](self.body(x))


data = TensorDataset(torch.tensor(DATA["X_train"]), torch.tensor(DATA["y_train"]))
train_set = Subset(data, list(range(0, 96)))
val_set = Subset(data, list(range(96, 128)))
loader = DataLoader(train_set, batch_size=32, sampler=ORDER, drop_last=True)
model = Classifier().double()
model.load_state_dict({k: torch.tensor(v) for k, v in INIT.items()})
loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-2, total_steps=3 * len(loader))
losses, lrs = [], []
for epoch in range(3):
    model.train()
    for xb, yb in loader:
        loss = loss_fn(model(xb), yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_value_(model.parameters(), 0.5)
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
        lrs.append(scheduler.get_last_lr()[0])
    model.eval()
    with torch.no_grad():
        xv, yv = next(iter(DataLoader(val_set, batch_size=len(val_set))))
        logits = model(xv)
        RESULT[f"val_loss_{epoch}"] = nn.functional.cross_entropy(logits, yv).item()
        RESULT[f"val_acc_{epoch}"] = (logits.argmax(1) == yv).float().mean().item()
RESULT["losses"] = losses
RESULT["lrs"] = lrs
RESULT["running_var"] = model.body[1].running_var.numpy()
RESULT["state_keys"] = [k.count(".") for k in model.state_dict()]
"""


def digits_data(dtype=np.float32):
    from sklearn.datasets import load_digits

    d = load_digits()
    X = (d.data / 16.0).astype(dtype)
    y = d.target.astype(np.int64)
    return {"X_train": X[:320], "y_train": y[:320], "X_test": X[320:520], "y_test": y[320:520]}


def mlp_init():
    return {
        "fc1.weight": uniform((32, 64), 0.125, 3),
        "fc1.bias": uniform((32,), 0.125, 4),
        "fc2.weight": uniform((10, 32), 0.18, 5),
        "fc2.bias": uniform((10,), 0.18, 6),
    }


def test_examples_mnist_mlp_with_dataloader_steplr_and_clipping():
    theirs, ours = run(
        MNIST_MLP,
        needs=["device", "cuda", "view_as", "eq"],
        INIT=mlp_init(),
        DATA=digits_data(np.float64),
        DROPOUT=0.0,  # the example's dropout draws from each library's own random stream
    )
    assert_same(theirs, ours, rtol=1e-8)
    assert ours["test_3"][1] > 100  # of 200 held-out digits (chance: 20)


def test_a_classifier_with_the_newer_api():
    import torch

    bp_model = port(CLASSIFIER.split("data = TensorDataset")[0])
    scope = {"RESULT": {}}
    exec(compile(bp_model, "<program>", "exec"), scope)
    backprop.manual_seed(0)
    init = {k: np.array(v) for k, v in scope["Classifier"]().state_dict().items()}
    order = np.random.default_rng(7).permutation(96).tolist()
    theirs, ours = run(CLASSIFIER, INIT=init, DATA=digits_data(np.float64), ORDER=order)
    assert_same(theirs, ours, rtol=1e-8)
    assert ours["val_acc_2"] > 0.3  # of 32 held-out digits (chance: 0.1)
    del torch
