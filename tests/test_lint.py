"""The source tree passes `ruff check .` under pyproject.toml's [tool.ruff] rules (pyflakes, pycodestyle's
errors, lines of at most 120 characters)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_check_finds_nothing():
    pytest.importorskip("ruff")
    # --no-cache: nothing written into the checkout
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", "."],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"ruff check . found problems:\n{proc.stdout}{proc.stderr}"
