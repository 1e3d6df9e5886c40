"""The One Thing One Click part of ``graphssl demo``: train on the demo room plus a few
clicked synthetic rooms, then segment the demo room with its clicks held."""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch import Tensor

from pointcloud._otoc_demo_out import Clock
from pointcloud.synthetic import IndoorScene, make_scene_set, one_click_per_object

__all__ = ["SUPERVOXELS", "otoc_on_rooms"]

#: Super-voxel settings of the demo: 8 cm voxels, 40 cm seeds suit rooms sampled at
#: a few hundred points per square metre (about 40 points per super-voxel).
SUPERVOXELS = {"voxel_size": 0.08, "seed_resolution": 0.4}


def otoc_on_rooms(
    scene: IndoorScene, clicks: Tensor, dev: torch.device, clock: Clock,
    rounds: int, epochs: int, seed: int, extra_rooms: int, extra_points: int,
) -> tuple[Tensor, list[Any]]:  # fmt: skip
    """Fit One Thing One Click on the scene plus ``extra_rooms`` clicked synthetic
    rooms, then predict the scene with its clicks held."""
    from pointcloud.otoc import OneThingOneClick

    scenes, all_clicks = [scene.to_scene()], [clicks]
    if extra_rooms:
        # A network cannot learn what a chair looks like from one room's dozen clicks
        # (mIoU 0.42-0.64 over seeds 0-3); a few more clicked rooms give it the
        # variety the method is meant to have (0.64-0.84, same seeds and time).
        extra = make_scene_set(
            extra_rooms, seed=seed + 7, num_points=extra_points, num_objects=(6, 10)
        )
        scenes += extra
        for i, room in enumerate(extra):
            if (
                room.instances is None or room.labels is None
            ):  # synthetic rooms have both
                raise RuntimeError(f"synthetic room {room.name} came without labels")
            all_clicks.append(
                one_click_per_object(room.instances, room.labels, seed=seed + 100 + i)
            )
    n_clicks = sum(int((c >= 0).sum()) for c in all_clicks)
    model = OneThingOneClick(
        rounds=rounds, epochs=epochs, epochs_next=max(epochs // 2, 1), seed=seed,
        device=dev, supervoxel_kwargs=SUPERVOXELS, log=lambda t: clock.say("        " + t),
    )  # fmt: skip
    clock.say(
        f"  [3/5] One Thing One Click on this room + {extra_rooms} more synthetic "
        f"rooms ({extra_points:,} points each), {n_clicks} clicks in all: {rounds} "
        "rounds of backbone + relation training (round 1 also builds super-voxels), "
        "then fusion, mean-field propagation and pseudo-labels"
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*have no click")  # ceiling etc.
        model.fit(scenes, all_clicks)
    n_sv = int(model.labels_[0].numel())
    clock.step("train", f"[3/5] trained; this room has {n_sv:,} super-voxels")
    pred = model.predict(scene.to_scene(), clicks).cpu()
    clock.step("predict", "[4/5] prediction: fusion + propagation with the clicks held")
    return pred, list(model.history_)
