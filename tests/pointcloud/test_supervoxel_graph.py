"""Tests for pointcloud.supervoxel_graph: edges against brute force, closed-form weights."""

from __future__ import annotations

import math

import pytest
import torch

from pointcloud.supervoxel_graph import pool, supervoxel_graph, unpool
from pointcloud.supervoxels import VCCS


@pytest.fixture(scope="module")
def cloud() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    pts = torch.rand(1_500, 3, generator=g) * torch.tensor([2.0, 2.0, 0.3])
    colors = torch.rand(1_500, 3, generator=g)
    seg = VCCS(voxel_size=0.1, seed_resolution=0.4)(pts)
    return pts, colors, seg


def _pairs(graph_edges: torch.Tensor) -> set[tuple[int, int]]:
    return {(min(a, b), max(a, b)) for a, b in graph_edges.t().tolist()}


def test_graph_is_symmetric_positive_sorted(cloud: tuple[torch.Tensor, ...]) -> None:
    pts, colors, seg = cloud
    for adjacency in ("touch", "knn", "both"):
        g, _ = supervoxel_graph(pts, seg, colors=colors, adjacency=adjacency, k=4)
        assert g.num_nodes == int(seg.max()) + 1
        assert g._check_symmetric(1e-12)
        assert bool((g.edge_weight > 0).all())
        assert bool((g.edge_index[0] != g.edge_index[1]).all())
        key = g.edge_index[0] * g.num_nodes + g.edge_index[1]
        assert bool((key[1:] > key[:-1]).all())


def test_touch_edges_match_brute_force(cloud: tuple[torch.Tensor, ...]) -> None:
    pts, _, seg = cloud
    r = 0.08
    g, _ = supervoxel_graph(pts, seg, adjacency="touch", contact_radius=r)
    got = _pairs(g.edge_index)
    d = torch.cdist(pts, pts)
    close = torch.nonzero(d <= r)
    must = {(min(a, b), max(a, b)) for a, b in seg[close].tolist() if a != b}
    assert must <= got  # every pair closer than r is found
    # ... and every edge has a pair of points within the cells' reach 2*sqrt(3)*r.
    reach = d <= 2 * math.sqrt(3) * r + 1e-6
    for a, b in got:
        assert bool(reach[seg == a][:, seg == b].any())


def test_knn_edges_and_descriptors_match_loops(cloud: tuple[torch.Tensor, ...]) -> None:
    pts, colors, seg = cloud
    feats = torch.randn(pts.shape[0], 5, generator=torch.Generator().manual_seed(1))
    g, desc = supervoxel_graph(
        pts, seg, colors=colors, features=feats, adjacency="knn", k=3
    )
    s = g.num_nodes
    for i in range(s):
        m = seg == i
        assert torch.allclose(desc["xyz"][i], pts[m].mean(0), atol=1e-5)
        assert torch.allclose(desc["color"][i], colors[m].mean(0), atol=1e-5)
        assert torch.allclose(desc["features"][i], feats[m].mean(0), atol=1e-5)
        assert desc["size"][i] == m.sum()
    d = torch.cdist(desc["xyz"], desc["xyz"])
    d.fill_diagonal_(math.inf)
    want = {
        (min(i, j), max(i, j)) for i in range(s) for j in d[i].argsort()[:3].tolist()
    }
    assert _pairs(g.edge_index) == want


def test_weights_are_the_gaussian_of_descriptor_distances(
    cloud: tuple[torch.Tensor, ...],
) -> None:
    pts, colors, seg = cloud
    g, desc = supervoxel_graph(
        pts, seg, colors=colors, sigma=0.3, affinity=("xyz", "color")
    )
    f = torch.cat([desc["xyz"], desc["color"]], 1)
    a, b = g.edge_index
    want = torch.exp(-((f[a] - f[b]) ** 2).sum(1) / (2 * 0.3**2))
    assert torch.allclose(g.edge_weight, want, atol=1e-6)
    # Missing descriptors are skipped: colour asked for but not given.
    g2, _ = supervoxel_graph(pts, seg, sigma=0.3, affinity=("xyz", "color"))
    want2 = torch.exp(-((desc["xyz"][a] - desc["xyz"][b]) ** 2).sum(1) / (2 * 0.3**2))
    assert torch.equal(g2.edge_index, g.edge_index)
    assert torch.allclose(g2.edge_weight, want2, atol=1e-6)


