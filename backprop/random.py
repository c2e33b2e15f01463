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


def initial_seed() -> int | None:
    """The seed last given to ``manual_seed``."""
    return _seed
