"""All-gather helpers: identity in one process, exact gathers and gradients with 2 gloo
processes on CPU."""

from __future__ import annotations

import datetime
import os
import socket
from collections.abc import Callable
from typing import Any

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from graphssl.comatch.distributed import gather_nograd, gather_with_grad, world


def free_port() -> int:
    """A TCP port that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _entry(
    rank: int,
    world_size: int,
    port: int,
    fn: Callable[..., None],
    args: tuple[Any, ...],
) -> None:
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo",
        init_method=f"tcp://127.0.0.1:{port}",
        rank=rank,
        world_size=world_size,
        timeout=datetime.timedelta(seconds=120),
    )
    try:
        fn(rank, world_size, *args)
    finally:
        dist.destroy_process_group()


def spawn_workers(fn: Callable[..., None], *args: Any, nprocs: int = 2) -> None:
    """Run ``fn(rank, world_size, *args)`` in ``nprocs`` gloo processes on CPU.

    ``fn`` must be a module-level function; an assertion failing in any worker fails
    the calling test (``mp.spawn`` re-raises it and stops the other workers).
    """
    mp.spawn(  # type: ignore[attr-defined,no-untyped-call]
        _entry, args=(nprocs, free_port(), fn, args), nprocs=nprocs, join=True
    )


# --------------------------------------------------------------------- one process


def test_world_without_process_group() -> None:
    assert not dist.is_initialized()
    assert world() == (0, 1)


def test_single_process_is_identity() -> None:
    x = torch.randn(3, 4, requires_grad=True)
    g = gather_nograd(x)
    assert torch.equal(g, x) and not g.requires_grad
    y = gather_with_grad(x)
    assert y is x
    y.sum().backward()  # type: ignore[no-untyped-call]
    assert x.grad is not None and torch.equal(x.grad, torch.ones(3, 4))


def test_bad_input() -> None:
    with pytest.raises(TypeError, match="'t' parameter of gather_nograd"):
        gather_nograd([1.0, 2.0])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="1 to 8 dimensions"):
        gather_nograd(torch.tensor(1.0))
    with pytest.raises(ValueError, match="1 to 8 dimensions"):
        gather_with_grad(torch.zeros([1] * 9))
    with pytest.raises(TypeError, match="floating-point tensor"):
        gather_with_grad(torch.arange(3))


# -------------------------------------------------------------------- two processes


def _weights(rank: int, total: int) -> torch.Tensor:
    """The per-rank loss weights, reproducible on every rank."""
    return torch.randn(total, 2, generator=torch.Generator().manual_seed(100 + rank))


def _worker_gathers(rank: int, world_size: int) -> None:
    assert world() == (rank, world_size)
    sizes = [r + 1 for r in range(world_size)]  # unequal first dimensions: 1, 2
    total = sum(sizes)
    expected = torch.cat(
        [
            torch.arange(n * 3, dtype=torch.float64).view(n, 3) + 10 * r
            for r, n in enumerate(sizes)
        ]
    )
    mine = expected[sum(sizes[:rank]) : sum(sizes[: rank + 1])]
    out = gather_nograd(mine.clone().requires_grad_())
    assert torch.equal(out, expected) and not out.requires_grad

    # equal sizes, integer dtype
    ints = gather_nograd(torch.full((2,), rank, dtype=torch.long))
    assert ints.tolist() == [r for r in range(world_size) for _ in range(2)]

    # gradient: loss_r = <W_r, gather(x)>; d(sum_s loss_s)/dx_r = sum_s W_s[slice r]
    xs = [
        torch.randn(n, 2, generator=torch.Generator().manual_seed(r))
        for r, n in enumerate(sizes)
    ]
    x = xs[rank].clone().requires_grad_()
    gathered = gather_with_grad(x)
    assert torch.equal(gathered.detach(), torch.cat(xs))
    (gathered * _weights(rank, total)).sum().backward()  # type: ignore[no-untyped-call]
    start = sum(sizes[:rank])
    summed = torch.stack([_weights(s, total) for s in range(world_size)]).sum(0)
    want = summed[start : start + sizes[rank]]
    assert x.grad is not None
    torch.testing.assert_close(x.grad, want)

    # a trailing-dimension mismatch raises on every rank (no hang)
    with pytest.raises(ValueError, match="equal trailing dimensions on every rank"):
        gather_nograd(torch.zeros(2, 3 + rank))
    with pytest.raises(ValueError, match="one dtype"):
        gather_with_grad(
            torch.zeros(2, 3, dtype=torch.float32 if rank else torch.float64)
        )


def test_two_gloo_processes() -> None:
    spawn_workers(_worker_gathers)
