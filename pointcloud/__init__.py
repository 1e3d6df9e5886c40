"""3-D point-cloud semi-supervised segmentation built on graphssl.

The public names are imported lazily (``pointcloud.OneThingOneClick`` loads only the
modules it needs), so ``import pointcloud`` stays cheap.

Example:
    >>> import pointcloud
    >>> pointcloud.OneThingOneClick(rounds=3).rounds
    3
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "OTOCRoundLog",
    "OneThingOneClick",
    "PointVoxelNet",
    "PrototypeRelation",
    "Scene",
    "SegmentationScores",
    "build_pyramid",
    "make_indoor_scene",
    "make_scene_set",
    "mean_field",
    "read_cloud",
    "segmentation_scores",
    "supervoxel_graph",
    "supervoxels",
    "write_cloud",
]

_WHERE = {
    "OTOCRoundLog": "pointcloud.otoc",
    "OneThingOneClick": "pointcloud.otoc",
    "PointVoxelNet": "pointcloud.backbone",
    "build_pyramid": "pointcloud.backbone",
    "PrototypeRelation": "pointcloud.relation",
    "Scene": "pointcloud.scene",
    "SegmentationScores": "pointcloud._otoc_eval",
    "segmentation_scores": "pointcloud._otoc_eval",
    "make_indoor_scene": "pointcloud.synthetic",
    "make_scene_set": "pointcloud.synthetic",
    "mean_field": "pointcloud.mean_field",
    "read_cloud": "pointcloud.io",
    "write_cloud": "pointcloud.io",
    "supervoxel_graph": "pointcloud.supervoxel_graph",
    "supervoxels": "pointcloud.supervoxels",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'pointcloud' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
