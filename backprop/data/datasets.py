"""Datasets by name: bundled real ones (scikit-learn), synthetic 2-D ones, CSV files and
MNIST directories, split three ways and standardised with the training split's statistics.

>>> s = load_dataset("iris", seed=0)
>>> s.X_train.shape, s.num_classes, s.task
((106, 4), 3, 'classification')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .files import DataError, Table, _find_idx, load_csv, load_idx
from .loader import TensorDataset

__all__ = ["Standardizer", "Splits", "available_datasets", "load_dataset", "load_mnist"]


# ---------------------------------------------------------------------------------------------
# Standardisation and splits
# ---------------------------------------------------------------------------------------------
@dataclass
class Standardizer:
    """``(x - mean) / std`` per feature, fitted on training data and saved as plain JSON.

    >>> st = Standardizer.fit(np.array([[0.0, 5.0], [2.0, 5.0]]))
    >>> st.to_dict()
    {'mean': [1.0, 5.0], 'std': [1.0, 1.0]}
    >>> Standardizer.from_dict(st.to_dict())(np.array([[3.0, 5.0]]))
    array([[2., 0.]])
    """

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, X: np.ndarray) -> Standardizer:
        X = np.asarray(X, dtype=np.float64)
        std = X.std(axis=0)
        std[std < 1e-12] = 1.0  # constant features (digits' blank border pixels) stay at zero
        return cls(X.mean(axis=0), std)

    def __call__(self, X: Any) -> np.ndarray:
        X = np.asarray(X)
        out_dtype = X.dtype if X.dtype.kind == "f" else np.float32
        return ((X - self.mean) / self.std).astype(out_dtype)

    transform = __call__

    def inverse_transform(self, Z: Any) -> np.ndarray:
        Z = np.asarray(Z)
        return (Z * self.std + self.mean).astype(Z.dtype if Z.dtype.kind == "f" else np.float32)

    def to_dict(self) -> dict[str, list]:
        return {"mean": np.asarray(self.mean).tolist(), "std": np.asarray(self.std).tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> Standardizer:
        return cls(np.asarray(d["mean"], np.float64), np.asarray(d["std"], np.float64))


@dataclass
class Splits:
    """A dataset split three ways, plus what is needed to use a trained model on new data."""

    name: str
    task: str  # "classification" or "regression"
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    num_classes: int | None
    feature_names: list[str]
    class_names: list[str] | None = None
    standardizer: Standardizer | None = None
    target_standardizer: Standardizer | None = None  # regression: y_* are standardised
    seed: int = 0
    target_name: str = "target"
    extra: dict = field(default_factory=dict)

    train = property(lambda self: TensorDataset(self.X_train, self.y_train))
    val = property(lambda self: TensorDataset(self.X_val, self.y_val))
    test = property(lambda self: TensorDataset(self.X_test, self.y_test))

    @property
    def num_features(self) -> int:
        return int(np.prod(self.X_train.shape[1:]))

    @property
    def num_outputs(self) -> int:
        """The width of a model's last layer: classes, or 1 for regression."""
        return self.num_classes if self.task == "classification" else self.y_train.shape[1]

    def original_targets(self, y: Any) -> np.ndarray:
        """Regression targets or predictions in the dataset's own units (``y`` unchanged when
        the targets were not standardised).

        >>> s = load_dataset("diabetes", seed=0)
        >>> raw = load_dataset("diabetes", seed=0, standardize_targets=False)
        >>> bool(np.allclose(s.original_targets(s.y_test), raw.y_test, rtol=1e-5))
        True
        """
        st = self.target_standardizer
        return np.asarray(y) if st is None else st.inverse_transform(y)

    def info(self) -> dict:
        """A JSON-able description for checkpoint metadata (with the standardisers, if any)."""
        return {
            "name": self.name,
            "task": self.task,
            "num_classes": self.num_classes,
            "feature_names": self.feature_names,
            "class_names": self.class_names,
            "target_name": self.target_name,
            "seed": self.seed,
            "sizes": {"train": len(self.X_train), "val": len(self.X_val), "test": len(self.X_test)},
            "standardizer": self.standardizer.to_dict() if self.standardizer else None,
            "target_standardizer": (
                self.target_standardizer.to_dict() if self.target_standardizer else None
            ),
        }


def _split_indices(
    y: np.ndarray,
    stratify: bool,
    rng: np.random.Generator,
    val_fraction: float,
    test_fraction: float,
) -> list[np.ndarray]:
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ValueError(
            f"val_fraction={val_fraction} and test_fraction={test_fraction} must be "
            "in [0, 1) and leave something to train on"
        )
    # Stratify by dealing: each class, shuffled, is spread evenly over [0, 1) and all samples
    # are taken in that order, so any prefix holds the classes in their overall proportions.
    # (A random offset per class decides which class rounding favours.)
    n = len(y)
    key = rng.random(n)
    if stratify:
        for c in np.unique(y):
            members = rng.permutation(np.flatnonzero(y == c))
            key[members] = (np.arange(len(members)) + rng.random()) / len(members)
    order = np.argsort(key, kind="stable")
    n_test, n_val = round(n * test_fraction), round(n * val_fraction)
    parts = [order[n_test + n_val :], order[n_test : n_test + n_val], order[:n_test]]
    return [rng.permutation(p) for p in parts]


