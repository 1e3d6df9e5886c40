"""Small tabular classification sets bundled with scikit-learn, as torch tensors.

The data ship inside the scikit-learn wheel, so nothing is downloaded; scikit-learn is
imported only when one of these functions is called.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from graphssl._optional import require
from graphssl._validation import param_error

__all__ = ["load_breast_cancer", "load_digits", "load_wine"]


def load_digits(
    *, standardize: bool = False, dtype: torch.dtype = torch.float32
) -> tuple[Tensor, Tensor]:
    """The 8x8 handwritten digits: ``x [1797, 64]`` (pixel values 0..16), 10 classes.

    Args:
        standardize (bool): centre each feature and scale it to unit variance;
            constant features are only centred. (default: ``False``)
        dtype (torch.dtype): floating dtype of ``x``. (default: ``torch.float32``)

    Returns:
        tuple: features ``x [1797, 64]`` and labels ``y [1797]`` (int64 in ``0..9``).
    """
    return _load("load_digits", standardize, dtype)


def load_wine(
    *, standardize: bool = False, dtype: torch.dtype = torch.float32
) -> tuple[Tensor, Tensor]:
    """The UCI wine recognition set: ``x [178, 13]`` chemical measurements, 3 classes.

    Args:
        standardize (bool): centre each feature and scale it to unit variance.
            (default: ``False``)
        dtype (torch.dtype): floating dtype of ``x``. (default: ``torch.float32``)

    Returns:
        tuple: features ``x [178, 13]`` and labels ``y [178]`` (int64 in ``0..2``).
    """
    return _load("load_wine", standardize, dtype)


def load_breast_cancer(
    *, standardize: bool = False, dtype: torch.dtype = torch.float32
) -> tuple[Tensor, Tensor]:
    """The Wisconsin diagnostic breast cancer set: ``x [569, 30]``, 2 classes.

    Args:
        standardize (bool): centre each feature and scale it to unit variance.
            (default: ``False``)
        dtype (torch.dtype): floating dtype of ``x``. (default: ``torch.float32``)

    Returns:
        tuple: features ``x [569, 30]`` and labels ``y [569]`` (int64, 0 = malignant,
        1 = benign, as in scikit-learn).
    """
    return _load("load_breast_cancer", standardize, dtype)


def _load(loader: str, standardize: bool, dtype: Any) -> tuple[Tensor, Tensor]:
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise param_error("dtype", loader, "a floating torch.dtype", dtype, TypeError)
    require("sklearn", loader)
    from sklearn import datasets

    x, y = getattr(datasets, loader)(return_X_y=True)
    x = np.asarray(x, dtype=np.float64)
    if standardize:
        # Population std, as StandardScaler; a constant column keeps scale 1.
        std = x.std(axis=0)
        x = (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)
    return torch.from_numpy(x).to(dtype), torch.from_numpy(np.asarray(y, np.int64))
