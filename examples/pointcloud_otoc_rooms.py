"""Train One Thing One Click on a few synthetic rooms and segment an unseen one.

Three small rooms get one simulated click per object; the model runs two
self-training rounds over them (each round prints its pseudo-label coverage and
precision), then segments a fourth room it has never seen, without any click, and
prints mIoU, per-class IoU and overall accuracy. Run it with no arguments:

    python examples/pointcloud_otoc_rooms.py
"""

print("Loading graphssl and torch ...")

import warnings

from pointcloud._otoc_eval import segmentation_scores
from pointcloud.otoc import OneThingOneClick
from pointcloud.synthetic import make_scene_set


def main() -> None:
    rooms = make_scene_set(4, seed=0, num_points=4_000, num_objects=(3, 5))
    train, test = rooms[:3], rooms[3]
    print(f"training on {len(train)} rooms of 4,000 points, one click per object")
    model = OneThingOneClick(
        rounds=2, epochs=10, epochs_next=5, log=print,
        supervoxel_kwargs={"voxel_size": 0.1, "seed_resolution": 0.5},
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*have no click")  # e.g. ceiling
        model.fit(train)
    pred = model.predict(test)
    assert test.labels is not None
    scores = segmentation_scores(
        [pred], [test.labels], test.num_classes, test.class_names
    )
    print(f"unseen room {test.name}, no clicks:")
    for line in scores.lines():
        print("  " + line)


if __name__ == "__main__":
    main()
