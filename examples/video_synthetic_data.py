"""Synthetic videos → a training-free weakly supervised baseline → proposals → THUMOS mAP.

Runs with no arguments: draws the fixed synthetic benchmark (240 training, 120 test
videos), builds class activation sequences from class means of the training snippets
(each training snippet counts for every class of its video: only video-level labels are
used), turns them into proposals (multi-threshold runs, outer-inner contrast, NMS),
scores them with THUMOS detection mAP, saves the test set in the folder format under
``video_synthetic_data/test/`` and writes ``video_synthetic_data/timeline.png``, a
timeline plot of one test video.
"""

import time
from pathlib import Path

import torch

from video.datasets import (
    load_video_folder,
    make_synthetic_benchmark,
    save_video_folder,
)
from video.evaluation import classification_map, detection_map
from video.plot import plot_timeline
from video.proposals import localize

if __name__ == "__main__":
    t = time.perf_counter()
    train, test = make_synthetic_benchmark(seed=0)
    print(
        f"Synthetic benchmark in {time.perf_counter() - t:.1f} s:\n  {train}\n  {test}"
    )
    seg = test.segments[0]
    print(f"Test video {test.names[0]}: {test.num_snippets[0]} snippets, segments (s):")
    for s, e, c in seg.tolist():
        print(f"  {s:6.2f} – {e:6.2f}  {test.class_names[int(c)]}")

    # Weak baseline: class c's prototype is the mean snippet of the videos labelled c,
    # minus the mean of all snippets (background dominates both).
    x = torch.cat(train.features)
    owner = torch.cat([torch.full((n,), i) for i, n in enumerate(train.num_snippets)])
    y = train.labels[owner]  # [N, C] each snippet inherits its video's labels
    proto = (y.T @ x) / y.sum(0)[:, None] - x.mean(0)
    proto = proto / proto.norm(dim=1, keepdim=True)

    dets, scores = [], []
    for f in test.features:
        logits = (
            4.0 * (f - x.mean(0)) @ proto.T / (f - x.mean(0)).norm(dim=1, keepdim=True)
        )
        cas = torch.softmax(logits, 1)  # [T, C]
        k = max(1, f.shape[0] // 8)
        video = torch.softmax(
            logits.topk(k, 0).values.mean(0) * 4.0, 0
        )  # top-k pooling
        scores.append(video)
        dets.append(
            localize(
                cas,
                video,
                snippet_rate=test.snippet_rate,
                thresholds=[0.1 * i for i in range(1, 10)],
            )
        )
    res = detection_map(dets, test.segments, test.num_classes)
    print("Class-mean baseline, THUMOS detection mAP (%):")
    print(res.table())
    print(
        f"classification mAP: {100 * classification_map(torch.stack(scores), test.labels):.1f} %"
    )

    out = Path("video_synthetic_data") / "test"
    save_video_folder(test, out)
    again = load_video_folder(out)
    same = all(
        torch.equal(a, b) for a, b in zip(again.features, test.features, strict=True)
    )
    print(
        f"Saved the test set to {out}/ ({len(again)} videos, round trip exact: {same})"
    )
    png = plot_timeline(seg, dets[0], out.parent / "timeline.png", duration=test.durations[0],
                        class_names=test.class_names, title=test.names[0])  # fmt: skip
    print(f"Timeline plot of {test.names[0]}: {png}")
