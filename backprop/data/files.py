"""Data files: numeric CSV (read into a :class:`Table`) and IDX, the MNIST format.

No file is ever unpickled: both formats are parsed here, and every problem is a
:class:`DataError` naming the file (and line, column).
"""

from __future__ import annotations

import csv
import gzip
import io
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
MAX_FIELD = 10_000  # characters: no number is longer; a longer field means this is not our CSV
_DELIMITERS = (",", ";", "\t", "|")
_F32_MAX = float(np.finfo(np.float32).max)


def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def cell_value(path: Path, line: int, column: str, cell: str) -> float:
    """A cell as a number that float32 holds, or a :class:`DataError` naming the cell."""
    value = _number(cell)
    if value is not None and math.isfinite(value) and abs(value) <= _F32_MAX:
        return value
    if cell == "":
        problem = "is empty (missing values are not supported)"
    elif value is None:
        problem = "is not a number"
    elif not math.isfinite(value):
        problem = "is not a finite number"
    else:
        problem = f"is beyond float32's range (+-{_F32_MAX:.4g})"
    raise DataError(f"{path} line {line}, {column}: {cell[:40]!r} {problem}")


def _text(path: Path) -> str:
    """The file as text, refusing what is not UTF-8 text (binary files, other encodings)."""
    if not path.is_file():
        if path.is_dir():
            raise DataError(f"{path} is a directory, not a CSV file")
        raise FileNotFoundError(f"{path}: no such file")
    with open(path, "rb") as f:
        raw = f.read()
    if b"\0" in raw[:65536]:
        raise DataError(f"{path} is a binary file, not CSV text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise DataError(
            f"{path} line {line}: byte 0x{raw[e.start]:02x} is not UTF-8; save the file as "
            "UTF-8 text"
        ) from None


def _sniff(path: Path, text: str) -> str:
    """The delimiter that splits the first lines into the same number (> 1) of fields, or
    ``,`` for a one-column file; a :class:`DataError` when two delimiters would do."""
    lines = [ln for ln in text.splitlines()[:20] if ln.strip()]
    fits = []
    for d in _DELIMITERS:
        try:
            counts = {len(r) for r in csv.reader(lines, delimiter=d)}
        except csv.Error:
            continue
        if len(counts) == 1 and counts.pop() > 1:
            fits.append(d)
    if len(fits) > 1 and "," in fits:
        fits = [","]  # 1,5;2,5 is ambiguous; commas are the format's own delimiter
    if len(fits) > 1:
        shown = " and ".join(repr(d) for d in fits)
        raise DataError(f"{path}: cannot tell the delimiter ({shown} both fit); use commas")
    return fits[0] if fits else ","


def read_rows(path: str | Path, delimiter: str | None = None) -> tuple[list, str]:
    """The non-blank rows of a CSV file as ``[(line number, [cells])]`` and the delimiter
    (detected among ``, ; tab |`` when None). Problems are :class:`DataError` naming the
    file and line."""
    path = Path(path)
    text = _text(path)
    if delimiter is None:
        delimiter = _sniff(path, text)
    old = csv.field_size_limit(MAX_FIELD)
    rows = []
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        for r in reader:
            if any(map(str.strip, r)):
                rows.append((reader.line_num, [c.strip() for c in r]))
    except csv.Error as e:
        raise DataError(
            f"{path} line {reader.line_num}: not a readable CSV row ({e}; fields longer "
            f"than {MAX_FIELD} characters are refused)"
        ) from None
    finally:
        csv.field_size_limit(old)
    return rows, delimiter


def _looks_like_header(first: list[str], second: list[str] | None) -> bool:
    # A header has a name where the data below it has a number.
    if second is None:
        return all(_number(c) is None for c in first)
    return any(_number(a) is None and _number(b) is not None for a, b in zip(first, second))


def _label(cell: str) -> str:
    """A numeric label's canonical spelling, so that 1, 1.0 and 1e0 are one class."""
    value = _number(cell)
    if value is None or not math.isfinite(value):
        return cell
    return str(int(value)) if value.is_integer() else repr(value)


