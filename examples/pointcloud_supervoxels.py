"""Super-voxels of a synthetic room: over-segment, measure, and expand one click per object.

Runs with no arguments on a seeded synthetic scene and prints each step.
"""

import time

from pointcloud.clicks import click_labels, one_click_per_instance
from pointcloud.supervoxel_graph import supervoxel_graph
from pointcloud.supervoxel_metrics import boundary_recall, purity
from pointcloud.supervoxels import VCCS
from pointcloud.synthetic import make_indoor_scene

if __name__ == "__main__":
    n = 50_000
    print(f"Sampling a furnished room: {n:,} coloured points, 10 objects (seed 0).")
    scene = make_indoor_scene(n, num_objects=10, seed=0)

    vccs = VCCS(voxel_size=0.05, seed_resolution=0.25)
    t = time.perf_counter()
    seg = vccs(scene.points, scene.colors)
    s = int(seg.max()) + 1
    print(f"{vccs}\n  -> {s:,} super-voxels in {time.perf_counter() - t:.2f} s")
    print(
        f"purity {purity(seg, scene.labels):.4f} (share of points in their "
        f"super-voxel's majority class), boundary recall "
        f"{boundary_recall(scene.points, seg, scene.labels, radius=0.05):.3f}"
    )
    geo = vccs(scene.points)
    print(f"without colours (geometry only): purity {purity(geo, scene.labels):.4f}")

    t = time.perf_counter()
    graph, desc = supervoxel_graph(scene.points, seg, colors=scene.colors, k=8)
    print(
        f"super-voxel graph: {graph.num_nodes:,} nodes, {graph.num_edges // 2:,} "
        f"undirected edges (touching or 8 nearest centroids), Gaussian weights in "
        f"[{float(graph.edge_weight.min()):.2g}, {float(graph.edge_weight.max()):.2g}], "
        f"{time.perf_counter() - t:.2f} s"
    )

    idx, cls = one_click_per_instance(scene.instances, scene.labels, seed=0)
    labels_sv = click_labels(seg, idx, cls, s)
    point_labels = labels_sv[seg]
    hit = point_labels >= 0
    precision = (point_labels[hit] == scene.labels[hit]).double().mean()
    print(
        f"{idx.numel()} clicks (one per object) label {int((labels_sv >= 0).sum())} "
        f"super-voxels = {int(hit.sum()):,} points ({float(hit.double().mean()):.2%}); "
        f"precision of those labels {float(precision):.4f}"
    )
    print(f"Mean super-voxel size: {float(desc['size'].mean()):.1f} points.")
