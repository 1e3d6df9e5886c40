"""graphssl: graph-based semi-supervised learning from the command line.

Sub-commands of the core live here; the sibling packages (``pointcloud``, ``video``)
contribute theirs through the ``graphssl.commands`` entry-point group, so the core
never imports them.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Sequence
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = ["common_parser", "main", "resolve_device"]


def resolve_device(name: str) -> torch.device:
    """``'auto'`` picks CUDA when available; anything else is passed to torch."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise SystemExit(
            f"error: --device {name}: use auto, cpu, cuda or cuda:N"
        ) from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit(
            f"error: --device {name}: CUDA is not available on this machine"
        )
    return dev


def common_parser() -> argparse.ArgumentParser:
    """Options every sub-command takes: ``--device``, ``--seed``."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument(
        "--device",
        default="auto",
        help="torch device: auto, cpu, cuda, cuda:1 (default: auto)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    return p


def _load(
    args: argparse.Namespace,
) -> tuple[torch.Tensor | None, torch.Tensor, torch.Tensor, object]:
    """Features, labels with -1 for hidden ones, true labels, and an optional graph."""
    from graphssl.datasets import hide_labels, load_digits, load_planetoid, make_moons

    name = args.dataset
    if name in ("cora", "citeseer", "pubmed"):
        from graphssl.datasets import find_planetoid_root

        root = args.root or find_planetoid_root()
        if root is None:
            raise SystemExit("error: no Planetoid data found; pass --root DIR")
        data = load_planetoid(root, name)
        y = torch.where(data.train_mask, data.y, -1)
        # score on the standard test split only: hide every non-test label from scoring
        return None, y, torch.where(data.test_mask, data.y, -2), data.graph()
    if name == "moons":
        x, y_true = make_moons(args.n, noise=0.1, seed=args.seed)
    elif name == "digits":
        x, y_true = load_digits()
    else:  # a .npz file with arrays x and y (-1 for unlabelled)
        z = np.load(name)
        x, y = torch.from_numpy(z["x"]).float(), torch.from_numpy(z["y"]).long()
        return x, y, y, None
    y = hide_labels(y_true, per_class=args.labels_per_class, seed=args.seed)
    return x, y, y_true, None


def _cmd_propagate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from graphssl.construction import knn_graph
    from graphssl.propagation import label_propagation, label_spreading

    dev = resolve_device(args.device)
    torch.manual_seed(args.seed)
    stages = tqdm(total=3, desc="propagate", disable=args.quiet, file=sys.stderr)
    t0 = time.perf_counter()
    x, y, y_true, graph = _load(args)
    stages.update()
    if graph is None and x is not None:
        graph = knn_graph(x.to(dev, getattr(torch, args.dtype)), args.k)
    stages.update()
    fn = label_spreading if args.method == "spreading" else label_propagation
    kw: dict[str, Any] = {"alpha": args.alpha} if args.method == "spreading" else {}
    res = fn(graph, y.to(dev), solver=args.solver, **kw)
    stages.update()
    stages.close()
    secs = time.perf_counter() - t0
    scored = ((y < 0) & (y_true >= 0)).to(dev)  # unlabelled nodes with a known truth
    acc = float((res.prediction[scored] == y_true.to(dev)[scored]).float().mean())
    print(
        f"dataset={args.dataset} nodes={y.numel()} labelled={int((y >= 0).sum())} "
        f"method={args.method} solver={res.solver} iterations={res.n_iter} "
        f"residual={res.residual:.1e}"
    )
    print(
        f"accuracy on {int(scored.sum())} scored nodes: {acc:.4f}  unreached: {int((~res.reached).sum())}  "
        f"time: {secs:.2f} s on {dev}"
    )
    if args.out:
        np.save(args.out, res.prediction.cpu().numpy())
        print(f"predictions written to {args.out}")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    from graphssl import __version__
    from graphssl._optional import WITH_OPEN3D, WITH_SKLEARN

    print(f"graphssl {__version__}, torch {torch.__version__}, numpy {np.__version__}")
    print(
        f"CUDA available: {torch.cuda.is_available()}; open3d: {WITH_OPEN3D}; "
        f"scikit-learn: {WITH_SKLEARN}"
    )
    print(
        "commands from plugins:",
        ", ".join(sorted(e.name for e in _plugins())) or "none",
    )
    return 0


def _plugins() -> list[EntryPoint]:
    return list(entry_points(group="graphssl.commands"))


def build_parser() -> argparse.ArgumentParser:
    """The full parser, with plugin sub-commands registered."""
    common = common_parser()
    parser = argparse.ArgumentParser(
        prog="graphssl", description=__doc__.splitlines()[0]
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "propagate",
        parents=[common],
        help="label spreading / propagation on a dataset",
        description="Propagate a few labels over a kNN graph (features) or a given "
        "graph (Planetoid) and report accuracy on the unlabelled nodes.",
    )
    p.add_argument(
        "dataset",
        help="moons | digits | cora | citeseer | pubmed | PATH.npz (arrays x, y)",
    )
    p.add_argument(
        "--method",
        choices=["spreading", "propagation"],
        default="spreading",
        help="label spreading (Zhou et al., soft clamping by --alpha) or label "
        "propagation (Zhu & Ghahramani, labels held) (default: spreading)",
    )
    p.add_argument(
        "--k", type=int, default=10, help="neighbours of the kNN graph (default: 10)"
    )
    p.add_argument(
        "--alpha", type=float, default=0.99, help="spreading factor (default: 0.99)"
    )
    p.add_argument(
        "--solver",
        default="auto",
        choices=["auto", "direct", "cg", "iterate"],
        help="linear solve: dense direct (small graphs), conjugate gradients, or "
        "the fixed-point iteration; auto picks by size (default: auto)",
    )
    p.add_argument(
        "--dtype",
        choices=["float64", "float32"],
        default="float64",
        help="precision of the kNN graph built from features, as in the README's "
        "quick start; float32 halves memory, but the Gaussian weights of a few "
        "far neighbours can underflow and leave nodes isolated (default: float64)",
    )
    p.add_argument(
        "--labels-per-class",
        type=int,
        default=10,
        help="labels kept per class (default: 10)",
    )
    p.add_argument(
        "--n", type=int, default=10_000, help="points for moons (default: 10000)"
    )
    p.add_argument("--root", type=Path, default=None, help="Planetoid directory")
    p.add_argument("--out", type=Path, default=None, help="write predictions as .npy")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_propagate)

    p = sub.add_parser(
        "info", parents=[common], help="versions, devices and optional backends"
    )
    p.set_defaults(func=_cmd_info)

    from graphssl.cli_comatch import register as register_comatch
    from graphssl.cli_ssl import register as register_ssl

    register_ssl(sub, [common])
    register_comatch(sub, [common])
    for ep in _plugins():
        try:
            register = ep.load()
        except ImportError as err:  # a broken plugin must not take the core CLI down
            print(f"warning: command '{ep.name}' unavailable: {err}", file=sys.stderr)
            continue
        register(sub, [common])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``graphssl`` command."""
    args = build_parser().parse_args(argv)
    # one-line warnings on the command line instead of source excerpts
    saved = warnings.formatwarning
    warnings.formatwarning = lambda msg, cat, *_a, **_k: f"{cat.__name__}: {msg}\n"
    try:
        return int(args.func(args))
    finally:
        warnings.formatwarning = saved


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
