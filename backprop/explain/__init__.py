"""backprop shows its work: chain-rule paths, backward steps, graph pictures, worked examples.

* ``explain(output, wrt)``: a gradient as a sum over chain-rule paths of local partials.
* ``trace(output)``: the backward pass as ordered steps (table or JSON).
* ``draw(output, path)`` and ``to_dot(output)``: the computational graph as a picture.
* ``explore(output, path)``: the graph as one interactive HTML page (step through backward).
* ``summary(output)``: the graph's counts (001's classwork questions).
* ``check(claims, ...)``: check hand-worked backprop against the engine.
* ``textbook``: lecture 003's layer-wise delta recursion in plain NumPy (the reference).
* ``examples``: every worked example of the lectures.
"""

from . import textbook
from .checker import Report, check
from .counts import Summary, summary
from .explore import Explorer, explore
from .paths import Edge, Explanation, Path, explain
from .picture import draw, to_dot
from .steps import Trace, trace

__all__ = [
    "Edge",
    "Report",
    "check",
    "Explanation",
    "Explorer",
    "Path",
    "Summary",
    "Trace",
    "draw",
    "explain",
    "explore",
    "summary",
    "textbook",
    "to_dot",
    "trace",
]
