"""``graphssl teacher-student --graph cora|citeseer``: pseudo-labelling of graph nodes.

A two-layer GCN (Kipf & Welling 2017: 16 hidden units, dropout 0.5, Adam 0.01, weight
decay 5e-4) trained on the standard Planetoid split by
:class:`~graphssl.teacher_student_graph.GraphTeacherStudent` — a self (FixMatch) or EMA
(Mean Teacher) teacher labels a weakly masked view of the graph, confident labels
supervise the student on a view with dropped edges and masked features — against the
same GCN with the unlabelled term off. Accuracy is on the 1000 test nodes.
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import Tensor, nn

from graphssl._cli_ssl_common import report, since

__all__ = ["GCN", "run_teacher_student_graph"]


class GCN(nn.Module):
    """Two GCN layers with ReLU and dropout: logits ``[N, C]`` from ``x [N, F]``."""

    def __init__(self, in_features: int, num_classes: int, hidden: int = 16) -> None:
        super().__init__()
        from torch_geometric.nn import GCNConv

        self.conv1 = GCNConv(in_features, hidden)
        self.conv2 = GCNConv(hidden, num_classes)
        self.dropout = nn.Dropout(0.5)

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        h = torch.relu(self.conv1(self.dropout(x), edge_index))
        out: Tensor = self.conv2(self.dropout(h), edge_index)
        return out


def run_teacher_student_graph(args: argparse.Namespace) -> int:
    """The ``--graph`` branch of ``graphssl teacher-student``."""
    from graphssl.cli import resolve_device
    from graphssl.datasets import find_planetoid_root, load_planetoid
    from graphssl.teacher_student_graph import GraphTeacherStudent

    root = args.root or find_planetoid_root()
    if root is None:
        raise SystemExit("error: --graph: no Planetoid data found; pass --root DIR")
    dev = resolve_device(args.device)
    d = load_planetoid(root, args.graph)
    y = torch.where(d.train_mask, d.y, -1)
    ei = d.graph().edge_index
    print(
        f"graph teacher-student (GCN, teacher {args.teacher}) on {d.name}: "
        f"{d.num_nodes} nodes, {ei.shape[1]} edges, {d.num_classes} classes, "
        f"{int(d.train_mask.sum())} labelled; device {dev}"
    )
    accs, ts, t = [], None, 0.0
    for lam in (0.0, 1.0):  # λ_u = 0: the plain supervised GCN
        t = time.perf_counter()
        ts = GraphTeacherStudent(
            lambda: GCN(d.num_features, d.num_classes),
            teacher=args.teacher, threshold=args.threshold, lambda_u=lam,
            steps=args.steps, ema_decay=args.ema_decay, seed=args.seed, device=dev,
        ).fit(d.x, ei, y, y_true=d.y)  # fmt: skip
        pred = ts.predict(d.x, ei)
        accs.append(float((pred == d.y)[d.test_mask].double().mean()))
    if ts is None:  # the loop above always runs twice
        raise RuntimeError("no model was trained")
    scored = f"the {int(d.test_mask.sum())} test nodes"
    report(accs[0], "graph teacher-student", accs[1], since(t), scored)
    h = ts.history_
    print(
        f"steps: {args.steps}, mask ratio of unlabelled nodes: first "
        f"{h['mask_ratio'][0]:.2f}, last {h['mask_ratio'][-1]:.2f}; pseudo-label "
        f"accuracy last step {h['pseudo_acc'][-1]:.3f}"
    )
    return 0
