"""The library's random-number generator: one seed makes a whole run reproducible.

>>> import backprop as bp
>>> _ = bp.manual_seed(0)
>>> a = bp.randn(3)
>>> _ = bp.manual_seed(0)
>>> bool((bp.randn(3).numpy() == a.numpy()).all())
True
"""

from __future__ import annotations

import numpy as np

_generator = np.random.default_rng(0)
_seed: int | None = 0


def manual_seed(seed: int) -> np.random.Generator:
    """Seed backprop's global generator (weight init, dropout, data shuffling by default)."""
    global _generator, _seed
    _seed = int(seed)
    _generator = np.random.default_rng(_seed)
    return _generator


def default_generator() -> np.random.Generator:
    """The global generator that ``manual_seed`` resets."""
    return _generator


_batch_shard: tuple[int, int, int] | None = None  # (global batch, lo, hi) in data parallel


def batch_random(shape: tuple) -> np.ndarray:
    """Uniform numbers in [0, 1) of ``shape`` for a batch (dropout's masks), from the global
    generator. Under data-parallel training, where this process holds rows ``[lo, hi)`` of a
    global batch, the numbers of the whole batch are drawn and those rows returned, so every
    process draws what one process would (``bp.distributed``)."""
    shard = _batch_shard
    if shard is not None and len(shape) and shape[0] == shard[2] - shard[1]:
        return _generator.random((shard[0], *shape[1:]))[shard[1] : shard[2]]
    return _generator.random(shape)


def initial_seed() -> int | None:
    """The seed last given to ``manual_seed``."""
    return _seed


class Generator:
    """PyTorch's ``torch.Generator``: a seedable source of random numbers, passed as
    ``generator=`` to ``DataLoader``, ``random_split``, samplers and ``bp.nn.init``.

    It draws with NumPy's PCG64 (not PyTorch's Mersenne Twister), so the same seed gives a
    reproducible sequence, not PyTorch's sequence. NumPy's sampling methods (``random``,
    ``normal``, ``permutation``...) are available on it directly.

    >>> import backprop as bp
    >>> g = bp.Generator().manual_seed(42)
    >>> a = g.permutation(5).tolist()
    >>> a == bp.Generator().manual_seed(42).permutation(5).tolist()
    True
    """

    _DEFAULT_SEED = 67280421310721  # PyTorch's default seed for a fresh Generator

    def __init__(self, device: str = "cpu"):
        self.device = device
        self.manual_seed(self._DEFAULT_SEED)

    def manual_seed(self, seed: int) -> Generator:
        self._seed = int(seed)
        self._rng = np.random.default_rng(self._seed)
        return self

    def seed(self) -> int:
        """Re-seed from fresh entropy; returns the new seed."""
        s = int(np.random.SeedSequence().entropy % (2**63))
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> dict:
        return self._rng.bit_generator.state

    def set_state(self, state: dict) -> Generator:
        self._rng.bit_generator.state = state
        return self

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._rng, name)


def numpy_generator(generator) -> np.random.Generator:
    """The NumPy generator behind ``generator=``: a ``bp.Generator``, a NumPy Generator, or
    None for the global one (``bp.manual_seed``)."""
    if generator is None:
        return _generator
    if isinstance(generator, Generator):
        return generator._rng
    if isinstance(generator, np.random.Generator):
        return generator
    raise TypeError(
        f"generator must be a bp.Generator or a numpy.random.Generator, got "
        f"{type(generator).__name__}"
    )
