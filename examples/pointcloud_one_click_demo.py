"""Segment a synthetic room from one labelled point per object.

A furnished room of 30,000 points is sampled, one random point of every object (floor
and walls included) keeps its label, and label spreading over a k-nearest-neighbour
graph of positions and colours labels the rest. Run it with no arguments:

    python examples/pointcloud_one_click_demo.py

It prints each step and writes ``one_click_demo/demo.png`` and
``one_click_demo/demo_prediction.ply`` (open the PLY in MeshLab, CloudCompare or
Open3D).
"""

print("Loading graphssl and torch ...")

from pointcloud.demo import run_demo


def main() -> None:
    result = run_demo(num_points=30_000, num_objects=12, out_dir="one_click_demo")
    print(f"Open {result.files[0]} to see the views side by side.")


if __name__ == "__main__":
    main()
