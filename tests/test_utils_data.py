"""backprop.utils.data against torch.utils.data: the same batches, sizes, dtypes and errors."""

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import backprop as bp
from backprop.utils import data as bud


def as_lists(batches):
    out = []
    for b in batches:
        if isinstance(b, dict):
            out.append({k: as_lists([v])[0] for k, v in b.items()})
        elif isinstance(b, (list, tuple)):
            out.append([np.asarray(x).tolist() if not isinstance(x, list) else x for x in b])
        else:
            out.append(np.asarray(b).tolist())
    return out


class Pairs:
    """A map-style dataset written once, subclassing each library's Dataset."""

    def __init__(self, n=7):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return {"x": np.array([i, i * i], np.float32), "y": i, "w": 0.5 * i, "name": f"s{i}"}


def both(cls_base_ours, cls_base_theirs):
    return (
        type("Ours", (Pairs, cls_base_ours), {})(),
        type("Theirs", (Pairs, cls_base_theirs), {})(),
    )


@pytest.mark.parametrize("batch_size,drop_last", [(1, False), (3, False), (3, True), (7, False)])
def test_sequential_batches_equal_torch(batch_size, drop_last):
    X = np.arange(14.0).reshape(7, 2)
    y = np.arange(7)
    ours = bud.DataLoader(
        bud.TensorDataset(bp.tensor(X), bp.tensor(y)), batch_size, drop_last=drop_last
    )
    theirs = tud.DataLoader(
        tud.TensorDataset(torch.tensor(X), torch.tensor(y)), batch_size, drop_last=drop_last
    )
    assert len(ours) == len(theirs)
    assert as_lists(ours) == as_lists(theirs)
    ours_ds, theirs_ds = both(bud.Dataset, tud.Dataset)
    a = list(bud.DataLoader(ours_ds, batch_size, drop_last=drop_last))
    b = list(tud.DataLoader(theirs_ds, batch_size, drop_last=drop_last))
    assert as_lists(a) == as_lists(b)
    for k in ("x", "y", "w"):  # PyTorch's dtypes: arrays keep theirs, ints int64, floats float64
        assert str(a[0][k].dtype) == str(b[0][k].dtype).replace("torch.", "")


def test_batch_size_none_sampler_batch_sampler_and_collate_fn():
    ours_ds, theirs_ds = both(bud.Dataset, tud.Dataset)
    assert as_lists(bud.DataLoader(ours_ds, batch_size=None)) == as_lists(
        tud.DataLoader(theirs_ds, batch_size=None)
    )
    order = [6, 0, 3, 3]
    a = bud.DataLoader(ours_ds, batch_size=2, sampler=order)
    b = tud.DataLoader(theirs_ds, batch_size=2, sampler=order)
    assert as_lists(a) == as_lists(b) and len(a) == 2
    groups = [[1, 2], [5], [0, 6, 4]]
    a = bud.DataLoader(ours_ds, batch_sampler=groups, collate_fn=lambda s: [d["y"] for d in s])
    b = tud.DataLoader(theirs_ds, batch_sampler=groups, collate_fn=lambda s: [d["y"] for d in s])
    assert list(a) == list(b) == groups
    seq = bud.BatchSampler(bud.SequentialSampler(range(7)), 3, drop_last=True)
    assert list(seq) == list(tud.BatchSampler(tud.SequentialSampler(range(7)), 3, True))


def test_argument_errors_as_torch():
    ds = bud.TensorDataset(np.zeros((4, 2)))
    cases = [
        dict(sampler=[0, 1], shuffle=True),
        dict(batch_sampler=[[0]], batch_size=2),
        dict(batch_sampler=[[0]], drop_last=True),
        dict(batch_size=None, drop_last=True),
        dict(batch_size=0),
    ]
    for kw in cases:
        with pytest.raises(ValueError):
            tud.DataLoader(tud.TensorDataset(torch.zeros(4, 2)), **kw)
        with pytest.raises(ValueError):
            bud.DataLoader(ds, **kw)


