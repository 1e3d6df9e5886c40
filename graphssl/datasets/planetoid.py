r"""The Planetoid citation graphs (Cora, CiteSeer, PubMed) read from their raw files.

The raw format is the one released with *Revisiting Semi-Supervised Learning with Graph
Embeddings* (Yang et al., 2016) and used by *Semi-Supervised Classification with Graph
Convolutional Networks* (Kipf & Welling, 2017): eight files ``ind.<name>.<part>``, where
``x``/``tx``/``allx`` are scipy sparse feature matrices, ``y``/``ty``/``ally`` one-hot
numpy label arrays, ``graph`` a dict of adjacency lists and ``test.index`` a text file
of node ids. ``allx`` holds nodes ``0..len(allx)-1``; row ``k`` of ``tx`` belongs to
node ``test.index[k]`` (the ids are shuffled, so rows are scattered back into place).
"""

from __future__ import annotations

import codecs
import collections
import functools
import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from graphssl._optional import require
from graphssl._validation import check_int, param_error
from graphssl.graph import Graph

__all__ = ["PlanetoidData", "find_planetoid_root", "load_planetoid"]

_NAMES = {"cora": "Cora", "citeseer": "CiteSeer", "pubmed": "PubMed"}
_PARTS = ("x", "y", "tx", "ty", "allx", "ally", "graph")


@dataclass(frozen=True, repr=False)
class PlanetoidData:
    """One Planetoid dataset with its standard (public) split.

    Args:
        x (Tensor): node features ``[N, F]``, float32.
        y (Tensor): labels ``[N]``, int64; ``-1`` for nodes the raw files give no label.
        edge_index (Tensor): ``[2, E]`` int64, symmetric, no self-loops or duplicates,
            sorted by target then source.
        train_mask (Tensor): ``[N]`` bool, the ``20 * C`` training nodes.
        val_mask (Tensor): ``[N]`` bool, the next 500 (``num_val``) nodes.
        test_mask (Tensor): ``[N]`` bool, the 1000 test nodes.
        num_classes (int): number of classes ``C``.
        name (str): ``'Cora'``, ``'CiteSeer'`` or ``'PubMed'``.
    """

    x: Tensor
    y: Tensor
    edge_index: Tensor
    train_mask: Tensor
    val_mask: Tensor
    test_mask: Tensor
    num_classes: int
    name: str

    @property
    def num_nodes(self) -> int:
        """Number of nodes ``N``."""
        return int(self.x.shape[0])

    @property
    def num_features(self) -> int:
        """Number of features ``F``."""
        return int(self.x.shape[1])

    @property
    def num_edges(self) -> int:
        """Number of directed edges ``E`` (each undirected edge counts twice)."""
        return int(self.edge_index.shape[1])

    def graph(self) -> Graph:
        """The citation graph as a :class:`~graphssl.graph.Graph` with unit weights."""
        w = torch.ones(self.num_edges, dtype=self.x.dtype)
        return Graph(self.edge_index, w, self.num_nodes)

    def to_pyg(self) -> Any:
        """A ``torch_geometric.data.Data`` with x, edge_index, y and the three masks."""
        data_mod = require("torch_geometric", "PlanetoidData.to_pyg").data
        keys = ("x", "edge_index", "y", "train_mask", "val_mask", "test_mask")
        return data_mod.Data(**{k: getattr(self, k) for k in keys})

    def __repr__(self) -> str:
        return (
            f"PlanetoidData(name={self.name!r}, num_nodes={self.num_nodes}, "
            f"num_edges={self.num_edges}, num_features={self.num_features}, "
            f"num_classes={self.num_classes})"
        )


