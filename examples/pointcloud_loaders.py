"""Write a labelled synthetic room in every supported format and read it back.

A furnished room of 20,000 points (colours, normals, class and instance labels) is
written as PLY, PCD, XYZ and NPZ into ``cloud_formats/``, read back with
``read_cloud``, and compared with the original. Then a tiny room in the S3DIS layout
(``Area_1/office_1/Annotations/<class>_<n>.txt``) is written and loaded, the way you
would load your own copy of S3DIS or ScanNet-v2. Run it with no arguments:

    python examples/pointcloud_loaders.py
"""

from __future__ import annotations

print("Loading graphssl and torch ...")

from pathlib import Path

import torch

from pointcloud.datasets import load_s3dis_room
from pointcloud.io import read_cloud, write_cloud
from pointcloud.synthetic import make_indoor_scene


def main() -> None:
    out = Path("cloud_formats")
    out.mkdir(exist_ok=True)
    room_scan = make_indoor_scene(20_000, num_objects=10, seed=0)
    scene = room_scan.to_scene(name="room")
    print(f"Synthetic room: {scene}")
    for name in ("room.ply", "room_ascii.ply", "room.pcd", "room.xyz", "room.npz"):
        path = out / name
        write_cloud(path, scene, ascii="ascii" in name)
        back = read_cloud(path)
        colors_err = (back.tensors()["colors"] - room_scan.colors).abs().max()
        same = all(
            torch.equal(getattr(back, k), v)
            for k, v in scene.tensors().items()
            if k != "colors"
        )
        print(
            f"  {name:15s} {path.stat().st_size / 1e6:5.2f} MB  fields "
            f"{', '.join(back.tensors())}; exact except colours: {same}; "
            f"max colour error {float(colors_err):.4f}"
        )

    # The S3DIS layout: one text file per object, "x y z r g b" with 0-255 colours.
    room = out / "Area_1" / "office_1"
    (room / "Annotations").mkdir(parents=True, exist_ok=True)
    for stem, cls in (("floor_1", "floor"), ("wall_1", "wall"), ("chair_1", "chair")):
        mask = room_scan.labels == room_scan.class_names.index(cls)
        rows = torch.cat([room_scan.points[mask], room_scan.colors[mask] * 255], 1)
        lines = "\n".join(" ".join(f"{v:.4f}" for v in r) for r in rows[:500].tolist())
        (room / "Annotations" / f"{stem}.txt").write_text(lines + "\n")
    s3dis = load_s3dis_room(room)
    counts = torch.bincount(s3dis.tensors()["labels"], minlength=s3dis.num_classes)
    present = {s3dis.class_names[i]: int(c) for i, c in enumerate(counts) if c}
    print(
        f"S3DIS-style room {s3dis.name}: {s3dis.num_points} points, classes {present}"
    )


if __name__ == "__main__":
    main()
