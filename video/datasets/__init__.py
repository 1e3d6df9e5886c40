"""Video datasets: the :class:`VideoDataset` structure, loaders and a synthetic generator."""

from __future__ import annotations

from video.datasets.base import VideoDataset, pad_videos
from video.datasets.folder import load_video_folder, save_video_folder
from video.datasets.synthetic import make_synthetic_benchmark, make_synthetic_videos
from video.datasets.thumos import THUMOS14_CLASSES, load_thumos_reduced

__all__ = [
    "THUMOS14_CLASSES",
    "VideoDataset",
    "load_thumos_reduced",
    "load_video_folder",
    "make_synthetic_benchmark",
    "make_synthetic_videos",
    "pad_videos",
    "save_video_folder",
]
