"""Datasets, the DataLoader, bundled datasets, CSV and IDX files."""

from __future__ import annotations

import gzip
import json
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import backprop as bp
from backprop.data import (
    DataError,
    DataLoader,
    Dataset,
    Standardizer,
    TensorDataset,
    available_datasets,
    load_csv,
    load_dataset,
    load_idx,
    load_mnist,
)


# --- TensorDataset and DataLoader --------------------------------------------------------------
def test_tensor_dataset_checks_first_dimension():
    with pytest.raises(ValueError, match=r"\(4, 2\), \(3,\)"):
        TensorDataset(np.zeros((4, 2)), np.zeros(3))
    ds = TensorDataset(bp.tensor([[1.0, 2.0], [3.0, 4.0]]), np.array([0, 1]))
    x, y = ds[1]
    assert x.tolist() == [3.0, 4.0] and y == 1 and len(ds) == 2


def test_dataset_base_needs_getitem_as_in_pytorch():
    with pytest.raises(NotImplementedError, match="__getitem__"):
        Dataset()[0]


@pytest.mark.parametrize(
    "n, bs, drop_last, sizes",
    [
        (10, 4, False, [4, 4, 2]),
        (10, 4, True, [4, 4]),
        (8, 4, False, [4, 4]),
        (3, 5, True, []),
    ],
)
def test_loader_batches(n, bs, drop_last, sizes):
    loader = DataLoader(
        TensorDataset(np.arange(n, dtype=np.float32), np.arange(n)), bs, drop_last=drop_last
    )
    batches = list(loader)
    assert len(loader) == len(sizes) and [len(x._data) for x, _ in batches] == sizes
    for x, y in batches:
        assert isinstance(x, bp.Tensor) and isinstance(y, bp.Tensor)
        assert x.dtype == np.float32 and y.dtype == np.int64 and not x.requires_grad
        np.testing.assert_array_equal(x._data, y._data)


def epoch_orders(loader, epochs=3):
    return [np.concatenate([y._data for _, y in loader]).tolist() for _ in range(epochs)]


def test_shuffle_is_reproducible_and_changes_every_epoch():
    ds = TensorDataset(np.arange(50.0)[:, None], np.arange(50))
    a = epoch_orders(DataLoader(ds, 8, shuffle=True, seed=3))
    b = epoch_orders(DataLoader(ds, 8, shuffle=True, seed=3))
    assert a == b
    assert a[0] != a[1] != a[2]
    assert all(sorted(o) == list(range(50)) for o in a)
    assert epoch_orders(DataLoader(ds, 8, shuffle=True, seed=4)) != a
    assert epoch_orders(DataLoader(ds, 8), 1)[0] == list(range(50))


def test_shuffle_without_seed_follows_manual_seed():
    ds = TensorDataset(np.arange(20), np.arange(20))
    bp.manual_seed(11)
    a = epoch_orders(DataLoader(ds, 5, shuffle=True), 2)
    bp.manual_seed(11)
    assert epoch_orders(DataLoader(ds, 5, shuffle=True), 2) == a


def test_batches_do_not_alias_the_dataset():
    X = np.zeros((6, 2), np.float32)
    for x, _ in DataLoader(TensorDataset(X, np.arange(6)), 3):
        x._data += 1
    assert (X == 0).all()


def test_tensor_dataset_fast_path_never_indexes_samples():
    class NoSamples(TensorDataset):
        def __getitem__(self, index):
            raise AssertionError("the fast path should index whole arrays")

    ((x, y),) = DataLoader(NoSamples(np.ones((4, 3)), np.arange(4)), 4, shuffle=True, seed=0)
    assert x.shape == (4, 3) and sorted(y._data.tolist()) == [0, 1, 2, 3]


