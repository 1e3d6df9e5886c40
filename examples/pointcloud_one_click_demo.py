"""Segment a synthetic room from one labelled point per object (One Thing One Click).

A furnished room of 5,000 points is sampled, one random point of every object (floor
and walls included) keeps its label, and One Thing One Click, trained on this room and
two more clicked synthetic rooms of 4,000 points, labels the rest:
super-voxels, the clicked super-voxels as training labels, two rounds of backbone +
relation-head training, fusion and mean-field propagation on the super-voxel graph,
confident super-voxels as new pseudo-labels. The sizes are cut down to run in seconds;
``graphssl demo`` runs the full-size version. Run it with no arguments:

    python examples/pointcloud_one_click_demo.py

It prints each step and writes ``one_click_demo/demo.png`` and
``one_click_demo/demo_prediction.ply`` (open the PLY in MeshLab, CloudCompare or
Open3D).
"""

print("Loading graphssl and torch ...")

from pointcloud.demo import run_demo


def main() -> None:
    result = run_demo(
        num_points=5_000, num_objects=5, rounds=2, epochs=25, extra_rooms=2,
        extra_points=4_000, out_dir="one_click_demo",
    )  # fmt: skip
    print(f"Open {result.files[0]} to see the views side by side.")


if __name__ == "__main__":
    main()
