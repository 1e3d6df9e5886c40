"""Tests of One Thing One Click: rounds, clicks, checkpoints, bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from pointcloud._otoc_eval import segmentation_scores
from pointcloud._otoc_refine import fuse
from pointcloud.otoc import OneThingOneClick
from pointcloud.scene import Scene
from pointcloud.synthetic import make_indoor_scene

# The synthetic class list includes classes a small room lacks (ceiling, ...).
pytestmark = pytest.mark.filterwarnings("ignore:.*have no click:UserWarning")

SV = {"voxel_size": 0.15, "seed_resolution": 0.6}


def _tiny(**kw: Any) -> OneThingOneClick:
    args: dict[str, Any] = dict(
        rounds=2, epochs=2, epochs_next=1, hidden=8, feature_dim=8, levels=2,
        voxel_sizes=(0.2, 0.6), k=4, supervoxel_kwargs=SV,
    )  # fmt: skip
    args.update(kw)
    return OneThingOneClick(**args)


@pytest.fixture(scope="module")
def scenes() -> list[Scene]:
    return [
        make_indoor_scene(1500, num_objects=3, seed=s).to_scene(name=f"s{s}")
        for s in range(2)
    ]


def test_rounds_log_and_keep_clicks(scenes: list[Scene], one_thread: None) -> None:
    lines: list[str] = []
    seen: list[list[torch.Tensor]] = []
    model = _tiny(rounds=3, log=lines.append)
    model.fit(scenes, callback=lambda r, m: seen.append([x.clone() for x in m.labels_]))
    assert [h.round for h in model.history_] == [1, 2, 3]
    assert len(lines) == 3 and lines[0].startswith("round 1:")
    assert len(seen) == 3
    data = model._prepare(scenes, None, "test")
    for labels in seen:  # clicked super-voxels keep their click in every round
        for d, lab in zip(data, labels, strict=True):
            hit = d.clicked >= 0
            assert hit.sum() > 0
            assert torch.equal(lab[hit], d.clicked[hit])
    for h in model.history_:
        assert 0 < h.coverage <= 1 and 0 < h.point_coverage <= 1
        assert h.precision is None or 0 <= h.precision <= 1
        assert h.miou is not None and 0 <= h.miou <= 1
        assert h.seconds > 0
    pred = model.predict(scenes[0])
    assert pred.shape == (1500,) and pred.dtype == torch.long
    assert 0 <= model.score(scenes) <= 1


def test_one_class_gives_constant_output(one_thread: None) -> None:
    s = make_indoor_scene(1200, num_objects=2, seed=3)
    scene = Scene(s.points, s.colors, labels=torch.ones(1200, dtype=torch.long),
                  class_names=("a", "b", "c"))  # fmt: skip
    clicks = torch.full((1200,), -1)
    clicks[[5, 50, 500]] = 1
    with pytest.warns(UserWarning, match="no click"):
        model = _tiny(num_classes=3).fit([scene], [clicks])
    assert bool((model.predict(scene) == 1).all())
    assert bool((model.predict(scene, clicks) == 1).all())


@pytest.mark.parametrize("layout", ["shared", "separate"])
def test_resume_equals_uninterrupted(
    scenes: list[Scene], tmp_path: Path, one_thread: None, layout: str
) -> None:
    full = _tiny(rounds=2, relation_backbone=layout).fit(scenes)
    ckpt = tmp_path / "otoc.pt"
    _tiny(rounds=1, checkpoint=ckpt, relation_backbone=layout).fit(scenes)
    lines: list[str] = []
    resumed = _tiny(
        rounds=2, checkpoint=ckpt, log=lines.append, relation_backbone=layout
    ).fit(scenes)
    assert "(from checkpoint)" in lines[0]
    assert [h.round for h in resumed.history_] == [1, 2]
    for (k, a), b in zip(
        full.nets_.state_dict().items(),
        resumed.nets_.state_dict().values(),
        strict=True,
    ):
        assert torch.equal(a, b), k
    for a, b in zip(full.labels_, resumed.labels_, strict=True):
        assert torch.equal(a, b)
    second = any(k.startswith("relation_backbone.") for k in full.nets_.state_dict())
    assert second == (layout == "separate")
    other_layout = "shared" if layout == "separate" else "separate"
    with pytest.raises(ValueError, match="other scenes, classes or settings"):
        _tiny(rounds=2, checkpoint=ckpt, relation_backbone=other_layout).fit(scenes)
    other = make_indoor_scene(1000, num_objects=2, seed=9).to_scene()
    with pytest.raises(ValueError, match="other scenes"):
        _tiny(rounds=2, checkpoint=ckpt).fit([other])
    ckpt.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="cannot be read"):
        _tiny(rounds=2, checkpoint=ckpt).fit(scenes)


@pytest.mark.parametrize("layout", ["shared", "separate"])
def test_save_load_round_trip(
    scenes: list[Scene], tmp_path: Path, one_thread: None, layout: str
) -> None:
    model = _tiny(rounds=1, relation_backbone=layout).fit(scenes[:1])
    model.save(tmp_path / "m.pt")
    loaded = OneThingOneClick.load(tmp_path / "m.pt")
    assert loaded.relation_backbone == layout
    want, got = model.nets_.state_dict(), loaded.nets_.state_dict()
    assert want.keys() == got.keys()
    assert all(torch.equal(want[k], got[k]) for k in want)
    assert (loaded.nets_.relation_backbone is not None) == (layout == "separate")
    assert torch.equal(loaded.predict(scenes[1]), model.predict(scenes[1]))
    assert repr(loaded) == repr(model)
    (tmp_path / "bad.pt").write_text("nope")
    with pytest.raises(ValueError, match=r"bad\.pt"):
        OneThingOneClick.load(tmp_path / "bad.pt")


def test_propagation_does_not_depend_on_point_order(
    scenes: list[Scene], one_thread: None
) -> None:
    model = _tiny(rounds=1).fit(scenes[:1])
    s = scenes[1]
    perm = torch.randperm(s.num_points)
    moved = s.subset(perm)
    clicks = torch.full((s.num_points,), -1)
    clicks[[3, 300, 900]] = torch.tensor([0, 1, 4])
    a = model._prepare([s], [clicks], "t")[0]
    b = model._prepare([moved], [clicks[perm]], "t")[0]
    assert torch.equal(a.segments[perm], b.segments)  # same super-voxel ids
    torch.manual_seed(0)
    u, r, f = (
        torch.rand(a.num_segments, 12),
        torch.rand(a.num_segments, 12),
        torch.randn(a.num_segments, 4),
    )
    from pointcloud._otoc_refine import propagate, scene_graph

    qa = propagate(a, scene_graph(a), u, r, f, steps=5, weight=None, clicked=a.clicked)
    qb = propagate(b, scene_graph(b), u, r, f, steps=5, weight=None, clicked=b.clicked)
    assert torch.allclose(qa, qb, atol=1e-5)
    assert torch.equal(qa.argmax(1), qb.argmax(1))
    # the whole pipeline: predictions permute with the points
    assert torch.equal(model.predict(s)[perm], model.predict(moved))
    assert torch.equal(
        model.predict(s, clicks)[perm], model.predict(moved, clicks[perm])
    )


def test_fuse_by_hand() -> None:
    u = torch.tensor([[1.0, 0.0], [0.5, 0.5]])
    r = torch.tensor([[1.0, 0.0], [0.5, 0.5]])
    q = fuse(u, r)
    e5 = torch.softmax(torch.tensor([5.0, 0.0]), 0)
    lo, hi = float(e5[1]), float(e5[0])
    assert torch.allclose(q[0], torch.tensor([1.0, 0.0]))  # min-max puts the min at 0
    assert torch.allclose(q[1], torch.tensor([0.5, 0.5]))
    assert hi > lo
    assert torch.allclose(
        fuse(torch.ones(2, 3), torch.ones(2, 3)), torch.full((2, 3), 1 / 3)
    )


def test_missing_colours_fall_back_to_geometry(
    scenes: list[Scene], one_thread: None
) -> None:
    s = scenes[0]
    bare = Scene(
        s.points, labels=s.labels, instances=s.instances, class_names=s.class_names
    )
    with pytest.warns(UserWarning, match="geometry only"):
        model = _tiny(rounds=1).fit([bare, scenes[1]])
    assert model.use_color_ is False
    assert model.nets_.backbone.in_channels == 5
    assert model.predict(bare).shape == (1500,)
    coloured = _tiny(rounds=1).fit(scenes[:1])
    with pytest.raises(ValueError, match="with colours"):
        coloured.predict(bare)


def test_one_super_voxel(one_thread: None) -> None:
    s = make_indoor_scene(600, num_objects=1, seed=2)
    scene = Scene(s.points, s.colors, labels=s.labels, segments=torch.zeros(600, dtype=torch.long),
                  class_names=s.class_names)  # fmt: skip
    clicks = torch.full((600,), -1)
    clicks[0] = 4
    model = _tiny(rounds=1, num_classes=12).fit([scene], [clicks])
    assert bool((model.predict(scene, clicks) == 4).all())


def test_bad_input(scenes: list[Scene]) -> None:
    s = scenes[0]
    with pytest.raises(ValueError, match="non-empty sequence"):
        _tiny().fit([])
    with pytest.raises(TypeError, match=r"'predict_supervoxel_kwargs'.*a dict or None"):
        _tiny(predict_supervoxel_kwargs=0.05)
    with pytest.raises(TypeError, match=r"'supervoxel_kwargs'.*a dict or None"):
        _tiny(supervoxel_kwargs=["voxel_size"])
    with pytest.raises(ValueError, match="finite"):
        Scene(torch.full((3, 3), float("nan")))
    with pytest.raises(ValueError, match="mismatched label and point counts"):
        Scene(s.points, labels=torch.zeros(s.num_points - 1, dtype=torch.long))
    with pytest.raises(ValueError, match="one entry per scene"):
        _tiny().fit([s], [None, None])
    with pytest.raises(ValueError, match="clicks"):
        _tiny().fit([s], [torch.full((10,), -1)])
    with pytest.raises(ValueError, match="'idx' parameter"):
        _tiny().fit([s], [(torch.tensor([5000]), torch.tensor([0]))])
    with pytest.raises(ValueError, match="'cls' parameter"):
        _tiny().fit([s], [(torch.tensor([5]), torch.tensor([99]))])
    with pytest.raises(ValueError, match="at least one click"):
        _tiny().fit(
            [s], [(torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long))]
        )
    with pytest.raises(ValueError, match="instances and labels"):
        _tiny().fit([Scene(s.points, s.colors)])
    with pytest.raises(RuntimeError, match="not fitted"):
        _tiny().predict(s)
    with pytest.raises(ValueError, match="'threshold' parameter"):
        OneThingOneClick(threshold=0.0)
    with pytest.raises(ValueError, match="'voxel_sizes' parameter"):
        OneThingOneClick(levels=2)
    with pytest.raises(ValueError, match="'select' parameter"):
        OneThingOneClick(select="max")
    with pytest.raises(ValueError, match="'lr_next' parameter"):
        OneThingOneClick(lr_next=0.0)
    with pytest.raises(ValueError, match="'class_weight_power' parameter"):
        OneThingOneClick(class_weight_power=-1.0)
    with pytest.raises(
        ValueError,
        match=r"The 'relation_backbone' parameter of OneThingOneClick must be one of",
    ):
        OneThingOneClick(relation_backbone="twin")


def test_class_weights_by_hand() -> None:
    from types import SimpleNamespace

    from pointcloud._otoc_train import class_weights

    # one scene, 4 super-voxels of 1, 1, 2 and 4 points; classes 0, 0, 1, unlabelled
    d: Any = SimpleNamespace(segments=torch.tensor([0, 1, 2, 2, 3, 3, 3, 3]))
    labels = [torch.tensor([0, 0, 1, -1])]
    # labelled points: class 0 twice, class 1 twice, class 2 never
    assert torch.allclose(
        class_weights([d], labels, 3, 0.5), torch.tensor([1.0, 1.0, 0.0])
    )
    labels = [torch.tensor([0, -1, 1, 1])]  # class 0: 1 point, class 1: 6 points
    for power in (0.0, 0.5, 1.0):
        w = torch.tensor([7 / 1, 7 / 6]) ** power
        w = w / w.mean()
        got = class_weights([d], labels, 3, power)
        assert torch.allclose(got, torch.cat([w, torch.zeros(1)]).float())


def test_step_lr_cosine_by_hand() -> None:
    from pointcloud._otoc_train import step_lr

    assert step_lr(0.01, 7, 10, False) == 0.01
    assert step_lr(0.01, 0, 10, True) == pytest.approx(0.01)
    assert step_lr(0.01, 5, 10, True) == pytest.approx(0.005)
    assert step_lr(0.01, 10, 10, True) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("select", ["unary", "propagated"])
def test_pseudo_labels_follow_the_selected_confidence(select: str) -> None:
    from types import SimpleNamespace

    from pointcloud._otoc_fit import _pseudo_labels

    # 4 super-voxels, 2 classes; super-voxel 3 is clicked as class 0
    q = torch.tensor([[0.95, 0.05], [0.2, 0.8], [0.05, 0.95], [0.1, 0.9]])
    own = torch.tensor([0.5, 0.97, 0.93, 0.2])  # the networks' own confidence
    d: Any = SimpleNamespace(
        clicked=torch.tensor([-1, -1, -1, 0]), segments=torch.arange(4)
    )
    model: Any = SimpleNamespace(
        threshold=0.9, select=select, _refine=lambda d, c: (None, q, own)
    )
    labels, preds = _pseudo_labels(model, [d])
    want = [-1, 1, 1, 0] if select == "unary" else [0, -1, 1, 0]
    assert labels[0].tolist() == want  # the click always wins
    assert preds[0].tolist() == [0, 1, 1, 1]  # the propagated arg-max


def test_segmentation_scores_by_hand() -> None:
    pred = [torch.tensor([0, 0, 1]), torch.tensor([1, 2])]
    target = [torch.tensor([0, 1, 1]), torch.tensor([1, -1])]
    res = segmentation_scores(pred, target, 3, ["a", "b"])
    # class a: TP 1, union 2; class b: TP 2, union 3; class c never in target -> ignored
    assert res.per_class == pytest.approx({"a": 0.5, "b": 2 / 3})
    assert res.miou == pytest.approx((0.5 + 2 / 3) / 2)
    assert res.accuracy == pytest.approx(0.75)
    assert res.num_points == 4
    assert "mIoU 58.3 %" in res.lines()[0]


def _grads(module: torch.nn.Module) -> list[float]:
    return [
        0.0 if p.grad is None else float(p.grad.abs().sum())
        for p in module.parameters()
    ]


@pytest.mark.parametrize("layout", ["shared", "separate"])
def test_relation_loss_reaches_only_its_backbone(
    scenes: list[Scene], one_thread: None, layout: str
) -> None:
    from pointcloud._otoc_train import infer, step_losses

    model = _tiny(relation_backbone=layout)
    d = model._prepare(scenes[:1], None, "test")[0]
    nets = model._networks(torch.device("cpu"))
    shared = _tiny()
    shared._prepare(scenes[:1], None, "test")
    ref = shared._networks(torch.device("cpu"))
    # the segmentation backbone starts from the same weights in both layouts
    for k, v in ref.backbone.state_dict().items():
        assert torch.equal(v, nets.backbone.state_dict()[k]), k
    weight = torch.ones(model.num_classes_)
    gen = torch.Generator().manual_seed(0)
    ce, rel = step_losses(nets, d, d.x, d.clicked, weight, 1.0, gen)
    assert float(rel.detach()) > 0
    rel.backward()  # type: ignore[no-untyped-call]
    seg = _grads(nets.backbone)
    if layout == "shared":
        assert nets.relation_backbone is None
        assert max(seg) > 0  # today's behaviour: the relation loss bends the features
        return
    assert nets.relation_backbone is not None
    assert max(seg) == 0.0  # no gradient from the relation loss to segmentation
    assert max(_grads(nets.relation_backbone)) > 0
    nets.zero_grad(set_to_none=True)
    ce.backward()  # type: ignore[no-untyped-call]
    assert max(_grads(nets.backbone)) > 0
    assert max(_grads(nets.relation_backbone)) == 0.0
    # U' comes from the relation backbone, U from the segmentation backbone
    _, u0, r0, _ = infer(nets, d)
    with torch.no_grad():
        for p in nets.relation_backbone.parameters():
            p.add_(0.5 * torch.randn(p.shape, generator=gen))
    _, u1, r1, _ = infer(nets, d)
    assert torch.equal(u0, u1)
    assert not torch.allclose(r0, r1)


def test_repr() -> None:
    assert repr(OneThingOneClick()) == (
        "OneThingOneClick(num_classes=None, rounds=4, epochs=40, epochs_next=20, "
        "lr=0.003, threshold=0.9, momentum=0.9, temperature=0.07, mf_steps=5)"
    )


def _segments_of(model: OneThingOneClick, scene: Scene, vccs: dict[str, Any]) -> Any:
    from pointcloud._otoc_data import prepare_scene

    empty = torch.zeros(0, dtype=torch.long)
    return prepare_scene(
        scene, empty, empty, num_classes=model.num_classes_, use_color=True,
        voxel_sizes=model.voxel_sizes, k=model.k, vccs=vccs,
    ).segments  # fmt: skip


def _constant_on(pred: torch.Tensor, seg: torch.Tensor) -> bool:
    first = torch.full((int(seg.max()) + 1,), -1, dtype=pred.dtype)
    first[seg] = pred  # any member's class; constant iff all members agree
    return torch.equal(first[seg], pred)


def test_prediction_supervoxels(
    scenes: list[Scene], tmp_path: Path, one_thread: None
) -> None:
    fine = {"voxel_size": 0.08, "seed_resolution": 0.25, "color_weight": 8.0}
    model = _tiny(rounds=1, predict_supervoxel_kwargs=fine).fit(scenes[:1])
    from pointcloud.clicks import one_click_per_instance

    s = scenes[1]
    assert s.instances is not None and s.labels is not None
    clicks = one_click_per_instance(s.instances, s.labels, seed=0)
    seg_fine, seg_train = _segments_of(model, s, fine), _segments_of(model, s, SV)
    assert int(seg_fine.max()) > int(seg_train.max())  # really another partition
    pred, pred_clicked = model.predict(s), model.predict(s, clicks)
    # the refined decision is one class per *prediction* super-voxel, clicks or not
    assert _constant_on(pred, seg_fine) and _constant_on(pred_clicked, seg_fine)
    # the fit itself never used them: training labels live on SV's super-voxels
    assert (
        model.labels_[0].shape[0] == int(_segments_of(model, scenes[0], SV).max()) + 1
    )
    model.save(tmp_path / "m.pt")
    loaded = OneThingOneClick.load(tmp_path / "m.pt")
    assert loaded.predict_supervoxel_kwargs == fine
    assert torch.equal(loaded.predict(s), pred)
    model.predict_supervoxel_kwargs = None
    plain = model.predict(s)
    assert _constant_on(plain, seg_train)
    model.predict_supervoxel_kwargs = dict(SV)  # the same arguments: the same answer
    assert torch.equal(model.predict(s), plain)
