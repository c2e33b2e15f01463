"""DistributedDataParallel: one model per process, gradients summed across processes.

Each process (rank) holds a full copy of the model and computes the gradient of its own share
of every batch; DDP makes every copy end each backward pass with the same gradient, the mean
of the ranks' gradients, so identical optimizer steps keep the copies identical. As PyTorch's
DDP does it:

* at construction the parameters (and buffers) are broadcast from rank 0, so every copy
  starts the same whatever each process drew;
* the parameters are packed, in the reverse order of the model's layers (the order backward
  finishes them), into a few flat buckets (``bucket_cap_mb``; the first one small, 1 MB, so
  communication starts early), never splitting a layer's parameters;
* a post-accumulate-grad hook on each parameter copies its gradient into its bucket; when a
  bucket is full its all-reduce starts at once (``MPI_Iallreduce``, non-blocking) while
  backward goes on with the layers below, and buckets are started in the same order on every
  rank;
* when the backward pass ends (a callback queued on the engine) the remaining buckets are
  started, all are awaited, divided by the world size and copied back into ``.grad``.

``no_sync()`` skips the all-reduce (gradients accumulate locally, e.g. over micro-batches);
the first backward after it sums the accumulated gradients.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from .. import autograd
from .. import distributed as dist
from .module import Module

__all__ = ["DistributedDataParallel"]

_MB = 1024 * 1024


class _Bucket:
    __slots__ = ("params", "offsets", "flat", "pending", "request", "filled")

    def __init__(self, params: list, dtype) -> None:
        self.params = params
        sizes = [p._data.size for p in params]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int).tolist()
        self.flat = np.zeros(self.offsets[-1], dtype=dtype)
        self.pending = len(params)
        self.request = None
        self.filled = [False] * len(params)


def _layer_units(module: Module) -> list[list]:
    """Each module's own parameters that require grad, one list per module, last layer first
    (a layer's gradients become ready together, and in the reverse order of the layers)."""
    units, seen = [], set()
    for _, m in module.named_modules():
        own = [
            p
            for p in m._parameters.values()
            if p is not None and p.requires_grad and id(p) not in seen
        ]
        seen.update(id(p) for p in own)
        if own:
            units.append(own)
    return units[::-1]


def _make_buckets(units: list[list], cap_bytes: float, first_cap_bytes: float) -> list[_Bucket]:
    buckets, current, size = [], [], 0
    for unit in units:
        nbytes = sum(p._data.nbytes for p in unit)
        cap = first_cap_bytes if not buckets else cap_bytes
        dtype_change = current and any(p._data.dtype != current[0]._data.dtype for p in unit)
        if current and (size + nbytes > cap or dtype_change):
            buckets.append(_Bucket(current, current[0]._data.dtype))
            current, size = [], 0
        current = current + unit
        size += nbytes
    if current:
        buckets.append(_Bucket(current, current[0]._data.dtype))
    return buckets


class _Reducer:
    """The buckets and the state of one backward pass's all-reduce."""

    def __init__(self, module: Module, bucket_cap_mb: float) -> None:
        g = dist.group._get()
        self.comm, self.MPI, self.size = g.comm, g.MPI, g.size
        self.buckets = _make_buckets(
            _layer_units(module), bucket_cap_mb * _MB, min(1.0, bucket_cap_mb) * _MB
        )
        self.where = {
            id(p): (b, i) for b in self.buckets for i, p in enumerate(b.params)
        }  # id(param) -> (its bucket, its index there)
        self.armed = False  # a synchronised backward is expected
        self.started = False  # this backward's first hook has run
        self.next = 0  # the next bucket to start (buckets start in order on every rank)
        self.handles = [
            p.register_post_accumulate_grad_hook(self._hook) for b in self.buckets for p in b.params
        ]

    def prepare(self) -> None:
        for b in self.buckets:
            b.pending, b.request = len(b.params), None
            b.filled = [False] * len(b.params)
        self.armed, self.started, self.next = True, False, 0

    def _hook(self, p) -> None:
        if not self.armed:
            return
        if not self.started:
            self.started = True
            autograd.queue_callback(self.finish)
        b, i = self.where[id(p)]
        if b.filled[i]:
            return
        b.flat[b.offsets[i] : b.offsets[i + 1]] = p._grad.reshape(-1)
        b.filled[i] = True
        b.pending -= 1
        while self.next < len(self.buckets) and self.buckets[self.next].pending == 0:
            self._start(self.buckets[self.next])
        for other in self.buckets[: self.next]:  # let MPI move the messages along
            if other.request is not None and other.request.Test():
                other.request = None  # done

    def _start(self, b: _Bucket) -> None:
        for i in range(len(b.params)):  # a parameter no gradient reached adds zeros
            if not b.filled[i]:
                b.flat[b.offsets[i] : b.offsets[i + 1]] = 0
        b.request = self.comm.Iallreduce(self.MPI.IN_PLACE, b.flat, op=self.MPI.SUM)
        self.next += 1

    def finish(self) -> None:
        """Start what has not started, wait for everything, average, write ``.grad``."""
        if not self.armed:
            return
        while self.next < len(self.buckets):
            self._start(self.buckets[self.next])
        pending = [b.request for b in self.buckets if b.request is not None]
        if pending:
            self.MPI.Request.Waitall(pending)
        scale = 1.0 / self.size
        for b in self.buckets:
            b.flat *= scale
            for i, p in enumerate(b.params):
                view = b.flat[b.offsets[i] : b.offsets[i + 1]].reshape(p._data.shape)
                if p._grad is not None:
                    np.copyto(p._grad, view)
                elif b.filled[i] or view.any():  # another rank's gradient reached it
                    p._grad = view.copy()
            b.request = None
        self.armed = False

    def remove(self) -> None:
        for h in self.handles:
            h.remove()


class DistributedDataParallel(Module):
    """Data-parallel wrapper of ``module`` (PyTorch's ``torch.nn.parallel.
    DistributedDataParallel``): call it as the module; after ``loss.backward()`` every rank
    holds the mean over ranks of the gradients. Needs ``bp.distributed.init_process_group()``
    first. ``.module`` is the wrapped model (save ``ddp.module.state_dict()``: the wrapper's
    own keys start with ``module.``, as in PyTorch).

    ``device_ids``, ``output_device``, ``dim``, ``find_unused_parameters``,
    ``gradient_as_bucket_view`` and ``static_graph`` are accepted for PyTorch's signature;
    parameters that receive no gradient in a pass are all-reduced as zeros in any case.
    """

    def __init__(
        self,
        module: Module,
        device_ids=None,
        output_device=None,
        dim: int = 0,
        broadcast_buffers: bool = True,
        process_group=None,
        bucket_cap_mb: float = 25.0,
        find_unused_parameters: bool = False,
        gradient_as_bucket_view: bool = False,
        static_graph: bool = False,
    ) -> None:
        super().__init__()
        if not dist.is_initialized():
            raise RuntimeError(
                "DistributedDataParallel: call bp.distributed.init_process_group() first "
                "(and start the processes with mpiexec -n N)"
            )
        if bucket_cap_mb <= 0:
            raise ValueError(f"bucket_cap_mb must be positive, got {bucket_cap_mb}")
        self.module = module
        self.broadcast_buffers = broadcast_buffers
        self.require_backward_grad_sync = True
        _broadcast_state(module, buffers=True)
        self.reducer = _Reducer(module, bucket_cap_mb)

    def forward(self, *args, **kwargs):
        if self.broadcast_buffers and any(True for _ in self.module.named_buffers()):
            _broadcast_state(self.module, params=False, buffers=True)
        if autograd.mode.grad_enabled and self.require_backward_grad_sync:
            self.reducer.prepare()
        else:
            self.reducer.armed = False
        return self.module(*args, **kwargs)

    @contextmanager
    def no_sync(self):
        """Inside, backward passes accumulate gradients locally without communicating; the
        next synchronised backward all-reduces the sum."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    def sync_gradients(self) -> None:
        """Take part in a step's all-reduce without a backward pass of one's own (a rank
        whose share of a batch is empty): contributes zeros, receives the others' mean."""
        self.reducer.prepare()
        self.reducer.finish()

    def extra_repr(self) -> str:
        sizes = ", ".join(f"{b.flat.nbytes / _MB:.2f}" for b in self.reducer.buckets)
        return f"world_size={self.reducer.size}, buckets_mb=[{sizes}]"


def _broadcast_state(module: Module, params: bool = True, buffers: bool = True) -> None:
    """Copy rank 0's parameters and/or buffers to every rank: one broadcast per dtype."""
    tensors = []
    for _, m in module.named_modules():
        if params:
            tensors += [p for p in m._parameters.values() if p is not None]
        if buffers:
            tensors += [b for b in m._buffers.values() if b is not None]
    by_dtype: dict = {}
    for t in tensors:
        by_dtype.setdefault(t._data.dtype, []).append(t)
    for dtype, ts in sorted(by_dtype.items(), key=lambda kv: kv[0].str):
        flat = np.concatenate([t._data.reshape(-1) for t in ts]).astype(dtype, copy=False)
        dist.broadcast(flat, src=0)
        off = 0
        for t in ts:
            n = t._data.size
            t._data[...] = flat[off : off + n].reshape(t._data.shape)
            off += n
