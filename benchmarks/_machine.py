"""The machine line every benchmark prints (CPU model, threads, library versions)."""

from __future__ import annotations

import torch


def machine() -> str:
    """CPU model, torch threads and versions, and whether CUDA is present."""
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            names = [
                ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")
            ]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    try:
        import sklearn

        skl = f"scikit-learn {sklearn.__version__}, "
    except ImportError:
        skl = ""
    return (
        f"{cpu}, {torch.get_num_threads()} torch threads, torch {torch.__version__}, "
        f"{skl}CUDA {'yes' if torch.cuda.is_available() else 'no'}"
    )
