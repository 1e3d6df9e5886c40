"""Training loop: resume equals uninterrupted, per-video equals batched, memory fill."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from video.datasets import VideoDataset, make_synthetic_videos
from video.inference import evaluate, predict
from video.losses import RSKPLossConfig
from video.model import RSKPModel
from video.schedules import LRSchedule
from video.train import TrainConfig, train_rskp


def _data(n: int = 8, min_len: int = 20, max_len: int = 30) -> VideoDataset:
    return make_synthetic_videos(
        n, num_classes=3, feature_dim=8, min_len=min_len, max_len=max_len, seed=1
    )


def _model(variant: str = "full", dropout: float = 0.5) -> RSKPModel:
    torch.manual_seed(0)
    return RSKPModel(8, 3, dim=16, num_bases=3, dropout=dropout, memory_slots=2,
                     variant=variant)  # fmt: skip


def _cfg(epochs: int, total: int | None = None) -> TrainConfig:
    sched = LRSchedule("cosine", lr=1e-2, total_epochs=total or epochs)
    return TrainConfig(epochs=epochs, warmup_epochs=1, batch_size=3,
                       schedule=sched, seed=5, checkpoint_every=1)  # fmt: skip


def test_resume_equals_uninterrupted(tmp_path: Path, one_thread: None) -> None:
    data = _data()
    full = _model()
    hist = train_rskp(full, data, config=_cfg(3))
    assert len(hist) == 3 and all(torch.isfinite(torch.tensor(h["loss"])) for h in hist)
    ck = tmp_path / "rskp.pt"
    part = _model()
    train_rskp(part, data, config=_cfg(2, total=3), checkpoint=ck)  # stops after 2
    resumed = _model()
    torch.manual_seed(123)  # resume must restore the RNG, not rely on the caller's
    hist2 = train_rskp(resumed, data, config=_cfg(3), checkpoint=ck, resume=True)
    assert len(hist2) == 3
    assert bool(resumed.memory.initialized)
    for (k, a), b in zip(
        full.state_dict().items(), resumed.state_dict().values(), strict=True
    ):
        torch.testing.assert_close(a, b, msg=k)


def test_resume_with_other_settings_warns(tmp_path: Path, one_thread: None) -> None:
    data = _data()
    ck = tmp_path / "rskp.pt"
    train_rskp(_model(), data, config=_cfg(1, total=2), checkpoint=ck)
    other = RSKPLossConfig(inter_mix=0.7)
    with pytest.warns(UserWarning, match=r"\(loss\.inter_mix: 0\.2 -> 0\.7\)"):
        train_rskp(_model(), data, config=_cfg(2), loss_config=other, checkpoint=ck,
                   resume=True)  # fmt: skip
    cfg = replace(_cfg(3), seed=6)
    with pytest.warns(UserWarning, match=r"seed: 5 -> 6"):
        train_rskp(_model(), data, config=cfg, loss_config=other, checkpoint=ck,
                   resume=True)  # fmt: skip


@pytest.mark.filterwarnings("ignore:.*no training video")
def test_per_video_equals_batched_on_equal_lengths(one_thread: None) -> None:
    # equal lengths and no dropout: the batch mean of the losses equals the mean of
    # per-video losses, so both loops take the same optimiser steps
    data = _data(6, min_len=25, max_len=25)
    a, b = _model("intra", dropout=0.0), _model("intra", dropout=0.0)
    cfg = _cfg(2)
    train_rskp(a, data, config=replace(cfg, warmup_epochs=5))
    train_rskp(b, data, config=replace(cfg, warmup_epochs=5, per_video=True))
    for x, y in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(x, y, atol=1e-5, rtol=1e-4)


def test_memory_filled_after_warmup_only_gt_classes(one_thread: None) -> None:
    data = _data()
    data = data.select([i for i in range(len(data)) if data.labels[i, 2] == 0])
    model = _model()
    with pytest.warns(UserWarning, match="no training video"):
        train_rskp(model, data, config=_cfg(2))
    assert bool(model.memory.initialized)
    present = data.labels.sum(0) > 0
    assert model.memory.filled.tolist() == present.tolist()


def test_train_and_evaluate_on_device(device: str, one_thread: None) -> None:
    data = _data()
    model = _model()
    train_rskp(model, data, config=_cfg(2), device=device)
    preds = predict(model, data)
    assert len(preds) == len(data)
    assert preds[0].cas.shape == (data.num_snippets[0], 3)
    res = evaluate(model, data)
    assert res.detection.map.shape == (7,)
    assert 0.0 <= res.detection.average <= 1.0 and 0.0 <= res.classification_map <= 1.0


def test_bad_input() -> None:
    data = _data()
    with pytest.raises(ValueError, match="5 classes"):
        train_rskp(RSKPModel(8, 5, dim=8), data, config=_cfg(1))
    with pytest.raises(ValueError, match="features of size 4"):
        train_rskp(RSKPModel(4, 3, dim=8), data, config=_cfg(1))
    with pytest.raises(ValueError, match="features of size 4"):
        predict(RSKPModel(4, 3, dim=8), data)
    bad = _data()
    bad.features[1][3, 2] = float("nan")
    with pytest.raises(ValueError, match=r"finite features.*video 1"):
        train_rskp(_model(), bad, config=_cfg(1))
    with pytest.raises(ValueError, match="'epochs' parameter of TrainConfig"):
        TrainConfig(epochs=0)


def test_resume_with_another_model(tmp_path: Path, one_thread: None) -> None:
    data = _data()
    ck = tmp_path / "rskp.pt"
    train_rskp(_model(), data, config=_cfg(1, total=2), checkpoint=ck)
    torch.manual_seed(0)
    wider = RSKPModel(8, 3, dim=32, num_bases=3, dropout=0.5, memory_slots=2)
    with pytest.raises(
        ValueError, match=r"'checkpoint'.*\(dim=32\).*rskp\.pt with dim=16"
    ):
        train_rskp(wider, data, config=_cfg(2), checkpoint=ck, resume=True)
    with pytest.warns(UserWarning, match=r"model\.variant: 'full' -> 'intra'"):
        train_rskp(_model("intra"), data, config=_cfg(2), checkpoint=ck, resume=True)


def test_api_arguments_are_checked_up_front(one_thread: None) -> None:
    data = _data()
    for fn in (train_rskp, predict, evaluate):
        with pytest.raises(TypeError, match=r"'model'.*video\.load_model"):
            fn("rskp.pt", data)  # type: ignore[operator]
        with pytest.raises(TypeError, match=r"'dataset' parameter.*NoneType"):
            fn(_model(), None)  # type: ignore[operator]
        with pytest.raises(ValueError, match=r"'device' parameter.*Got 'gpu'"):
            fn(_model(), data, device="gpu")  # type: ignore[operator]
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            predict(_model(), data, device="cuda")
    # a model of other classes than the data fails before predicting anything
    with pytest.raises(ValueError, match="a dataset with 5 classes"):
        evaluate(RSKPModel(8, 5, dim=8), data)
    no_segments = data.select(list(range(len(data))))
    object.__setattr__(no_segments, "segments", [s[:0] for s in data.segments])
    with pytest.raises(ValueError, match="no segments"):
        evaluate(_model(), no_segments)
    with pytest.raises(ValueError, match="at least one threshold"):
        evaluate(_model(), data, tiou_thresholds=())
    with pytest.raises(TypeError, match=r"'tiou_thresholds'.*float"):
        evaluate(_model(), data, tiou_thresholds=0.5)  # type: ignore[arg-type]


def test_float64_home_made_dataset_trains(one_thread: None) -> None:
    class Videos:  # duck-typed: features and labels are all training reads
        def __init__(self, d: VideoDataset) -> None:
            self.features = [f.double() for f in d.features]
            self.labels = d.labels

    data = _data()
    hist = train_rskp(_model(), Videos(data), config=_cfg(2))
    assert all(torch.isfinite(torch.tensor(h["loss"])) for h in hist)
    import numpy as np

    res = evaluate(_model(), data, tiou_thresholds=np.array([0.3, 0.5]))
    assert res.detection.tiou_thresholds == (0.3, 0.5)