def _make_splits(
    t: Table,
    seed: int,
    val_fraction: float,
    test_fraction: float,
    standardize: bool,
    standardize_targets: bool,
) -> Splits:
    rng = np.random.default_rng([seed, 1])  # its own stream, apart from the generators'
    train, val, test = _split_indices(
        t.y, t.task == "classification", rng, val_fraction, test_fraction
    )
    st = Standardizer.fit(t.X[train]) if standardize else None
    X = (st(t.X) if st else t.X).astype(np.float32)
    # Diabetes' targets run from 25 to 346: on that scale the squared error's gradients are
    # thousands of times those of a classification loss, and a learning rate that suits one
    # diverges on the other. On standardised targets, MSE starts near 1 whatever the units.
    regression = t.task == "regression"
    target_st = Standardizer.fit(t.y[train]) if regression and standardize_targets else None
    y = target_st(t.y).astype(np.float32) if target_st else t.y
    return Splits(
        name=t.name,
        task=t.task,
        X_train=X[train],
        y_train=y[train],
        X_val=X[val],
        y_val=y[val],
        X_test=X[test],
        y_test=y[test],
        num_classes=len(t.class_names) if t.class_names is not None else None,
        feature_names=t.feature_names,
        class_names=t.class_names,
        standardizer=st,
        target_standardizer=target_st,
        seed=seed,
        target_name=t.target_name,
    )


# ---------------------------------------------------------------------------------------------
# Bundled datasets: real ones from scikit-learn, synthetic 2-D ones generated here
# ---------------------------------------------------------------------------------------------
_DESCRIPTIONS = {
    "digits": "8x8 images of handwritten digits, 1797 samples, 64 features, 10 classes",
    "iris": "iris flowers, 150 samples, 4 measurements, 3 species",
    "wine": "wine chemistry, 178 samples, 13 features, 3 cultivars",
    "breast_cancer": "breast tumour measurements, 569 samples, 30 features, 2 classes",
    "diabetes": "diabetes progression, 442 samples, 10 features, regression",
    "xor": "4 Gaussian blobs whose class is the XOR of their quadrant signs, 2 classes",
    "moons": "two interleaving half-circles (sklearn make_moons), 2 classes",
    "circles": "a small circle inside a large one (sklearn make_circles), 2 classes",
    "spiral": "three interleaved spiral arms, 3 classes",
}


def available_datasets() -> dict[str, str]:
    """Names accepted by :func:`load_dataset`, each with a one-line description.

    >>> "digits" in available_datasets()
    True
    """
    return dict(_DESCRIPTIONS)


def _sklearn_table(name: str) -> Table:
    from sklearn import datasets

    bunch = getattr(datasets, f"load_{name}")()
    if name == "diabetes":
        return Table(
            bunch.data.astype(np.float32),
            bunch.target.astype(np.float32)[:, None],
            "regression",
            list(bunch.feature_names),
            name=name,
        )
    classes = [str(c) for c in getattr(bunch, "target_names", np.unique(bunch.target))]
    return Table(
        bunch.data.astype(np.float32),
        bunch.target.astype(np.int64),
        "classification",
        list(bunch.feature_names),
        classes,
        name,
    )


def _synthetic_table(name: str, n: int, noise: float | None, rng: np.random.Generator) -> Table:
    if name in ("moons", "circles"):
        from sklearn import datasets

        seed = int(rng.integers(2**31))
        if name == "moons":
            X, y = datasets.make_moons(n, noise=0.1 if noise is None else noise, random_state=seed)
        else:
            X, y = datasets.make_circles(
                n, noise=0.05 if noise is None else noise, factor=0.5, random_state=seed
            )
        classes = ["0", "1"]
    elif name == "xor":
        signs = rng.choice([-1.0, 1.0], size=(n, 2))
        X = signs + rng.normal(scale=0.3 if noise is None else noise, size=(n, 2))
        y, classes = (signs[:, 0] != signs[:, 1]).astype(np.int64), ["same sign", "opposite"]
    else:  # spiral, after CS231n: arm k winds through angles [4k, 4k + 4]
        k = 3
        y = np.arange(n) % k
        r = rng.random(n)
        t = 4 * y + 4 * r + rng.normal(scale=0.2 if noise is None else noise, size=n)
        X, classes = np.stack([r * np.sin(t), r * np.cos(t)], axis=1), ["0", "1", "2"]
    return Table(
        X.astype(np.float32), y.astype(np.int64), "classification", ["x1", "x2"], classes, name
    )