def test_normals_descriptor_is_unit() -> None:
    pts = torch.rand(200, 3)
    normals = torch.nn.functional.normalize(
        torch.randn(200, 3) + torch.tensor([0, 0, 3.0]), dim=1
    )
    seg = (pts[:, 0] * 4).long()
    _, desc = supervoxel_graph(pts, seg, normals=normals)
    assert torch.allclose(desc["normal"].norm(dim=1), torch.ones(4), atol=1e-6)


def test_permutation_gives_the_same_graph(cloud: tuple[torch.Tensor, ...]) -> None:
    pts, colors, seg = cloud
    perm = torch.randperm(pts.shape[0], generator=torch.Generator().manual_seed(2))
    g1, _ = supervoxel_graph(pts, seg, colors=colors)
    g2, _ = supervoxel_graph(pts[perm], seg[perm], colors=colors[perm])
    assert torch.equal(g1.edge_index, g2.edge_index)
    assert torch.allclose(g1.edge_weight, g2.edge_weight, atol=1e-6)


def test_contact_radius_too_fine_for_the_extent() -> None:
    pts = torch.tensor([[0.0, 0.0, 0.0], [1e7, 1e7, 1e7]], dtype=torch.float64)
    with pytest.raises(
        ValueError, match="'contact_radius' parameter of supervoxel_graph"
    ):
        supervoxel_graph(
            pts, torch.tensor([0, 1]), adjacency="touch", contact_radius=1e-3
        )


def test_one_supervoxel_has_no_edges() -> None:
    g, desc = supervoxel_graph(torch.rand(10, 3), torch.zeros(10, dtype=torch.long))
    assert g.num_nodes == 1 and g.num_edges == 0
    assert desc["size"].tolist() == [10.0]


def test_pool_and_unpool() -> None:
    seg = torch.tensor([1, 0, 1, 2, 2, 2])
    v = torch.tensor(
        [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]
    )
    v.requires_grad_(True)
    out = pool(v, seg)
    assert torch.equal(out.detach(), torch.tensor([[3.0, 4.0], [3.0, 4.0], [2.0, 2.0]]))
    (grad,) = torch.autograd.grad(out.sum(), [v])
    assert torch.allclose(
        grad[:, 0], torch.tensor([0.5, 1.0, 0.5, 1 / 3, 1 / 3, 1 / 3])
    )
    assert pool(torch.ones(6), seg, 5).tolist() == [1.0, 1.0, 1.0, 0.0, 0.0]
    assert torch.equal(unpool(out.detach(), seg)[0], torch.tensor([3.0, 4.0]))
    with pytest.raises(ValueError, match="'num_segments' parameter of pool"):
        pool(v, seg, 2)
    with pytest.raises(ValueError, match="'segments' parameter of unpool"):
        unpool(out, torch.tensor([0, 3]))


def test_device(device: str) -> None:
    pts = torch.rand(300, 3).to(device)
    seg = (pts[:, 0] * 5).long()
    g, desc = supervoxel_graph(pts, seg, colors=torch.rand(300, 3).to(device))
    assert g.device.type == device
    assert desc["xyz"].device.type == device


@pytest.mark.parametrize(
    ("kwargs", "err", "match"),
    [
        ({"segments": torch.tensor([0, 2, 2, 0])}, ValueError, "unused ids"),
        ({"segments": torch.tensor([0, 1])}, ValueError, "length 4"),
        ({"adjacency": "grid"}, ValueError, "'adjacency' parameter"),
        ({"k": 0}, ValueError, "'k' parameter"),
        ({"contact_radius": -1.0}, ValueError, "'contact_radius' parameter"),
        ({"colors": torch.rand(3, 3)}, ValueError, "'colors' parameter"),
        ({"features": torch.full((4, 2), math.nan)}, ValueError, "finite"),
        ({"affinity": ("xyz", "rgb")}, ValueError, "'affinity' parameter"),
    ],
)
def test_bad_input(kwargs: dict[str, object], err: type[Exception], match: str) -> None:
    args: dict[str, object] = {
        "points": torch.rand(4, 3),
        "segments": torch.tensor([0, 1, 1, 0]),
    }
    args.update(kwargs)
    with pytest.raises(err, match=match):
        supervoxel_graph(**args)  # type: ignore[arg-type]
