"""glibc malloc thresholds: freed multi-MB blocks are reused, not re-faulted."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

# three 4 MiB blocks allocated, written and freed 20 times; prints the minor page
# faults of the 20 cycles after a first one
_SCRIPT = """
import resource, sys
if sys.argv[1] == "tuned":
    from graphssl._malloc import tune_glibc_malloc
    print(tune_glibc_malloc())
def cycle():
    a = bytearray(4 << 20); b = bytearray(4 << 20); c = bytearray(4 << 20)
    del c, b, a
cycle()
f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    cycle()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
"""

glibc_only = pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
    reason="mallopt thresholds are glibc's",
)


def _faults(mode: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", _SCRIPT, mode],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return out.stdout.split()


@glibc_only
def test_tuning_stops_the_page_faults_of_reallocated_blocks() -> None:
    ok, tuned = _faults("tuned")
    (plain,) = _faults("plain")
    assert ok == "True"
    # default glibc trims the freed 12 MiB and faults ~3,000 pages back per cycle
    assert int(plain) > 20_000
    assert int(tuned) < int(plain) // 20


def test_off_linux_it_reports_false(monkeypatch: pytest.MonkeyPatch) -> None:
    from graphssl import _malloc

    monkeypatch.setattr(_malloc.sys, "platform", "darwin")
    assert _malloc.tune_glibc_malloc() is False
