"""3-D point-cloud semi-supervised segmentation built on graphssl."""
