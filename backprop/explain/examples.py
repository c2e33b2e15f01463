"""The lectures' worked examples (kept under this name; they live in ``explain/lectures/``).

>>> sorted(n for n, _, _ in names())[:2]
['chain-001', 'kinks-003']
"""

from .lectures import LECTURES, REGISTRY, names, run, to_jsonable

__all__ = ["LECTURES", "REGISTRY", "names", "run", "to_jsonable"]
