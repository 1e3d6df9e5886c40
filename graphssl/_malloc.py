"""Keep glibc from returning freed ~1 MB blocks to the system between training steps.

glibc's malloc serves blocks above its mmap threshold (dynamic, from 128 KiB) with
fresh ``mmap`` calls and trims the top of its heap past a trim threshold. A training
step whose activations are around 1 MB each (``[10, 190, 128]`` float32) then gets
new pages from the kernel every step and pays one minor page fault per 4 KiB page
when it first writes them (about 1,000 per batch in the RSKP benchmark, 2 µs or more
each inside a virtual machine). Raising both thresholds keeps the blocks in the heap
for reuse: it is what ``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_`` in the
environment do, applied from inside the process. The cost is that the process keeps
its peak heap instead of shrinking after it.

Only command-line entry points and benchmarks call this (a library should not change
process-wide allocator settings behind its caller's back).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

__all__ = ["tune_glibc_malloc"]

# mallopt parameter numbers from glibc's <malloc.h>
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# glibc refuses mmap thresholds above HEAP_MAX_SIZE / 2 (32 MiB on 64-bit)
_MMAP_THRESHOLD = 32 * 1024 * 1024
_TRIM_THRESHOLD = 1024 * 1024 * 1024


def tune_glibc_malloc() -> bool:
    """Raise glibc's mmap (32 MiB) and trim (1 GiB) thresholds for this process.

    Returns:
        bool: ``True`` when both were set; ``False`` off Linux, on another C
        library (musl has no ``mallopt``), or when glibc refused a value.
    """
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c") or "libc.so.6"
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    ok_mmap = int(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)) == 1
    ok_trim = int(mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)) == 1
    return ok_mmap and ok_trim