def load_dataset(
    name: str,
    *,
    seed: int = 0,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    standardize: bool = True,
    standardize_targets: bool | None = None,
    n_samples: int = 500,
    noise: float | None = None,
    target: str | int = -1,
) -> Splits:
    """Load a dataset by name, CSV path or MNIST directory, split and standardised.

    ``name`` is one of :func:`available_datasets`, a ``.csv`` file (``target`` picks the label
    column, see :func:`load_csv`) or a directory of IDX files (:func:`load_mnist`; its test
    set is the files' own). ``n_samples`` and ``noise`` apply to the synthetic datasets.
    Splits are stratified by class; the standardiser is fitted on the training split only.
    ``standardize_targets`` (by default as ``standardize``) does the same for regression
    targets: ``y_*`` are then standardised and ``Splits.original_targets`` maps them back.

    >>> s = load_dataset("moons", n_samples=200, seed=1)
    >>> len(s.X_train), len(s.X_val), len(s.X_test), s.feature_names
    (140, 30, 30, ['x1', 'x2'])
    """
    path = Path(name)
    if name in _DESCRIPTIONS:
        gen = np.random.default_rng([seed, 0])
        synthetic = name in ("xor", "moons", "circles", "spiral")
        table = _synthetic_table(name, n_samples, noise, gen) if synthetic else _sklearn_table(name)
    elif path.suffix.lower() in (".csv", ".tsv", ".txt") or path.is_file():
        table = load_csv(path, target, delimiter="\t" if path.suffix.lower() == ".tsv" else None)
    elif path.is_dir():
        return load_mnist(path, seed=seed, val_fraction=val_fraction, standardize=standardize)
    else:
        raise ValueError(
            f"unknown dataset {name!r}: not a file or directory, and not one of "
            f"{', '.join(_DESCRIPTIONS)}"
        )
    if standardize_targets is None:
        standardize_targets = standardize
    return _make_splits(table, seed, val_fraction, test_fraction, standardize, standardize_targets)


def load_mnist(
    directory: str | Path,
    *,
    seed: int = 0,
    val_fraction: float = 0.1,
    flatten: bool = True,
    standardize: bool = False,
) -> Splits:
    """MNIST or Fashion-MNIST from its four IDX files; pixels scaled to [0, 1] as float32.

    Images come flattened to ``(n, 784)`` or, with ``flatten=False``, as ``(n, 1, 28, 28)``.
    The validation split is carved from the training files (stratified); the test split is
    the t10k files. Example: ``load_mnist("~/data/fashion-mnist").X_train.shape``.
    """
    directory = Path(directory).expanduser()
    parts = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images = load_idx(_find_idx(directory, f"{prefix}-images-idx3-ubyte"))
        labels = load_idx(_find_idx(directory, f"{prefix}-labels-idx1-ubyte"))
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DataError(
                f"{directory}: {prefix} images {images.shape} and labels "
                f"{labels.shape} do not match (expected (n, rows, cols) and (n,))"
            )
        if len(images) == 0 or images[0].size == 0:
            raise DataError(f"{directory}: the {prefix} images {images.shape} hold no pixels")
        if labels.dtype.kind == "f" or labels.min() < 0:
            raise DataError(
                f"{directory}: the {prefix} labels must be class numbers 0, 1, ...; "
                f"they are {labels.dtype} from {labels.min()} to {labels.max()}"
            )
        if images.dtype.kind == "f" and np.abs(images).max() > np.finfo(np.float32).max:
            raise DataError(f"{directory}: the {prefix} images hold values beyond float32's range")
        X = images.astype(np.float32) / 255.0
        parts[split] = (X.reshape(len(X), -1) if flatten else X[:, None], labels.astype(np.int64))
    (X, y), (X_test, y_test) = parts["train"], parts["test"]
    train, val, _ = _split_indices(y, True, np.random.default_rng([seed, 1]), val_fraction, 0.0)
    st = Standardizer.fit(X[train]) if standardize else None
    norm = st if st else (lambda a: a)
    rows, cols = images.shape[1:]
    num_classes = int(max(y.max(), y_test.max())) + 1
    return Splits(
        name=directory.name,
        task="classification",
        X_train=norm(X[train]),
        y_train=y[train],
        X_val=norm(X[val]),
        y_val=y[val],
        X_test=norm(X_test),
        y_test=y_test,
        num_classes=num_classes,
        feature_names=[f"pixel_{r}_{c}" for r in range(rows) for c in range(cols)],
        class_names=[str(c) for c in range(num_classes)],
        standardizer=st,
        seed=seed,
        target_name="label",
    )
