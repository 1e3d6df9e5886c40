"""Loaders of public 3-D indoor datasets for users who have the files.

Nothing here downloads: point the loaders at a local copy of ScanNet-v2
(:func:`load_scannet_scene`, :func:`iter_scannet_scenes`) or S3DIS
(:func:`load_s3dis_room`, :func:`iter_s3dis_rooms`). Each returns
:class:`~pointcloud.scene.Scene` objects.
"""

from __future__ import annotations

from pointcloud.datasets.s3dis import (
    S3DIS_CLASSES,
    iter_s3dis_rooms,
    load_s3dis_room,
    read_s3dis_object,
)
from pointcloud.datasets.scannet import (
    SCANNET20_CLASSES,
    SCANNET20_NYU40_IDS,
    iter_scannet_scenes,
    load_scannet_scene,
    nyu40_to_scannet20,
)

__all__ = [
    "S3DIS_CLASSES",
    "SCANNET20_CLASSES",
    "SCANNET20_NYU40_IDS",
    "iter_s3dis_rooms",
    "iter_scannet_scenes",
    "load_s3dis_room",
    "load_scannet_scene",
    "nyu40_to_scannet20",
    "read_s3dis_object",
]
