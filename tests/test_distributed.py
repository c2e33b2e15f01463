"""Data-parallel training on MPI (bp.distributed): N ranks give one process's result.

The multi-rank tests start ``mpiexec -n 2`` (MPICH, from ``pip install backprop[mpi]``) in a
subprocess; the reference is the same program run as one plain process.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import backprop as bp
from backprop import distributed as dist
from backprop.checkpoint import load_checkpoint
from backprop.distributed.training import shard_bounds

ROOT = Path(__file__).resolve().parent.parent
MPIEXEC = shutil.which(
    "mpiexec", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
)
needs_mpi = pytest.mark.skipif(
    not (dist.is_available() and MPIEXEC), reason="needs mpi4py and mpiexec (backprop[mpi])"
)
ENV = {
    k: v
    for k, v in os.environ.items()
    if not k.startswith(("PMI_", "OMPI_", "MPI_", "PMIX_", "MV2_", "HYDRA_"))
}
ENV.update(PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")


def _run(args, ranks=None, cwd=None, timeout=120, env=ENV):
    """Run ``python args`` (under ``mpiexec -n ranks``); a hang fails at ``timeout``."""
    cmd = [sys.executable, *args]
    if ranks:
        cmd = [MPIEXEC, "-n", str(ranks), *cmd]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


FIT = """
import sys, numpy as np, backprop as bp
import backprop.distributed as dist
dist.init_from_launcher()
bp.manual_seed(0)
rng = np.random.default_rng(1)
X = rng.normal(size=(97, 10)).astype(np.float32)
y = (X[:, :3].sum(1) > 0).astype(np.int64)
model = bp.nn.Sequential(bp.nn.Linear(10, 32), bp.nn.ReLU(), bp.nn.Dropout(0.2),
                         bp.nn.Linear(32, 2))
opt = bp.optim.Adam(model.parameters(), lr=0.01)
h = bp.train.fit(model, bp.nn.CrossEntropyLoss(), opt, (X[:81], y[:81]),
                 val_data=(X[81:], y[81:]), epochs=20, batch_size=int(sys.argv[2]), progress=False)
out = dict(model.state_dict(), loss=h.train_loss, val=h.val_loss, acc=h.train_accuracy,
           vacc=h.val_accuracy, norms=list(h.grad_norms.values()))
np.savez(sys.argv[1] + str(dist.get_rank()), **out)
"""


@needs_mpi
def test_fit_on_two_ranks_ends_with_one_process_parameters_and_history(tmp_path):
    # batch 5 on 81 samples: shares of 3 and 2 rows, a last batch of 1 (rank 1's share empty);
    # dropout's masks and the shuffles must be one process's for the parameters to agree;
    # 20 epochs (340 steps): float32 rounding stays within 1e-5 here (docs/distributed.md)
    script = tmp_path / "fit.py"
    script.write_text(FIT)
    one, two = _run([script, tmp_path / "one", "5"]), _run([script, tmp_path / "two", "5"], 2)
    assert one.returncode == 0 and two.returncode == 0, one.stderr + two.stderr
    a, b0, b1 = (np.load(tmp_path / f) for f in ("one0.npz", "two0.npz", "two1.npz"))
    for k in a.files:
        np.testing.assert_allclose(b0[k], a[k], rtol=1e-5, atol=1e-6, err_msg=k)
        np.testing.assert_array_equal(b1[k], b0[k], err_msg=k)  # the ranks agree exactly
    assert a["loss"][-1] < a["loss"][0]


WRAP = """
import os, sys
if os.environ.get("PMI_RANK", "0") != "0":
    os.chdir(sys.argv[1])  # rank 1 works elsewhere: whatever it writes lands there
