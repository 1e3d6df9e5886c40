"""Tests for graphssl.datasets.planetoid: a hand-made fixture and the real files."""

from __future__ import annotations

import collections
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from graphssl.datasets import PlanetoidData, find_planetoid_root, load_planetoid
from graphssl.graph import Graph

# ----------------------------------------------------------------- tiny fixture
# 8 nodes, 2 classes, 3 features. allx/ally hold nodes 0..3 (x/y the first 2), the
# test ids cover 4..7 shuffled, and node 6 is missing from tx/ty like CiteSeer's
# isolated nodes.
TEST_INDEX = [7, 4, 5]
ALLX = np.array([[1, 0, 0], [0, 2, 0], [0, 0, 3], [1, 1, 0]], dtype=np.float32)
ALLY = np.array([[1, 0], [0, 1], [1, 0], [0, 1]], dtype=np.int32)
TX = np.array([[7, 7, 0], [4, 0, 4], [0, 5, 5]], dtype=np.float32)  # nodes 7, 4, 5
TY = np.array([[0, 1], [1, 0], [0, 1]], dtype=np.int32)
# Duplicates (0->1 twice), a self-loop (2->2), one-way entries (3->7 only) and an
# isolated node 6.
ADJ = {0: [1, 1, 2], 1: [0], 2: [0, 2], 3: [7], 4: [5], 5: [4], 6: [], 7: []}
EXPECTED_EDGES = {(0, 1), (1, 0), (0, 2), (2, 0), (3, 7), (7, 3), (4, 5), (5, 4)}


def _write(path: Path, obj: object) -> None:
    with path.open("wb") as f:
        pickle.dump(obj, f, protocol=2)  # the raw files are protocol-2 pickles


def _write_fake(raw: Path, name: str = "cora") -> None:
    raw.mkdir(parents=True, exist_ok=True)
    parts = {
        "x": sp.csr_matrix(ALLX[:2]),
        "y": ALLY[:2],
        "tx": sp.csr_matrix(TX),
        "ty": TY,
        "allx": sp.csr_matrix(ALLX),
        "ally": ALLY,
        "graph": collections.defaultdict(list, ADJ),
    }
    for part, obj in parts.items():
        _write(raw / f"ind.{name}.{part}", obj)
    (raw / f"ind.{name}.test.index").write_text("\n".join(map(str, TEST_INDEX)) + "\n")


@pytest.fixture
def fake_root(tmp_path: Path) -> Path:
    _write_fake(tmp_path / "Cora" / "raw")
    return tmp_path


def test_load_planetoid_fixture_scatters_test_rows(fake_root: Path) -> None:
    data = load_planetoid(fake_root, "cora", num_val=2)
    expected_x = np.zeros((8, 3), dtype=np.float32)
    expected_x[:4] = ALLX
    expected_x[[7, 4, 5]] = TX
    assert data.x.dtype == torch.float32
    assert torch.equal(data.x, torch.from_numpy(expected_x))
    assert data.y.tolist() == [0, 1, 0, 1, 0, 1, -1, 1]  # node 6 has no label
    assert data.num_classes == 2
    assert data.name == "Cora"


def test_load_planetoid_fixture_masks(fake_root: Path) -> None:
    data = load_planetoid(fake_root, "cora", num_val=2)
    assert torch.nonzero(data.train_mask).flatten().tolist() == [0, 1]
    assert torch.nonzero(data.val_mask).flatten().tolist() == [2, 3]
    assert torch.nonzero(data.test_mask).flatten().tolist() == [4, 5, 7]
    # The standard 500 validation nodes are cut at N.
    full = load_planetoid(fake_root, "cora")
    assert torch.nonzero(full.val_mask).flatten().tolist() == list(range(2, 8))


def test_load_planetoid_fixture_graph(fake_root: Path) -> None:
    data = load_planetoid(fake_root, "cora")
    ei = data.edge_index
    assert ei.dtype == torch.int64
    assert set(map(tuple, ei.t().tolist())) == EXPECTED_EDGES
    assert data.num_edges == len(EXPECTED_EDGES)  # no duplicates
    # Sorted by target, then source.
    keys = (ei[1] * data.num_nodes + ei[0]).tolist()
    assert keys == sorted(keys)
    g = data.graph()
    assert isinstance(g, Graph)
    assert g.num_nodes == 8
    assert g.is_symmetric()
    assert torch.equal(g.edge_weight, torch.ones(len(EXPECTED_EDGES)))


def test_load_planetoid_fixture_normalize_features(fake_root: Path) -> None:
    data = load_planetoid(fake_root, "cora", normalize_features=True)
    sums = data.x.sum(dim=1)
    assert torch.allclose(sums[[0, 1, 2, 3, 4, 5, 7]], torch.ones(7))
    assert float(sums[6]) == 0.0  # the all-zero row of the missing node stays zero


@pytest.mark.parametrize("sub", ["", "Cora", "Cora/raw"])
@pytest.mark.parametrize("name", ["cora", "CORA", "Cora"])
def test_load_planetoid_root_layouts(fake_root: Path, sub: str, name: str) -> None:
    data = load_planetoid(str(fake_root / sub) if sub else fake_root, name)
    assert data.num_nodes == 8


def test_load_planetoid_parent_folder_case_insensitive(tmp_path: Path) -> None:
    _write_fake(tmp_path / "cora" / "raw")
    assert load_planetoid(tmp_path, "Cora").num_nodes == 8


