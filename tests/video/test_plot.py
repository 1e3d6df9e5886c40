"""Timeline plots are written as PNG files."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from video.plot import plot_timeline

PNG = b"\x89PNG\r\n\x1a\n"


def test_writes_png_with_cas(tmp_path: Path) -> None:
    gt = torch.tensor([[2.0, 6.0, 0.0], [9.0, 11.0, 2.0]], dtype=torch.float64)
    det = torch.tensor(
        [[2.5, 6.5, 0.9, 0.0], [9.0, 10.0, 0.2, 2.0], [0.0, 1.0, 0.1, 1.0]]
    )
    cas = torch.rand(24, 3)
    out = plot_timeline(gt, det, tmp_path / "sub" / "t.png", class_names=["a", "b", "c"],
                        cas=cas, snippet_rate=2.0, title="video 1")  # fmt: skip
    data = out.read_bytes()
    assert (
        out == tmp_path / "sub" / "t.png" and data.startswith(PNG) and len(data) > 2000
    )


def test_empty_detections_and_no_ground_truth(tmp_path: Path) -> None:
    out = plot_timeline(None, torch.zeros(0, 4), tmp_path / "e.png", duration=10.0)
    assert out.read_bytes().startswith(PNG)


def test_max_detections_limits_rows(tmp_path: Path) -> None:
    det = torch.tensor([[float(i), i + 1.0, i / 10, 0.0] for i in range(10)])
    small = plot_timeline(None, det, tmp_path / "a.png", max_detections=2)
    big = plot_timeline(None, det, tmp_path / "b.png", max_detections=10)

    # figure height grows with the number of rows drawn
    def height(p: Path) -> int:
        return int.from_bytes(p.read_bytes()[20:24], "big")

    assert height(small) < height(big)


def test_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"'detections'.*\[N, 4\]"):
        plot_timeline(None, torch.zeros(3, 3), tmp_path / "x.png")
    with pytest.raises(ValueError, match=r"'duration'"):
        plot_timeline(None, None, tmp_path / "x.png", duration=-1.0)
    with pytest.raises(ValueError, match=r"'cas'"):
        plot_timeline(None, None, tmp_path / "x.png", cas=torch.rand(5))