from backprop.cli import main
sys.exit(main(sys.argv[2:]))
"""


@needs_mpi
def test_backprop_train_under_mpiexec_resumes_and_only_rank_0_writes(tmp_path):
    flags = ["train", "--dataset", "iris", "--hidden", "16", "--dropout", "0.1", "--no-plots"]
    flags += ["--batch-size", "9", "--no-progress"]
    one = _run(["-m", "backprop", *flags, "--epochs", "4", "--out", "one"], cwd=tmp_path)
    assert one.returncode == 0, one.stderr
    wrap, elsewhere = tmp_path / "wrap.py", tmp_path / "rank1"
    wrap.write_text(WRAP)
    elsewhere.mkdir()
    two = _run([wrap, elsewhere, *flags, "--epochs", "2", "--out", "two"], 2, cwd=tmp_path)
    assert two.returncode == 0, two.stderr
    assert two.stdout.count("run directory: two") == 1  # rank 0 reports
    assert list(elsewhere.iterdir()) == []  # rank 1 wrote nothing
    resumed = _run(
        [wrap, elsewhere, "train", "--resume", str(tmp_path / "two"), "--epochs", "4"],
        2,
        cwd=tmp_path,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert list(elsewhere.iterdir()) == []
    s1, _, m1 = load_checkpoint(tmp_path / "one" / "checkpoint")
    s2, _, m2 = load_checkpoint(tmp_path / "two" / "checkpoint")
    assert m2["epoch"] == 4
    for k in s1:
        np.testing.assert_allclose(s2[k], s1[k], rtol=1e-5, atol=1e-6, err_msg=k)
    for k in ("train_loss", "val_loss", "train_accuracy", "val_accuracy"):
        np.testing.assert_allclose(m2["history"][k], m1["history"][k], rtol=1e-5, err_msg=k)
    j1, j2 = (json.loads((tmp_path / d / "metrics.json").read_text()) for d in ("one", "two"))
    for k in ("train_loss", "val_loss", "test_loss", "test_accuracy", "model_epoch"):
        assert j2[k] == pytest.approx(j1[k], rel=1e-5), k


FAIL = """
import os, sys, numpy as np, backprop as bp
import backprop.distributed as dist
dist.init_process_group()
model = bp.nn.Sequential(bp.nn.Linear(4, 8), bp.nn.ReLU(), bp.nn.Linear(8, 2))
calls = []
def loss_fn(out, y):
    calls.append(1)
    if dist.get_rank() == 1 and len(calls) == 3:
        if sys.argv[1] == "raise":
            raise RuntimeError("rank 1 fails on purpose")
        os.kill(os.getpid(), 9)
    return bp.nn.functional.cross_entropy(out, y)
X = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
bp.train.fit(model, loss_fn, bp.optim.SGD(model.parameters(), lr=0.1),
             (X, (X[:, 0] > 0).astype(np.int64)), epochs=100000, batch_size=8, progress=False)
"""


@needs_mpi
@pytest.mark.parametrize("how", ["raise", "kill"])
def test_a_failing_rank_ends_every_rank(tmp_path, how):
    # rank 0 would train for a long while, waiting on rank 1 in the all-reduce: the job must
    # end anyway (the timeout only turns a hang into a failure)
    script = tmp_path / "fail.py"
    script.write_text(FAIL)
    r = _run([script, how], 2, timeout=60)
    assert r.returncode != 0
    if how == "raise":
        assert "rank 1 fails on purpose" in r.stderr
        assert "rank 1 of 2 failed" in r.stderr


@needs_mpi
def test_the_docs_example_trains_the_same_on_two_ranks_as_on_one(tmp_path):
    text = (ROOT / "docs" / "distributed.md").read_text()
    example = text.split("```py\n", 1)[1].split("```", 1)[0]
    script = tmp_path / "example.py"
    script.write_text(example)
    one, two = _run([script], cwd=tmp_path), _run([script], 2, cwd=tmp_path)
    assert one.returncode == 0 and two.returncode == 0, one.stderr + two.stderr
    # rank 0 alone prints; DistributedSampler pads 1257 samples to 1258 (PyTorch's rule), so
    # two ranks see one repeated sample per epoch: close to one process, not equal
    lines = [r.stdout.strip().splitlines() for r in (one, two)]
    assert len(lines[0]) == len(lines[1]) == 3 and lines[1][-1].startswith("epoch 3")
    val = [[float(line.split()[4].rstrip(",")) for line in ls] for ls in lines]
    np.testing.assert_allclose(val[1], val[0], rtol=0.02)
    assert val[0][-1] < 0.5 * val[0][0] or val[0][-1] < 0.2


API = """
import numpy as np, backprop as bp
import backprop.distributed as dist
dist.init_process_group(backend="mpi", world_size=2)
r = dist.get_rank()
t = bp.tensor([1.0 + r, 10.0 * r])
dist.all_reduce(t)
assert t.tolist() == [3.0, 10.0], t
for op, want in [(dist.ReduceOp.AVG, [1.5, 5.0]), (dist.ReduceOp.MAX, [2.0, 10.0]),
                 (dist.ReduceOp.MIN, [1.0, 0.0])]:
    t = bp.tensor([1.0 + r, 10.0 * r])
    dist.all_reduce(t, op=op)
    assert t.tolist() == want, (op, t)