def test_generic_dataset_is_stacked():
    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.array([i, i * i], np.float32), i

    batches = list(DataLoader(Squares(), 2))
    assert [x.shape for x, _ in batches] == [(2, 2), (2, 2), (1, 2)]
    assert batches[1][0].tolist() == [[2, 4], [3, 9]] and batches[1][1].tolist() == [2, 3]

    class Single(Squares):
        def __getitem__(self, i):
            return np.full(3, i)

    assert next(iter(DataLoader(Single(), 5))).shape == (5, 3)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 40), bs=st.integers(1, 12), shuffle=st.booleans(), drop=st.booleans())
def test_loader_visits_each_sample_at_most_once(n, bs, shuffle, drop):
    loader = DataLoader(TensorDataset(np.arange(n)), bs, shuffle=shuffle, drop_last=drop, seed=0)
    seen = [int(v) for (x,) in loader for v in x._data]
    assert len(seen) == len(set(seen)) == (n // bs * bs if drop else n)
    assert len(list(loader)) == len(loader)


# --- bundled datasets --------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(available_datasets()))
def test_every_bundled_dataset(name):
    s = load_dataset(name, seed=0)
    n = len(s.X_train) + len(s.X_val) + len(s.X_test)
    assert len(s.X_test) == round(n * 0.15) and len(s.X_val) == round(n * 0.15)
    assert s.X_train.dtype == np.float32 and s.X_train.shape[1] == len(s.feature_names)
    np.testing.assert_allclose(s.X_train.mean(0), 0, atol=1e-4)
    assert set(np.round(s.X_train.std(0), 3)) <= {0.0, 1.0}  # constant pixels stay 0
    json.dumps(s.info())
    if s.task == "classification":
        assert s.y_train.dtype == np.int64 and s.y_train.ndim == 1
        assert s.num_classes == len(s.class_names) == s.num_outputs
        # stratified: every split has each class in its overall proportion (within rounding)
        overall = np.bincount(np.concatenate([s.y_train, s.y_val, s.y_test])) / n
        for y in (s.y_train, s.y_val, s.y_test):
            share = np.bincount(y, minlength=s.num_classes) / len(y)
            assert np.abs(share - overall).max() <= 1.5 / len(y) + 1e-9
        assert s.target_standardizer is None
    else:
        assert s.y_train.dtype == np.float32 and s.y_train.shape[1:] == (1,)
        assert s.num_classes is None and s.num_outputs == 1
        np.testing.assert_allclose(s.y_train.mean(0), 0, atol=1e-4)  # targets standardised
        np.testing.assert_allclose(s.y_train.std(0), 1, atol=1e-4)


def test_splits_are_a_partition_and_seeded():
    a, b = load_dataset("wine", seed=5), load_dataset("wine", seed=5)
    np.testing.assert_array_equal(a.X_val, b.X_val)
    assert not np.array_equal(load_dataset("wine", seed=6).y_test, a.y_test)
    raw = load_dataset("wine", seed=5, standardize=False)
    rows = {tuple(r) for X in (raw.X_train, raw.X_val, raw.X_test) for r in X}
    assert len(rows) == 178 and raw.standardizer is None
    xor1, xor2 = load_dataset("xor", seed=1), load_dataset("xor", seed=2)
    assert not np.array_equal(xor1.X_train, xor2.X_train)


def test_standardizer_fitted_on_train_only_and_round_trips_through_json():
    raw = load_dataset("breast_cancer", seed=0, standardize=False)
    s = load_dataset("breast_cancer", seed=0)
    np.testing.assert_allclose(s.standardizer.mean, raw.X_train.mean(0), rtol=1e-4)
    st2 = Standardizer.from_dict(json.loads(json.dumps(s.standardizer.to_dict())))
    np.testing.assert_allclose(st2(raw.X_test), s.X_test, atol=1e-5)
    np.testing.assert_allclose(st2.inverse_transform(s.X_test), raw.X_test, rtol=1e-4, atol=1e-6)


def test_regression_targets_standardised_on_train_only_and_round_trip():
    raw = load_dataset("diabetes", seed=2, standardize_targets=False)
    s = load_dataset("diabetes", seed=2)
    assert raw.target_standardizer is None and raw.y_test.max() > 100  # the original units
    np.testing.assert_allclose(s.target_standardizer.mean, raw.y_train.mean(0), rtol=1e-5)
    np.testing.assert_allclose(s.target_standardizer.std, raw.y_train.std(0), rtol=1e-5)
    np.testing.assert_allclose(s.X_test, raw.X_test)  # features are untouched by the option
    # through the checkpoint's JSON and back to the original units
    info = json.loads(json.dumps(s.info()))
    st2 = Standardizer.from_dict(info["target_standardizer"])
    for split in ("train", "val", "test"):
        y, y_raw = getattr(s, f"y_{split}"), getattr(raw, f"y_{split}")
        np.testing.assert_allclose(st2.inverse_transform(y), y_raw, rtol=1e-5)
        np.testing.assert_allclose(s.original_targets(y), y_raw, rtol=1e-5)
        np.testing.assert_allclose(st2(y_raw), y, atol=1e-5)
    off = load_dataset("diabetes", seed=2, standardize=False)  # follows standardize by default
    assert off.target_standardizer is None and off.info()["target_standardizer"] is None


def test_csv_regression_targets_are_standardised(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    price = 1000 + 300 * X[:, 0] + rng.normal(size=40)
    path = tmp_path / "houses.csv"
    rows = "\n".join(f"{a},{b},{p}" for (a, b), p in zip(X, price))
    path.write_text("size,age,price\n" + rows + "\n")
    s = load_dataset(str(path), target="price", seed=0)
    assert s.task == "regression" and s.target_name == "price"
    np.testing.assert_allclose(s.y_train.mean(), 0, atol=1e-4)
    train_prices = s.original_targets(s.y_train)
    assert train_prices.min() > 0  # back in dollars, not in standard deviations
    np.testing.assert_allclose(s.target_standardizer.mean, train_prices.mean(0), rtol=1e-5)
    everything = np.concatenate([s.y_train, s.y_val, s.y_test])
    np.testing.assert_allclose(
        np.sort(s.original_targets(everything).ravel()),
        np.sort(price).astype(np.float32),
        rtol=1e-5,
    )


def test_sizes_and_errors():
    s = load_dataset("spiral", n_samples=90, val_fraction=0.0, test_fraction=0.2)
    assert (len(s.X_train), len(s.X_val), len(s.X_test)) == (72, 0, 18)
    assert s.train[0][0].shape == (2,) and len(s.val) == 0
    with pytest.raises(ValueError, match="unknown dataset 'mnist3'.*digits"):
        load_dataset("mnist3")
    with pytest.raises(ValueError, match="leave something to train on"):
        load_dataset("iris", val_fraction=0.5, test_fraction=0.5)


# --- CSV files ---------------------------------------------------------------------------------
def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_with_header_and_text_labels(tmp_path):
    path = write(tmp_path, "age,height,kind\n1,2,b\n3,4,a\n\n5,6,b\n")
    t = load_csv(path, target="kind")
    assert t.X.tolist() == [[1, 2], [3, 4], [5, 6]] and t.feature_names == ["age", "height"]
    assert t.y.tolist() == [1, 0, 1] and t.class_names == ["a", "b"] and t.task == "classification"
    with pytest.raises(DataError, match="line 2, column 'kind': 'b' is not a number"):
        load_csv(path, target=0)  # text is allowed in the target column only


def test_csv_headerless_and_task_detection(tmp_path):
    path = write(tmp_path, "0.5,1,3\n1.5,2,1\n2.5,3,3\n")
    t = load_csv(path)
    assert (
        t.feature_names == ["x0", "x1"]
        and t.class_names == ["1", "3"]
        and t.y.tolist() == [1, 0, 1]
    )
    t = load_csv(path, target=0)
    assert t.task == "regression" and t.y.dtype == np.float32 and t.y.shape == (3, 1)
    t = load_csv(write(tmp_path, "a;b\n1;2\n3;4\n", "semi.csv"), target="b", delimiter=";")
    assert t.X.tolist() == [[1.0], [3.0]]


@pytest.mark.parametrize(
    "text, target, message",
    [
        (
            "age,y\n1,0\n2,1\n3,0\n4,1\n5,0\nabc,1\n",
            "y",
            r"data.csv line 7, column 'age': 'abc' is not a number",
        ),
        ("age,y\n1,0\n,1\n", "y", r"data.csv line 3, column 'age': '' is empty"),
        ("age,y\n1,0\nnan,1\n", "y", r"line 3, column 'age': 'nan' is not a finite number"),
        ("1,0\n2,x\n", 0, r"data.csv line 2, column 1: 'x' is not a number"),
        ("a,b,c\n1,2,3\n4,5\n", "c", r"data.csv line 3 has 2 fields, expected 3"),
        ("a,b,c\n1,2,3\n", "label", r"data.csv has no column 'label'; it has 'a', 'b', 'c'"),
        ("a,b\n1,2\n", 5, r"has no column 5"),
        ("a,b\n", "b", r"header but no data"),
        ("\n\n", -1, r"has no data"),
    ],
)
def test_csv_errors(tmp_path, text, target, message):
    with pytest.raises(DataError, match=message):
        load_csv(write(tmp_path, text), target=target)


def test_csv_missing_file_and_load_dataset_route(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        load_csv(tmp_path / "nope.csv")
    rows = "\n".join(f"{i % 7},{i * 0.1:.1f},{'yes' if i % 2 else 'no'}" for i in range(40))
    s = load_dataset(str(write(tmp_path, "f1,f2,answer\n" + rows)), target="answer", seed=0)
    assert s.task == "classification" and s.class_names == ["no", "yes"] and s.name == "data"
    assert len(s.X_train) + len(s.X_val) + len(s.X_test) == 40 and s.target_name == "answer"


@settings(max_examples=20, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(-1e6, 1e6, width=32), st.floats(-1e6, 1e6, width=32)),
        min_size=1,
        max_size=20,
    )
)
def test_csv_round_trips_numbers(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("csv") / "r.csv"
    path.write_text("u,v\n" + "".join(f"{u!r},{v!r}\n" for u, v in rows))
    t = load_csv(path, target="v", task="regression")
    np.testing.assert_array_equal(t.X[:, 0], np.array([u for u, _ in rows], np.float32))
    np.testing.assert_array_equal(t.y[:, 0], np.array([v for _, v in rows], np.float32))


# --- IDX files ---------------------------------------------------------------------------------
CODES = {
    np.uint8: 0x08,
    np.int8: 0x09,
    np.int16: 0x0B,
    np.int32: 0x0C,
    np.float32: 0x0D,
    np.float64: 0x0E,
}


def idx_bytes(a: np.ndarray) -> bytes:
    head = bytes([0, 0, CODES[a.dtype.type], a.ndim]) + struct.pack(f">{a.ndim}I", *a.shape)
    return head + a.astype(a.dtype.newbyteorder(">")).tobytes()


@pytest.mark.parametrize("dtype", list(CODES))
@pytest.mark.parametrize("zipped", [False, True])
def test_idx_round_trip(tmp_path, dtype, zipped):
    a = (np.arange(24) - 5).reshape(2, 3, 4).astype(dtype)
    data = idx_bytes(a)
    path = tmp_path / "x-idx3"
    path.write_bytes(gzip.compress(data) if zipped else data)
    b = load_idx(path)
    assert b.dtype == a.dtype and b.dtype.isnative and b.shape == a.shape
    np.testing.assert_array_equal(a, b)


def test_idx_errors(tmp_path):
    good = idx_bytes(np.zeros((3, 2, 2), np.uint8))
    cases = {
        "truncated": (
            good[:-1],
            r"truncated: shape \(3, 2, 2\) of uint8 needs 28 bytes, the file has 27",
        ),
        "long": (good + b"\0", "longer than its header says"),
        "magic": (b"\x12\x34" + good[2:], "not an IDX file: it starts with 12 34 08 03"),
        "code": (good[:2] + b"\x07" + good[3:], "not an IDX file"),
        "empty": (b"", "not an IDX file: it starts with nothing"),
        "header": (good[:9], "header is cut short"),
        "badgz": (gzip.compress(good)[:-8], "damaged gzip"),
    }
    for name, (data, message) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(DataError, match=message) as info:
            load_idx(tmp_path / name)
        assert str(tmp_path / name) in str(info.value)
    with pytest.raises(FileNotFoundError, match="missing"):
        load_idx(tmp_path / "missing")


def fake_mnist(directory, n_train=60, n_test=20):
    rng = np.random.default_rng(0)
    directory.mkdir()
    for prefix, n, gz, dotted in (("train", n_train, True, False), ("t10k", n_test, False, True)):
        labels = (np.arange(n) % 10).astype(np.uint8)
        images = (labels[:, None, None] * 20 + rng.integers(0, 50, (n, 5, 4))).astype(np.uint8)
        for kind, a in (("images-idx3-ubyte", images), ("labels-idx1-ubyte", labels)):
            name = f"{prefix}-{kind}".replace("-idx", ".idx" if dotted else "-idx")
            data = idx_bytes(a)
            (directory / (name + ".gz" if gz else name)).write_bytes(
                gzip.compress(data) if gz else data
            )
    return directory


def test_load_mnist(tmp_path):
    d = fake_mnist(tmp_path / "fashion")
    s = load_mnist(d, val_fraction=0.5)
    assert s.X_train.shape == (30, 20) and s.X_val.shape == (30, 20) and s.X_test.shape == (20, 20)
    assert s.X_train.dtype == np.float32 and 0 <= s.X_train.min() and s.X_train.max() <= 1
    assert s.num_classes == 10 and sorted(np.bincount(s.y_val)) == [3] * 10
    assert load_mnist(d, flatten=False).X_test.shape == (20, 1, 5, 4)
    via = load_dataset(str(d), standardize=False, val_fraction=0.5)
    np.testing.assert_array_equal(via.X_val, s.X_val)
    (d / "t10k-labels.idx1-ubyte").unlink()
    with pytest.raises(FileNotFoundError, match="has no t10k-labels-idx1-ubyte"):
        load_mnist(d)


# --- hostile and unusual files: one DataError naming the file (and line, column) ------------
@pytest.mark.parametrize(
    "content, message",
    [
        ("caf\xe9,1\n2,0\n".encode("latin-1"), r"line 1: byte 0xe9 is not UTF-8"),
        (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "binary file"),
        (("a,b\n" + "1" * 200_000 + ",0\n").encode(), r"line 2: not a readable CSV row"),
        (b"x\n1\n2\n", "a single column"),
        (b"a,b\n", "a header but no data rows"),
        (b"a,b\n1,0\n2\n", r"line 3 has 1 fields, expected 2"),
        (b"a,b\n1e39,0\n2,1\n", r"line 2, column 'a': '1e39' is beyond float32's range"),
        (b"a,b\n-inf,0\n2,1\n", r"line 2, column 'a': '-inf' is not a finite number"),
        (b"a,b\n1,1\n2,1\n3,1\n", "every one of the 3 rows has the label '1'.*two classes"),
    ],
    ids=[
        "latin1",
        "binary",
        "huge-field",
        "one-column",
        "header-only",
        "short-row",
        "beyond-float32",
        "inf",
        "one-class",
    ],  # fmt: skip
)
def test_csv_refuses_what_it_cannot_use(tmp_path, content, message):
    path = tmp_path / "data.csv"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message) as info:
        load_csv(path)
    assert str(path) in str(info.value)


def test_csv_delimiters_and_numeric_labels(tmp_path):
    semi = write(tmp_path, "a;b;label\n1,5;2;0\n3,5;4;1\n5;6;1\n", "semi.csv")
    with pytest.raises(DataError, match=r"line 2, column 'a': '1,5' is not a number"):
        load_csv(semi)  # ';' detected: the decimal commas are named, not silently dropped
    tab = load_csv(write(tmp_path, "a\tb\tlabel\n1\t2\t0\n3\t4\t1\n", "tab.txt"))
    assert tab.X.tolist() == [[1, 2], [3, 4]] and tab.feature_names == ["a", "b"]
    both = write(tmp_path, "a;b|c\n1;2|3\n", "both.csv")
    with pytest.raises(DataError, match="cannot tell the delimiter"):
        load_csv(both)
    t = load_csv(write(tmp_path, "x,y\n1,1\n2,1.0\n3,2\n4,2.0\n5,1e0\n"))
    assert t.class_names == ["1", "2"] and t.y.tolist() == [0, 0, 1, 1, 0]
    with pytest.raises(DataError, match="is a directory"):
        load_csv(tmp_path)


def test_idx_empty_and_float_values(tmp_path):
    d = fake_mnist(tmp_path / "m")
    (d / "t10k-images.idx3-ubyte").write_bytes(idx_bytes(np.zeros((0, 28, 28), np.uint8)))
    (d / "t10k-labels.idx1-ubyte").write_bytes(idx_bytes(np.zeros(0, np.uint8)))
    with pytest.raises(DataError, match=r"t10k images \(0, 28, 28\) hold no pixels"):
        load_mnist(d)
    bad = np.zeros((2, 2), np.float32)
    bad[1, 0] = np.nan
    (tmp_path / "f").write_bytes(idx_bytes(bad))
    with pytest.raises(DataError, match=r"index \(1, 0\) is nan, not finite"):
        load_idx(tmp_path / "f")
    (tmp_path / "g").write_bytes(idx_bytes(np.full((1, 2), 1e300)))
    assert load_idx(tmp_path / "g").dtype == np.float64  # fine as float64; MNIST refuses it
    (d / "t10k-images.idx3-ubyte").write_bytes(idx_bytes(np.full((20, 5, 4), 1e300)))
    (d / "t10k-labels.idx1-ubyte").write_bytes(idx_bytes((np.arange(20) % 10).astype(np.uint8)))
    with pytest.raises(DataError, match="beyond float32's range"):
        load_mnist(d)


def test_idx_gzip_bomb_is_refused_without_decompressing(tmp_path):
    # The header says 2**31 bytes (a 2 GiB bomb) and the stream goes on: refused from the
    # header, against a bound; and a stream longer than its header is stopped after one byte.
    head = bytes([0, 0, 8, 1]) + struct.pack(">I", 2**31)
    (tmp_path / "bomb.gz").write_bytes(gzip.compress(head + bytes(2**20)))
    with pytest.raises(DataError, match=r"declares shape \(2147483648,\).*more than the 0.0 GiB"):
        load_idx(tmp_path / "bomb.gz", max_bytes=2**20)
    small = bytes([0, 0, 8, 1]) + struct.pack(">I", 3) + bytes(3)
    (tmp_path / "long.gz").write_bytes(gzip.compress(small + bytes(2**22)))
    with pytest.raises(DataError, match="longer than its header says"):
        load_idx(tmp_path / "long.gz")


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300), st.booleans())
def test_fuzzed_csv_and_idx_raise_only_data_errors(tmp_path_factory, data, zipped):
    d = tmp_path_factory.mktemp("fuzz")
    (d / "f.csv").write_bytes(data)
    try:
        load_csv(d / "f.csv")
    except DataError:
        pass
    (d / "f-idx").write_bytes(gzip.compress(data) if zipped else data)
    try:
        load_idx(d / "f-idx")
    except DataError:
        pass


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.lists(
            st.one_of(
                st.floats(allow_nan=True, allow_infinity=True).map(repr),
                st.integers(-3, 3).map(str),
                st.sampled_from(["", "a", "1.0", "1e40", "nan", '"', ";", "\t"]),
            ),
            min_size=1,
            max_size=4,
        ),
        max_size=6,
    )
)
def test_fuzzed_csv_cells_raise_only_data_errors(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("cells") / "c.csv"
    path.write_text("\n".join(",".join(r) for r in rows))
    try:
        t = load_csv(path)
    except DataError:
        return
    assert np.isfinite(t.X).all() and t.X.dtype == np.float32
    if t.task == "classification":
        assert len(t.class_names) >= 2
