"""The genarch sweeper on Ray (optional extra: `pip install 'genarch[ray]'` in its own environment,
as hydra-ray-launcher downgrades cloudpickle). Skipped where hydra-ray-launcher is not installed."""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from genarch.ledger import load_trials

pytest.importorskip("hydra_plugins.hydra_ray_launcher")
REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_ray_local_launcher_keeps_its_files_in_the_sweep_dir(tmp_path):
    # Ray's socket paths (<temp dir>/session_<date>/sockets/plasma_store) must stay under 107 bytes
    short = Path(tempfile.mkdtemp(prefix="gr", dir="/tmp"))
    sweep = short / "s"
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "GENARCH_CACHE": str(tmp_path / "cache")}
    proc = subprocess.run([sys.executable, "-m", "genarch", "hydra/sweeper=genarch", "hydra/launcher=ray_local",
                           "trainer=smoke", "dataset.n=400", "++summary=false", "model.stem.filters=choice(4,8)",
                           "optimizer.lr_scale=tag(log,interval(0.3,3))", "hydra.sweeper.budget=2",
                           f"hydra.sweep.dir={sweep}", "-m"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=400)
    assert proc.returncode == 0, proc.stderr[-4000:]
    trials = load_trials(sweep)
    assert [t.job for t in trials] == [0, 1] and all(t.ok and t.record["writer"] == "trial" for t in trials)
    assert (sweep / ".ray").is_dir()
    shutil.rmtree(short, ignore_errors=True)
