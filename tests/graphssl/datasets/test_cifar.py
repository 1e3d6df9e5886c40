"""CIFAR-10 loader on a tiny fixture written in the python-pickle batch format."""

from __future__ import annotations

import collections
import pickle
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from graphssl.datasets import CIFAR10Split, load_cifar10, read_cifar_batch

NAMES = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
]
PER_BATCH = 3


def _batch(seed: int, n: int = PER_BATCH) -> dict[bytes, Any]:
    """A batch dict exactly as the official files hold it (bytes keys)."""
    rng = np.random.default_rng(seed)
    return {
        b"batch_label": f"batch {seed}".encode(),
        b"labels": [int(v) for v in rng.integers(0, 10, n)],
        b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
        b"filenames": [f"img_{seed}_{i}.png".encode() for i in range(n)],
    }


def _dump(obj: Any, path: Path) -> None:
    with path.open("wb") as f:
        pickle.dump(obj, f, protocol=2)  # the protocol of the distributed files


@pytest.fixture
def cifar_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for i in range(1, 6):
        _dump(_batch(i), folder / f"data_batch_{i}")
    _dump(_batch(0, n=2), folder / "test_batch")
    meta = {b"label_names": [n.encode() for n in NAMES], b"num_cases_per_batch": 3}
    _dump(meta, folder / "batches.meta")
    return folder


def test_pixel_layout(tmp_path: Path) -> None:
    # Rows hold the R, G and B planes, each 32x32 row-major: flat index c*1024+r*32+col.
    data = np.zeros((2, 3072), dtype=np.uint8)
    data[0, 0 * 1024 + 0 * 32 + 5] = 255  # image 0, red, row 0, column 5
    data[1, 2 * 1024 + 31 * 32 + 0] = 51  # image 1, blue, row 31, column 0
    _dump({b"data": data, b"labels": [3, 9]}, tmp_path / "b")
    x, y = read_cifar_batch(tmp_path / "b")
    assert x.shape == (2, 3, 32, 32) and x.dtype == torch.float32
    assert y.tolist() == [3, 9] and y.dtype == torch.int64
    assert x[0, 0, 0, 5] == 1.0 and x[1, 2, 31, 0] == pytest.approx(0.2)
    assert float(x.sum()) == pytest.approx(1.2)  # nothing else is set


def test_load_train_and_test(cifar_dir: Path) -> None:
    train = load_cifar10(cifar_dir)
    assert isinstance(train, CIFAR10Split)
    assert train.x.shape == (5 * PER_BATCH, 3, 32, 32)
    assert train.classes == tuple(NAMES)
    # batches in order 1..5, pixels scaled by 1/255
    want_y = [v for i in range(1, 6) for v in _batch(i)[b"labels"]]
    assert train.y.tolist() == want_y
    want_x = np.concatenate([_batch(i)[b"data"] for i in range(1, 6)]) / 255.0
    torch.testing.assert_close(
        train.x.reshape(15, -1).double(), torch.from_numpy(want_x)
    )
    assert float(train.x.min()) >= 0.0 and float(train.x.max()) <= 1.0

    test = load_cifar10(cifar_dir.parent, split="test")  # the parent folder works too
    assert test.x.shape == (2, 3, 32, 32)
    assert test.y.tolist() == _batch(0, n=2)[b"labels"]
    assert "x=[2, 3, 32, 32]" in repr(test)


def _py2_pickle(data: np.ndarray, labels: list[int]) -> bytes:
    """The opcodes Python 2's cPickle (protocol 2) writes for a CIFAR batch dict:
    py2 ``str`` keys, dtype code and pixel buffer (SHORT_BINSTRING / BINSTRING)."""
    out = bytearray(b"\x80\x02}(U\x04data")
    out += (
        b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85U\x01b\x87R"
    )
    out += (
        b"(K\x01J" + struct.pack("<i", data.shape[0]) + b"J" + struct.pack("<i", 3072)
    )
    out += b"\x86cnumpy\ndtype\nU\x02u1K\x00K\x01\x87R"
    out += b"(K\x03U\x01|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
    out += b"\x89T" + struct.pack("<i", data.nbytes) + data.tobytes() + b"tb"
    out += b"U\x06labels](" + b"".join(b"K" + bytes([v]) for v in labels) + b"eu."
    return bytes(out)