w = dist.all_reduce(t := bp.tensor([float(r)]), async_op=True)
w.wait()
assert t.item() == 1.0
b = bp.tensor([float(r + 5)])
dist.broadcast(b, src=1)
assert b.item() == 6.0
parts = [bp.zeros(2), bp.zeros(2)]
dist.all_gather(parts, bp.tensor([r, r + 0.5]))
assert [p.tolist() for p in parts] == [[0.0, 0.5], [1.0, 1.5]]
dist.barrier()

# DDP: rank 0's weights everywhere; the gradient is the mean of the ranks' gradients
bp.manual_seed(r)  # different draws on each rank: the broadcast must fix them
net = bp.nn.Sequential(bp.nn.Linear(3, 4), bp.nn.Tanh(), bp.nn.Linear(4, 2))
ddp = bp.nn.parallel.DistributedDataParallel(net, bucket_cap_mb=0.00005)
assert len(ddp.reducer.buckets) == 2, ddp
w0 = [p.numpy().copy() for p in net.parameters()]
both = [w.copy() for w in w0]
for w in both:
    dist.broadcast(w, src=0)
assert all(np.array_equal(a, b) for a, b in zip(w0, both))
X = np.arange(24, dtype=np.float32).reshape(4, 2, 3) / 10
def grads(x):
    net.zero_grad()
    (net(bp.tensor(x)) ** 2).sum().backward()
    return [p.grad.numpy().copy() for p in net.parameters()]
local = [grads(X[k]) for k in range(4)]  # every rank computes all four, without DDP
ddp.zero_grad()
(ddp(bp.tensor(X[r])) ** 2).sum().backward()
for p, g0, g1 in zip(net.parameters(), local[0], local[1]):
    np.testing.assert_allclose(p.grad.numpy(), (g0 + g1) / 2, rtol=1e-6)
ddp.zero_grad()
with ddp.no_sync():  # accumulate locally, then one all-reduce of the sum
    (ddp(bp.tensor(X[r])) ** 2).sum().backward()
mine = [p.grad.numpy().copy() for p in net.parameters()]
assert all(np.array_equal(m, l) for m, l in zip(mine, local[r]))
(ddp(bp.tensor(X[2 + r])) ** 2).sum().backward()
for p, a, b, c, d in zip(net.parameters(), *local):
    np.testing.assert_allclose(p.grad.numpy(), (a + b + c + d) / 2, rtol=1e-5)