def test_load_planetoid_missing_dataset(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"ind\.citeseer\.x.*CiteSeer/raw/"):
        load_planetoid(tmp_path, "citeseer")


def test_load_planetoid_missing_file(fake_root: Path) -> None:
    (fake_root / "Cora" / "raw" / "ind.cora.ty").unlink()
    with pytest.raises(FileNotFoundError, match=r"raw/ind\.cora\.ty not found"):
        load_planetoid(fake_root, "cora")


def test_load_planetoid_bad_name(fake_root: Path) -> None:
    msg = r"The 'name' parameter of load_planetoid must be one of 'cora'.*Got 'reddit'"
    with pytest.raises(ValueError, match=msg):
        load_planetoid(fake_root, "reddit")


def test_load_planetoid_bad_root_type() -> None:
    with pytest.raises(TypeError, match="'root' parameter of load_planetoid"):
        load_planetoid(3, "cora")  # type: ignore[arg-type]


def test_load_planetoid_inconsistent_files(fake_root: Path) -> None:
    _write(fake_root / "Cora" / "raw" / "ind.cora.ty", TY[:2])
    with pytest.raises(ValueError, match="tx has 3 rows but ty has 2"):
        load_planetoid(fake_root, "cora")


class _Evil:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("echo pwned",))


def test_load_planetoid_refuses_foreign_globals(fake_root: Path) -> None:
    _write(fake_root / "Cora" / "raw" / "ind.cora.graph", _Evil())
    with pytest.raises(pickle.UnpicklingError, match="Refusing to load"):
        load_planetoid(fake_root, "cora")


def test_planetoid_data_repr_and_pyg(fake_root: Path) -> None:
    data = load_planetoid(fake_root, "cora")
    assert repr(data) == (
        "PlanetoidData(name='Cora', num_nodes=8, num_edges=8, num_features=3, "
        "num_classes=2)"
    )
    pyg = data.to_pyg()
    assert pyg.num_nodes == 8
    for key in ("x", "edge_index", "y", "train_mask", "val_mask", "test_mask"):
        assert torch.equal(getattr(pyg, key), getattr(data, key))


def test_find_planetoid_root_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GRAPHSSL_PLANETOID_ROOT", str(tmp_path))
    assert find_planetoid_root() == tmp_path.resolve()


# ------------------------------------------------------------------ real files
COUNTS = {
    # name: (nodes, directed edges, features, classes, train, val, test)
    "cora": (2708, 10556, 1433, 7, 140, 500, 1000),
    "citeseer": (3327, 9104, 3703, 6, 120, 500, 1000),
}
FOLDER = {"cora": "Cora", "citeseer": "CiteSeer"}


@pytest.fixture(scope="module", params=sorted(COUNTS))
def real(request: pytest.FixtureRequest) -> tuple[str, Path, PlanetoidData]:
    name = request.param
    root = find_planetoid_root()
    if root is None or not (root / FOLDER[name] / "raw").is_dir():
        pytest.skip(f"raw Planetoid files of {name} not found")
    return name, root, load_planetoid(root, name)


def test_real_counts(real: tuple[str, Path, PlanetoidData]) -> None:
    name, _, data = real
    n, e, f, c, n_train, n_val, n_test = COUNTS[name]
    assert (data.num_nodes, data.num_edges, data.num_features) == (n, e, f)
    assert data.num_classes == c
    assert data.x.shape == (n, f)
    assert int(data.train_mask.sum()) == n_train
    assert int(data.val_mask.sum()) == n_val
    assert int(data.test_mask.sum()) == n_test
    assert not bool((data.train_mask & data.val_mask).any())
    assert not bool(((data.train_mask | data.val_mask) & data.test_mask).any())
    # 20 training labels per class.
    assert torch.bincount(data.y[data.train_mask], minlength=c).tolist() == [20] * c
    assert bool((data.y[data.train_mask | data.val_mask | data.test_mask] >= 0).all())
    assert data.graph().is_symmetric()
    assert not bool((data.edge_index[0] == data.edge_index[1]).any())


def test_real_citeseer_isolated_nodes(real: tuple[str, Path, PlanetoidData]) -> None:
    name, _, data = real
    unlabelled = data.y == -1
    assert int(unlabelled.sum()) == (15 if name == "citeseer" else 0)
    assert float(data.x[unlabelled].abs().sum()) == 0.0


def test_real_matches_pyg_reader(real: tuple[str, Path, PlanetoidData]) -> None:
    io = pytest.importorskip("torch_geometric.io")
    if not hasattr(io, "read_planetoid_data"):
        pytest.skip("torch_geometric.io.read_planetoid_data is not available")
    name, root, data = real
    ref = io.read_planetoid_data(str(root / FOLDER[name] / "raw"), name)
    assert torch.equal(data.x, ref.x)
    labelled = data.y >= 0
    assert torch.equal(data.y[labelled], ref.y[labelled])
    assert torch.equal(data.edge_index, ref.edge_index)
    for mask in ("train_mask", "val_mask", "test_mask"):
        assert torch.equal(getattr(data, mask), getattr(ref, mask))


def test_real_normalize_features(real: tuple[str, Path, PlanetoidData]) -> None:
    name, root, data = real
    norm = load_planetoid(root, name, normalize_features=True)
    sums = norm.x.sum(dim=1)
    nonzero = data.x.sum(dim=1) > 0
    assert torch.allclose(sums[nonzero], torch.ones(int(nonzero.sum())), atol=1e-5)