def test_shuffle_with_generator_is_reproducible_and_complete():
    ds = bud.TensorDataset(np.arange(20))
    runs = []
    for _ in range(2):
        g = bp.Generator().manual_seed(5)
        loader = bud.DataLoader(ds, batch_size=6, shuffle=True, generator=g, drop_last=True)
        runs.append([[b[0].tolist() for b in loader] for _epoch in range(2)])
    assert runs[0] == runs[1]
    first, second = runs[0]
    assert first != second and len(first) == 3 and all(len(b) == 6 for b in first)
    assert len(set(sum(first, []))) == 18


@pytest.mark.parametrize("lengths", [[3, 7], [0.3, 0.7], [0.33, 0.33, 0.34], [0.5, 0.5, 0.0]])
def test_random_split_sizes_as_torch(lengths):
    ours = bud.random_split(range(10), lengths, generator=bp.Generator().manual_seed(1))
    theirs = tud.random_split(range(10), lengths, generator=torch.Generator().manual_seed(1))
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    assert sorted(sum((list(s) for s in ours), [])) == list(range(10))
    again = bud.random_split(range(10), lengths, generator=bp.Generator().manual_seed(1))
    assert [list(s) for s in again] == [list(s) for s in ours]
    with pytest.raises(ValueError, match="Sum of input lengths"):
        bud.random_split(range(10), [3, 3])


def test_subset_concat_and_iterable_datasets():
    a = bud.TensorDataset(np.arange(3))
    b = bud.TensorDataset(np.arange(10, 14))
    both_ = a + b
    assert isinstance(both_, bud.ConcatDataset) and len(both_) == 7
    assert [both_[i][0].item() for i in (0, 2, 3, 6, -1)] == [0, 2, 10, 13, 13]
    sub = bud.Subset(both_, [6, 0])
    assert [x.tolist() for (x,) in bud.DataLoader(sub, batch_size=2)] == [[13, 0]]

    class Stream(bud.IterableDataset):
        def __iter__(self):
            return iter(range(5))

    class TStream(tud.IterableDataset):
        def __iter__(self):
            return iter(range(5))

    assert as_lists(bud.DataLoader(Stream(), batch_size=2)) == as_lists(
        tud.DataLoader(TStream(), batch_size=2)
    )
    with pytest.raises(ValueError):
        bud.DataLoader(Stream(), shuffle=True)


def test_samplers():
    g = bp.Generator().manual_seed(0)
    rs = bud.RandomSampler(range(5), replacement=True, num_samples=12, generator=g)
    draws = list(rs)
    assert len(rs) == 12 and len(draws) == 12 and set(draws) <= set(range(5))
    rs = bud.RandomSampler(range(5), num_samples=7, generator=g)
    assert len(list(rs)) == 7
    ws = bud.WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], 50, generator=g)
    assert set(ws) <= {1, 3}
    sr = bud.SubsetRandomSampler([4, 8, 9], generator=g)
    assert sorted(sr) == [4, 8, 9]
    with pytest.raises(ValueError):
        bud.BatchSampler(range(3), 0, False)


def test_a_custom_sampler_with_set_epoch_drives_the_loader():
    """What a distributed sampler does: its own indices per epoch, set by the caller."""

    class EveryOther(bud.Sampler):
        def __init__(self, n):
            self.n, self.epoch = n, 0

        def set_epoch(self, epoch):
            self.epoch = epoch

        def __iter__(self):
            return iter(range(self.epoch % 2, self.n, 2))

        def __len__(self):
            return self.n // 2

    sampler = EveryOther(8)
    loader = bud.DataLoader(bud.TensorDataset(np.arange(8)), batch_size=2, sampler=sampler)
    sampler.set_epoch(1)
    assert [b[0].tolist() for b in loader] == [[1, 3], [5, 7]] and len(loader) == 2


def test_random_split_subsets_are_batched_from_the_base_tensors():
    X = np.arange(40.0).reshape(20, 2)
    ds = bud.TensorDataset(X, np.arange(20))
    train, _ = bud.random_split(ds, [12, 8], generator=bp.Generator().manual_seed(3))
    inner = bud.Subset(train, [11, 0, 5])  # nested subsets map their indices through
    ((xb, yb),) = bud.DataLoader(inner, batch_size=3)
    expected = [train.indices[i] for i in (11, 0, 5)]
    assert yb.tolist() == expected and xb.tolist() == X[expected].tolist()
    xb._data += 1  # a copy, never a view of the dataset
    assert X[expected[0], 0] == 2 * expected[0]