def test_python2_written_file(tmp_path: Path) -> None:
    data = np.random.default_rng(0).integers(0, 256, (2, 3072), dtype=np.uint8)
    (tmp_path / "py2_batch").write_bytes(_py2_pickle(data, [4, 8]))
    x, y = read_cifar_batch(tmp_path / "py2_batch")
    assert y.tolist() == [4, 8]
    assert torch.equal(
        (x * 255).round().to(torch.uint8).reshape(2, -1), torch.from_numpy(data)
    )


def test_str_keys_accepted(tmp_path: Path) -> None:
    b = _batch(7)
    _dump({k.decode(): v for k, v in b.items()}, tmp_path / "b")
    x, y = read_cifar_batch(str(tmp_path / "b"))
    assert y.tolist() == b[b"labels"] and x.shape[0] == PER_BATCH


def test_missing_files(cifar_dir: Path, tmp_path: Path) -> None:
    (cifar_dir / "data_batch_3").unlink()
    with pytest.raises(FileNotFoundError, match="data_batch_3"):
        load_cifar10(cifar_dir)
    load_cifar10(cifar_dir, split="test")  # the test split does not need it
    with pytest.raises(FileNotFoundError, match="No CIFAR-10 batches found"):
        load_cifar10(tmp_path / "nowhere")
    (cifar_dir / "batches.meta").unlink()
    with pytest.raises(FileNotFoundError, match=r"batches\.meta"):
        load_cifar10(cifar_dir, split="test")


def test_truncated_and_corrupt(cifar_dir: Path) -> None:
    f = cifar_dir / "data_batch_2"
    f.write_bytes(f.read_bytes()[:500])
    with pytest.raises(ValueError, match="data_batch_2' is truncated or corrupt"):
        load_cifar10(cifar_dir)
    f.write_bytes(b"\x00garbage" * 10)
    with pytest.raises(ValueError, match="data_batch_2' is truncated or corrupt"):
        read_cifar_batch(f)
    # a global a CIFAR file has no use for is refused, not executed
    _dump(collections.OrderedDict(a=1), f)
    with pytest.raises(
        ValueError, match=r"refusing to load 'collections\.OrderedDict'"
    ):
        read_cifar_batch(f)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ([1, 2], "does not hold a dict"),
        ({b"labels": [1]}, "has no 'data' entry"),
        ({b"data": np.zeros((1, 3072), np.uint8)}, "has no 'labels' entry"),
        (
            {b"data": np.zeros((1, 100), np.uint8), b"labels": [1]},
            r"uint8 array \[n, 3072\]",
        ),
        ({b"data": np.zeros((1, 3072), np.float32), b"labels": [1]}, "dtype float32"),
        (
            {b"data": np.zeros((2, 3072), np.uint8), b"labels": [1]},
            "1 labels for 2 images",
        ),
        ({b"data": np.zeros((1, 3072), np.uint8), b"labels": [10]}, r"outside 0\.\.9"),
        (
            {b"data": np.zeros((1, 3072), np.uint8), b"labels": ["a"]},
            "non-integer labels",
        ),
    ],
)
def test_wrong_content(tmp_path: Path, content: Any, match: str) -> None:
    _dump(content, tmp_path / "bad_batch")
    with pytest.raises(ValueError, match=match) as info:
        read_cifar_batch(tmp_path / "bad_batch")
    assert "bad_batch" in str(info.value)  # the file is named


def test_bad_arguments(cifar_dir: Path) -> None:
    with pytest.raises(ValueError, match="'split' parameter of load_cifar10"):
        load_cifar10(cifar_dir, split="val")
    with pytest.raises(TypeError, match="'root' parameter of load_cifar10"):
        load_cifar10(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="'path' parameter of read_cifar_batch"):
        read_cifar_batch(None)  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError, match="nope"):
        read_cifar_batch(cifar_dir / "nope")
