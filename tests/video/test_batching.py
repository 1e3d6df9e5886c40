"""Length buckets and padded batches."""

from __future__ import annotations

import pytest
import torch

from video.batching import bucket_batches, make_batch


def test_buckets_cover_every_video_once() -> None:
    lengths = [5, 50, 7, 49, 6, 51, 8, 52, 9]
    gen = torch.Generator().manual_seed(0)
    batches = bucket_batches(lengths, 3, generator=gen)
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(9))
    assert all(len(b) <= 3 for b in batches)


def test_sorted_buckets_group_similar_lengths() -> None:
    lengths = [5, 50, 7, 49, 6, 51]
    batches = bucket_batches(lengths, 3, shuffle=False)
    assert [sorted(lengths[i] for i in b) for b in batches] == [[5, 6, 7], [49, 50, 51]]


def test_shuffle_is_seeded() -> None:
    lengths = list(range(10, 40))
    a = bucket_batches(lengths, 4, generator=torch.Generator().manual_seed(3))
    b = bucket_batches(lengths, 4, generator=torch.Generator().manual_seed(3))
    c = bucket_batches(lengths, 4, generator=torch.Generator().manual_seed(4))
    assert a == b and a != c


def test_make_batch_pads_and_masks(device: str) -> None:
    feats = [torch.randn(3, 2), torch.randn(5, 2)]
    labels = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    batch = make_batch(feats, labels, [1, 0], device)
    assert batch.features.shape == (2, 5, 2)
    assert batch.mask.sum(1).tolist() == [5, 3]
    torch.testing.assert_close(batch.features[1, :3].cpu(), feats[0])
    assert bool((batch.features[1, 3:] == 0).all())
    torch.testing.assert_close(batch.labels.cpu(), labels[[1, 0]])
    assert batch.index.tolist() == [1, 0]


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="'batch_size' parameter of bucket_batches"):
        bucket_batches([3, 4], 0)
    assert bucket_batches([], 2) == []
    with pytest.raises(ValueError, match="'indices' parameter"):
        make_batch([torch.randn(3, 2)], torch.ones(1, 1), [])
