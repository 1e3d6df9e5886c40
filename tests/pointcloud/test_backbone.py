"""Tests of the voxel pyramid and the point-voxel backbone."""

from __future__ import annotations

import math

import pytest
import torch

from pointcloud.backbone import PointVoxelNet, build_pyramid, point_features


def _cloud(n: int = 300, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, generator=g) * torch.tensor([2.0, 1.5, 1.0])


def test_pyramid_matches_a_loop_reference() -> None:
    points = _cloud()
    pyr = build_pyramid(points, voxel_sizes=(0.25, 0.75), k=4)
    # level 1 by hand: points share a voxel iff their integer grid keys agree
    keys = torch.floor((points.double() - points.double().min(0).values) / 0.25).long()
    for i in range(0, 300, 17):
        for j in range(0, 300, 13):
            same_key = bool((keys[i] == keys[j]).all())
            assert same_key == bool(pyr.assign[0][i] == pyr.assign[0][j])
    assert pyr.sizes[0] == 300
    assert pyr.sizes[1] == len({tuple(k) for k in keys.tolist()})
    # level 2 groups whole level-1 voxels, every voxel id is used
    assert pyr.assign[1].shape == (pyr.sizes[1],)
    assert torch.equal(torch.unique(pyr.assign[1]), torch.arange(pyr.sizes[2]))
    for nbr, v in zip(pyr.neighbors, pyr.sizes[1:], strict=True):
        assert nbr.shape == (v, min(4, v))
        assert torch.equal(nbr[:, 0], torch.arange(v))  # itself first


def test_pyramid_neighbours_are_the_nearest_centroids() -> None:
    points = _cloud(400, seed=1)
    pyr = build_pyramid(points, voxel_sizes=(0.3,), k=5)
    inv = pyr.assign[0]
    v = pyr.sizes[1]
    cent = torch.zeros(v, 3, dtype=torch.float64).index_add_(0, inv, points.double())
    cent /= torch.bincount(inv, minlength=v)[:, None]
    d = torch.cdist(cent, cent)
    brute = d.argsort(1)[:, :5]
    got = torch.gather(d, 1, pyr.neighbors[0]).sort(1).values
    assert torch.allclose(got, torch.gather(d, 1, brute).sort(1).values)


def test_pyramid_does_not_depend_on_point_order() -> None:
    points = _cloud()
    perm = torch.randperm(300)
    a = build_pyramid(points, (0.2, 0.6), k=4)
    b = build_pyramid(points[perm], (0.2, 0.6), k=4)
    assert a.sizes == b.sizes
    assert torch.equal(a.assign[0][perm], b.assign[0])
    assert torch.equal(a.assign[1], b.assign[1])


def test_pyramid_single_voxel() -> None:
    pyr = build_pyramid(torch.zeros(5, 3), (0.1, 0.3), k=8)
    assert pyr.sizes == [5, 1, 1]
    assert pyr.neighbors[0].tolist() == [[0]]


@pytest.mark.parametrize(
    ("points", "kwargs", "match"),
    [
        (torch.full((4, 3), float("nan")), {}, "finite"),
        (torch.rand(4, 2), {}, r"\[P, 3\]"),
        (torch.rand(4, 3), {"k": 0}, "'k' parameter"),
        (torch.rand(4, 3), {"voxel_sizes": (0.0,)}, "'voxel_sizes' parameter"),
        (torch.rand(4, 3), {"voxel_sizes": ()}, "at least one size"),
        (torch.zeros(0, 3), {}, "non-empty"),
    ],
)
def test_pyramid_bad_input(points: torch.Tensor, kwargs: dict, match: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValueError, match=match):
        build_pyramid(points, **kwargs)


def test_point_features_invariant_normals() -> None:
    points = _cloud(50)
    n = torch.nn.functional.normalize(torch.randn(50, 3), dim=1)
    a = math.radians(37.0)
    rot = torch.tensor(
        [[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1.0]]
    )
    f1 = point_features(points, None, n)
    f2 = point_features(points, None, -(n @ rot.T))  # rotated about z, sign flipped
    assert torch.allclose(f1[:, 3:], f2[:, 3:], atol=1e-6)
    assert f1.shape == (50, 5)
    assert point_features(points, torch.rand(50, 3), n).shape == (50, 8)
    assert float(f1[:, 2].min()) == 0.0  # heights start at the lowest point
    assert torch.allclose(f1[:, :2].mean(0), torch.zeros(2), atol=1e-6)


def test_net_shapes_grad_and_repr(device: str, one_thread: None) -> None:
    points = _cloud().to(device)
    pyr = build_pyramid(points, (0.2, 0.6), k=4)
    net = PointVoxelNet(5, 4, hidden=8, feature_dim=6, levels=2).to(device)
    x = point_features(points)
    logits, feats = net(x, pyr)
    assert logits.shape == (300, 4) and feats.shape == (300, 6)
    assert logits.device.type == device
    logits.sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    assert repr(net) == (
        "PointVoxelNet(in_channels=5, num_classes=4, hidden=8, feature_dim=6, levels=2)"
    )


def test_net_is_permutation_equivariant(one_thread: None) -> None:
    points = _cloud()
    perm = torch.randperm(300)
    net = PointVoxelNet(5, 3, hidden=8, levels=2).double()
    x = point_features(points.double())
    out = net(x, build_pyramid(points, (0.2, 0.6), k=4))[0]
    out_p = net(x[perm], build_pyramid(points[perm], (0.2, 0.6), k=4))[0]
    assert torch.allclose(out[perm], out_p, atol=1e-10)


def test_net_gradients_are_reproducible_with_threads() -> None:
    # Two backward passes with two threads must agree bit for bit: advanced-indexing
    # backward accumulates in a thread-dependent order on CPU, index_select does not.
    torch.manual_seed(0)
    points = torch.rand(20_000, 3) * torch.tensor([6.0, 5.0, 3.0])
    pyr = build_pyramid(points, (0.1, 0.3), k=8)
    net = PointVoxelNet(5, 4, hidden=16, levels=2)
    x = point_features(points)
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        grads = []
        for _ in range(3):
            net.zero_grad()
            logits, _ = net(x, pyr)
            logits.pow(2).sum().backward()
            grads.append(torch.cat([p.grad.flatten() for p in net.parameters()]))  # type: ignore[union-attr]
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(grads[0], grads[1]) and torch.equal(grads[0], grads[2])


def test_net_checks_its_inputs() -> None:
    points = _cloud()
    net = PointVoxelNet(5, 3, levels=2)
    with pytest.raises(ValueError, match="pyramid of 2 levels"):
        net(point_features(points), build_pyramid(points, (0.2,)))
    with pytest.raises(ValueError, match=r"x of shape \[300, 5\]"):
        net(torch.rand(300, 4), build_pyramid(points, (0.2, 0.6)))
    with pytest.raises(ValueError, match="'levels' parameter"):
        PointVoxelNet(5, 3, levels=0)