def load_planetoid(
    root: str | os.PathLike[str],
    name: str,
    *,
    normalize_features: bool = False,
    num_val: int = 500,
) -> PlanetoidData:
    """Load a Planetoid dataset from its raw files, with the standard split.

    ``root`` may be the folder holding the ``ind.<name>.*`` files, a dataset folder
    holding ``raw/``, or a parent holding ``<Name>/raw/`` (matched case-insensitively).
    The split is the public one: training nodes ``0..len(y)-1`` (20 per class), the
    next ``num_val`` nodes for validation and the ``test.index`` nodes for test.

    CiteSeer has 15 isolated nodes inside the test id range that ``tx``/``ty`` omit.
    They get zero features and label ``-1`` (unlabelled), and are in no mask.
    PyG's reader gives them label 0 (the argmax of a zero row), which makes them look
    like class-0 nodes to code that does not check the masks; ``-1`` is the
    project-wide "unlabelled" value, so label propagation treats them as unknown.

    The files are Python 2 pickles. They are read with an unpickler that only builds
    numpy arrays, scipy sparse matrices and plain containers, so a tampered file
    cannot run code; still, load files from a trusted source only (a crafted file can
    claim huge arrays).

    Args:
        root (str or os.PathLike): where the raw files are (see above).
        name (str): ``'cora'``, ``'citeseer'`` or ``'pubmed'``, case-insensitive.
        normalize_features (bool): divide each feature row by its L1 norm (Kipf &
            Welling's preprocessing; all-zero rows stay zero). (default: ``False``)
        num_val (int): validation nodes after the training nodes. (default: ``500``)

    Returns:
        PlanetoidData: features ``[N, F]``, labels ``[N]``, edges ``[2, E]``, masks.

    Raises:
        FileNotFoundError: when a raw file is missing; the message names the file and
            the accepted layouts.
        ValueError: for an unknown ``name`` or raw files that disagree in size.
    """
    owner = "load_planetoid"
    if not isinstance(name, str) or name.lower() not in _NAMES:
        allowed = "one of 'cora', 'citeseer', 'pubmed' (case-insensitive)"
        raise param_error("name", owner, allowed, name)
    if not isinstance(root, str | os.PathLike):
        raise param_error("root", owner, "a str or os.PathLike", type(root), TypeError)
    num_val = check_int(num_val, "num_val", owner, low=0)
    key = name.lower()
    files = _raw_files(Path(root), key)
    parts = {p: _load_pickle(files[p]) for p in _PARTS}
    test_index = np.loadtxt(files["test.index"], dtype=np.int64, ndmin=1)

    n_all = parts["allx"].shape[0]
    _check_consistent(parts, test_index, n_all, key)
    n = max(n_all, int(test_index.max()) + 1)

    x = _scatter_rows(parts["allx"], parts["tx"], test_index, n, np.float32)
    if normalize_features:
        norm = np.abs(x).sum(axis=1, keepdims=True)
        np.divide(x, norm, out=x, where=norm > 0)
    labels = _scatter_rows(parts["ally"], parts["ty"], test_index, n, np.int64)
    y = np.where(labels.any(axis=1), labels.argmax(axis=1), -1)

    n_train = parts["y"].shape[0]
    val_index = np.arange(n_train, min(n_train + num_val, n))
    return PlanetoidData(
        x=torch.from_numpy(x),
        y=torch.from_numpy(y.astype(np.int64)),
        edge_index=_edges_from_adjacency(parts["graph"], n, key),
        train_mask=_mask(np.arange(n_train), n),
        val_mask=_mask(val_index, n),
        test_mask=_mask(test_index, n),
        num_classes=int(parts["ally"].shape[1]),
        name=_NAMES[key],
    )


def find_planetoid_root() -> Path | None:
    """The folder holding ``<Name>/raw/ind.<name>.*``, or ``None`` if none is found.

    Looks, in order, at ``$GRAPHSSL_PLANETOID_ROOT``,
    ``<repo>/../shared/data/planetoid`` (next to this source checkout) and
    ``../shared/data/planetoid`` relative to the working directory; the first existing
    folder wins.
    """
    candidates = [
        os.environ.get("GRAPHSSL_PLANETOID_ROOT"),
        Path(__file__).resolve().parents[2].parent / "shared" / "data" / "planetoid",
        Path.cwd().parent / "shared" / "data" / "planetoid",
    ]
    for cand in candidates:
        if cand and Path(cand).is_dir():
            return Path(cand).resolve()
    return None


def _raw_files(root: Path, key: str) -> dict[str, Path]:
    """Paths of the eight raw files, found in one of the three accepted layouts."""
    parts = (*_PARTS, "test.index")
    candidates = [root, root / "raw"]
    if root.is_dir():
        # Sorted so the choice does not depend on directory listing order.
        subdirs = sorted(p for p in root.iterdir() if p.is_dir())
        candidates += [p / "raw" for p in subdirs if p.name.lower() == key]
    raw = next((c for c in candidates if (c / f"ind.{key}.x").is_file()), None)
    files = {p: (raw or root) / f"ind.{key}.{p}" for p in parts}
    missing = [str(f) for f in files.values() if not f.is_file()]
    missing = missing if raw is not None else [f"ind.{key}.x"]
    if missing:
        raise FileNotFoundError(
            f"Planetoid file(s) {', '.join(missing[:3])} not found. Expected all of "
            f"ind.{key}.{{{','.join(parts)}}} in {root}/, {root}/raw/ or "
            f"{root}/{_NAMES[key]}/raw/."
        )
    return files