assert sorted(ddp.state_dict())[0].startswith("module.")
dist.destroy_process_group()
print("ok", r)
"""


@needs_mpi
def test_collectives_and_ddp_on_two_ranks(tmp_path):
    script = tmp_path / "api.py"
    script.write_text(API)
    r = _run([script], 2)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("ok") == 2


# ---------------------------------------------------------------------------- one process


def test_distributed_sampler_splits_like_torch():
    from torch.utils.data.distributed import DistributedSampler as TorchSampler

    for n, reps, drop in [(10, 3, False), (10, 3, True), (7, 2, False), (8, 4, True)]:
        for r in range(reps):
            ours = dist.DistributedSampler(range(n), reps, r, shuffle=False, drop_last=drop)
            theirs = TorchSampler(range(n), reps, r, shuffle=False, drop_last=drop)
            assert list(ours) == list(theirs) and len(ours) == len(theirs)
    parts = [dist.DistributedSampler(range(12), 3, r, seed=5) for r in range(3)]
    for s in parts:
        s.set_epoch(1)
    assert sorted(i for s in parts for i in s) == list(range(12))  # a partition
    again = dist.DistributedSampler(range(12), 3, 0, seed=5)
    assert list(again) != list(parts[0])  # another epoch, another order
    again.set_epoch(1)
    assert list(again) == list(parts[0])
    with pytest.raises(ValueError, match="Invalid rank 3"):
        dist.DistributedSampler(range(4), num_replicas=3, rank=3)


def test_dataloader_takes_a_sampler():
    ds = bp.data.TensorDataset(np.arange(10.0), np.arange(10))
    sampler = dist.DistributedSampler(ds, num_replicas=2, rank=1, shuffle=False)
    loader = bp.data.DataLoader(ds, batch_size=2, sampler=sampler)
    assert len(loader) == 3
    assert [y.tolist() for _, y in loader] == [[1, 3], [5, 7], [9]]
    with pytest.raises(ValueError, match="mutually exclusive"):
        bp.data.DataLoader(ds, sampler=sampler, shuffle=True)


def test_shares_cover_each_batch_once():
    for n in range(0, 12):
        for size in (1, 2, 3, 5):
            bounds = [shard_bounds(n, r, size) for r in range(size)]
            assert bounds[0][0] == 0 and bounds[-1][1] == n
            assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
            assert max(h - lo for lo, h in bounds) - min(h - lo for lo, h in bounds) <= 1


def test_dropout_draws_the_global_batch_and_keeps_its_share(monkeypatch):
    bp.manual_seed(3)
    whole = bp.random.batch_random((7, 4))
    bp.manual_seed(3)
    monkeypatch.setattr(bp.random, "_batch_shard", (7, 4, 7))
    np.testing.assert_array_equal(bp.random.batch_random((3, 4)), whole[4:])


def test_world_size_comes_from_the_launcher_without_importing_mpi(monkeypatch):
    for var in dist.group.SIZE_VARIABLES:
        monkeypatch.delenv(var, raising=False)
    assert dist.launched_world_size() == 1
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "4")
    assert dist.launched_world_size() == 4
    code = "import sys, backprop.cli, backprop.runs; print('mpi4py' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True)
    assert r.stdout.strip() == "False"


def test_without_a_group():
    assert (dist.get_rank(), dist.get_world_size(), dist.is_initialized()) == (0, 1, False)
    with pytest.raises(RuntimeError, match="has not been initialized"):
        dist.all_reduce(bp.ones(2))
    with pytest.raises(RuntimeError, match="init_process_group"):
        bp.nn.parallel.DistributedDataParallel(bp.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="backend 'nccl'"):
        dist.init_process_group("nccl")


THREADS = """
import os, sys, backprop as bp
import backprop.distributed as dist
from threadpoolctl import threadpool_info
if sys.argv[1] == "call":
    bp.set_num_threads(2)
