"""Optional heavy packages, detected once and imported only when a feature needs them."""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

__all__ = ["WITH_OPEN3D", "WITH_SKLEARN", "require"]

WITH_OPEN3D = importlib.util.find_spec("open3d") is not None
WITH_SKLEARN = importlib.util.find_spec("sklearn") is not None

_INSTALL = {
    "open3d": "pip install 'graphssl[open3d]' (open3d-cpu on Linux x86-64; on Debian "
    "also apt-get install libusb-1.0-0)",
    "sklearn": "pip install scikit-learn",
    "torch_geometric": "pip install torch-geometric",
}


def require(module: str, feature: str) -> ModuleType:
    """Import ``module`` or raise an ImportError that says what to install."""
    try:
        return importlib.import_module(module)
    except (ImportError, OSError) as err:  # open3d raises OSError for missing libusb
        how = _INSTALL.get(module, f"pip install {module}")
        raise ImportError(
            f"{feature} needs the package '{module}': {how}. ({err})"
        ) from err