@functools.cache
def _allowed_globals() -> dict[tuple[str, str], Any]:
    import scipy.sparse as sp

    # Resolved from live objects so the numpy 1/2 module rename does not matter.
    reconstruct = np.empty(0).__reduce__()[0]
    scalar = np.float32(0).__reduce__()[0]
    allowed: dict[tuple[str, str], Any] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("collections", "defaultdict"): collections.defaultdict,
        ("collections", "OrderedDict"): collections.OrderedDict,
        # Python 3 writes bytes into protocol-2 pickles as _codecs.encode(str, codec).
        ("_codecs", "encode"): codecs.encode,
    }
    for mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[mod, "_reconstruct"] = reconstruct
        allowed[mod, "scalar"] = scalar
    for fmt in ("csr", "csc", "coo", "lil"):
        cls = getattr(sp, f"{fmt}_matrix")
        allowed[f"scipy.sparse.{fmt}", cls.__name__] = cls
        allowed[f"scipy.sparse._{fmt}", cls.__name__] = cls
    for mod in ("__builtin__", "builtins"):
        allowed.update({(mod, "list"): list, (mod, "dict"): dict, (mod, "set"): set})
    return allowed


class _PlanetoidUnpickler(pickle.Unpickler):
    """An unpickler that refuses every global a Planetoid file has no use for."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _allowed_globals()[module, name]
        except KeyError:
            raise pickle.UnpicklingError(
                f"Refusing to load '{module}.{name}': Planetoid files only hold numpy "
                "arrays, scipy sparse matrices and dicts of lists."
            ) from None


def _load_pickle(path: Path) -> Any:
    with path.open("rb") as f:
        # The files were written by Python 2; latin1 decodes numpy's byte strings.
        return _PlanetoidUnpickler(f, encoding="latin1").load()


def _dense(a: Any) -> np.ndarray:
    return np.asarray(a.toarray() if hasattr(a, "toarray") else a)


def _scatter_rows(
    head: Any, tail: Any, tail_index: np.ndarray, n: int, dtype: type
) -> np.ndarray:
    """Dense ``[n, cols]``: head rows first, tail row k at row ``tail_index[k]``."""
    out = np.zeros((n, head.shape[1]), dtype=dtype)
    out[: head.shape[0]] = _dense(head)
    out[tail_index] = _dense(tail)
    return out


def _check_consistent(
    parts: dict[str, Any], test_index: np.ndarray, n_all: int, key: str
) -> None:
    rows = {p: parts[p].shape[0] for p in ("x", "y", "tx", "ty", "allx", "ally")}
    problems = [
        f"{a} has {rows[a]} rows but {b} has {rows[b]}"
        for a, b in (("x", "y"), ("tx", "ty"), ("allx", "ally"))
        if rows[a] != rows[b]
    ]
    if len(test_index) != rows["tx"]:
        problems.append(f"test.index has {len(test_index)} ids for {rows['tx']} rows")
    for group in (("x", "tx", "allx"), ("y", "ty", "ally")):
        if len({parts[p].shape[1] for p in group}) != 1:
            problems.append(f"{', '.join(group)} differ in their number of columns")
    distinct = len(np.unique(test_index)) == len(test_index)
    if test_index.size == 0 or not distinct or test_index.min() < n_all:
        problems.append(f"test ids must be distinct and >= len(allx) = {n_all}")
    if problems:
        detail = "; ".join(problems)
        raise ValueError(f"The Planetoid files of '{key}' disagree: {detail}.")


def _edges_from_adjacency(adj: dict[int, list[int]], n: int, key: str) -> Tensor:
    """Symmetric ``[2, E]`` edges from adjacency lists, deduplicated, no self-loops."""
    keys = np.fromiter(adj.keys(), np.int64, len(adj))
    src = np.repeat(keys, [len(v) for v in adj.values()])
    dst = np.fromiter((j for v in adj.values() for j in v), np.int64, len(src))
    if src.size and (min(src.min(), dst.min()) < 0 or max(src.max(), dst.max()) >= n):
        raise ValueError(f"The '{key}' graph has node ids outside [0, {n - 1}].")
    # The lists repeat some edges and CiteSeer's hold self-loops; adding both directions
    # keeps the graph symmetric even if a file lists an edge one way only.
    rows, cols = np.concatenate([src, dst]), np.concatenate([dst, src])
    keep = rows != cols
    # Unique codes sort by (target, source): the order PyG's reader gives.
    codes = np.unique(cols[keep] * n + rows[keep])
    return torch.from_numpy(np.stack([codes % n, codes // n]))


def _mask(index: np.ndarray, n: int) -> Tensor:
    mask = torch.zeros(n, dtype=torch.bool)
    mask[torch.from_numpy(np.asarray(index, dtype=np.int64))] = True
    return mask
