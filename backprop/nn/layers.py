"""Layers: Linear, Identity, Dropout, Flatten and the Sequential container.

>>> import backprop as bp
>>> _ = bp.manual_seed(0)
>>> net = bp.nn.Sequential(bp.nn.Linear(4, 8), bp.nn.Tanh(), bp.nn.Linear(8, 1))
>>> net(bp.randn(5, 4)).shape
(5, 1)
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from .. import ops
from ..tensor import Tensor, get_default_dtype
from . import functional as F
from . import init
from .module import Module, Parameter


class Linear(Module):
    """``y = x W^T + b``: 003's ``s = W o`` for a batch of row vectors.

    ``weight`` has shape (out_features, in_features) as in PyTorch, and both it and ``bias``
    start as U(-1/sqrt(in_features), 1/sqrt(in_features)), PyTorch's default.

    >>> import backprop as bp
    >>> Linear(3, 2).weight.shape
    (2, 3)
    """

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, device=None, dtype=None
    ):
        super().__init__()
        self.in_features, self.out_features = int(in_features), int(out_features)
        dt = dtype or get_default_dtype()
        self.weight = Parameter(np.zeros((self.out_features, self.in_features), dt))
        if bias:
            self.bias = Parameter(np.zeros(self.out_features, dt))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()
        if device is not None:
            self.to(device)

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class Identity(Module):
    """Returns its input (a placeholder, e.g. for "no activation")."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class Dropout(Module):
    """Zero each element with probability ``p`` while training; pass through in ``eval()``."""

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be between 0 and 1, got {p}")
        self.p, self.inplace = p, inplace  # inplace: accepted; the output is a new tensor

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Flatten(Module):
    """Flatten dims ``start_dim`` to ``end_dim`` into one (images to vectors)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input: Tensor) -> Tensor:
        return ops.flatten(input, self.start_dim, self.end_dim)


class Sequential(Module):
    """Modules applied one after another; they are named ``"0"``, ``"1"``, ... as in PyTorch.

    >>> import backprop as bp
    >>> net = bp.nn.Sequential(bp.nn.Linear(2, 3), bp.nn.ReLU())
    >>> len(net), type(net[0]).__name__
    (2, 'Linear')
    """

    def __init__(self, *modules: Module):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], dict):
            for name, m in modules[0].items():
                self.add_module(str(name), m)
        else:
            for i, m in enumerate(modules):
                self.add_module(str(i), m)
        self._refresh()

    def _refresh(self) -> None:
        object.__setattr__(self, "_layers", tuple(self._modules.values()))

    def add_module(self, name: str, module: Module | None) -> None:
        super().add_module(name, module)
        if "_layers" in self.__dict__:
            self._refresh()

    def append(self, module: Module) -> Sequential:
        self.add_module(str(len(self._modules)), module)
        return self

    def forward(self, input):
        for layer in self._layers:
            input = layer(input)
        return input

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return Sequential(*list(self._modules.values())[idx])
        return list(self._modules.values())[idx]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())


class Embedding(Module):
    """A lookup table: integer indices of any shape to rows of ``weight``
    (num_embeddings, embedding_dim), which starts as N(0, 1) as in PyTorch. The row
    ``padding_idx`` starts at zero and gets no gradient.

    >>> import backprop as bp
    >>> emb = bp.nn.Embedding(10, 3, padding_idx=0)
    >>> emb(bp.tensor([[0, 2], [4, 0]])).shape, emb.weight[0].tolist()
    ((2, 2, 3), [0.0, 0.0, 0.0])
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
        _weight: Tensor | None = None,
        _freeze: bool = False,
        device=None,
        dtype=None,
    ):
        super().__init__()
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        if padding_idx is not None:
            if not -self.num_embeddings <= padding_idx < self.num_embeddings:
                raise ValueError(
                    f"Embedding: padding_idx {padding_idx} must be within num_embeddings"
                )
            padding_idx %= self.num_embeddings
        self.padding_idx, self.max_norm, self.norm_type = padding_idx, max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if _weight is None:
            dt = dtype or get_default_dtype()
            self.weight = Parameter(np.zeros((self.num_embeddings, self.embedding_dim), dt))
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (self.num_embeddings, self.embedding_dim):
                raise ValueError("Embedding: _weight's shape does not match the table's")
            self.weight = Parameter(_weight, requires_grad=not _freeze)
        if device is not None:  # PyTorch's device= (validated; placed there)
            self.to(device)

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight._data[self.padding_idx] = 0

    @classmethod
    def from_pretrained(
        cls,
        embeddings: Tensor,
        freeze: bool = True,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
    ) -> Embedding:
        """An Embedding holding ``embeddings`` (2-D); frozen unless ``freeze=False``."""
        if embeddings.ndim != 2:
            raise ValueError("Embedding.from_pretrained: embeddings must be 2-D")
        rows, dim = embeddings.shape
        return cls(
            rows,
            dim,
            padding_idx,
            max_norm,
            norm_type,
            scale_grad_by_freq,
            sparse,
            _weight=Tensor(np.array(embeddings._data)),
            _freeze=freeze,
        )

    def forward(self, input) -> Tensor:
        return F.embedding(
            input,
            self.weight,
            self.padding_idx,
            self.max_norm,
            self.norm_type,
            self.scale_grad_by_freq,
            self.sparse,
        )

    def extra_repr(self) -> str:
        pad = f", padding_idx={self.padding_idx}" if self.padding_idx is not None else ""
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"


class Unflatten(Module):
    """Expand dim ``dim`` into ``unflattened_size`` (the inverse of Flatten)."""

    def __init__(self, dim: int, unflattened_size):
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, input: Tensor) -> Tensor:
        d = self.dim % input.ndim
        shape = input.shape[:d] + self.unflattened_size + input.shape[d + 1 :]
        return ops.reshape(input, shape)
