"""Data files: numeric CSV (read into a :class:`Table`) and IDX, the MNIST format.

No file is ever unpickled: both formats are parsed here, and every problem is a
:class:`DataError` naming the file (and line, column).
"""

from __future__ import annotations

import csv
import gzip
import math
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["DataError", "Table", "load_csv", "load_idx"]


class DataError(ValueError):
    """A data file that cannot be used; the message names the file (and line, column)."""


@dataclass
class Table:
    """Features and targets before splitting, as read from a CSV file or a generator.

    ``y`` holds class indices (int64, shape ``(n,)``) for classification and float32 values of
    shape ``(n, 1)`` for regression, so it matches a model's output without broadcasting.
    """

    X: np.ndarray
    y: np.ndarray
    task: str
    feature_names: list[str]
    class_names: list[str] | None = None
    name: str = ""
    target_name: str = "target"


# ---------------------------------------------------------------------------------------------
# CSV files
# ---------------------------------------------------------------------------------------------
def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def _looks_like_header(first: list[str], second: list[str] | None) -> bool:
    # A header has a name where the data below it has a number.
    if second is None:
        return all(_number(c) is None for c in first)
    return any(_number(a) is None and _number(b) is not None for a, b in zip(first, second))


def load_csv(
    path: str | Path,
    target: str | int = -1,
    *,
    delimiter: str = ",",
    header: bool | None = None,
    task: str | None = None,
) -> Table:
    """Read a numeric CSV file; ``target`` (a column name or index, default the last) is the label.

    ``header=None`` detects a header row. ``task=None`` picks classification when the target
    has text labels, or at most 20 distinct integer values, and regression otherwise. Text
    labels become classes 0, 1, ... in sorted order, kept in ``class_names``.

    >>> import tempfile, os
    >>> f = os.path.join(tempfile.mkdtemp(), "pets.csv")
    >>> _ = open(f, "w").write("weight,legs,kind\\n4.0,4,cat\\n30,4,dog\\n0.1,2,bird\\n")
    >>> t = load_csv(f, target="kind")
    >>> t.X.tolist(), t.y.tolist(), t.class_names
    ([[4.0, 4.0], [30.0, 4.0], [0.10000000149011612, 2.0]], [1, 2, 0], ['bird', 'cat', 'dog'])
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f, delimiter=delimiter)
        rows = [(reader.line_num, [c.strip() for c in r]) for r in reader if any(map(str.strip, r))]
    if not rows:
        raise DataError(f"{path} has no data")
    if header is None:
        header = _looks_like_header(rows[0][1], rows[1][1] if len(rows) > 1 else None)
    width, first_line = len(rows[0][1]), rows[0][0]
    names = rows[0][1] if header else [f"x{j}" for j in range(width)]
    rows = rows[1:] if header else rows
    if not rows:
        raise DataError(f"{path} has a header but no data rows")
    for line, row in rows:
        if len(row) != width:
            raise DataError(
                f"{path} line {line} has {len(row)} fields, expected {width} "
                f"(as on line {first_line})"
            )

    if isinstance(target, str) and target in names:
        t = names.index(target)
    elif isinstance(target, int) and -width <= target < width:
        t = target % width
    else:
        have = ", ".join(repr(n) for n in names) if header else f"{width} unnamed columns"
        raise DataError(f"{path} has no column {target!r}; it has {have}")

    def column(j: int) -> str:
        return f"column {names[j]!r}" if header else f"column {j}"

    def parse(line: int, j: int, cell: str) -> float:
        value = _number(cell)
        if value is None or not math.isfinite(value):
            problem = (
                "is empty (missing values are not supported)"
                if cell == ""
                else "is not a number"
                if value is None
                else "is not a finite number"
            )
            raise DataError(f"{path} line {line}, {column(j)}: {cell!r} {problem}")
        return value

    features = [j for j in range(width) if j != t]
    X = np.array([[parse(ln, j, row[j]) for j in features] for ln, row in rows], np.float32)
    labels = [row[t] for _, row in rows]
    numeric = all(_number(c) is not None for c in labels)
    if task is None:
        values = np.array([float(c) for c in labels]) if numeric else None
        few_ints = numeric and (values == np.round(values)).all() and len(set(labels)) <= 20
        task = "classification" if (not numeric or few_ints) else "regression"
    if task == "regression":
        y = np.array([parse(ln, t, row[t]) for ln, row in rows], np.float32)[:, None]
        classes = None
    elif task == "classification":
        uniq = sorted(set(labels), key=(float if numeric else str))
        classes, lookup = uniq, {c: i for i, c in enumerate(uniq)}
        y = np.array([lookup[c] for c in labels], np.int64)
    else:
        raise ValueError(f"task must be 'classification', 'regression' or None, got {task!r}")
    return Table(X, y, task, [names[j] for j in features], classes, path.stem, names[t])


# ---------------------------------------------------------------------------------------------
# IDX files (the MNIST format)
# ---------------------------------------------------------------------------------------------
# Magic number: two zero bytes, a type code, the number of dimensions; then one big-endian
# uint32 per dimension, then the values, big-endian, C order.
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def load_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (as MNIST and Fashion-MNIST ship), gzipped or not, into an array.

    >>> import tempfile, os, struct
    >>> f = os.path.join(tempfile.mkdtemp(), "labels-idx1-ubyte")
    >>> _ = open(f, "wb").write(bytes([0, 0, 8, 1]) + struct.pack(">I", 3) + bytes([7, 2, 1]))
    >>> load_idx(f)
    array([7, 2, 1], dtype=uint8)
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":  # the gzip magic, whatever the file is called
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise DataError(f"{path} is a damaged gzip file: {e}") from None
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] not in _IDX_TYPES or raw[3] == 0:
        raise DataError(
            f"{path} is not an IDX file: it starts with {raw[:4].hex(' ') or 'nothing'}"
            ", expected 00 00, a type code (08 09 0b 0c 0d 0e) and a dimension count"
        )
    ndim, start = raw[3], 4 + 4 * raw[3]
    if len(raw) < start:
        raise DataError(f"{path} is truncated: its header is cut short ({len(raw)} bytes)")
    shape = struct.unpack(f">{ndim}I", raw[4:start])
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = start + math.prod(shape) * dtype.itemsize
    if len(raw) != expected:
        what = "truncated" if len(raw) < expected else "longer than its header says"
        raise DataError(
            f"{path} is {what}: shape {shape} of {dtype.name} needs {expected} bytes, "
            f"the file has {len(raw)}"
        )
    return np.frombuffer(raw, dtype, offset=start).reshape(shape).astype(dtype.newbyteorder("="))


def _find_idx(directory: Path, stem: str) -> Path:
    # Mirrors spell the names either "train-images-idx3-ubyte" or "train-images.idx3-ubyte".
    dotted = stem.replace("-idx", ".idx")
    for name in (stem, stem + ".gz", dotted, dotted + ".gz"):
        if (directory / name).is_file():
            return directory / name
    raise FileNotFoundError(
        f"{directory} has no {stem} (nor {stem}.gz): expected the four MNIST "
        "files train-images-idx3-ubyte, train-labels-idx1-ubyte, "
        "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte"
    )
