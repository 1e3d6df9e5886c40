"""Shared fixtures: a device fixture (CPU always, CUDA when present) and seeding."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(
    params=[
        pytest.param(d, marks=pytest.mark.cuda) if d == "cuda" else d for d in DEVICES
    ]
)
def device(request: pytest.FixtureRequest) -> str:
    """Run the test on every available device."""
    return str(request.param)


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture
def one_thread() -> Iterator[None]:
    """One torch thread for tiny models: a second one only adds contention."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