def load_csv(
    path: str | Path,
    target: str | int = -1,
    *,
    delimiter: str | None = None,
    header: bool | None = None,
    task: str | None = None,
) -> Table:
    """Read a numeric CSV file; ``target`` (a column name or index, default the last) is the label.

    ``delimiter=None`` detects ``,``, ``;``, tab or ``|``. ``header=None`` detects a header
    row. ``task=None`` picks classification when the target has text labels, or at most 20
    distinct integer values, and regression otherwise. Labels become classes 0, 1, ... in
    sorted order, kept in ``class_names`` (numeric labels by value: ``1`` and ``1.0`` are one
    class). Values must be finite and within float32's range.

    >>> import tempfile, os
    >>> f = os.path.join(tempfile.mkdtemp(), "pets.csv")
    >>> _ = open(f, "w").write("weight,legs,kind\\n4.0,4,cat\\n30,4,dog\\n0.1,2,bird\\n")
    >>> t = load_csv(f, target="kind")
    >>> t.X.tolist(), t.y.tolist(), t.class_names
    ([[4.0, 4.0], [30.0, 4.0], [0.10000000149011612, 2.0]], [1, 2, 0], ['bird', 'cat', 'dog'])
    """
    path = Path(path)
    rows, delimiter = read_rows(path, delimiter)
    if not rows:
        raise DataError(f"{path} has no data")
    if header is None:
        header = _looks_like_header(rows[0][1], rows[1][1] if len(rows) > 1 else None)
    width, first_line = len(rows[0][1]), rows[0][0]
    names = rows[0][1] if header else [f"x{j}" for j in range(width)]
    rows = rows[1:] if header else rows
    if not rows:
        raise DataError(f"{path} has a header but no data rows")
    if width < 2:
        raise DataError(
            f"{path} has a single column: it needs at least one feature column and a target "
            "column (the last), separated by commas"
        )
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

    features = [j for j in range(width) if j != t]
    X = np.array(
        [[cell_value(path, ln, column(j), row[j]) for j in features] for ln, row in rows],
        np.float32,
    )
    labels = [row[t] for _, row in rows]
    numeric = all(_number(c) is not None for c in labels)
    if task is None:
        values = np.array([float(c) for c in labels]) if numeric else None
        few_ints = (
            numeric
            and bool(np.isfinite(values).all())
            and (values == np.round(values)).all()
            and len({_label(c) for c in labels}) <= 20
        )
        task = "classification" if (not numeric or few_ints) else "regression"
    if task == "regression":
        y = np.array([cell_value(path, ln, column(t), row[t]) for ln, row in rows], np.float32)
        y, classes = y[:, None], None
    elif task == "classification":
        labels = [_label(c) for c in labels] if numeric else labels
        if numeric:
            for (ln, _), c in zip(rows, labels):
                if c in ("nan", "inf", "-inf") or _number(c) is None:
                    cell_value(path, ln, column(t), c)  # raises, naming the cell
        uniq = sorted(set(labels), key=(float if numeric else str))
        if len(uniq) < 2:
            raise DataError(
                f"{path}: every one of the {len(labels)} rows has the label {uniq[0]!r} in "
                f"{column(t)}; classification needs at least two classes"
            )
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


def load_idx(path: str | Path, max_bytes: int | None = None) -> np.ndarray:
    """Read an IDX file (as MNIST and Fashion-MNIST ship), gzipped or not, into an array.

    The header is read first and the size it declares checked against the file (and, for a
    gzipped file, against ``max_bytes``, by default the memory available) before the values
    are read, as a stream bounded by that size: a file that decompresses to more than its
    header says is refused without being decompressed whole. Float values must be finite.

    >>> import tempfile, os, struct
    >>> f = os.path.join(tempfile.mkdtemp(), "labels-idx1-ubyte")
    >>> _ = open(f, "wb").write(bytes([0, 0, 8, 1]) + struct.pack(">I", 3) + bytes([7, 2, 1]))
    >>> load_idx(f)
    array([7, 2, 1], dtype=uint8)
    """
    path = Path(path)
    if not path.is_file():
        if path.exists():
            raise DataError(f"{path} is not a regular file")
        raise FileNotFoundError(f"{path}: no such file")
    with open(path, "rb") as raw_file:
        gzipped = raw_file.read(2) == b"\x1f\x8b"  # the gzip magic, whatever the file is called
    opener = gzip.open if gzipped else open
    try:
        with opener(path, "rb") as f:
            return _read_idx(path, f, gzipped, max_bytes)
    except (OSError, EOFError, zlib.error) as e:
        if not gzipped:
            raise
        raise DataError(f"{path} is a damaged gzip file: {e}") from None


def _read_idx(path: Path, f, gzipped: bool, max_bytes: int | None) -> np.ndarray:
    magic = f.read(4)
    if len(magic) < 4 or magic[:2] != b"\0\0" or magic[2] not in _IDX_TYPES or magic[3] == 0:
        raise DataError(
            f"{path} is not an IDX file: it starts with {magic.hex(' ') or 'nothing'}"
            ", expected 00 00, a type code (08 09 0b 0c 0d 0e) and a dimension count"
        )
    ndim = magic[3]
    dims = f.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise DataError(f"{path} is truncated: its header is cut short ({4 + len(dims)} bytes)")
    shape = struct.unpack(f">{ndim}I", dims)
    dtype = np.dtype(_IDX_TYPES[magic[2]])
    size = math.prod(shape) * dtype.itemsize
    start = 4 + 4 * ndim
    if not gzipped:
        have = path.stat().st_size - start
        if have != size:
            what = "truncated" if have < size else "longer than its header says"
            raise DataError(
                f"{path} is {what}: shape {shape} of {dtype.name} needs {start + size} bytes, "
                f"the file has {start + have}"
            )
    else:
        if max_bytes is None:
            from ..backend import available_memory

            max_bytes = available_memory() or 2**34
        if size > max_bytes:
            raise DataError(
                f"{path}: its header declares shape {shape} ({size / 2**30:.1f} GiB of "
                f"{dtype.name} once decompressed), more than the {max_bytes / 2**30:.1f} GiB "
                "of memory available"
            )
    data = f.read(size)
    if len(data) < size:
        raise DataError(
            f"{path} is truncated: shape {shape} of {dtype.name} needs {start + size} bytes, "
            f"the {'decompressed ' if gzipped else ''}file has {start + len(data)}"
        )
    if gzipped and f.read(1):
        raise DataError(
            f"{path} is longer than its header says: shape {shape} of {dtype.name} needs "
            f"{start + size} bytes once decompressed, and there is more"
        )
    out = np.frombuffer(data, dtype).reshape(shape).astype(dtype.newbyteorder("="))
    if dtype.kind == "f":
        bad = ~np.isfinite(out)
        if bad.any():
            index = tuple(int(i) for i in np.argwhere(bad)[0])
            raise DataError(f"{path}: the value at index {index} is {out[index]}, not finite")
    return out


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
