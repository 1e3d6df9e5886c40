"""The shared parameter checks and their one message format."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from graphssl._validation import check_float_tensor, check_int, check_real


def test_message_format_names_parameter_owner_allowed_and_received() -> None:
    with pytest.raises(ValueError, match="knn_graph") as err:
        check_int(0, "k", "knn_graph", low=1, high=9)
    assert str(err.value) == (
        "The 'k' parameter of knn_graph must be an int in the range [1, 9]. Got 0 instead."
    )


@pytest.mark.parametrize("value", ["1", b"1", True, None, [1.0]])
def test_check_real_rejects_non_numbers(value: object) -> None:
    with pytest.raises(TypeError, match="'eps' parameter of f"):
        check_real(value, "eps", "f")


def test_check_real_accepts_numpy_and_torch_scalars() -> None:
    assert check_real(np.float32(0.5), "a", "f", low=0.0) == 0.5
    assert check_real(torch.tensor(0.25), "a", "f", low=0.0) == 0.25
    assert check_int(np.int64(3), "k", "f", low=1) == 3


@pytest.mark.parametrize(("value", "closed"), [(0.0, "neither"), (1.0, "left")])
def test_check_real_open_bounds(value: float, closed: str) -> None:
    with pytest.raises(ValueError, match="Got"):
        check_real(value, "a", "f", low=0.0, high=1.0, closed=closed)


def test_check_float_tensor_rejects_integers_and_upcasts_half() -> None:
    with pytest.raises(TypeError, match="floating-point"):
        check_float_tensor(torch.ones(3, 2, dtype=torch.int64), "x", "f")
    assert (
        check_float_tensor(torch.ones(3, 2, dtype=torch.float16), "x", "f").dtype
        == torch.float32
    )
    with pytest.raises(ValueError, match="non-empty"):
        check_float_tensor(torch.ones(0, 2), "x", "f")


def test_check_edge_index() -> None:
    from graphssl._validation import check_edge_index

    ei = torch.tensor([[0, 1], [1, 2]])
    assert check_edge_index(ei, "edge_index", "f", num_nodes=3) is ei
    assert (
        check_edge_index(torch.zeros(2, 0, dtype=torch.long), "e", "f", 0).numel() == 0
    )
    with pytest.raises(
        ValueError, match=r"'edge_index' parameter of f must be an integer"
    ):
        check_edge_index(ei.float(), "edge_index", "f")
    with pytest.raises(ValueError, match=r"an integer \[2, E\] tensor"):
        check_edge_index(ei.T.contiguous()[:, :1].T, "edge_index", "f")
    with pytest.raises(ValueError, match=r"node indices in \[0, 2\). Got '\[0, 2\]'"):
        check_edge_index(ei, "edge_index", "f", num_nodes=2)
