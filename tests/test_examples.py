"""Every example runs with no arguments and narrates what it does (~8 s in all)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from graphssl.datasets import find_planetoid_root

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(script: Path, tmp_path: Path) -> None:
    if "planetoid" in script.stem and find_planetoid_root() is None:
        pytest.skip("Planetoid data not present")
    out = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip()  # every example narrates what it does