dist.init_process_group()
pools = [p for p in threadpool_info() if p["internal_api"] == "openblas"]
threads = sorted({p["num_threads"] for p in pools})
sys.stdout.write(f"rank {dist.get_rank()} threads {threads}\\n")  # one write: no interleaving
"""


@needs_mpi
@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="counts the cores (Linux)")
@pytest.mark.parametrize("how", ["default", "env", "call"])
def test_ranks_share_the_node_s_cores_unless_the_user_chose_the_threads(tmp_path, how):
    # 2 ranks on 2 cores: one BLAS thread each (two OpenBLAS pools of 2 spinning threads on
    # 2 cores train 14x slower), cores // 2 on more; OPENBLAS_NUM_THREADS or
    # bp.set_num_threads (2 here) is respected
    script = tmp_path / "threads.py"
    script.write_text(THREADS)
    env = {k: v for k, v in ENV.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    if how == "env":
        env["OPENBLAS_NUM_THREADS"] = "2"
    cmd = [MPIEXEC, "-n", "2", sys.executable, script, how]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    cores = len(os.sched_getaffinity(0))  # mpiexec binds no rank: each may use them all
    n = max(1, cores // 2) if how == "default" else 2
    assert sorted(r.stdout.splitlines()) == [f"rank {k} threads [{n}]" for k in (0, 1)]
    said = f"2 ranks on {cores} cores of this node: {n} BLAS thread{'s' * (n > 1)} per rank"
    assert r.stderr.count(said) == (how == "default"), r.stderr  # once, from rank 0


@needs_mpi
def test_r2_of_two_ranks_is_one_process_r2(tmp_path):
    # regression: every rank predicts its share of each split, R^2 comes from reduced sums
    flags = ["-m", "backprop", "train", "--dataset", "diabetes", "--hidden", "16"]
    flags += ["--epochs", "3", "--batch-size", "15", "--no-plots", "--no-progress"]
    one = _run([*flags, "--out", "one"], cwd=tmp_path)
    # without OPENBLAS_NUM_THREADS: the command divides the cores itself and says so once
    env = {k: v for k, v in ENV.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    two = _run([*flags, "--out", "two"], 2, cwd=tmp_path, env=env)
    assert one.returncode == 0 and two.returncode == 0, one.stderr + two.stderr
    assert two.stderr.count("BLAS thread") == 1, two.stderr
    j1, j2 = (json.loads((tmp_path / d / "metrics.json").read_text()) for d in ("one", "two"))
    assert j1["task"] == "regression" and 0 < j1["test_r2"] < 1
    for k in ("train_r2", "val_r2", "test_r2", "test_loss"):
        assert j2[k] == pytest.approx(j1[k], rel=1e-5), k


def _alive(marker: str) -> list[int]:
    """The processes whose command line holds ``marker``."""
    pids = []
    for d in Path("/proc").iterdir():
        try:
            if d.name.isdigit() and marker in (d / "cmdline").read_text():
                pids.append(int(d.name))
        except OSError:
            pass
    return pids


@needs_mpi
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the ranks in /proc")
@pytest.mark.parametrize("to", ["group", "mpiexec"])
def test_ctrl_c_stops_every_rank_and_the_run_resumes(tmp_path, to):
    # Ctrl-C in a terminal sends SIGINT to the foreground process group: mpiexec and the
    # ranks it started (or `kill -INT` to mpiexec alone, which passes it on). Every rank must
    # be gone within seconds, the status non-zero, and the run directory resumable from its
    # last complete checkpoint, by 2 ranks or by one process.
    out = tmp_path / "ctrl-c-run"
    flags = ["-m", "backprop", "train", "--dataset", "digits", "--hidden", "32"]
    flags += ["--epochs", "100000", "--no-plots", "--no-progress", "--out", str(out)]
    cmd = [MPIEXEC, "-n", "2", sys.executable, *flags]
    proc = subprocess.Popen(
        cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while not (out / "checkpoint" / "checkpoint.json").is_file():
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.1)
        time.sleep(0.5)  # training, checkpointing each epoch
        if to == "group":
            os.killpg(proc.pid, signal.SIGINT)
        else:
            os.kill(proc.pid, signal.SIGINT)
        t0 = time.monotonic()
        _, err = proc.communicate(timeout=20)
        took = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode != 0, err  # MPICH's mpiexec: 130, the ranks' MPI_Abort status
    assert took < 10, (took, err)
    time.sleep(0.5)
    assert _alive(str(out)) == [], "a rank outlived mpiexec"
    assert "backprop train: interrupted" in err
    assert "Traceback" not in err, err
    epoch = load_checkpoint(out / "checkpoint")[2]["epoch"]
    resumed = _run(
        ["-m", "backprop", "train", "--resume", str(out), "--epochs", str(epoch + 2)],
        2 if to == "group" else None,
        cwd=tmp_path,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert load_checkpoint(out / "checkpoint")[2]["epoch"] == epoch + 2
